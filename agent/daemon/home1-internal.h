/* SPDX-License-Identifier: MIT */
#pragma once

/* What the files of the home1 service share (home1.h describes the service). Not for other services. */

#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

#include "home.h"
#include "home1-auth.h"
#include "home1-worker.h"
#include "home1.h"

/* References one home may have at once (each is a pipe we watch: one descriptor of ours). A login holds
 * one; more than this is a client leaking them. */
#define HOME1_REFS_PER_HOME_MAX 256U
/* Calls waiting for the writer queue, per home: a client looping on AcquireHome must not fill the
 * daemon's queue (homed answers TooManyOperations too). */
#define HOME1_QUEUED_PER_HOME_MAX 16U
/* After the last session ended, a home still in use (a process kept its directory open) is tried again
 * this often, as homed's "lingering" state does. */
#define HOME1_RETRY_DEACTIVATE_USEC (15 * USEC_PER_SEC)

typedef struct Home1Handover Home1Handover;
typedef struct Home1Job Home1Job;
typedef struct Home1Ref Home1Ref;

/* What the service keeps about one home at run time; the home itself (record, state) is read from disk
 * every time. Made when first needed, dropped when it holds nothing. */
typedef struct Home1Entry {
        Home1 *service;
        char *user_name;
        Home1Ref *refs; /* handed out by AcquireHome / RefHome; the home stays active while any is open */
        unsigned n_refs;
        unsigned n_refs_please_suspend; /* of which asked for suspend (LockAllHomes may lock the home) */
        Home1RateLimit ratelimit;
        sd_event_source *retry_deactivate; /* set while "lingering" */
        const char *operation;             /* homed's state name while the worker acts on it, else NULL */
        unsigned queued;                   /* calls for this home waiting in the writer queue */
        struct Home1Entry *next;
} Home1Entry;

struct Home1 {
        Daemon *daemon;
        Home1Mode mode;      /* AUTO while the start decides, OFF when it failed */
        Home1Mode requested; /* what --home1 asked for */
        bool starting;       /* the start's questions are out: the daemon's first job waits */
        sd_bus *bus;
        sd_bus_slot *probe; /* the start's question in flight */
        sd_bus_slot *manager_slot;
        sd_bus_slot *home_slot;
        sd_bus_slot *enumerator_slot;
        sd_bus_slot *object_manager_slot;
        Home1Entry *entries;
        Home1Worker *worker; /* at most one: the writer queue runs one job at a time */
        Home1Job *jobs;      /* queued or running in the writer queue; told when the service goes */
        Home1Handover *handover;
};

/* ---- homes as the bus sees them (home1.c) ---- */

/* One home of ours, read afresh: the host record (signed by our engine key, with a grant) and its state. */
typedef struct Home1View {
        json_t *record;
        HomeState state;
        uid_t uid;
        bool luks; /* storage opens only with a password; made at the first login */
        const char *real_name;
        const char *home_directory;
        const char *shell;
        char home_directory_buf[64];
} Home1View;

void home1_view_done(Home1View *v);
/* -ENOENT when user_name has no home of ours. */
int home1_view_load(Home1 *m, const char *user_name, Home1View *ret);
/* The user name of the home whose uid is uid: -ENOENT when none. */
int home1_user_by_uid(Home1 *m, uid_t uid, char **ret);
/* The user names of all our homes, sorted; *ret_n of them. */
int home1_user_names(Home1 *m, char ***ret, size_t *ret_n);

/* homed's state name: the engine's state, "lingering" while a deactivation waits, the worker's
 * operation while it acts. */
const char *home1_state_name(Home1 *m, const char *user_name, HomeState s);

Home1Entry *home1_entry_get(Home1 *m, const char *user_name);
/* The existing entry or a new one; NULL when out of memory. */
Home1Entry *home1_entry_ensure(Home1 *m, const char *user_name);
/* Drops e when it holds nothing any more (no refs, no timer, nothing queued or running). */
void home1_entry_gc(Home1 *m, Home1Entry *e);

/* Whether the last reference's end deactivates the home: LUKS homes always (their key leaves the kernel),
 * the others when users.activation is "login". */
bool home1_deactivate_on_release(Home1 *m, const Home1View *v);

/* The record as GetUserRecordByName / the UserRecord property return it to the caller of message: binding
 * for this machine, status.<machine-id> with homed's fields, privileged section only for root and the user
 * itself (*ret_incomplete says when it was removed), never a secret. */
int home1_record_json(Home1 *m, sd_bus_message *message, const char *user_name, const Home1View *v,
                      char **ret, bool *ret_incomplete);

/* The euid of the sender of message. */
int home1_caller_uid(sd_bus_message *message, uid_t *ret);
/* 0 when the caller may do this to the home of uid home_uid: root always, the home's own user when
 * own_allowed. Otherwise AccessDenied in error. */
int home1_check_caller(sd_bus_message *message, uid_t home_uid, bool own_allowed, sd_bus_error *error);

/* Tells the bus a home object appeared, changed or went (ObjectManager signals). */
void home1_emit_home_changed(Home1 *m, const char *user_name);

/* ---- operations (home1-ops.c) ---- */

typedef enum Home1Op {
        HOME1_OP_ACTIVATE,
        HOME1_OP_DEACTIVATE,
        HOME1_OP_AUTHENTICATE,
        HOME1_OP_ACQUIRE,
        HOME1_OP_RELEASE,
        HOME1_OP_LOCK,
        HOME1_OP_UNLOCK,
        HOME1_OP_REALIZE,
        HOME1_OP_REMOVE,
        HOME1_OP_LOCK_ALL,
        HOME1_OP_DEACTIVATE_ALL,
        HOME1_OP_AUTO_DEACTIVATE, /* the last reference ended (no caller) */
        _HOME1_OP_MAX,
} Home1Op;

/* Queues op for user_name (NULL for the *_ALL ones) as a writer job; message (may be NULL) is answered
 * when it is over. passwords (may be NULL) is taken. Returns < 0 only when nothing was queued and message
 * has not been answered. */
int home1_queue(Home1 *m, Home1Op op, sd_bus_message *message, const char *user_name, char **passwords,
                bool please_suspend);

/* The service goes: its jobs still in the writer queue only answer their callers from now on. */
void home1_jobs_detach(Home1 *m);

/* RefHome: a reference to an active home, at once (no writer job: nothing on disk changes). Answers
 * message. */
int home1_ref_now(Home1 *m, sd_bus_message *message, const char *user_name, bool please_suspend,
                  sd_bus_error *error);

/* ---- references (home1-refs.c) ---- */

/* A new reference to e's home: *ret_fd is the end the client keeps (closing it drops the reference). */
int home1_ref_add(Home1Entry *e, bool please_suspend, int *ret_fd);
/* Forgets references whose client end is closed already (a close and a ReleaseHome race). */
void home1_refs_sweep(Home1Entry *e);
void home1_refs_free(Home1Entry *e);
/* Called by the references when e's last one went: queues the deactivation where it applies. */
void home1_last_ref_gone(Home1Entry *e);

/* ---- the bus faces ---- */

int home1_manager_bus_add(Home1 *m); /* home1-manager-bus.c */
int home1_home_bus_add(Home1 *m);    /* home1-home-bus.c */
/* The handlers of methods both objects have, taking the user name (home1-manager-bus.c). */
int home1_method_for_user(Home1 *m, sd_bus_message *message, const char *member, const char *user_name,
                          sd_bus_error *error);

/* ---- Mode 2 (home1-handover.c) ---- */

int home1_handover_new(Home1 *m, Home1Handover **ret);
Home1Handover *home1_handover_free(Home1Handover *h);
void home1_handover_sync(Home1Handover *h, const ProvisionReport *report);
bool home1_handover_has(const Home1Handover *h, const char *user_name);
