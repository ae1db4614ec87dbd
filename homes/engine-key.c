/* SPDX-License-Identifier: MIT */
#include "engine-key.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "file-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY *, EVP_PKEY_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(EVP_PKEY_CTX *, EVP_PKEY_CTX_free)
DEFINE_TRIVIAL_CLEANUP_FUNC(BIO *, BIO_free)

EngineKey *engine_key_free(EngineKey *k)
{
        if (!k)
                return NULL;
        EVP_PKEY_free(k->pkey);
        free(k->public_pem);
        free(k);
        return NULL;
}

static int bio_to_string(BIO *b, char **ret)
{
        char *mem;
        long n = BIO_get_mem_data(b, &mem);
        char *s;

        if (n <= 0)
                return -EIO;
        s = strndup(mem, (size_t) n);
        if (!s)
                return -ENOMEM;
        *ret = s;
        return 0;
}

static int engine_key_wrap(EVP_PKEY *pkey, EngineKey **ret)
{
        _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
        _cleanup_engine_key_ EngineKey *k = NULL;
        int r;

        if (!b)
                return -ENOMEM;
        if (EVP_PKEY_get_id(pkey) != EVP_PKEY_ED25519)
                return -EBADMSG;
        if (PEM_write_bio_PUBKEY(b, pkey) != 1)
                return -EIO;
        k = calloc(1, sizeof(EngineKey));
        if (!k)
                return -ENOMEM;
        r = bio_to_string(b, &k->public_pem);
        if (r < 0)
                return r;
        k->pkey = pkey;
        *ret = TAKE_PTR(k);
        return 0;
}

int engine_key_generate(EngineKey **ret)
{
        _cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        EngineKey *k;
        int r;

        if (!ctx)
                return -ENOMEM;
        if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1)
                return -EIO;
        r = engine_key_wrap(pkey, &k);
        if (r < 0)
                return r;
        TAKE_PTR(pkey);
        *ret = k;
        return 0;
}

static int engine_key_parse_private(const char *pem, size_t size, EngineKey **ret)
{
        _cleanup_(BIO_freep) BIO *b = BIO_new_mem_buf(pem, (int) size);
        _cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
        EngineKey *k;
        int r;

        if (!b)
                return -ENOMEM;
        pkey = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
        if (!pkey)
                return -EBADMSG;
        r = engine_key_wrap(pkey, &k);
        if (r < 0)
                return r;
        TAKE_PTR(pkey);
        *ret = k;
        return 0;
}

static int engine_key_private_pem(const EngineKey *k, char **ret, size_t *ret_size)
{
        _cleanup_(BIO_freep) BIO *b = BIO_new(BIO_s_mem());
        char *mem, *copy;
        long n;

        if (!b)
                return -ENOMEM;
        if (PEM_write_bio_PrivateKey(b, k->pkey, NULL, NULL, 0, NULL, NULL) != 1)
                return -EIO;
        n = BIO_get_mem_data(b, &mem);
        if (n <= 0)
                return -EIO;
        copy = malloc((size_t) n);
        if (!copy)
                return -ENOMEM;
        memcpy(copy, mem, (size_t) n);
        /* The memory BIO frees its buffer without wiping it; clear the secret first. */
        explicit_bzero(mem, (size_t) n);
        *ret = copy;
        *ret_size = (size_t) n;
        return 0;
}

static int engine_key_load(const char *path, EngineKey **ret)
{
        _cleanup_close_ int fd = -1;
        char *pem = NULL;
        size_t size = 0;
        struct stat st;
        int r;

        r = open_regular_file(AT_FDCWD, path, &fd, &st);
        if (r < 0)
                return r;
        /* A key others could read may have leaked; one others could write may have been swapped for theirs,
         * which would let them sign records homed accepts. */
        if (st.st_uid != geteuid() || (st.st_mode & 077) != 0)
                return -EPERM;
        r = read_fd_bounded(fd, ENGINE_KEY_FILE_MAX, &pem, &size);
        if (r < 0)
                return r;
        r = engine_key_parse_private(pem, size, ret);
        erase_and_free(pem, size);
        return r;
}

static int engine_key_create(const char *dir, const char *path, EngineKey **ret)
{
        _cleanup_engine_key_ EngineKey *k = NULL;
        _cleanup_free_ char *tmp = NULL;
        char *pem = NULL;
        size_t size = 0;
        uint64_t nonce;
        int r;

        r = engine_key_generate(&k);
        if (r < 0)
                return r;
        r = engine_key_private_pem(k, &pem, &size);
        if (r < 0)
                return r;
        if (getrandom(&nonce, sizeof(nonce), 0) != sizeof(nonce)) {
                erase_and_free(pem, size);
                return -EIO;
        }
        if (asprintf(&tmp, "%s/.#io.corehomed.private.%016llx", dir, (unsigned long long) nonce) < 0) {
                erase_and_free(pem, size);
                return -ENOMEM;
        }
        r = write_file_atomic(AT_FDCWD, tmp, pem, size, 0600, 0, 0);
        erase_and_free(pem, size);
        if (r < 0)
                return r;

        /* Never replace a key another process created meanwhile: records may already carry it. */
        if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        *ret = TAKE_PTR(k);
        return 0;
}

int engine_key_load_or_create(const char *root, EngineKey **ret)
{
        _cleanup_free_ char *dir = NULL, *path = NULL;
        int r;

        r = path_join_root(root, ENGINE_KEY_DIR, &dir);
        if (r < 0)
                return r;
        r = path_join_root(root, ENGINE_KEY_PRIVATE_PATH, &path);
        if (r < 0)
                return r;

        r = engine_key_load(path, ret);
        if (r != -ENOENT)
                return r;

        r = mkdir_parents_and_self(dir, 0700);
        if (r < 0)
                return r;
        r = engine_key_create(dir, path, ret);
        if (r == -EEXIST)
                return engine_key_load(path, ret);
        return r;
}

int engine_key_install_public(const char *root, const EngineKey *k)
{
        _cleanup_free_ char *dir = NULL, *path = NULL, *current = NULL;
        size_t size, pem_size = strlen(k->public_pem);
        struct stat st;
        int r;

        r = path_join_root(root, ENGINE_KEY_HOMED_DIR, &dir);
        if (r < 0)
                return r;
        r = path_join_root(root, ENGINE_KEY_PUBLIC_PATH, &path);
        if (r < 0)
                return r;
        r = mkdir_parents_and_self(dir, 0700);
        if (r < 0)
                return r;

        r = read_file_bounded(AT_FDCWD, path, ENGINE_KEY_FILE_MAX, &current, &size);
        if (r >= 0 && size == pem_size && memcmp(current, k->public_pem, size) == 0 &&
            lstat(path, &st) >= 0 && st.st_uid == 0 && st.st_gid == 0 && (st.st_mode & 07777) == 0644)
                return 0;

        return write_file_atomic(AT_FDCWD, path, k->public_pem, pem_size, 0644, 0, 0);
}
