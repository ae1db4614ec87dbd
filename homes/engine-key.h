/* SPDX-License-Identifier: MIT */
#pragma once

#include <openssl/evp.h>

#include "macros.h"

/* The engine's Ed25519 key pair signs every user record we write. systemd-homed trusts any root-owned,
 * not group/other-writable *.public PEM key in /var/lib/systemd/home/, so installing ours there makes homed
 * accept our homes as signed by a trusted foreign key (homed cannot re-sign them: it lacks the private
 * half, which stays in our own state directory). */
#define ENGINE_KEY_DIR          "/var/lib/corehomed"
#define ENGINE_KEY_PRIVATE_PATH "/var/lib/corehomed/io.corehomed.private"
#define ENGINE_KEY_HOMED_DIR    "/var/lib/systemd/home"
#define ENGINE_KEY_PUBLIC_PATH  "/var/lib/systemd/home/io.corehomed.public"

/* A PEM Ed25519 key is about 120 bytes; anything far larger is not ours. */
#define ENGINE_KEY_FILE_MAX 4096U

typedef struct EngineKey {
        EVP_PKEY *pkey;   /* private + public */
        char *public_pem; /* "-----BEGIN PUBLIC KEY-----\n...\n-----END PUBLIC KEY-----\n" */
} EngineKey;

EngineKey *engine_key_free(EngineKey *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(EngineKey *, engine_key_free)
#define _cleanup_engine_key_ _cleanup_(engine_key_freep)

/* Loads $ROOT/var/lib/corehomed/io.corehomed.private, creating it first when it does not exist (0600, root;
 * written to a temporary file and renamed into place without replacing, so two concurrent first users end
 * up with the same key). The file must be a regular file owned by us and not accessible to group or other
 * (-EPERM otherwise: a readable key may have leaked, a key others can write may have been replaced) and
 * hold an Ed25519 key (-EBADMSG otherwise). Does not touch the public key; see engine_key_install_public().
 */
int engine_key_load_or_create(const char *root, EngineKey **ret);

/* Makes $ROOT/var/lib/systemd/home/io.corehomed.public hold our public key: root-owned, 0644, written
 * atomically, left alone when it already has the right content, owner and mode. */
int engine_key_install_public(const char *root, const EngineKey *k);

/* Generates a fresh key pair in memory (tests, benchmarks). */
int engine_key_generate(EngineKey **ret);
