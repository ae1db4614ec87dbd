/* SPDX-License-Identifier: MIT */
#pragma once

/* systemd JSON user records (https://systemd.io/USER_RECORD/) as jansson objects: strict loading and
 * validation, the canonical text systemd signs, homed's on-disk pretty format, Ed25519 signatures that
 * systemd-homed 252 verifies byte for byte, and the lastChangeUSec update rules.
 *
 * Records are plain json_t objects so callers can build them with jansson; every function here treats its
 * input as untrusted and never keeps a reference to it. */

#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "macros.h"
#include "user-name.h"

/* jansson (>= 2.11, GCC/clang) defines json_decrefp(); common/json-util.h redefines it, so it is not
 * included here. */
#ifndef _cleanup_json_
#define _cleanup_json_ _cleanup_(json_decrefp)
#endif

/* Bounds on untrusted records (each tested at N and N+1). */
#define USER_RECORD_TEXT_MAX  (256U * 1024U) /* bytes of JSON text accepted by user_record_load() */
#define USER_RECORD_DEPTH_MAX 16U            /* nesting of arrays/objects, the top-level object is depth 1 */

/* Where a refusal came from, for messages that reach a person: field is a path such as
 * "privileged.hashedPassword[2]" or "perMachine[0].matchMachineId" (empty when the whole text is at fault,
 * then message carries the JSON line/column), message says why. Functions taking a RecordError *err accept
 * NULL; they fill it only on failure. */
typedef struct RecordError {
        char field[128];
        char message[256];
} RecordError;

/* As systemd's user_record_verify() reports it. */
typedef enum UserRecordSignatureState {
        USER_RECORD_UNSIGNED,         /* no signature entries at all */
        USER_RECORD_SIGNED_EXCLUSIVE, /* every signature is a valid one by the given key */
        USER_RECORD_SIGNED,           /* signed by the given key, and also by others */
        USER_RECORD_FOREIGN,          /* signed, but not (validly) by the given key */
} UserRecordSignatureState;

const char *user_record_signature_state_to_string(UserRecordSignatureState s);

/* Sections for user_record_strip(). */
typedef enum UserRecordSection {
        USER_RECORD_SECTION_BINDING = 1U << 0,
        USER_RECORD_SECTION_STATUS = 1U << 1,
        USER_RECORD_SECTION_SECRET = 1U << 2,
        USER_RECORD_SECTION_SIGNATURE = 1U << 3,
        USER_RECORD_SECTION_PRIVILEGED = 1U << 4,
        USER_RECORD_SECTION_PER_MACHINE = 1U << 5,
} UserRecordSection;

/* Returned (>0) by user_record_check_update() when the new record says exactly what the old one says. */
#define USER_RECORD_UPDATE_SAME 1

/* Parses text (exactly size bytes, no NUL required) strictly and validates the result:
 * -E2BIG above USER_RECORD_TEXT_MAX or USER_RECORD_DEPTH_MAX; -EBADMSG for malformed JSON, duplicate keys,
 * reals (systemd signs them in a form no canonical encoder reproduces), anything that is not an object,
 * or a field that fails user_record_validate(). */
int user_record_load(const char *text, size_t size, json_t **ret, RecordError *err);

/* Checks every field of all seven sections (regular, privileged, perMachine, binding, status, secret,
 * signature) against USER_RECORD.md: JSON type, range, absolute normalized paths, uid/gid validity, user
 * name rules. Unknown fields are accepted only when namespaced (they contain a '.', e.g.
 * io.corehomed.brand), as systemd asks of extensions. Returns 0 or -EBADMSG (-E2BIG for nesting deeper than
 * USER_RECORD_DEPTH_MAX). */
int user_record_validate(json_t *record, RecordError *err);

/* The text systemd signs: the record without secret, binding, status and signature; object keys sorted
 * by bytes at every depth; compact; strings escaped as \" \\ \b \f \n \r \t and \u00xx (lower-case hex)
 * for other control bytes, everything else raw UTF-8. No trailing newline. Returns -EBADMSG for reals
 * or a non-object, -E2BIG for nesting deeper than USER_RECORD_DEPTH_MAX. */
int user_record_canonical_text(json_t *record, char **ret);

/* homed's on-disk format (*.identity): keys sorted at every depth, one tab per level, "key" : value,
 * empty arrays/objects as [] / {}, a trailing newline. Includes every section present in record. */
int user_record_format_pretty(json_t *record, char **ret);

/* The same order and escaping, compact (no white space, no newline), every section present in record: how
 * homed writes the record it stores in a LUKS2 token. */
int user_record_format_compact(json_t *record, char **ret);

/* Signs the canonical text with an Ed25519 private key. *ret is a new record: a deep copy of record (other
 * sections, e.g. binding, kept as they are) whose "signature" is replaced by exactly one entry
 * {"data": base64(signature), "key": PEM of the public key}. The record must validate (-EBADMSG). */
int user_record_sign(json_t *record, EVP_PKEY *key, json_t **ret);

/* Checks every entry of "signature" against key (an Ed25519 public or private key) over the canonical
 * text, counting entries that do not verify as foreign, as systemd does. Returns -EBADMSG for a
 * malformed signature section. */
int user_record_verify(json_t *record, EVP_PKEY *key, UserRecordSignatureState *ret);

/* May new_record replace old_record? Both must carry the same userName and realm (-EINVAL otherwise);
 * new_record's lastChangeUSec must be newer (-ESTALE "refusing to downgrade"); an equal timestamp is
 * accepted only for an identical canonical text (returns USER_RECORD_UPDATE_SAME), refused (-ESTALE)
 * otherwise. A record with lastChangeUSec is newer than one without. Returns 0 for a genuine update. */
int user_record_check_update(json_t *old_record, json_t *new_record, RecordError *err);

/* A deep copy of record without the given sections (UserRecordSection flags OR'ed). E.g. the embedded
 * ~/.identity is user_record_strip(host, BINDING|STATUS|SECRET). */
int user_record_strip(json_t *record, unsigned sections, json_t **ret);

/* Sets binding.<machine_id> = {"gid", "imagePath", "storage", "uid"} as homed writes it (replacing an
 * existing binding for that machine, keeping other machines'). machine_id: 32 lower-case hex digits. */
int user_record_set_binding(json_t *record, const char *machine_id, uid_t uid, gid_t gid,
                            const char *image_path, const char *storage);

/* Convenience accessors on validated records (NULL / false when absent). */
const char *user_record_user_name(json_t *record);
bool user_record_last_change_usec(json_t *record, uint64_t *ret);

/* When record's user ends: notAfterUSec, or the extension object's "until" when that is earlier (a service
 * whose exact end is finer than what it can put in notAfterUSec, as corehomed's grants: grant_record_end()
 * in agent/grant/grant-convert.h says why). Without notAfterUSec the record has no end: UINT64_MAX (the
 * extension alone ends nothing). */
uint64_t user_record_end(json_t *record, const char *extension);
