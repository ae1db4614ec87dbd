/* SPDX-License-Identifier: MIT */
#pragma once

/* Varlink (https://varlink.org), as systemd speaks it: one JSON object per message, each terminated by a
 * NUL byte, over an AF_UNIX stream socket.
 *
 *   call   {"method": "iface.Method", "parameters": {...}, "more": bool, "oneway": bool}
 *   reply  {"parameters": {...}}                       final reply
 *          {"parameters": {...}, "continues": true}     one of several ("more" calls only)
 *          {"error": "iface.Name", "parameters": {...}} final error
 *
 * The server runs on an sd-event loop, non-blocking and event driven, with limits on every resource a
 * client controls (see VarlinkLimits). Each connection handles one call at a time, in order: a pipelining
 * client's next message waits until the current call is answered and its answer has left. Connections
 * take turns: one message of a connection per turn, then every other ready connection gets its turn, so a
 * client pipelining many calls cannot delay another client by more than one call of its own. The server
 * answers org.varlink.service.GetInfo (and GetInterfaceDescription with InterfaceNotFound) itself.
 *
 * A method callback may answer synchronously (reply/error inside the callback) or later: a call that has not
 * been answered when the callback returns >= 0 stays pending until varlink_call_reply() or
 * varlink_call_error(). Every call must end with exactly one of those two. A callback returning < 0
 * without having answered makes the server answer io.systemd.System {"errno": -r}, as systemd does.
 *
 * The small synchronous client is for programs without an event loop (the CLI, tests). */

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "macros.h"
#include "time-util.h"

/* The standard errors of org.varlink.service. */
#define VARLINK_ERROR_INTERFACE_NOT_FOUND    "org.varlink.service.InterfaceNotFound"
#define VARLINK_ERROR_METHOD_NOT_FOUND       "org.varlink.service.MethodNotFound"
#define VARLINK_ERROR_METHOD_NOT_IMPLEMENTED "org.varlink.service.MethodNotImplemented"
#define VARLINK_ERROR_INVALID_PARAMETER      "org.varlink.service.InvalidParameter"
#define VARLINK_ERROR_PERMISSION_DENIED      "org.varlink.service.PermissionDenied"
#define VARLINK_ERROR_EXPECTED_MORE          "org.varlink.service.ExpectedMore"
/* systemd's carrier for a plain errno: {"errno": N}. */
#define VARLINK_ERROR_SYSTEM "io.systemd.System"

/* Default limits (VarlinkLimits fields left 0 take these), sized for io.systemd.UserDatabase: every
 * local user may connect, nss-systemd opens one connection per lookup and closes it after the answer.
 *   - 1024 connections: what a busy machine's lookups need at once many times over; a connection costs a
 *     descriptor (corehomed.service has LimitNOFILE=4096) and ~5 KiB while idle (a 4 KiB input buffer,
 *     grown only for a large message; a client that does not read holds at most one call's answer).
 *   - 64 of them for root only: logins (sshd, login, su as root), systemd-userdbd's multiplexer and the
 *     administrator must be answered whatever other users do.
 *   - 64 per uid other than root: 64 lookups in flight at once is more than any one service account needs
 *     (a lookup takes well under a millisecond), and it takes 15 uids to fill the 960 unprivileged slots
 *     where a local attacker usually has one.
 *   - 10 s for a message, from its first byte: a call is a few hundred bytes on a local socket; 10 s
 *     leaves room for a loaded machine, not for a client holding its slot by trickling bytes.
 *   - 60 s idle: clients that keep a connection between calls (userdbd) get a minute. */
#define VARLINK_MESSAGE_MAX_DEFAULT               (128U * 1024U) /* one incoming message, NUL excluded */
#define VARLINK_OUTPUT_MAX_DEFAULT                (16U * 1024U * 1024U) /* unsent output per connection */
#define VARLINK_CONNECTIONS_MAX_DEFAULT           1024U
#define VARLINK_CONNECTIONS_RESERVED_ROOT_DEFAULT 64U
#define VARLINK_CONNECTIONS_PER_UID_MAX_DEFAULT   64U
#define VARLINK_MESSAGE_TIMEOUT_DEFAULT           (10U * USEC_PER_SEC)
#define VARLINK_IDLE_TIMEOUT_DEFAULT              (60U * USEC_PER_SEC)

/* The client's bound on one reply message: our own daemon's replies, the largest being the report of the
 * largest Import (io.corehomed.Manager sends replies up to MANAGER_MESSAGE_MAX, ~98 MiB). The buffer grows
 * only as a reply needs it. */
#define VARLINK_CLIENT_MESSAGE_MAX (128U * 1024U * 1024U)
/* The client's bound on all replies of one "more" call together. */
#define VARLINK_CLIENT_TOTAL_MAX       (256U * 1024U * 1024U)
#define VARLINK_CLIENT_TIMEOUT_DEFAULT (45U * USEC_PER_SEC)

typedef struct VarlinkLimits {
        size_t message_max;       /* larger incoming message: the connection is closed */
        size_t output_max;        /* more unsent output than this (a client that does not read): closed */
        unsigned connections_max; /* all peers together; further connections are accepted and closed */
        unsigned connections_reserved_root; /* of those, kept for uid 0: the other uids together never
                                               hold more than connections_max - this */
        unsigned connections_per_uid_max;   /* one uid other than 0 (root is bounded by the total only) */
        usec_t message_timeout; /* a message must be complete this long after its first byte, whatever
                                   trickles in meanwhile, else closed; USEC_INFINITY = never */
        usec_t idle_timeout;    /* no byte in or out for this long, no call pending: closed; USEC_INFINITY =
                                   never */
} VarlinkLimits;

typedef struct VarlinkServer VarlinkServer;
typedef struct VarlinkCall VarlinkCall;

/* parameters: the call's "parameters" object (an empty object when the call had none); borrowed, valid
 * for the duration of the callback (json_incref() it to keep it). */
typedef int (*VarlinkMethod)(VarlinkCall *call, json_t *parameters, void *userdata);

/* Makes a server on event loop e (referenced). Exactly one of:
 *   path       creates the parent directories (0755) when missing, removes a stale socket at path (only a
 *              socket: -EEXIST for any other file), binds, sets the socket's mode (created with that mode,
 *              never wider for a moment), listens; varlink_server_free() unlinks it again;
 *   listen_fd  >= 0: an already bound, listening AF_UNIX stream socket (socket activation); the server
 *              takes ownership of the fd (closed by varlink_server_free(), also on failure); path = NULL.
 * -EINVAL for both or neither, -ENAMETOOLONG for a path that does not fit sockaddr_un. */
int varlink_server_new(sd_event *e, const char *path, mode_t mode, int listen_fd, VarlinkServer **ret);

/* Closes every connection (pending calls become orphans whose replies return -ENOTCONN), the listening
 * socket, unlinks a socket the server created. Must not be called from inside a method callback. */
VarlinkServer *varlink_server_free(VarlinkServer *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(VarlinkServer *, varlink_server_free)
#define _cleanup_varlink_server_ _cleanup_(varlink_server_freep)

/* Replaces the limits (fields left 0 take the defaults). Applies to connections accepted afterwards and to
 * messages read afterwards. -EINVAL when root's reserve leaves no slot to the other uids, or one uid's
 * share exceeds what they share. */
int varlink_server_set_limits(VarlinkServer *s, const VarlinkLimits *limits);

/* Serves fd, a connected AF_UNIX stream socket, as if accepted from the listening socket: the same limits
 * apply, the peer is whoever SO_PEERCRED names (the creator, for one end of a socketpair). The server
 * takes fd (closed on failure too). -EBUSY when a connection limit refuses it. */
int varlink_server_add_connection(VarlinkServer *s, int fd);

/* What org.varlink.service.GetInfo reports (defaults: "corehomed", "corehomed", the project version,
 * "https://github.com/corehomed"). Strings are copied. */
int varlink_server_set_info(VarlinkServer *s, const char *vendor, const char *product, const char *version,
                            const char *url);

/* Registers method name ("interface.Method", e.g. "io.systemd.UserDatabase.GetUserRecord"); its interface
 * becomes known (GetInfo lists it; a call to an unknown method of a known interface gets MethodNotFound,
 * of an unknown interface InterfaceNotFound). -EEXIST for a name registered twice, -EINVAL for a name
 * without an interface part. */
int varlink_server_add_method(VarlinkServer *s, const char *name, VarlinkMethod method, void *userdata);

/* Hands data to the server: free_func(data) runs when the server is freed (state that registered methods
 * share, such as a service's context). */
int varlink_server_attach_data(VarlinkServer *s, void *data, void (*free_func)(void *));

/* Open connections right now (for status output and tests). */
unsigned varlink_server_connections(VarlinkServer *s);

/* The call asked for several replies ("more": true). */
bool varlink_call_wants_more(VarlinkCall *c);
/* The call asked for no reply at all ("oneway": true); replies and errors are then accepted and dropped. */
bool varlink_call_is_oneway(VarlinkCall *c);
/* The method name as called. */
const char *varlink_call_method(VarlinkCall *c);

/* Final reply with parameters (not stolen; NULL = {}). The call is finished and freed: c must not be used
 * afterwards, also when an error is returned (-ENOTCONN when the client went away, -E2BIG when the output
 * limit was hit: the connection is then closed, -ENOMEM). */
int varlink_call_reply(VarlinkCall *c, json_t *parameters);

/* One of several replies ("continues": true); the call stays open. -EPROTO when the call did not ask for
 * "more" (the call stays open: answer it with reply or error), -ENOTCONN / -E2BIG as above (the call stays
 * open too and must still be finished; its final answer is then dropped). */
int varlink_call_reply_more(VarlinkCall *c, json_t *parameters);

/* The same two with the parameters as text: parameters (size bytes, no NUL needed) must be the compact
 * JSON text of an object, as json_dumps(object, JSON_COMPACT) makes it; it is sent as it is, not parsed
 * (answers prepared once and sent many times: the userdb records). The message is byte for byte the one
 * varlink_call_reply() / varlink_call_reply_more() sends for that object. */
int varlink_call_reply_text(VarlinkCall *c, const char *parameters, size_t size);
int varlink_call_reply_more_text(VarlinkCall *c, const char *parameters, size_t size);

/* Final error reply: error is the qualified name, parameters (not stolen; NULL = {}). Frees c like
 * varlink_call_reply(). -EINVAL for a NULL/empty error name (the call is still finished, with
 * io.systemd.System). */
int varlink_call_error(VarlinkCall *c, const char *error, json_t *parameters);

/* Convenience: org.varlink.service.InvalidParameter {"parameter": name}. */
int varlink_call_error_invalid_parameter(VarlinkCall *c, const char *name);

/* The peer's credentials, taken with SO_PEERCRED when the connection was accepted (either output may be
 * NULL). */
int varlink_call_peer(VarlinkCall *c, uid_t *ret_uid, pid_t *ret_pid);

/* Synchronous client. Connects to path, sends one call (parameters not stolen; NULL = {}), waits at most
 * timeout (0 = VARLINK_CLIENT_TIMEOUT_DEFAULT, USEC_INFINITY = forever) for the final reply.
 * Returns 0 when a reply arrived: *ret_reply (optional) = its parameters (an object, {} when absent),
 * *ret_error_name (optional) = NULL for success or the error's name (then *ret_reply holds the error's
 * parameters). With ret_error_name == NULL an error reply is returned as -EBADR instead.
 * Transport failures: -ENOENT/-ECONNREFUSED (no server), -ETIMEDOUT, -ECONNRESET (closed before the reply),
 * -EBADMSG (malformed reply), -E2BIG (reply larger than VARLINK_CLIENT_MESSAGE_MAX), -ENAMETOOLONG. */
int varlink_client_call(const char *path, const char *method, json_t *parameters, usec_t timeout,
                        json_t **ret_reply, char **ret_error_name);

/* As varlink_client_call(), with "more": true: *ret_replies = a new array of every reply's parameters in
 * order (the "continues" ones and the final one). When the server ends with an error, *ret_replies holds
 * the replies before it and *ret_error_name the error (-EBADR without ret_error_name). The total is bounded
 * by VARLINK_CLIENT_TOTAL_MAX (-E2BIG). timeout covers the whole exchange. */
int varlink_client_call_more(const char *path, const char *method, json_t *parameters, usec_t timeout,
                             json_t **ret_replies, char **ret_error_name);
