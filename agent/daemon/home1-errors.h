/* SPDX-License-Identifier: MIT */
#pragma once

/* systemd-homed 252's D-Bus error names (src/libsystemd/sd-bus/bus-common-errors.h), which homectl and
 * pam_systemd_home act on: BadPassword makes pam_systemd_home ask for the password (again),
 * AuthenticationLimitHit and HomeAbsent print their own messages, HomeNotActive / HomeLocked on RefHome make
 * it retry with AcquireHome, HomeBusy on ReleaseHome is "still used". */

#define HOME1_ERROR_NO_SUCH_HOME             "org.freedesktop.home1.NoSuchHome"
#define HOME1_ERROR_HOME_ALREADY_ACTIVE      "org.freedesktop.home1.HomeAlreadyActive"
#define HOME1_ERROR_HOME_ALREADY_FIXATED     "org.freedesktop.home1.HomeAlreadyFixated"
#define HOME1_ERROR_HOME_NOT_ACTIVE          "org.freedesktop.home1.HomeNotActive"
#define HOME1_ERROR_HOME_ABSENT              "org.freedesktop.home1.HomeAbsent"
#define HOME1_ERROR_HOME_BUSY                "org.freedesktop.home1.HomeBusy"
#define HOME1_ERROR_HOME_EXISTS              "org.freedesktop.home1.HomeExists"
#define HOME1_ERROR_BAD_PASSWORD             "org.freedesktop.home1.BadPassword"
#define HOME1_ERROR_RECORD_SIGNED            "org.freedesktop.home1.RecordSigned"
#define HOME1_ERROR_HOME_LOCKED              "org.freedesktop.home1.HomeLocked"
#define HOME1_ERROR_HOME_NOT_LOCKED          "org.freedesktop.home1.HomeNotLocked"
#define HOME1_ERROR_TOO_MANY_OPERATIONS      "org.freedesktop.home1.TooManyOperations"
#define HOME1_ERROR_AUTHENTICATION_LIMIT_HIT "org.freedesktop.home1.AuthenticationLimitHit"
#define HOME1_ERROR_HOME_CANT_AUTHENTICATE   "org.freedesktop.home1.HomeCantAuthenticate"
#define HOME1_ERROR_REBALANCE_NOT_NEEDED     "org.freedesktop.home1.RebalanceNotNeeded"
#define HOME1_ERROR_USER_NAME_EXISTS         "org.freedesktop.home1.UserNameExists"
#define HOME1_ERROR_NO_DISK_SPACE            "org.freedesktop.home1.NoDiskSpace"

/* Standard D-Bus errors used where homed uses them. */
#define HOME1_ERROR_ACCESS_DENIED "org.freedesktop.DBus.Error.AccessDenied"
#define HOME1_ERROR_INVALID_ARGS  "org.freedesktop.DBus.Error.InvalidArgs"
#define HOME1_ERROR_NOT_SUPPORTED "org.freedesktop.DBus.Error.NotSupported"
