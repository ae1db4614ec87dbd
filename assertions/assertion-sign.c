/* SPDX-License-Identifier: MIT */
#include "assertion-sign.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "assertion-typed.h"
#include "openpgp-packet.h"
#include "signature-verify.h"

/* jansson >= 2.11 has json_decrefp(); common/json-util.h redefines it and cannot be included. */
#ifndef _cleanup_json_
#define _cleanup_json_ _cleanup_(json_decrefp)
#endif

static void gpgme_data_releasep(gpgme_data_t *d)
{
        if (*d)
                gpgme_data_release(*d);
}
#define _cleanup_gpgme_data_ _cleanup_(gpgme_data_releasep)

SigningKey *signing_key_free(SigningKey *k)
{
        if (!k)
                return NULL;
        if (k->key)
                gpgme_key_unref(k->key);
        if (k->ctx)
                gpgme_release(k->ctx);
        public_key_free(k->public_key);
        free(k->name);
        return mfree(k);
}

/* Takes the primary public-key packet out of a key export (public key, user IDs, signatures, subkeys). */
static int export_primary_key(SigningKey *k, PublicKey **ret, AssertionError *err)
{
        _cleanup_gpgme_data_ gpgme_data_t out = NULL;
        const uint8_t *data, *found = NULL;
        size_t size, found_size = 0;
        char *buf;
        gpgme_error_t e;
        int r;

        e = gpgme_data_new(&out);
        if (e)
                return -ENOMEM;
        e = gpgme_op_export(k->ctx, k->key->subkeys->fpr, GPGME_EXPORT_MODE_MINIMAL, out);
        if (e)
                return assertion_error_set(err, -EIO, "key '%s': cannot export the public key: %s", k->name,
                                           gpgme_strerror(e));
        buf = gpgme_data_release_and_get_mem(out, &size);
        out = NULL;
        if (!buf)
                return assertion_error_set(err, -EIO, "key '%s': empty key export", k->name);

        data = (const uint8_t *) buf;
        for (size_t off = 0; off < size;) {
                const uint8_t *body;
                size_t body_size, total;
                uint8_t tag;

                r = openpgp_packet_header(data + off, size - off, &tag, &body, &body_size, &total, err);
                if (r < 0) {
                        gpgme_free(buf);
                        return r;
                }
                if (tag == OPENPGP_TAG_PUBLIC_KEY) {
                        if (found) {
                                gpgme_free(buf);
                                return assertion_error_set(
                                        err, -EIO, "key '%s': export holds several primary keys", k->name);
                        }
                        found = data + off;
                        found_size = total;
                }
                off += total;
        }
        if (!found) {
                gpgme_free(buf);
                return assertion_error_set(err, -EIO, "key '%s': export holds no primary key", k->name);
        }
        r = public_key_from_packet(found, found_size, ret, err);
        gpgme_free(buf);
        return r;
}

static int key_find(SigningKey *k, const char *name, AssertionError *err)
{
        gpgme_key_t key, hit = NULL;
        gpgme_error_t e;

        e = gpgme_op_keylist_start(k->ctx, NULL, 1 /* secret keys only */);
        if (e)
                return assertion_error_set(err, -EIO, "cannot list GnuPG secret keys: %s",
                                           gpgme_strerror(e));
        while (!(e = gpgme_op_keylist_next(k->ctx, &key))) {
                bool match = false;

                /* snapd's rule: the whole user ID equals the key name. */
                for (gpgme_user_id_t uid = key->uids; uid; uid = uid->next)
                        if (uid->uid && streq(uid->uid, name))
                                match = true;
                if (!match) {
                        gpgme_key_unref(key);
                        continue;
                }
                if (hit) {
                        gpgme_key_unref(key);
                        gpgme_key_unref(hit);
                        (void) gpgme_op_keylist_end(k->ctx);
                        /* Picking one silently could sign with a key the brand did not mean. */
                        return assertion_error_set(err, -EKEYREJECTED,
                                                   "key '%s': several GnuPG keys have this user ID", name);
                }
                hit = key;
        }
        if (gpgme_err_code(e) != GPG_ERR_EOF) {
                if (hit)
                        gpgme_key_unref(hit);
                return assertion_error_set(err, -EIO, "cannot list GnuPG secret keys: %s",
                                           gpgme_strerror(e));
        }
        if (!hit)
                return assertion_error_set(err, -ENOKEY, "cannot find key named '%s' in GnuPG keyring",
                                           name);
        k->key = hit;
        return 0;
}

static int key_check_usable(const SigningKey *k, AssertionError *err)
{
        gpgme_subkey_t primary = k->key->subkeys;

        if (k->key->revoked || k->key->expired || k->key->disabled || k->key->invalid)
                return assertion_error_set(err, -EKEYREJECTED,
                                           "key '%s' is revoked, expired, disabled or invalid", k->name);
        if (!primary || !primary->fpr)
                return assertion_error_set(err, -EKEYREJECTED, "key '%s' has no primary key", k->name);
        if (primary->pubkey_algo != GPGME_PK_RSA)
                return assertion_error_set(err, -EKEYREJECTED, "key '%s' is not an RSA key (algorithm %s)",
                                           k->name, strempty(gpgme_pubkey_algo_name(primary->pubkey_algo)));
        if (primary->length < SIGNING_KEY_BITS_MIN)
                return assertion_error_set(err, -EKEYREJECTED,
                                           "signing needs at least a %d bits key, '%s' has %u",
                                           SIGNING_KEY_BITS_MIN, k->name, primary->length);
        if (!primary->can_sign || !primary->secret)
                return assertion_error_set(err, -EKEYREJECTED,
                                           "key '%s' cannot sign (no secret primary key)", k->name);
        return 0;
}

int signing_key_open(const char *gnupg_home, const char *name, SigningKey **ret, AssertionError *err)
{
        _cleanup_signing_key_ SigningKey *k = NULL;
        gpgme_error_t e;
        int r;

        /* gpgme requires this once per process before anything else; it is idempotent. */
        (void) gpgme_check_version(NULL);
        e = gpgme_engine_check_version(GPGME_PROTOCOL_OpenPGP);
        if (e)
                return assertion_error_set(err, -EIO, "GnuPG is not usable: %s", gpgme_strerror(e));

        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->name = strdup(name);
        if (!k->name)
                return -ENOMEM;
        e = gpgme_new(&k->ctx);
        if (e)
                return assertion_error_set(err, -EIO, "cannot start GnuPG: %s", gpgme_strerror(e));
        if (gnupg_home) {
                e = gpgme_ctx_set_engine_info(k->ctx, GPGME_PROTOCOL_OpenPGP, NULL, gnupg_home);
                if (e)
                        return assertion_error_set(err, -EIO, "cannot use GnuPG home %s: %s", gnupg_home,
                                                   gpgme_strerror(e));
        }
        gpgme_set_armor(k->ctx, 0);
        gpgme_set_textmode(k->ctx, 0);

        r = key_find(k, name, err);
        if (r < 0)
                return r;
        r = key_check_usable(k, err);
        if (r < 0)
                return r;
        r = export_primary_key(k, &k->public_key, err);
        if (r < 0)
                return r;

        *ret = TAKE_PTR(k);
        return 0;
}

int signature_sign(SigningKey *k, const char *content, size_t content_size, char **ret, AssertionError *err)
{
        _cleanup_gpgme_data_ gpgme_data_t in = NULL, out = NULL;
        _cleanup_free_ uint8_t *packet = NULL;
        _cleanup_free_ char *text = NULL;
        gpgme_sign_result_t result;
        OpenPGPSignature sig;
        size_t raw_size, packet_size;
        char *raw;
        gpgme_error_t e;
        int r;

        e = gpgme_data_new_from_mem(&in, content, content_size, 0);
        if (!e)
                e = gpgme_data_new(&out);
        if (e)
                return -ENOMEM;
        gpgme_signers_clear(k->ctx);
        e = gpgme_signers_add(k->ctx, k->key);
        if (!e)
                e = gpgme_op_sign(k->ctx, in, out, GPGME_SIG_MODE_DETACH);
        if (e)
                return assertion_error_set(err, -EIO, "cannot sign using GnuPG key '%s': %s", k->name,
                                           gpgme_strerror(e));
        result = gpgme_op_sign_result(k->ctx);
        if (!result || !result->signatures || result->signatures->next || result->invalid_signers)
                return assertion_error_set(
                        err, -EIO, "GnuPG did not make exactly one signature with key '%s'", k->name);
        if (result->signatures->hash_algo != GPGME_MD_SHA512)
                return assertion_error_set(err, -EKEYREJECTED,
                                           "bad GPG produced signature: expected SHA512 digest, got %s (set "
                                           "'personal-digest-preferences SHA512' in gpg.conf)",
                                           strempty(gpgme_hash_algo_name(result->signatures->hash_algo)));

        raw = gpgme_data_release_and_get_mem(out, &raw_size);
        out = NULL;
        if (!raw)
                return assertion_error_set(err, -EIO, "GnuPG returned no signature");
        /* Parsed with the same strict rules as any signature we receive: what we hand out we would accept.
         */
        r = openpgp_signature_parse((const uint8_t *) raw, raw_size, &sig, err);
        if (r >= 0)
                r = openpgp_signature_serialize(&sig, &packet, &packet_size);
        gpgme_free(raw);
        if (r == -EBADMSG)
                return assertion_error_set(err, -EKEYREJECTED, "bad GPG produced signature: %.200s",
                                           err ? err->message : "");
        if (r < 0)
                return r;
        r = openpgp_v1_encode(packet, packet_size, &text);
        if (r < 0)
                return r;

        r = signature_verify(k->public_key, content, content_size, text, strlen(text), err);
        if (r < 0) {
                char m[sizeof(err->message)] = "";
                if (err)
                        memcpy(m, err->message, sizeof(m));
                return assertion_error_set(err, -EKEYREJECTED,
                                           "bad GPG produced signature: it does not verify: %.200s", m);
        }
        *ret = TAKE_PTR(text);
        return 0;
}

/* snapd's value space for headers: strings, and lists and maps of those. */
static int headers_check_values(json_t *v, const char *name, unsigned depth, AssertionError *err)
{
        const char *key;
        json_t *item;
        size_t i;

        if (depth > ASSERTION_NESTING_MAX + 1)
                return assertion_error_set(err, -EBADMSG, "header \"%s\": nested deeper than %d levels",
                                           name, ASSERTION_NESTING_MAX);
        if (json_is_string(v))
                return 0;
        if (json_is_array(v)) {
                json_array_foreach (v, i, item)
                        if (headers_check_values(item, name, depth + 1, err) < 0)
                                return -EBADMSG;
                return 0;
        }
        if (json_is_object(v)) {
                json_object_foreach (v, key, item)
                        if (headers_check_values(item, name, depth + 1, err) < 0)
                                return -EBADMSG;
                return 0;
        }
        return assertion_error_set(
                err, -EBADMSG,
                "header \"%s\": header values must be strings or nested lists or maps with strings as the "
                "only scalars",
                name);
}

static int check_not_empty_string(json_t *headers, const char *name, AssertionError *err)
{
        json_t *v = json_object_get(headers, name);

        if (!v)
                return assertion_error_set(err, -EBADMSG, "\"%s\" header is mandatory", name);
        if (!json_is_string(v))
                return assertion_error_set(err, -EBADMSG, "\"%s\" header must be a string", name);
        if (json_string_length(v) == 0)
                return assertion_error_set(err, -EBADMSG, "\"%s\" header should not be empty", name);
        return 0;
}

/* What snapd's assembleAndSign() checks before it encodes, with its wording: the encoder itself only says
 * "invalid". */
static int headers_check_encodable(json_t *headers, const AssertionType *t, AssertionError *err)
{
        int r;

        if (t->no_authority) {
                if (json_object_get(headers, "authority-id"))
                        return assertion_error_set(err, -EBADMSG,
                                                   "\"%s\" assertion cannot have authority-id set", t->name);
                if (json_object_get(headers, "signatory-id"))
                        return assertion_error_set(err, -EBADMSG,
                                                   "\"%s\" assertion cannot have signatory-id set", t->name);
        } else {
                r = check_not_empty_string(headers, "authority-id", err);
                if (r < 0)
                        return r;
                if (json_object_get(headers, "signatory-id") &&
                    (r = check_not_empty_string(headers, "signatory-id", err)) < 0)
                        return r;
        }
        for (const char *const *k = t->primary_keys; *k; k++) {
                if (!k[1] && t->optional_key_default && !json_object_get(headers, *k))
                        continue;
                r = check_not_empty_string(headers, *k, err);
                if (r < 0)
                        return r;
                if (strchr(json_string_value(json_object_get(headers, *k)), '/'))
                        return assertion_error_set(err, -EBADMSG,
                                                   "\"%s\" primary key header cannot contain '/'", *k);
        }
        return 0;
}

/* Runs the codec's assembly checks (snapd's assemble()) and then the device's typed rules (snapd's
 * assembler of the type: formats, serials only from format 1, password hashes, ...) on the content before
 * gpg is asked to sign it, so a mistake in the input is reported as a device would report it and no
 * signature is made for what a device refuses. */
static int content_check(const char *content, size_t content_size, AssertionError *err)
{
        static const char placeholder[] = "\n\nAQ==\n"; /* 0x01 and no packet: never a valid signature */
        _cleanup_assertion_ Assertion *a = NULL;
        _cleanup_free_ char *text = NULL;
        AssertionError e = {};
        int r;

        text = malloc(content_size + sizeof(placeholder));
        if (!text)
                return -ENOMEM;
        memcpy(text, content, content_size);
        memcpy(text + content_size, placeholder, sizeof(placeholder));
        r = assertion_decode(text, content_size + sizeof(placeholder) - 1, &a, &e);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return assertion_error_set(err, -EBADMSG, "cannot assemble assertion: %.220s", e.message);
        r = assertion_check_typed(a, &e);
        if (r == -ENOMEM)
                return r;
        /* The device's words, without its line number: the input is not the text the line counts in. */
        if (r < 0)
                return assertion_error_set(err, -EBADMSG, "devices refuse it: %.220s", e.message);
        return 0;
}

int assertion_sign(SigningKey *k, json_t *headers, const void *body, size_t body_size, char **ret,
                   size_t *ret_size, AssertionError *err)
{
        _cleanup_json_ json_t *h = NULL;
        _cleanup_assertion_ Assertion *a = NULL;
        _cleanup_free_ char *content = NULL, *signature = NULL, *text = NULL;
        const AssertionType *type;
        const char *name, *given;
        size_t content_size;
        json_t *v;
        int r;

        if (!json_is_object(headers))
                return assertion_error_set(err, -EBADMSG, "assertion headers must be a map");
        json_object_foreach (headers, name, v) {
                r = headers_check_values(v, name, 1, err);
                if (r < 0)
                        return r;
        }
        if (!json_is_string(json_object_get(headers, "type")))
                return assertion_error_set(err, -EBADMSG, "missing assertion type header");
        type = assertion_type_lookup(json_string_value(json_object_get(headers, "type")));
        if (!type)
                return assertion_error_set(err, -EBADMSG, "invalid assertion type: %.100s",
                                           json_string_value(json_object_get(headers, "type")));
        r = headers_check_encodable(headers, type, err);
        if (r < 0)
                return r;
        if (json_object_get(headers, "body-length"))
                return assertion_error_set(err, -EBADMSG,
                                           "\"body-length\" is computed from the body; do not set it");
        given = json_string_value(json_object_get(headers, "sign-key-sha3-384"));
        if (json_object_get(headers, "sign-key-sha3-384") && (!given || !streq(given, k->public_key->id)))
                return assertion_error_set(err, -EBADMSG,
                                           "\"sign-key-sha3-384\" names another key than '%s' (%s)", k->name,
                                           k->public_key->id);

        h = json_deep_copy(headers);
        if (!h || json_object_set_new(h, "sign-key-sha3-384", json_string(k->public_key->id)) < 0)
                return -ENOMEM;

        r = assertion_encode_content(h, body, body_size, &content, &content_size);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return assertion_error_set(
                        err, -EBADMSG,
                        "cannot encode the assertion (%s): check type, authority-id, primary "
                        "keys, format and revision",
                        r == -E2BIG ? "body too large" : "invalid headers");
        r = content_check(content, content_size, err);
        if (r < 0)
                return r;

        r = signature_sign(k, content, content_size, &signature, err);
        if (r < 0)
                return r;

        if (asprintf(&text, "%s\n\n%s\n", content, signature) < 0)
                return -ENOMEM;
        /* The whole text once more through the decoder and the verifier: what we print is what a device
         * will read. */
        r = assertion_decode(text, strlen(text), &a, err);
        if (r < 0)
                return r == -ENOMEM ? r
                                    : assertion_error_set(err, -EBADMSG, "signed assertion does not decode");
        r = assertion_verify_signature(a, k->public_key, err);
        if (r < 0)
                return r;

        if (ret_size)
                *ret_size = strlen(text);
        *ret = TAKE_PTR(text);
        return 0;
}
