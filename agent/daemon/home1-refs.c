/* SPDX-License-Identifier: MIT */
/* References to an active home (AcquireHome, RefHome): each is a pipe whose write end the client holds
 * (pam_systemd_home keeps it for the session's lifetime) and whose read end we watch. When the client closes
 * it, or dies, the kernel tells us (EPOLLHUP); when the last one of a home is gone, the home is deactivated
 * where that applies. homed uses one FIFO per home below /run/systemd/home; a pipe per reference needs no
 * file and no path below a --root, and counts the same. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include "home1-internal.h"

struct Home1Ref {
        Home1Entry *entry;
        sd_event_source *source; /* owns the read end */
        bool please_suspend;
        struct Home1Ref *next;
};

static void ref_unlink(Home1Entry *e, Home1Ref *ref)
{
        for (Home1Ref **p = &e->refs; *p; p = &(*p)->next)
                if (*p == ref) {
                        *p = ref->next;
                        break;
                }
        e->n_refs--;
        if (ref->please_suspend)
                e->n_refs_please_suspend--;
        sd_event_source_disable_unref(ref->source);
        free(ref);
}

static int on_ref_hangup(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Home1Ref *ref = userdata;
        Home1Entry *e = ref->entry;

        ref_unlink(e, ref);
        if (e->n_refs == 0)
                home1_last_ref_gone(e);
        return 0;
}

int home1_ref_add(Home1Entry *e, bool please_suspend, int *ret_fd)
{
        _cleanup_close_ int rfd = -1, wfd = -1;
        Home1Ref *ref;
        int fds[2], r;

        if (e->n_refs >= HOME1_REFS_PER_HOME_MAX)
                return -EMFILE;
        if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        rfd = fds[0];
        wfd = fds[1];
        ref = calloc(1, sizeof(Home1Ref));
        if (!ref)
                return -ENOMEM;
        /* No events asked for: EPOLLHUP (every writer gone) is always reported. A client writing into its
         * end fills only its own pipe. */
        r = sd_event_add_io(e->service->daemon->event, &ref->source, rfd, 0, on_ref_hangup, ref);
        if (r >= 0)
                r = sd_event_source_set_io_fd_own(ref->source, true);
        if (r < 0) {
                sd_event_source_disable_unref(ref->source);
                free(ref);
                return r;
        }
        TAKE_FD(rfd);
        (void) sd_event_source_set_description(ref->source, "home1-ref");
        /* After the calls of the turn: a close and a ReleaseHome arriving together settle in that order. */
        (void) sd_event_source_set_priority(ref->source, SD_EVENT_PRIORITY_IDLE - 1);
        ref->entry = e;
        ref->please_suspend = please_suspend;
        ref->next = e->refs;
        e->refs = ref;
        e->n_refs++;
        if (please_suspend)
                e->n_refs_please_suspend++;
        /* In use again: a pending retry to deactivate is moot. */
        e->retry_deactivate = sd_event_source_disable_unref(e->retry_deactivate);
        *ret_fd = TAKE_FD(wfd);
        return 0;
}

void home1_refs_sweep(Home1Entry *e)
{
        Home1Ref *ref = e->refs;

        while (ref) {
                Home1Ref *next = ref->next;
                struct pollfd p = { .fd = sd_event_source_get_io_fd(ref->source), .events = 0 };

                if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)))
                        ref_unlink(e, ref);
                ref = next;
        }
}

void home1_refs_free(Home1Entry *e)
{
        while (e->refs)
                ref_unlink(e, e->refs);
}
