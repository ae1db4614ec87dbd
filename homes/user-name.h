/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#define USER_NAME_LENGTH_MAX                                                         \
        31U /* bytes; systemd's strict rule (UT_NAMESIZE - 1), fits utmp and useradd \
             */

/* The strict systemd user/group name syntax: ^[A-Za-z_][A-Za-z0-9_-]*$, 1..USER_NAME_LENGTH_MAX bytes. Used
 * as is for group names (memberOf). */
bool user_name_is_valid_syntax(const char *name);

/* A name we accept for a home we manage: the strict syntax, and not a name the system reserves for itself
 * ("root", "nobody", "systemd-*", "_*" and the other system names listed in user-name.c). A record that
 * claimed such a name could shadow a system account in NSS. */
bool user_name_is_valid(const char *name);
