/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "time-util.h"

/* Exit statuses of corehomectl (DESIGN.md): 0 success, 1 any assertion or user refused, 2 usage. */
enum {
        EXIT_OK = 0,
        EXIT_REFUSED = 1,
        EXIT_USAGE = 2,
};

/* Everything a verb may depend on besides its arguments: no verb reads global state. */
typedef struct CliContext {
        const char *root; /* --root=DIR, or NULL: talk to the daemon */
        usec_t now;       /* --now, or the real clock */
        bool now_set;
        bool json; /* --json: machine-readable output on stdout */
} CliContext;

typedef int (*VerbFunction)(const CliContext *ctx, int argc, char **argv);

/* Each verb lives in agent/verb-NAME.c; argv[0] is the verb name, options follow getopt conventions.
 * A verb returns an exit status (EXIT_*), having printed its own messages. */
int verb_decode(const CliContext *ctx, int argc, char **argv);
int verb_verify(const CliContext *ctx, int argc, char **argv);
int verb_import(const CliContext *ctx, int argc, char **argv);
int verb_known(const CliContext *ctx, int argc, char **argv);
int verb_create_user(const CliContext *ctx, int argc, char **argv);
int verb_import_media(const CliContext *ctx, int argc, char **argv);
int verb_list(const CliContext *ctx, int argc, char **argv);
int verb_inspect(const CliContext *ctx, int argc, char **argv);
int verb_remove(const CliContext *ctx, int argc, char **argv);
int verb_expire(const CliContext *ctx, int argc, char **argv);
int verb_sign(const CliContext *ctx, int argc, char **argv);
int verb_export_key(const CliContext *ctx, int argc, char **argv);
int verb_status(const CliContext *ctx, int argc, char **argv);
int verb_deny(const CliContext *ctx, int argc, char **argv);
int verb_allow(const CliContext *ctx, int argc, char **argv);
int verb_monitor(const CliContext *ctx, int argc, char **argv);
int verb_fleet(const CliContext *ctx, int argc, char **argv);

/* Prints "corehomectl: PREFIX: message" on stderr; PREFIX names the file/assertion/user concerned. */
void cli_error(const char *prefix, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Reads FILE, or standard input for "-", capped at max_size; reports failures itself (naming the file). */
int cli_read_input(const char *path, size_t max_size, char **ret_data, size_t *ret_size);
