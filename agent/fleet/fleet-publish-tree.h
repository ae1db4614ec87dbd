/* SPDX-License-Identifier: MIT */
#pragma once

/* The published tree on disk (fleet-publish.h draws it): generations beside the symlink a web server
 * serves, built next to the current one and swapped in with one rename(). A file whose bytes did not
 * change is a hard link to the current generation's (same inode, same mtime: the same ETag); a file that
 * changed is new, with an mtime later than its predecessor's, so a web server's "mtime-size" ETag changes
 * even when the size does not and both were written within the same second. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct PublishTree {
        char *out;         /* DIR */
        char *generations; /* DIR.generations */
        char *link_target; /* what DIR will point to: "NAME.generations/N" (relative to DIR's directory) */
        int generations_fd;
        int lock_fd;
        uint64_t current; /* 0: nothing published yet */
        uint64_t next;
        int current_fd; /* -1 when none */
        int next_fd;
        int current_devices_fd; /* -1 when none */
        int next_devices_fd;
        int current_prerequisites_fd; /* -1 when none */
        int next_prerequisites_fd;
        time_t now;   /* the real clock at the start, for mtimes */
        char *buffer; /* the old file's bytes when comparing */
        size_t allocated;
        bool committed;
} PublishTree;

/* Takes DIR.generations/lock (-EBUSY when another publish holds it), finds the current generation from the
 * DIR symlink (-ENOTDIR when DIR exists and is not such a symlink), removes generations newer than it (what
 * a crashed publish left half built) and creates the next one, empty. */
int publish_tree_open(PublishTree *t, const char *out, char **ret_error);

/* Writes prerequisites/TYPE/ID of the next generation (type "account" or "account-key"). *ret_written:
 * false when it is a link to the current generation's identical file. */
int publish_tree_put_prerequisite(PublishTree *t, const char *type, const char *id, const void *data,
                                  size_t size, bool *ret_written);

/* Writes devices/SERIAL/assertions/index of the next generation, and links every prerequisite put so far
 * into devices/SERIAL/assertions/TYPE/ID. *ret_written as above. */
typedef struct PublishPrerequisiteName {
        const char *type;
        const char *id;
} PublishPrerequisiteName;
int publish_tree_put_device(PublishTree *t, const char *serial, const void *feed, size_t size,
                            const PublishPrerequisiteName *prerequisites, size_t n_prerequisites,
                            bool *ret_written);

/* Writes DIR.generations/N.manifest (outside what is served) next to the next generation. */
int publish_tree_put_manifest(PublishTree *t, const void *data, size_t size);

/* Reads the current generation's manifest: -ENOENT when there is none. */
int publish_tree_read_manifest(PublishTree *t, size_t max, char **ret, size_t *ret_size);

/* Makes the next generation durable (syncfs), points DIR to it (a symlink renamed over DIR) and makes that
 * durable. Once it returns 0 the next generation is what is served; the one it replaced stays (requests
 * in flight, and the way back), older ones are removed. */
int publish_tree_commit(PublishTree *t, char **ret_error);

/* Closes everything and releases the lock; a next generation that was not committed is removed. */
void publish_tree_done(PublishTree *t);
