/* SPDX-License-Identifier: MIT */
/* Varlink server and synchronous client; see varlink.h for the protocol and the API contract. */

#include "varlink.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>

#include "file-util.h"
#include "json-util.h"

#define VARLINK_READ_CHUNK    (64U * 1024U) /* at most this much input per connection per loop iteration */
#define VARLINK_INPUT_INITIAL 4096U         /* a call to userdb is ~150 bytes: grow only for large ones */
#define VARLINK_ACCEPT_BURST  64U
#define VARLINK_ACCEPT_RETRY  (100U * 1000U) /* out of descriptors: accept again after this long */
/* Up to this many connections, a complete call is answered at once when nothing else waits (see
 * server_may_answer_now()); beyond, the check would cost more than the loop iteration it saves. */
#define VARLINK_ANSWER_NOW_CONNECTIONS_MAX 8U
#define VARLINK_SERVICE_IFACE              "org.varlink.service"

typedef struct VarlinkConnection VarlinkConnection;
typedef struct VarlinkPeer VarlinkPeer;

typedef struct VarlinkMethodEntry {
        char *name;
        VarlinkMethod method;
        void *userdata;
} VarlinkMethodEntry;

typedef struct VarlinkAttached {
        void *data;
        void (*free_func)(void *);
} VarlinkAttached;

struct VarlinkServer {
        sd_event *event;
        int listen_fd;
        sd_event_source *listen_source;
        char *path; /* set only when we created the socket, so free unlinks only what is ours */
        VarlinkLimits limits;
        VarlinkMethodEntry *methods;
        size_t n_methods;
        char *vendor, *product, *version, *url;
        VarlinkConnection *connections;
        unsigned n_connections;
        unsigned n_unprivileged; /* connections of uids other than 0 */
        VarlinkPeer *peers;      /* every uid with a connection */
        /* The run ring: the peers with a connection that has a message to handle (or a step to take after
         * an async answer), each taking one turn in order; points to the one whose turn is next. */
        VarlinkPeer *ring;
        /* Runs one turn: a timer that is always due, not a defer source. sd-event runs the pending sources
         * of equal priority oldest first and breaks ties in no promised order; a defer source enabled by a
         * handler is pending from that iteration, as old as the connections that became readable with the
         * one being handled, and (measured) runs before them: turns and reads alternate, and a victim's call
         * read last waits for one turn per flooding connection read before it. A due timer becomes pending
         * at the next iteration, behind every source that was ready before it, so every call that has
         * arrived is queued before the next turn is chosen. Arming it costs two timerfd_settime(); a lookup
         * with nothing else to do does not take turns at all (server_may_answer_now()). */
        sd_event_source *run_source;
        bool in_turn;
        /* Closes the connections idle for their idle_timeout: one timer for all of them, armed while there
         * are connections, every idle_timeout / 4. A timer per connection cost two timerfd_settime() per
         * lookup (armed when the connection came, disarmed when it went); this one is armed once for a run
         * of lookups. A connection goes between idle_timeout and 1.5 * idle_timeout after its last byte. */
        sd_event_source *idle_sweep;
        sd_event_source *accept_retry_source;
        VarlinkAttached *attached;
        size_t n_attached;
};

/* The connections of one uid: counted for the per-uid limit, and taking turns as one. Fairness is
 * between uids, not connections: a local user opening more connections gets no more of the server's time,
 * just as a user pipelining more calls does not. */
struct VarlinkPeer {
        VarlinkServer *server;
        uid_t uid;
        unsigned n_connections;
        VarlinkPeer *prev, *next;               /* the server's peers */
        VarlinkPeer *ring_prev, *ring_next;     /* the run ring, while run_head is set */
        VarlinkConnection *run_head, *run_tail; /* connections with a step to take, oldest first */
};

struct VarlinkConnection {
        VarlinkServer *server;
        VarlinkConnection *prev, *next;
        VarlinkPeer *peer;
        VarlinkConnection *run_next; /* in the peer's run queue */
        bool scheduled;
        int fd;
        uid_t uid;
        pid_t pid;
        sd_event_source *io_source;
        usec_t last_active;               /* CLOCK_MONOTONIC of the loop iteration that last moved a byte */
        sd_event_source *deadline_source; /* the message the client has begun must be complete by then */
        /* Input not handled yet: [in_start, in_size). Bytes of [in_start, in_scanned) hold no NUL, so a
         * client trickling bytes costs linear time. The buffer grows as a message needs it, up to
         * message_max + 1 bytes (one message plus its NUL): memory per connection is bounded whatever the
         * client sends, and small for the usual small calls. */
        char *in;
        size_t in_start, in_scanned, in_size, in_allocated;
        size_t message_max;
        /* Output not yet accepted by the kernel. */
        char *out;
        size_t out_size, out_offset, out_allocated;
        size_t output_max;
        usec_t idle_timeout, message_timeout;
        VarlinkCall *call;    /* the call being answered; one at a time, in order */
        unsigned dispatching; /* >0 while our code below a handler is on the stack: defer the free */
        bool deadline_armed;
        bool read_eof;
        bool dead;
};

struct VarlinkCall {
        VarlinkConnection *conn; /* NULL once the connection is gone (an orphaned async call) */
        char *method;
        bool more, oneway;
        uid_t uid;
        pid_t pid;
        VarlinkCallDisconnected disconnected; /* told when the connection goes while the call is open */
        void *disconnected_userdata;
};

static void connection_free(VarlinkConnection *c);
static int connection_update_events(VarlinkConnection *c);
static void connection_schedule(VarlinkConnection *c);
static void connection_touch(VarlinkConnection *c);

static usec_t now_monotonic(void)
{
        struct timespec ts;

        (void) clock_gettime(CLOCK_MONOTONIC, &ts);
        return (usec_t) ts.tv_sec * USEC_PER_SEC + (usec_t) ts.tv_nsec / 1000U;
}

static VarlinkLimits limits_or_defaults(const VarlinkLimits *l)
{
        VarlinkLimits d = {
                .message_max = VARLINK_MESSAGE_MAX_DEFAULT,
                .output_max = VARLINK_OUTPUT_MAX_DEFAULT,
                .connections_max = VARLINK_CONNECTIONS_MAX_DEFAULT,
                .connections_reserved_root = VARLINK_CONNECTIONS_RESERVED_ROOT_DEFAULT,
                .connections_per_uid_max = VARLINK_CONNECTIONS_PER_UID_MAX_DEFAULT,
                .message_timeout = VARLINK_MESSAGE_TIMEOUT_DEFAULT,
                .idle_timeout = VARLINK_IDLE_TIMEOUT_DEFAULT,
        };

        if (!l)
                return d;
        if (l->message_max > 0)
                d.message_max = l->message_max;
        if (l->output_max > 0)
                d.output_max = l->output_max;
        if (l->connections_max > 0)
                d.connections_max = l->connections_max;
        if (l->connections_reserved_root > 0)
                d.connections_reserved_root = l->connections_reserved_root;
        if (l->connections_per_uid_max > 0)
                d.connections_per_uid_max = l->connections_per_uid_max;
        if (l->message_timeout > 0)
                d.message_timeout = l->message_timeout;
        if (l->idle_timeout > 0)
                d.idle_timeout = l->idle_timeout;
        return d;
}

/* ---- calls ---- */

static VarlinkCall *call_free(VarlinkCall *call)
{
        if (!call)
                return NULL;
        free(call->method);
        free(call);
        return NULL;
}

bool varlink_call_wants_more(VarlinkCall *c)
{
        return c && c->more;
}

bool varlink_call_is_oneway(VarlinkCall *c)
{
        return c && c->oneway;
}

const char *varlink_call_method(VarlinkCall *c)
{
        return c ? c->method : NULL;
}

int varlink_call_set_disconnected(VarlinkCall *c, VarlinkCallDisconnected func, void *userdata)
{
        if (!c || !c->conn)
                return c ? -ENOTCONN : -EINVAL;
        c->disconnected = func;
        c->disconnected_userdata = userdata;
        return 0;
}

int varlink_call_set_output_max(VarlinkCall *c, size_t size)
{
        if (!c || size == 0)
                return -EINVAL;
        if (!c->conn)
                return -ENOTCONN;
        c->conn->output_max = size;
        return 0;
}

size_t varlink_call_output_pending(VarlinkCall *c)
{
        return c && c->conn ? c->conn->out_size - c->conn->out_offset : 0;
}

int varlink_call_peer(VarlinkCall *c, uid_t *ret_uid, pid_t *ret_pid)
{
        if (!c)
                return -EINVAL;
        if (ret_uid)
                *ret_uid = c->uid;
        if (ret_pid)
                *ret_pid = c->pid;
        return 0;
}

/* Marks a connection for closing. Freed at once when no handler of ours is on the stack, else by the
 * handler when it unwinds. */
static void connection_kill(VarlinkConnection *c)
{
        c->dead = true;
        if (c->dispatching == 0)
                connection_free(c);
}

static int connection_flush(VarlinkConnection *c)
{
        while (c->out_offset < c->out_size) {
                ssize_t n = send(c->fd, c->out + c->out_offset, c->out_size - c->out_offset,
                                 MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN)
                                break;
                        return -errno;
                }
                c->out_offset += (size_t) n;
                connection_touch(c);
        }
        if (c->out_offset == c->out_size) {
                c->out_offset = c->out_size = 0;
                /* Do not keep a huge enumeration's buffer around for an idle connection. */
                if (c->out_allocated > VARLINK_READ_CHUNK) {
                        c->out = mfree(c->out);
                        c->out_allocated = 0;
                }
        }
        return 0;
}

/* Queues one message, the concatenation of parts (its NUL is added here), and tries to send it right
 * away. */
static int connection_enqueue_parts(VarlinkConnection *c, const struct iovec *parts, size_t n_parts)
{
        size_t len = 1, pending;
        int r;

        for (size_t i = 0; i < n_parts; i++)
                len += parts[i].iov_len;
        pending = c->out_size - c->out_offset;
        /* A client that asks but does not read would otherwise make us buffer without end. */
        if (pending + len > c->output_max)
                return -E2BIG;
        if (c->out_offset > 0 && c->out_size + len > c->out_allocated) {
                memmove(c->out, c->out + c->out_offset, pending);
                c->out_size = pending;
                c->out_offset = 0;
        }
        if (c->out_size + len > c->out_allocated) {
                size_t want = c->out_allocated ? c->out_allocated : 4096;
                char *p;

                while (want < c->out_size + len)
                        want *= 2;
                p = realloc(c->out, want);
                if (!p)
                        return -ENOMEM;
                c->out = p;
                c->out_allocated = want;
        }
        for (size_t i = 0; i < n_parts; i++) {
                memcpy(c->out + c->out_size, parts[i].iov_base, parts[i].iov_len);
                c->out_size += parts[i].iov_len;
        }
        c->out[c->out_size++] = '\0';
        r = connection_flush(c);
        if (r < 0)
                return r;
        /* Inside a handler of ours, its settling sets the events once the call is through (a lookup's
         * would otherwise go to none and back to EPOLLIN: two epoll_ctl()). */
        if (c->dispatching > 0)
                return 0;
        return connection_update_events(c);
}

/* Queues one message (object + NUL). */
static int connection_enqueue(VarlinkConnection *c, json_t *message)
{
        _cleanup_free_ char *text = json_dumps(message, JSON_COMPACT);

        if (!text)
                return -ENOMEM;
        return connection_enqueue_parts(c, &(struct iovec){ .iov_base = text, .iov_len = strlen(text) }, 1);
}

/* Sends one answer of call: the final one when final, a "continues" one otherwise. Returns -ENOTCONN
 * for an orphaned call; a failed send kills the connection. */
static int call_send(VarlinkCall *call, const char *error, json_t *parameters, bool final)
{
        _cleanup_json_ json_t *m = NULL;
        VarlinkConnection *c = call->conn;
        int r;

        if (!c || c->dead)
                return -ENOTCONN;
        if (call->oneway)
                return 0;
        m = json_object();
        if (!m)
                return -ENOMEM;
        if (error && json_object_set_new(m, "error", json_string(error)) < 0)
                return -ENOMEM;
        if (json_object_set_new(m, "parameters", parameters ? json_incref(parameters) : json_object()) < 0)
                return -ENOMEM;
        if (!final && json_object_set_new(m, "continues", json_true()) < 0)
                return -ENOMEM;
        r = connection_enqueue(c, m);
        if (r < 0 && r != -ENOMEM)
                connection_kill(c);
        return r;
}

/* The same with the parameters as the compact text of a JSON object: the message is exactly what
 * call_send() makes of the object that text is the dump of (jansson keeps the order keys were added in:
 * "parameters" first, then "continues"). */
static int call_send_text(VarlinkCall *call, const char *parameters, size_t size, bool final)
{
        static const char head[] = "{\"parameters\":", tail_final[] = "}",
                          tail_continues[] = ",\"continues\":true}";
        VarlinkConnection *c = call->conn;
        int r;

        if (!c || c->dead)
                return -ENOTCONN;
        if (call->oneway)
                return 0;
        const struct iovec parts[] = {
                { .iov_base = (void *) head, .iov_len = sizeof(head) - 1 },
                { .iov_base = (void *) parameters, .iov_len = size },
                final ? (struct iovec){ .iov_base = (void *) tail_final, .iov_len = sizeof(tail_final) - 1 }
                      : (struct iovec){ .iov_base = (void *) tail_continues,
                                        .iov_len = sizeof(tail_continues) - 1 },
        };
        r = connection_enqueue_parts(c, parts, ELEMENTSOF(parts));
        if (r < 0 && r != -ENOMEM)
                connection_kill(c);
        return r;
}

/* Ends call: detaches it from its connection and lets the connection go on with the next message. */
static void call_finish(VarlinkCall *call)
{
        VarlinkConnection *c = call->conn;

        if (c) {
                c->call = NULL;
                if (!c->dead && c->dispatching == 0) {
                        /* An async answer: continue with buffered messages from the loop, in the
                         * connection's turn, not from inside the caller's stack. (Inside a handler of
                         * ours, its settling does both.) */
                        connection_schedule(c);
                        (void) connection_update_events(c);
                }
        }
        call_free(call);
}

int varlink_call_reply(VarlinkCall *c, json_t *parameters)
{
        int r;

        if (!c)
                return -EINVAL;
        /* A final answer ends the call here: a connection that breaks while it is sent tells nobody. */
        c->disconnected = NULL;
        r = call_send(c, NULL, parameters, true);
        call_finish(c);
        return r;
}

int varlink_call_reply_more(VarlinkCall *c, json_t *parameters)
{
        if (!c)
                return -EINVAL;
        if (!c->more)
                return -EPROTO;
        return call_send(c, NULL, parameters, false);
}

int varlink_call_reply_text(VarlinkCall *c, const char *parameters, size_t size)
{
        int r;

        if (!c)
                return -EINVAL;
        r = call_send_text(c, parameters, size, true);
        call_finish(c);
        return r;
}

int varlink_call_reply_more_text(VarlinkCall *c, const char *parameters, size_t size)
{
        if (!c)
                return -EINVAL;
        if (!c->more)
                return -EPROTO;
        return call_send_text(c, parameters, size, false);
}

int varlink_call_error(VarlinkCall *c, const char *error, json_t *parameters)
{
        int r;

        if (!c)
                return -EINVAL;
        c->disconnected = NULL;
        if (!error || !*error) {
                _cleanup_json_ json_t *p = json_pack("{s:i}", "errno", EINVAL);

                (void) call_send(c, VARLINK_ERROR_SYSTEM, p, true);
                call_finish(c);
                return -EINVAL;
        }
        r = call_send(c, error, parameters, true);
        call_finish(c);
        return r;
}

int varlink_call_error_invalid_parameter(VarlinkCall *c, const char *name)
{
        _cleanup_json_ json_t *p = json_pack("{s:s}", "parameter", strempty(name));

        if (!p) {
                /* Still finish the call, whatever happens. */
                return varlink_call_error(c, VARLINK_ERROR_INVALID_PARAMETER, NULL);
        }
        return varlink_call_error(c, VARLINK_ERROR_INVALID_PARAMETER, p);
}

/* ---- dispatch ---- */

static const VarlinkMethodEntry *server_find_method(VarlinkServer *s, const char *name)
{
        for (size_t i = 0; i < s->n_methods; i++)
                if (streq(s->methods[i].name, name))
                        return &s->methods[i];
        return NULL;
}

static bool server_knows_interface(VarlinkServer *s, const char *iface, size_t len)
{
        if (len == strlen(VARLINK_SERVICE_IFACE) && strneq(iface, VARLINK_SERVICE_IFACE, len))
                return true;
        for (size_t i = 0; i < s->n_methods; i++) {
                const char *dot = strrchr(s->methods[i].name, '.');

                if ((size_t) (dot - s->methods[i].name) == len && strneq(s->methods[i].name, iface, len))
                        return true;
        }
        return false;
}

static int builtin_get_info(VarlinkCall *call, VarlinkServer *s)
{
        _cleanup_json_ json_t *reply = NULL, *ifaces = json_array();

        if (!ifaces || json_array_append_new(ifaces, json_string(VARLINK_SERVICE_IFACE)) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < s->n_methods; i++) {
                const char *name = s->methods[i].name;
                _cleanup_free_ char *iface = strndup(name, (size_t) (strrchr(name, '.') - name));
                bool seen = false;
                size_t k;
                json_t *v;

                if (!iface)
                        return -ENOMEM;
                json_array_foreach (ifaces, k, v)
                        seen = seen || streq(json_string_value(v), iface);
                if (!seen && json_array_append_new(ifaces, json_string(iface)) < 0)
                        return -ENOMEM;
        }
        reply = json_pack("{s:s, s:s, s:s, s:s, s:O}", "vendor", s->vendor, "product", s->product, "version",
                          s->version, "url", s->url, "interfaces", ifaces);
        if (!reply)
                return -ENOMEM;
        return varlink_call_reply(call, reply);
}

static int builtin_get_interface_description(VarlinkCall *call, json_t *parameters)
{
        json_t *iface = json_object_get(parameters, "interface");
        _cleanup_json_ json_t *p = NULL;

        if (!json_is_string(iface))
                return varlink_call_error_invalid_parameter(call, "interface");
        /* We carry no interface definitions (IDL); clients of ours do not introspect. */
        p = json_pack("{s:O}", "interface", iface);
        return varlink_call_error(call, VARLINK_ERROR_INTERFACE_NOT_FOUND, p);
}

/* Calls the method for call (already attached to c as c->call). */
static void call_invoke(VarlinkConnection *c, VarlinkCall *call, json_t *parameters)
{
        VarlinkServer *s = c->server;
        const VarlinkMethodEntry *m = server_find_method(s, call->method);
        const char *dot = strrchr(call->method, '.');
        int r;

        if (m)
                r = m->method(call, parameters, m->userdata);
        else if (streq(call->method, VARLINK_SERVICE_IFACE ".GetInfo"))
                r = builtin_get_info(call, s);
        else if (streq(call->method, VARLINK_SERVICE_IFACE ".GetInterfaceDescription"))
                r = builtin_get_interface_description(call, parameters);
        else if (dot && dot != call->method &&
                 server_knows_interface(s, call->method, (size_t) (dot - call->method))) {
                _cleanup_json_ json_t *p = json_pack("{s:s}", "method", call->method);
                r = varlink_call_error(call, VARLINK_ERROR_METHOD_NOT_FOUND, p);
        } else {
                _cleanup_free_ char *iface =
                        dot ? strndup(call->method, (size_t) (dot - call->method)) : strdup(call->method);
                _cleanup_json_ json_t *p = iface ? json_pack("{s:s}", "interface", iface) : NULL;
                r = varlink_call_error(call, VARLINK_ERROR_INTERFACE_NOT_FOUND, p);
        }

        /* A method that failed without answering gets systemd's generic answer, so no client hangs. */
        if (r < 0 && c->call == call) {
                _cleanup_json_ json_t *p = json_pack("{s:i}", "errno", -r);
                (void) varlink_call_error(call, VARLINK_ERROR_SYSTEM, p);
        }
}

static bool json_is_bool_or_null(json_t *v)
{
        return !v || json_is_boolean(v) || json_is_null(v);
}

/* Parses one message (len bytes, no NUL inside) and dispatches it. Returns -EBADMSG for anything that is
 * not a well-formed call: the connection is then closed, as systemd does, since the stream may be out of
 * step. */
static int connection_handle_message(VarlinkConnection *c, const char *text, size_t len)
{
        _cleanup_json_ json_t *m = NULL;
        json_t *method, *parameters, *more, *oneway;
        _cleanup_json_ json_t *empty = NULL;
        VarlinkCall *call;

        m = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
        if (!m || !json_is_object(m))
                return -EBADMSG;
        method = json_object_get(m, "method");
        parameters = json_object_get(m, "parameters");
        more = json_object_get(m, "more");
        oneway = json_object_get(m, "oneway");
        if (!json_is_string(method) || json_string_length(method) == 0 ||
            strlen(json_string_value(method)) != json_string_length(method))
                return -EBADMSG;
        if (parameters && !json_is_object(parameters) && !json_is_null(parameters))
                return -EBADMSG;
        if (!json_is_bool_or_null(more) || !json_is_bool_or_null(oneway))
                return -EBADMSG;
        if (json_is_true(more) && json_is_true(oneway))
                return -EBADMSG;

        if (!parameters || json_is_null(parameters)) {
                empty = json_object();
                if (!empty)
                        return -ENOMEM;
                parameters = empty;
        }
        call = calloc(1, sizeof(VarlinkCall));
        if (!call)
                return -ENOMEM;
        call->method = strdup(json_string_value(method));
        if (!call->method) {
                call_free(call);
                return -ENOMEM;
        }
        call->conn = c;
        call->more = json_is_true(more);
        call->oneway = json_is_true(oneway);
        call->uid = c->uid;
        call->pid = c->pid;
        c->call = call;
        call_invoke(c, call, parameters);
        return 0;
}

/* The next complete message of the input: its length (NUL excluded) from in + in_start. False when the
 * input holds none yet. Every byte is searched once. */
static bool connection_next_message(VarlinkConnection *c, size_t *ret_len)
{
        char *nul = c->in_size > c->in_scanned ? memchr(c->in + c->in_scanned, 0, c->in_size - c->in_scanned)
                                               : NULL;

        if (!nul) {
                c->in_scanned = c->in_size;
                return false;
        }
        c->in_scanned = (size_t) (nul - c->in);
        *ret_len = c->in_scanned - c->in_start;
        return true;
}

/* Ready for the client's next call: none is being answered and every answer has left. Waiting for the
 * client to read keeps the output of a connection to one call's worth, however many it pipelines. */
static bool connection_ready(VarlinkConnection *c)
{
        return !c->dead && !c->call && c->out_size == c->out_offset;
}

/* We wait for bytes of the client: ready, and no complete message buffered. */
static bool connection_wants_input(VarlinkConnection *c)
{
        return connection_ready(c) && !c->read_eof && c->in_scanned == c->in_size &&
               c->in_size - c->in_start <= c->message_max;
}

/* A message the client has begun must be complete message_timeout after we began to wait for its rest.
 * Bytes trickling in do not move the deadline (they do renew the idle timeout): else a client could hold
 * a connection for ever with one byte now and then. The clock runs only while we wait for the client, not
 * while one of its calls is ours to answer. */
static void connection_update_deadline(VarlinkConnection *c)
{
        bool waiting = connection_ready(c) && c->in_start < c->in_size && c->in_scanned == c->in_size;

        if (!c->deadline_source || waiting == c->deadline_armed)
                return;
        if (waiting) {
                if (sd_event_source_set_time_relative(c->deadline_source, c->message_timeout) < 0 ||
                    sd_event_source_set_enabled(c->deadline_source, SD_EVENT_ONESHOT) < 0)
                        return;
        } else
                (void) sd_event_source_set_enabled(c->deadline_source, SD_EVENT_OFF);
        c->deadline_armed = waiting;
}

/* Settles a connection after anything happened to it (input read, output sent, a message handled, a call
 * answered): closes it when it is done or broke a limit, and otherwise queues its next message for its
 * turn and says which events it waits for. */
static void connection_settle(VarlinkConnection *c)
{
        bool more = false;
        size_t len;

        if (!c->dead)
                more = connection_next_message(c, &len);
        /* No NUL within message_max + 1 bytes: an oversized (or unterminated) message. */
        if (!c->dead && !more && c->in_size - c->in_start > c->message_max)
                c->dead = true;
        /* The client said all it will say and has all its answers: done. A message it left incomplete
         * can never be completed. */
        if (!c->dead && c->read_eof && !more && connection_ready(c))
                c->dead = true;
        if (c->dead) {
                connection_kill(c);
                return;
        }
        if (c->in_start == c->in_size) {
                c->in_start = c->in_scanned = c->in_size = 0;
                /* Do not keep a large message's buffer around for an idle connection. */
                if (c->in_allocated > VARLINK_READ_CHUNK) {
                        c->in = mfree(c->in);
                        c->in_allocated = 0;
                }
        }
        /* The next message waits for this uid's next turn. (A pending call is scheduled when answered,
         * pending output is settled when it has left.) */
        if (more && connection_ready(c))
                connection_schedule(c);
        connection_update_deadline(c);
        (void) connection_update_events(c);
}

/* One turn of c: handles at most one message. */
static void connection_process(VarlinkConnection *c)
{
        size_t len;

        c->dispatching++;
        if (connection_ready(c) && connection_next_message(c, &len)) {
                const char *text = c->in + c->in_start;

                c->in_start += len + 1;
                c->in_scanned = c->in_start;
                if (connection_handle_message(c, text, len) < 0)
                        c->dead = true;
        }
        c->dispatching--;
        connection_settle(c);
}

/* Makes room for the next read: handled messages leave the buffer, which grows (doubling, up to
 * message_max + 1) only when one message does not fit. */
static int connection_make_room(VarlinkConnection *c)
{
        size_t limit = c->message_max + 1, want;
        char *p;

        if (c->in_start > 0) {
                memmove(c->in, c->in + c->in_start, c->in_size - c->in_start);
                c->in_size -= c->in_start;
                c->in_scanned -= c->in_start;
                c->in_start = 0;
        }
        if (c->in_size < c->in_allocated || c->in_allocated >= limit)
                return 0;
        want = c->in_allocated ? c->in_allocated * 2 : VARLINK_INPUT_INITIAL;
        if (want > limit)
                want = limit;
        p = realloc(c->in, want);
        if (!p)
                return -ENOMEM;
        c->in = p;
        c->in_allocated = want;
        return 0;
}

/* Reads what the socket holds, at most VARLINK_READ_CHUNK: one turn's worth. */
static int connection_read(VarlinkConnection *c)
{
        size_t room;
        ssize_t n;
        int r;

        r = connection_make_room(c);
        if (r < 0)
                return r;
        room = c->in_allocated - c->in_size;
        if (room > VARLINK_READ_CHUNK)
                room = VARLINK_READ_CHUNK;
        if (room == 0)
                return 0;
        n = recv(c->fd, c->in + c->in_size, room, MSG_DONTWAIT);
        if (n < 0)
                return errno == EAGAIN || errno == EINTR ? 0 : -errno;
        if (n == 0)
                c->read_eof = true;
        c->in_size += (size_t) n;
        if (n > 0)
                connection_touch(c);
        return 0;
}

static uint32_t connection_events(VarlinkConnection *c)
{
        uint32_t events = 0;

        /* Back-pressure: no reading while a call is pending, output waits or a complete message is still
         * buffered, so one client cannot queue unbounded work. */
        if (connection_wants_input(c))
                events |= EPOLLIN;
        if (c->out_size > c->out_offset)
                events |= EPOLLOUT;
        return events;
}

static int connection_update_events(VarlinkConnection *c)
{
        if (!c->io_source)
                return 0;
        return sd_event_source_set_io_events(c->io_source, connection_events(c));
}

/* Whether the call c has just received may be answered now instead of at its uid's turn: nobody waits for
 * a turn (the ring is empty) and no other connection has input the loop has not read yet. Then the ring
 * would make c the next turn whatever the loop did first, so answering now changes no order; it saves the
 * loop iteration before the turn, which is on the way of every answer (between a lookup's call arriving and
 * its answer leaving, the read alone, where there were the read, an epoll_ctl(), gettid() and an
 * epoll_wait()). Any other connection with unread input (a flood, a second client) and the calls take
 * turns as always. */
static bool server_may_answer_now(VarlinkServer *s, VarlinkConnection *c)
{
        if (!s || s->ring || s->in_turn || s->n_connections > VARLINK_ANSWER_NOW_CONNECTIONS_MAX)
                return false;
        for (VarlinkConnection *i = s->connections; i; i = i->next)
                if (i != c && i->io_source && sd_event_source_get_pending(i->io_source) != 0)
                        return false;
        return true;
}

static int on_connection_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        VarlinkConnection *c = userdata;
        int r;

        c->dispatching++;
        if (revents & EPOLLOUT) {
                r = connection_flush(c);
                if (r < 0)
                        c->dead = true;
        }
        if (!c->dead && (revents & EPOLLIN) && connection_wants_input(c)) {
                r = connection_read(c);
                if (r < 0)
                        c->dead = true;
        }
        /* Hang-up or error with nothing readable left: the peer is gone. */
        if (!c->dead && (revents & (EPOLLHUP | EPOLLERR)) && !(revents & EPOLLIN))
                c->dead = true;
        c->dispatching--;
        if (!c->dead && server_may_answer_now(c->server, c))
                connection_process(c); /* the call, if one is complete; then settles */
        else
                connection_settle(c);
        return 0;
}

static usec_t server_now(VarlinkServer *s)
{
        usec_t now = 0;

        /* The loop's time of this iteration: no system call. */
        if (sd_event_now(s->event, CLOCK_MONOTONIC, &now) < 0)
                now = now_monotonic();
        return now;
}

static void connection_touch(VarlinkConnection *c)
{
        if (c->server)
                c->last_active = server_now(c->server);
}

static void server_idle_sweep_arm(VarlinkServer *s)
{
        usec_t period = s->limits.idle_timeout / 4;
        int enabled = SD_EVENT_OFF;

        if (!s->idle_sweep || s->limits.idle_timeout == USEC_INFINITY)
                return;
        if (sd_event_source_get_enabled(s->idle_sweep, &enabled) >= 0 && enabled != SD_EVENT_OFF)
                return;
        if (period < 1000)
                period = 1000; /* 1 ms */
        if (sd_event_source_set_time(s->idle_sweep, server_now(s) + period) >= 0 &&
            sd_event_source_set_time_accuracy(s->idle_sweep, period / 2) >= 0)
                (void) sd_event_source_set_enabled(s->idle_sweep, SD_EVENT_ONESHOT);
}

static int on_idle_sweep(sd_event_source *source, uint64_t usec, void *userdata)
{
        VarlinkServer *s = userdata;
        usec_t now = server_now(s);
        size_t len;

        for (VarlinkConnection *c = s->connections, *next; c; c = next) {
                next = c->next;
                if (c->idle_timeout == USEC_INFINITY)
                        continue;
                /* A pending async call, or buffered calls still waiting for their turn, are our delay, not
                 * the client's: the idle time starts again. */
                if (c->call || c->scheduled || connection_next_message(c, &len)) {
                        c->last_active = now;
                        continue;
                }
                if (now - c->last_active >= c->idle_timeout)
                        connection_kill(c);
        }
        /* Off when nobody is left; the next connection arms it again. */
        if (s->connections)
                server_idle_sweep_arm(s);
        return 0;
}

static int on_connection_deadline(sd_event_source *source, uint64_t usec, void *userdata)
{
        VarlinkConnection *c = userdata;
        size_t len;
        bool complete = false;

        c->deadline_armed = false;
        c->dispatching++;
        /* Bytes the client sent in time but a busy loop had not read yet still count. */
        while (!c->dead && !complete && connection_wants_input(c)) {
                size_t before = c->in_size;

                if (connection_read(c) < 0)
                        c->dead = true;
                complete = connection_next_message(c, &len);
                if (c->in_size == before)
                        break;
        }
        c->dispatching--;
        if (!complete)
                c->dead = true;
        connection_settle(c);
        return 0;
}

/* ---- turns ---- */

static void peer_ring_insert(VarlinkPeer *p)
{
        VarlinkServer *s = p->server;

        /* At the end of the round: every peer already waiting goes first. */
        if (!s->ring) {
                p->ring_next = p->ring_prev = p;
                s->ring = p;
        } else {
                p->ring_next = s->ring;
                p->ring_prev = s->ring->ring_prev;
                p->ring_prev->ring_next = p;
                s->ring->ring_prev = p;
        }
}

static void peer_ring_remove(VarlinkPeer *p)
{
        VarlinkServer *s = p->server;

        if (p->ring_next == p)
                s->ring = NULL;
        else {
                p->ring_prev->ring_next = p->ring_next;
                p->ring_next->ring_prev = p->ring_prev;
                if (s->ring == p)
                        s->ring = p->ring_next;
        }
        p->ring_next = p->ring_prev = NULL;
}

/* Queues c's next step for its uid's next turn. */
static void connection_schedule(VarlinkConnection *c)
{
        VarlinkPeer *p = c->peer;

        if (c->scheduled || !p)
                return;
        c->scheduled = true;
        c->run_next = NULL;
        if (p->run_tail)
                p->run_tail->run_next = c;
        else {
                p->run_head = c;
                peer_ring_insert(p);
        }
        p->run_tail = c;
        /* Within a turn, the turn's end arms the timer when the ring is not empty. */
        if (!p->server->in_turn)
                (void) sd_event_source_set_enabled(p->server->run_source, SD_EVENT_ONESHOT);
}

static void connection_unschedule(VarlinkConnection *c)
{
        VarlinkPeer *p = c->peer;
        VarlinkConnection *prev = NULL;

        if (!c->scheduled)
                return;
        for (VarlinkConnection *i = p->run_head; i != c; i = i->run_next)
                prev = i;
        if (prev)
                prev->run_next = c->run_next;
        else
                p->run_head = c->run_next;
        if (p->run_tail == c)
                p->run_tail = prev;
        c->run_next = NULL;
        c->scheduled = false;
        if (!p->run_head)
                peer_ring_remove(p);
}

/* One turn: one message of the next uid in the ring, from the connection of that uid that waited
 * longest. Then the loop runs every other ready source before the next turn. */
static void server_turn(VarlinkServer *s)
{
        VarlinkPeer *p = s->ring;
        VarlinkConnection *c;

        if (!p)
                return;
        c = p->run_head;
        s->ring = p->ring_next;
        connection_unschedule(c);
        s->in_turn = true;
        connection_process(c);
        s->in_turn = false;
        if (s->ring)
                (void) sd_event_source_set_enabled(s->run_source, SD_EVENT_ONESHOT);
}

static int on_server_run(sd_event_source *source, uint64_t usec, void *userdata)
{
        server_turn(userdata);
        return 0;
}

static VarlinkPeer *server_find_peer(VarlinkServer *s, uid_t uid)
{
        for (VarlinkPeer *p = s->peers; p; p = p->next)
                if (p->uid == uid)
                        return p;
        return NULL;
}

static int server_add_peer(VarlinkServer *s, uid_t uid, VarlinkPeer **ret)
{
        VarlinkPeer *p = calloc(1, sizeof(VarlinkPeer));

        if (!p)
                return -ENOMEM;
        p->server = s;
        p->uid = uid;
        p->next = s->peers;
        if (p->next)
                p->next->prev = p;
        s->peers = p;
        *ret = p;
        return 0;
}

static void peer_free(VarlinkPeer *p)
{
        VarlinkServer *s = p->server;

        if (p->prev)
                p->prev->next = p->next;
        else
                s->peers = p->next;
        if (p->next)
                p->next->prev = p->prev;
        free(p);
}

static void server_resume_accepting(VarlinkServer *s);

static void connection_free(VarlinkConnection *c)
{
        if (!c)
                return;
        if (c->call) {
                /* The method still holds the call; it finds out with -ENOTCONN when answering, or at once
                 * when it asked to be told (a call that stays open for a long time, such as a monitor). */
                VarlinkCall *call = TAKE_PTR(c->call);

                call->conn = NULL;
                if (call->disconnected)
                        call->disconnected(call, call->disconnected_userdata);
        }
        if (c->peer) {
                connection_unschedule(c);
                if (--c->peer->n_connections == 0)
                        peer_free(c->peer);
        }
        if (c->server) {
                if (c->prev)
                        c->prev->next = c->next;
                else
                        c->server->connections = c->next;
                if (c->next)
                        c->next->prev = c->prev;
                c->server->n_connections--;
                if (c->uid != 0)
                        c->server->n_unprivileged--;
                /* A descriptor is free again. */
                server_resume_accepting(c->server);
        }
        sd_event_source_disable_unref(c->io_source);
        sd_event_source_disable_unref(c->deadline_source);
        safe_close(c->fd);
        free(c->in);
        free(c->out);
        free(c);
}

/* Whether a new connection of uid fits the limits. Root is bounded by the total alone. Everyone else
 * shares what root's reserve leaves, each uid at most connections_per_uid_max of it: so neither one local
 * user nor a few of them can take every slot, and root (logins, systemd-userdbd, the administrator) is
 * always answered. */
static bool server_admits(VarlinkServer *s, uid_t uid)
{
        const VarlinkLimits *l = &s->limits;
        VarlinkPeer *p = server_find_peer(s, uid);

        if (s->n_connections >= l->connections_max)
                return false;
        if (uid == 0)
                return true;
        return s->n_unprivileged < l->connections_max - l->connections_reserved_root &&
               (!p || p->n_connections < l->connections_per_uid_max);
}

/* Takes fd, a new connection. may_answer_now: its call may be answered right here (see below); false for
 * every connection but the first of an accept burst, so a burst of connections of one uid takes turns with
 * the others instead. */
static int server_add_connection(VarlinkServer *s, int fd, bool may_answer_now)
{
        _cleanup_close_ int cfd = fd;
        struct ucred cred = {};
        socklen_t len = sizeof(cred);
        VarlinkConnection *c;
        int r = 0;

        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
                return -errno;
        /* Refused by closing: a local user must not be able to exhaust our descriptors or memory. */
        if (!server_admits(s, cred.uid))
                return -EBUSY;

        c = calloc(1, sizeof(VarlinkConnection));
        if (!c)
                return -ENOMEM;
        c->fd = TAKE_FD(cfd);
        c->uid = cred.uid;
        c->pid = cred.pid;
        c->message_max = s->limits.message_max;
        c->output_max = s->limits.output_max;
        c->idle_timeout = s->limits.idle_timeout;
        c->message_timeout = s->limits.message_timeout;
        c->last_active = server_now(s);
        if (c->message_timeout != USEC_INFINITY)
                r = sd_event_add_time_relative(s->event, &c->deadline_source, CLOCK_MONOTONIC,
                                               c->message_timeout, 0, on_connection_deadline, c);
        if (r >= 0 && c->deadline_source)
                r = sd_event_source_set_enabled(c->deadline_source, SD_EVENT_OFF);
        if (r >= 0) {
                c->peer = server_find_peer(s, c->uid);
                if (!c->peer)
                        r = server_add_peer(s, c->uid, &c->peer);
        }
        if (r < 0) {
                connection_free(c);
                return r;
        }
        c->peer->n_connections++;
        c->server = s;
        c->next = s->connections;
        if (c->next)
                c->next->prev = c;
        s->connections = c;
        s->n_connections++;
        if (c->uid != 0)
                s->n_unprivileged++;
        server_idle_sweep_arm(s);

        /* nss-systemd and userdbctl send their call right after connecting: it may be here already (when
         * the client was quicker than our wake-up), and reading it now saves the loop the wake-up for
         * readability; answered now when nothing else waits (server_may_answer_now()). */
        c->dispatching++;
        if (connection_read(c) < 0)
                c->dead = true;
        if (!c->dead && may_answer_now && server_may_answer_now(s, c))
                connection_process(c);
        else
                connection_settle(c);
        c->dispatching--;
        /* Registered once its first events are known: one epoll_ctl(), none to change them right after. */
        if (!c->dead)
                r = sd_event_add_io(s->event, &c->io_source, c->fd, connection_events(c), on_connection_io,
                                    c);
        if (c->dead || r < 0)
                connection_free(c);
        return r;
}

static int on_accept_retry(sd_event_source *source, uint64_t usec, void *userdata)
{
        server_resume_accepting(userdata);
        return 0;
}

static void server_resume_accepting(VarlinkServer *s)
{
        if (s->accept_retry_source) {
                s->accept_retry_source = sd_event_source_disable_unref(s->accept_retry_source);
                (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_ON);
        }
}

/* Out of descriptors (ours or the system's): the listening socket stays readable and the loop would spin
 * on it. Accepting pauses until a connection closes or a moment has passed; clients wait in the backlog. */
static void server_pause_accepting(VarlinkServer *s)
{
        if (s->accept_retry_source)
                return;
        if (sd_event_add_time_relative(s->event, &s->accept_retry_source, CLOCK_MONOTONIC,
                                       VARLINK_ACCEPT_RETRY, 0, on_accept_retry, s) < 0)
                return;
        (void) sd_event_source_set_enabled(s->listen_source, SD_EVENT_OFF);
}

static int on_listen_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
        VarlinkServer *s = userdata;

        for (unsigned i = 0; i < VARLINK_ACCEPT_BURST; i++) {
                int cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

                if (cfd < 0) {
                        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                                server_pause_accepting(s);
                        break; /* EAGAIN, or a transient error: the loop calls us again */
                }
                (void) server_add_connection(s, cfd, /* may_answer_now= */ i == 0);
        }
        return 0;
}

/* ---- server ---- */

static int socket_bind_path(const char *path, mode_t mode, int *ret_fd)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;
        _cleanup_free_ char *parent = NULL;
        struct stat st;
        mode_t old_umask;
        char *slash;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);

        parent = strdup(path);
        if (!parent)
                return -ENOMEM;
        slash = strrchr(parent, '/');
        if (slash && slash != parent) {
                *slash = 0;
                r = mkdir_parents_and_self(parent, 0755);
                if (r < 0)
                        return r;
        }
        /* A stale socket from a previous run is replaced; any other file is not ours to delete. */
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return -EEXIST;
                if (unlink(path) < 0 && errno != ENOENT)
                        return -errno;
        } else if (errno != ENOENT)
                return -errno;

        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        /* bind() creates the socket file with 0777 & ~umask: set the umask so it is born with mode and is
         * never connectable by others in between bind() and a chmod(). */
        old_umask = umask(~mode & 0777);
        r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        r = r < 0 ? -errno : 0;
        umask(old_umask);
        if (r < 0)
                return r;
        if (chmod(path, mode) < 0 || listen(fd, SOMAXCONN) < 0) {
                r = -errno;
                (void) unlink(path);
                return r;
        }
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int server_set_string(char **field, const char *value)
{
        char *copy = strdup(value ? value : "");

        if (!copy)
                return -ENOMEM;
        free(*field);
        *field = copy;
        return 0;
}

int varlink_server_new(sd_event *e, const char *path, mode_t mode, int listen_fd, VarlinkServer **ret)
{
        _cleanup_close_ int fd = listen_fd;
        _cleanup_varlink_server_ VarlinkServer *s = NULL;
        int r;

        if (!e || !ret || (path && fd >= 0) || (!path && fd < 0))
                return -EINVAL;
        s = calloc(1, sizeof(VarlinkServer));
        if (!s)
                return -ENOMEM;
        s->listen_fd = -1;
        s->event = sd_event_ref(e);
        s->limits = limits_or_defaults(NULL);
        r = varlink_server_set_info(s, "corehomed", "corehomed", "0.1.0", "https://github.com/corehomed");
        if (r < 0)
                return r;
        if (path) {
                r = socket_bind_path(path, mode, &s->listen_fd);
                if (r < 0)
                        return r;
                s->path = strdup(path);
                if (!s->path) {
                        (void) unlink(path);
                        return -ENOMEM;
                }
        } else {
                int flags = fcntl(fd, F_GETFL);

                if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
                        return -errno;
                s->listen_fd = TAKE_FD(fd);
        }
        r = sd_event_add_io(e, &s->listen_source, s->listen_fd, EPOLLIN, on_listen_io, s);
        /* Due since the clock began: enabled, it runs at the next iteration. */
        if (r >= 0)
                r = sd_event_add_time(e, &s->run_source, CLOCK_MONOTONIC, 0, 1, on_server_run, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->run_source, SD_EVENT_OFF);
        if (r >= 0)
                r = sd_event_add_time(e, &s->idle_sweep, CLOCK_MONOTONIC, 0, 1, on_idle_sweep, s);
        if (r >= 0)
                r = sd_event_source_set_enabled(s->idle_sweep, SD_EVENT_OFF);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(s);
        return 0;
}

VarlinkServer *varlink_server_free(VarlinkServer *s)
{
        if (!s)
                return NULL;
        while (s->connections)
                connection_free(s->connections);
        sd_event_source_disable_unref(s->run_source);
        sd_event_source_disable_unref(s->idle_sweep);
        sd_event_source_disable_unref(s->accept_retry_source);
        sd_event_source_disable_unref(s->listen_source);
        safe_close(s->listen_fd);
        if (s->path)
                (void) unlink(s->path);
        free(s->path);
        for (size_t i = 0; i < s->n_methods; i++)
                free(s->methods[i].name);
        free(s->methods);
        for (size_t i = 0; i < s->n_attached; i++)
                s->attached[i].free_func(s->attached[i].data);
        free(s->attached);
        free(s->vendor);
        free(s->product);
        free(s->version);
        free(s->url);
        sd_event_unref(s->event);
        free(s);
        return NULL;
}

int varlink_server_set_limits(VarlinkServer *s, const VarlinkLimits *limits)
{
        VarlinkLimits l = limits_or_defaults(limits);

        if (!s)
                return -EINVAL;
        /* Unprivileged peers must have a slot at all, and one uid can never hold more than they share. */
        if (l.connections_reserved_root >= l.connections_max ||
            l.connections_per_uid_max > l.connections_max - l.connections_reserved_root)
                return -EINVAL;
        s->limits = l;
        return 0;
}

int varlink_server_add_connection(VarlinkServer *s, int fd)
{
        int flags;

        if (!s || fd < 0) {
                safe_close(fd);
                return -EINVAL;
        }
        flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) {
                int r = -errno;
                safe_close(fd);
                return r;
        }
        return server_add_connection(s, fd, /* may_answer_now= */ false);
}

int varlink_server_set_info(VarlinkServer *s, const char *vendor, const char *product, const char *version,
                            const char *url)
{
        int r;

        if (!s)
                return -EINVAL;
        r = server_set_string(&s->vendor, vendor);
        if (r >= 0)
                r = server_set_string(&s->product, product);
        if (r >= 0)
                r = server_set_string(&s->version, version);
        if (r >= 0)
                r = server_set_string(&s->url, url);
        return r;
}

int varlink_server_add_method(VarlinkServer *s, const char *name, VarlinkMethod method, void *userdata)
{
        const char *dot;
        VarlinkMethodEntry *p;

        if (!s || !name || !method)
                return -EINVAL;
        dot = strrchr(name, '.');
        if (!dot || dot == name || dot[1] == 0)
                return -EINVAL;
        if (server_find_method(s, name))
                return -EEXIST;
        p = reallocarray(s->methods, s->n_methods + 1, sizeof(VarlinkMethodEntry));
        if (!p)
                return -ENOMEM;
        s->methods = p;
        p[s->n_methods] =
                (VarlinkMethodEntry){ .name = strdup(name), .method = method, .userdata = userdata };
        if (!p[s->n_methods].name)
                return -ENOMEM;
        s->n_methods++;
        return 0;
}

int varlink_server_attach_data(VarlinkServer *s, void *data, void (*free_func)(void *))
{
        VarlinkAttached *p;

        if (!s || !free_func)
                return -EINVAL;
        p = reallocarray(s->attached, s->n_attached + 1, sizeof(VarlinkAttached));
        if (!p)
                return -ENOMEM;
        s->attached = p;
        p[s->n_attached++] = (VarlinkAttached){ .data = data, .free_func = free_func };
        return 0;
}

unsigned varlink_server_connections(VarlinkServer *s)
{
        return s ? s->n_connections : 0;
}

/* ---- client ---- */

/* Waits for events on fd until deadline; -ECANCELED as soon as cancel_fd (>= 0) becomes readable. */
static int client_wait(int fd, short events, usec_t deadline, int cancel_fd)
{
        for (;;) {
                struct pollfd p[2] = { { .fd = fd, .events = events },
                                       { .fd = cancel_fd, .events = POLLIN } };
                int timeout_ms = -1, n;

                if (deadline != USEC_INFINITY) {
                        usec_t now = now_monotonic();

                        if (now >= deadline)
                                return -ETIMEDOUT;
                        timeout_ms = (int) ((deadline - now + 999) / 1000 > INT_MAX
                                                    ? INT_MAX
                                                    : (deadline - now + 999) / 1000);
                }
                n = poll(p, cancel_fd >= 0 ? 2 : 1, timeout_ms);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (cancel_fd >= 0 && p[1].revents != 0)
                        return -ECANCELED;
                if (n > 0)
                        return 0;
        }
}

static int client_connect(const char *path, int *ret_fd)
{
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_close_ int fd = -1;

        if (!path || strlen(path) >= sizeof(sa.sun_path))
                return path ? -ENAMETOOLONG : -EINVAL;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        *ret_fd = TAKE_FD(fd);
        return 0;
}

static int client_send(int fd, const char *data, size_t size, usec_t deadline)
{
        size_t done = 0;

        while (done < size) {
                ssize_t n = send(fd, data + done, size - done, MSG_DONTWAIT | MSG_NOSIGNAL);
                int r;

                if (n >= 0) {
                        done += (size_t) n;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return errno == EPIPE ? -ECONNRESET : -errno;
                r = client_wait(fd, POLLOUT, deadline, -1);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct ClientReader {
        int fd;
        int cancel_fd; /* -1, or readable = stop waiting (-ECANCELED) */
        char *buf;
        size_t size, allocated;
        size_t scanned; /* bytes of buf known to hold no NUL: each byte is searched once */
        size_t total;   /* bytes of all messages so far */
} ClientReader;

/* Reads one NUL-terminated message and parses it (a new reference in *ret). */
static int client_read_message(ClientReader *cr, usec_t deadline, json_t **ret)
{
        for (;;) {
                char *nul = cr->size > cr->scanned ? memchr(cr->buf + cr->scanned, 0, cr->size - cr->scanned)
                                                   : NULL;
                ssize_t n;
                int r;

                if (nul) {
                        size_t len = (size_t) (nul - cr->buf);
                        json_t *m = json_loadb(cr->buf, len, JSON_REJECT_DUPLICATES, NULL);

                        memmove(cr->buf, nul + 1, cr->size - len - 1);
                        cr->size -= len + 1;
                        cr->scanned = 0;
                        cr->total += len + 1;
                        if (!m)
                                return -EBADMSG;
                        if (!json_is_object(m)) {
                                json_decref(m);
                                return -EBADMSG;
                        }
                        *ret = m;
                        return 0;
                }
                cr->scanned = cr->size;
                if (cr->size > VARLINK_CLIENT_MESSAGE_MAX || cr->total + cr->size > VARLINK_CLIENT_TOTAL_MAX)
                        return -E2BIG;
                if (cr->allocated - cr->size < VARLINK_READ_CHUNK) {
                        /* Doubling keeps a large reply's copying linear. */
                        size_t want = cr->allocated ? cr->allocated * 2 : VARLINK_READ_CHUNK;
                        char *p = realloc(cr->buf, want);

                        if (!p)
                                return -ENOMEM;
                        cr->buf = p;
                        cr->allocated = want;
                }
                n = recv(cr->fd, cr->buf + cr->size, cr->allocated - cr->size, MSG_DONTWAIT);
                if (n == 0)
                        return -ECONNRESET;
                if (n > 0) {
                        cr->size += (size_t) n;
                        continue;
                }
                if (errno == EINTR)
                        continue;
                if (errno != EAGAIN)
                        return -errno;
                r = client_wait(cr->fd, POLLIN, deadline, cr->cancel_fd);
                if (r < 0)
                        return r;
        }
}

/* Checks a reply's shape; sets *ret_error (borrowed) and *ret_continues. */
static int client_check_reply(json_t *m, const char **ret_error, bool *ret_continues)
{
        json_t *error = json_object_get(m, "error"), *parameters = json_object_get(m, "parameters");
        json_t *continues = json_object_get(m, "continues");

        if (error && !json_is_string(error))
                return -EBADMSG;
        if (parameters && !json_is_object(parameters) && !json_is_null(parameters))
                return -EBADMSG;
        if (!json_is_bool_or_null(continues))
                return -EBADMSG;
        *ret_error = error ? json_string_value(error) : NULL;
        *ret_continues = json_is_true(continues);
        return 0;
}

static json_t *client_reply_parameters(json_t *m)
{
        json_t *p = json_object_get(m, "parameters");

        return json_is_object(p) ? json_incref(p) : json_object();
}

/* What a streaming exchange does with each "continues" reply instead of collecting it. */
typedef struct ClientStream {
        VarlinkClientReply on_reply;
        void *userdata;
        int cancel_fd;
} ClientStream;

static int client_exchange(const char *path, const char *method, json_t *parameters, usec_t timeout,
                           bool more, const ClientStream *stream, json_t **ret_replies,
                           char **ret_error_name)
{
        _cleanup_close_ int fd = -1;
        _cleanup_json_ json_t *call = NULL, *replies = json_array();
        _cleanup_free_ char *text = NULL, *error_name = NULL;
        ClientReader cr = { .cancel_fd = stream ? stream->cancel_fd : -1 };
        usec_t deadline;
        int r;

        if (!method || !replies)
                return method ? -ENOMEM : -EINVAL;
        if (timeout == 0)
                timeout = VARLINK_CLIENT_TIMEOUT_DEFAULT;
        deadline = timeout == USEC_INFINITY ? USEC_INFINITY : now_monotonic() + timeout;

        call = json_pack("{s:s, s:o}", "method", method, "parameters",
                         parameters ? json_incref(parameters) : json_object());
        if (!call)
                return -ENOMEM;
        if (more && json_object_set_new(call, "more", json_true()) < 0)
                return -ENOMEM;
        text = json_dumps(call, JSON_COMPACT);
        if (!text)
                return -ENOMEM;

        r = client_connect(path, &fd);
        if (r < 0)
                return r;
        /* The NUL terminator is part of the message. */
        r = client_send(fd, text, strlen(text) + 1, deadline);
        if (r < 0)
                return r;

        cr.fd = fd;
        for (;;) {
                _cleanup_json_ json_t *m = NULL;
                const char *error;
                bool continues;

                r = client_read_message(&cr, deadline, &m);
                if (r >= 0)
                        r = client_check_reply(m, &error, &continues);
                if (r < 0)
                        break;
                if (error) {
                        error_name = strdup(error);
                        if (!error_name)
                                r = -ENOMEM;
                        else if (json_array_append_new(replies, client_reply_parameters(m)) < 0)
                                r = -ENOMEM;
                        break;
                }
                /* A server that "continues" a call that did not ask for more breaks the protocol. */
                if (continues && !more) {
                        r = -EBADMSG;
                        break;
                }
                if (stream && continues) {
                        _cleanup_json_ json_t *p = client_reply_parameters(m);

                        /* A stream has no end of its own: only each message is bounded. */
                        cr.total = 0;
                        r = p ? stream->on_reply(p, stream->userdata) : -ENOMEM;
                        if (r < 0)
                                break;
                        continue;
                }
                if (json_array_append_new(replies, client_reply_parameters(m)) < 0) {
                        r = -ENOMEM;
                        break;
                }
                if (!continues)
                        break;
        }
        free(cr.buf);
        if (r < 0)
                return r;

        *ret_error_name = TAKE_PTR(error_name);
        if (ret_replies)
                *ret_replies = TAKE_PTR(replies);
        return 0;
}

int varlink_client_call(const char *path, const char *method, json_t *parameters, usec_t timeout,
                        json_t **ret_reply, char **ret_error_name)
{
        _cleanup_json_ json_t *replies = NULL;
        _cleanup_free_ char *error_name = NULL;
        int r;

        r = client_exchange(path, method, parameters, timeout, false, NULL, &replies, &error_name);
        if (r < 0)
                return r;
        if (error_name && !ret_error_name)
                return -EBADR;
        if (ret_reply)
                *ret_reply = json_incref(json_array_get(replies, json_array_size(replies) - 1));
        if (ret_error_name)
                *ret_error_name = TAKE_PTR(error_name);
        return 0;
}

int varlink_client_call_more(const char *path, const char *method, json_t *parameters, usec_t timeout,
                             json_t **ret_replies, char **ret_error_name)
{
        _cleanup_json_ json_t *replies = NULL;
        _cleanup_free_ char *error_name = NULL;
        int r;

        r = client_exchange(path, method, parameters, timeout, true, NULL, &replies, &error_name);
        if (r < 0)
                return r;
        if (error_name && !ret_error_name)
                return -EBADR;
        /* The error's parameters are not a reply. */
        if (error_name)
                json_array_remove(replies, json_array_size(replies) - 1);
        if (ret_replies)
                *ret_replies = TAKE_PTR(replies);
        if (ret_error_name)
                *ret_error_name = TAKE_PTR(error_name);
        return 0;
}

int varlink_client_call_stream(const char *path, const char *method, json_t *parameters, int cancel_fd,
                               VarlinkClientReply on_reply, void *userdata, json_t **ret_final,
                               char **ret_error_name)
{
        _cleanup_json_ json_t *replies = NULL;
        _cleanup_free_ char *error_name = NULL;
        const ClientStream stream = { .on_reply = on_reply, .userdata = userdata, .cancel_fd = cancel_fd };
        int r;

        if (!on_reply)
                return -EINVAL;
        r = client_exchange(path, method, parameters, USEC_INFINITY, true, &stream, &replies, &error_name);
        if (r < 0)
                return r;
        if (error_name && !ret_error_name)
                return -EBADR;
        if (ret_final)
                *ret_final = json_incref(json_array_get(replies, json_array_size(replies) - 1));
        if (ret_error_name)
                *ret_error_name = TAKE_PTR(error_name);
        return 0;
}
