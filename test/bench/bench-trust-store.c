/* SPDX-License-Identifier: MIT */
/* The trust database at scale, end to end through `corehomectl --root=DIR import` (a new process that opens
 * the database fresh each time), on the machine's real disk:
 *   trust-import-one-grant-{empty,10k}-cli   one grant into a store holding only the brand's chain, and
 *                                            into one holding 10,000 grants more (median of 21 imports)
 *   trust-import-one-grant-{empty,10k}-lib   the same in-process (trust_db_open + import + free)
 *   trust-import-1000-grants                 1000 RSA-4096 grants in one batch: decode, verify, chain,
 *                                            durable store; wall clock of the process (median of 5)
 *   trust-pipeline-1000-grants               the same four stages in-process: read the files, decode,
 *                                            open the database, check and commit durably (median of 5)
 *   ...-vs-openssl-speed                     against `openssl speed rsa4096` verify of the same run
 *                                            (target: >= 0.5; that figure counts CPU time, ours wall time;
 *                                            the -cpu figures count the importer's CPU time, as openssl
 *                                            does, for a machine others load)
 * Every assertion is validly signed (bench-signer.h): the 10,000 with a 2048-bit key (fast to make), the
 * ones measured with a 4096-bit key. Grants go 64 to a file, so the same files import with a build whose
 * streams hold 64 (for comparing with an older tree: BUILD_DIR=that-build). */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench-signer.h"
#include "file-util.h"
#include "trust-db.h"

#define N_BULK   10000
#define N_GRANTS 1000
#define N_ONE    21 /* single-grant imports per figure: the median is reported */
#define N_RUNS   5  /* imports of the 1000 grants */
#define PER_FILE 64
#define NOW      "2026-11-25T10:00:00Z"
#define NOW_USEC ((usec_t) 1795600800ULL * USEC_PER_SEC)
#define PASSWORD                               \
        "$6$S4ltS4ltS4lt$JJMkHPPOCWwCYm72g0S." \
        "IG547HUVw6XxyeKRXzEYaPBzYkq9lVZhMtUFGYUuEKiEIEDnpPkYRiZCYzXNwExfC."
#define FILES_MAX 64 /* corehomectl takes at most this many files per import */

extern char **environ;

static const char *corehomectl;
static char scratch[] = "/tmp/corehomed-bench-trust.XXXXXX";

static void die(const char *what)
{
        fprintf(stderr, "bench-trust-store: %s\n", what);
        exit(1);
}

static double now_seconds(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static char *path_of(const char *format, ...) _printf_(1, 2);
static char *path_of(const char *format, ...)
{
        char *p, *rel;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&rel, format, ap) < 0)
                die("out of memory");
        va_end(ap);
        if (asprintf(&p, "%s/%s", scratch, rel) < 0)
                die("out of memory");
        free(rel);
        return p;
}

static void write_text(const char *path, const char *data, size_t size)
{
        if (write_file_atomic(AT_FDCWD, path, data, size, 0644, (uid_t) -1, (gid_t) -1) < 0)
                die(path);
}

static char *sign(const BenchKey *k, json_t *headers, const char *body, size_t *ret_size)
{
        char *wire = NULL;

        if (!headers || bench_sign(k, headers, body, &wire, ret_size) < 0)
                die("cannot sign");
        json_decref(headers);
        return wire;
}

static json_t *grant_headers(const char *prefix, unsigned i)
{
        char email[64], user[32];

        snprintf(email, sizeof(email), "%s%05u@example.com", prefix, i);
        snprintf(user, sizeof(user), "%s%05u", prefix, i);
        return json_pack("{s:s, s:s, s:s, s:s, s:[s], s:[s], s:s, s:s, s:s, s:s}", "type", "system-user",
                         "authority-id", "acme", "brand-id", "acme", "email", email, "series", "16",
                         "models", "appliance-1", "username", user, "password", PASSWORD, "since",
                         "2016-01-01T00:00:00Z", "until", "2030-01-01T00:00:00Z");
}

static json_t *account_key_headers(const char *authority, const char *account, const char *name,
                                   const BenchKey *k)
{
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "account-key", "authority-id", authority,
                         "account-id", account, "name", name, "public-key-sha3-384", k->public_key->id,
                         "since", "2016-01-01T00:00:00Z");
}

static json_t *account_headers(const char *authority, const char *account)
{
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "account", "authority-id", authority,
                         "account-id", account, "display-name", account, "validation", "verified",
                         "timestamp", "2016-01-01T00:00:00Z");
}

/* Signs n grants named PREFIXNNNNN with k into DIR/NNNN.assert files of PER_FILE (per_file 1: one each). */
static unsigned write_grants(const BenchKey *k, const char *prefix, unsigned n, unsigned per_file,
                             const char *dir)
{
        char *d = path_of("%s", dir);
        unsigned files = 0;

        if (mkdir(d, 0755) < 0)
                die(d);
        for (unsigned i = 0; i < n; i += per_file) {
                _cleanup_free_ char *data = NULL, *path = NULL;
                size_t size = 0;
                FILE *f = open_memstream(&data, &size);

                for (unsigned j = i; j < n && j < i + per_file; j++) {
                        size_t wire_size;
                        _cleanup_free_ char *wire = sign(k, grant_headers(prefix, j), NULL, &wire_size);
                        if (j > i)
                                fputc('\n', f);
                        fwrite(wire, 1, wire_size, f);
                }
                fclose(f);
                if (asprintf(&path, "%s/%04u.assert", d, files++) < 0)
                        die("out of memory");
                write_text(path, data, size);
        }
        free(d);
        return files;
}

/* Runs corehomectl --root=ROOT --now=NOW import FILES..., quietly; returns its wall time and (when
 * ret_cpu is not NULL) its user + system CPU time. */
static double import(const char *root, char **files, size_t n, double *ret_cpu)
{
        _cleanup_free_ char *root_arg = NULL;
        const char *argv[FILES_MAX + 8];
        posix_spawn_file_actions_t actions;
        struct rusage ru;
        double start;
        size_t k = 0;
        pid_t pid;
        int status;

        if (asprintf(&root_arg, "--root=%s", root) < 0 || n > FILES_MAX)
                die("bad import");
        argv[k++] = corehomectl;
        argv[k++] = root_arg;
        argv[k++] = "--now=" NOW;
        argv[k++] = "import";
        for (size_t i = 0; i < n; i++)
                argv[k++] = files[i];
        argv[k] = NULL;
        posix_spawn_file_actions_init(&actions);
        posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
        start = now_seconds();
        if (posix_spawn(&pid, corehomectl, &actions, NULL, (char *const *) argv, environ) != 0)
                die("cannot run corehomectl");
        if (wait4(pid, &status, 0, &ru) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                die("an import failed");
        double elapsed = now_seconds() - start;
        posix_spawn_file_actions_destroy(&actions);
        if (ret_cpu)
                *ret_cpu = (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
                           (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
        return elapsed;
}

/* A device trusting the bench's root, with the brand's account and keys stored. */
static char *make_root(const char *name)
{
        char *root = path_of("%s", name);
        _cleanup_free_ char *trusted = NULL, *cmd = NULL, *chain = path_of("chain.assert");

        if (asprintf(&trusted, "%s/etc/corehomed/trusted", root) < 0 ||
            mkdir_parents_and_self(trusted, 0755) < 0 ||
            asprintf(&cmd, "cp '%s/root.assert' '%s/'", scratch, trusted) < 0 || system(cmd) != 0)
                die("cannot make a root");
        import(root, &chain, 1, NULL);
        return root;
}

static char **files_of(const char *dir, unsigned first, unsigned n)
{
        char **files = calloc(n + 1, sizeof(char *));

        for (unsigned i = 0; i < n; i++)
                files[i] = path_of("%s/%04u.assert", dir, first + i);
        return files;
}

static void free_files(char **files)
{
        for (char **f = files; *f; f++)
                free(*f);
        free(files);
}

static int compare_doubles(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

static double median(double *v, size_t n)
{
        qsort(v, n, sizeof(double), compare_doubles);
        return v[n / 2];
}

/* One grant at a time, alternately into the empty and the big root (so both see the same load on the
 * machine): the median wall times and the median CPU times of the processes. */
static void one_grant_cli(const char *empty, const char *big, unsigned first, double ret_wall[2],
                          double ret_cpu[2])
{
        double wall[2][N_ONE], cpu[2][N_ONE];

        for (unsigned i = 0; i < N_ONE; i++)
                for (unsigned k = 0; k < 2; k++) {
                        char **file = files_of("one", first + 2 * i + k, 1);
                        wall[k][i] = import(k == 0 ? empty : big, file, 1, &cpu[k][i]);
                        free_files(file);
                }
        for (unsigned k = 0; k < 2; k++) {
                ret_wall[k] = median(wall[k], N_ONE);
                ret_cpu[k] = median(cpu[k], N_ONE);
        }
}

static double cpu_seconds(void)
{
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return (double) ru.ru_utime.tv_sec + (double) ru.ru_utime.tv_usec / 1e6 +
               (double) ru.ru_stime.tv_sec + (double) ru.ru_stime.tv_usec / 1e6;
}

/* The pipeline in-process: read and decode the files, open the database, check, commit durably, close.
 * Returns the wall time; *ret_cpu (when not NULL) the CPU time it took. */
static double pipeline(const char *root, char **files, size_t n, size_t expected, double *ret_cpu)
{
        double cpu_start = cpu_seconds();
        _cleanup_assertion_list_ AssertionList *batch = calloc(1, sizeof(AssertionList));
        _cleanup_trust_report_ TrustReport *report = NULL;
        double start = now_seconds();
        TrustDb *db = NULL;

        for (size_t i = 0; batch && i < n; i++) {
                _cleanup_assertion_list_ AssertionList *l = NULL;
                _cleanup_free_ char *data = NULL;
                size_t size;

                if (read_file_bounded(AT_FDCWD, files[i], ASSERTION_STREAM_BYTES_MAX, &data, &size) < 0 ||
                    assertion_stream_decode(data, size, &l, NULL) < 0)
                        die("cannot decode");
                Assertion **items = reallocarray(batch->items, batch->n + l->n, sizeof(Assertion *));
                if (!items)
                        die("out of memory");
                batch->items = items;
                for (size_t k = 0; k < l->n; k++)
                        batch->items[batch->n++] = TAKE_PTR(l->items[k]);
                l->n = 0;
        }
        if (!batch || trust_db_open(root, NOW_USEC, &db, NULL) < 0 ||
            trust_db_import(db, batch, &report) < 0 || !report->committed || report->n != expected ||
            report->n_refused > 0)
                die("an in-process import failed");
        trust_db_free(db);
        if (ret_cpu)
                *ret_cpu = cpu_seconds() - cpu_start;
        return now_seconds() - start;
}

/* The same in-process, alternately: open the database, import the grant, close. */
static void one_grant_lib(const char *empty, const char *big, unsigned first, double ret[2])
{
        double t[2][N_ONE];

        for (unsigned i = 0; i < N_ONE; i++)
                for (unsigned k = 0; k < 2; k++) {
                        char **file = files_of("one", first + 2 * i + k, 1);
                        t[k][i] = pipeline(k == 0 ? empty : big, file, 1, 1, NULL);
                        free_files(file);
                }
        for (unsigned k = 0; k < 2; k++)
                ret[k] = median(t[k], N_ONE);
}

static double openssl_speed_rsa4096_verify(void)
{
        char line[512];
        double verify = -1;
        FILE *p = popen("openssl speed -seconds 3 rsa4096 2>/dev/null", "r");

        if (!p)
                return -1;
        /* "rsa 4096 bits 0.003846s 0.000057s    260.0  17464.0": the last figure is verify/s */
        while (fgets(line, sizeof(line), p))
                if (startswith(line, "rsa 4096 bits")) {
                        char *last = strrchr(line, ' ');
                        if (last)
                                verify = strtod(last + 1, NULL);
                }
        pclose(p);
        return verify;
}

int main(void)
{
        const char *build = getenv("BUILD_DIR");
        _cleanup_free_ char *ctl = NULL, *trusted = NULL, *chain = NULL, *cmd = NULL;
        BenchKey root_key = {}, brand = {}, bulk = {};
        size_t a_size, k_size, c1, c2, c3;

        if (!build || asprintf(&ctl, "%s/agent/corehomectl", build) < 0 || access(ctl, X_OK) < 0)
                die("BUILD_DIR must hold agent/corehomectl");
        corehomectl = ctl;
        if (!mkdtemp(scratch))
                die("cannot make a scratch directory");

        /* A root of trust of our own, a brand with a 4096-bit key (measured) and a 2048-bit one (bulk). */
        if (bench_key_new(2048, &root_key) < 0 || bench_key_new(4096, &brand) < 0 ||
            bench_key_new(2048, &bulk) < 0)
                die("cannot make keys");
        _cleanup_free_ char *ra = sign(&root_key, account_headers("benchroot", "benchroot"), NULL, &a_size);
        _cleanup_free_ char *rk =
                sign(&root_key, account_key_headers("benchroot", "benchroot", "root", &root_key),
                     root_key.body, &k_size);
        if (asprintf(&trusted, "%s\n%s", ra, rk) < 0)
                die("out of memory");
        write_text(path_of("root.assert"), trusted, strlen(trusted));
        _cleanup_free_ char *aa = sign(&root_key, account_headers("benchroot", "acme"), NULL, &c1);
        _cleanup_free_ char *ak = sign(
                &root_key, account_key_headers("benchroot", "acme", "default", &brand), brand.body, &c2);
        _cleanup_free_ char *bk =
                sign(&root_key, account_key_headers("benchroot", "acme", "bulk", &bulk), bulk.body, &c3);
        if (asprintf(&chain, "%s\n%s\n%s", aa, ak, bk) < 0)
                die("out of memory");
        write_text(path_of("chain.assert"), chain, strlen(chain));

        unsigned bulk_files = write_grants(&bulk, "bulk", N_BULK, PER_FILE, "bulk");
        unsigned grant_files = write_grants(&brand, "user", N_GRANTS, PER_FILE, "grants");
        write_grants(&brand, "one", 4 * N_ONE, 1, "one");

        /* The big store: 10,000 grants, imported 1000 at a time. */
        _cleanup_free_ char *empty = make_root("empty"), *big = make_root("big");
        double fill_start = now_seconds();
        for (unsigned i = 0; i < bulk_files; i += 16) {
                unsigned n = bulk_files - i < 16 ? bulk_files - i : 16;
                char **files = files_of("bulk", i, n);
                import(big, files, n, NULL);
                free_files(files);
        }
        double fill = now_seconds() - fill_start;

        double cli[2], cli_cpu[2], lib[2];
        one_grant_cli(empty, big, 0, cli, cli_cpu);
        one_grant_lib(empty, big, 2 * N_ONE, lib);

        double wall[N_RUNS], cpu[N_RUNS], in_process[N_RUNS], in_process_cpu[N_RUNS];
        char **files = files_of("grants", 0, grant_files);
        for (unsigned i = 0; i < N_RUNS; i++) {
                char name[16];
                snprintf(name, sizeof(name), "run%u", i);
                _cleanup_free_ char *root = make_root(name);
                wall[i] = import(root, files, grant_files, &cpu[i]);
                snprintf(name, sizeof(name), "lib%u", i);
                _cleanup_free_ char *lib_root = make_root(name);
                in_process[i] = pipeline(lib_root, files, grant_files, N_GRANTS, &in_process_cpu[i]);
        }
        free_files(files);
        double rate = N_GRANTS / median(wall, N_RUNS), rate_cpu = N_GRANTS / median(cpu, N_RUNS);
        double rate_pipeline = N_GRANTS / median(in_process, N_RUNS),
               rate_pipeline_cpu = N_GRANTS / median(in_process_cpu, N_RUNS);
        double speed = openssl_speed_rsa4096_verify();

        printf("trust-store-fill-10000: %.0f assertions/s\n", N_BULK / fill);
        printf("trust-import-one-grant-empty-cli: %.2f ms\n", cli[0] * 1e3);
        printf("trust-import-one-grant-10k-cli: %.2f ms\n", cli[1] * 1e3);
        printf("trust-import-one-grant-10k-vs-empty-cli: %.2f ratio (target: about 1)\n", cli[1] / cli[0]);
        printf("trust-import-one-grant-empty-cli-cpu: %.2f ms\n", cli_cpu[0] * 1e3);
        printf("trust-import-one-grant-10k-cli-cpu: %.2f ms\n", cli_cpu[1] * 1e3);
        printf("trust-import-one-grant-10k-vs-empty-cli-cpu: %.2f ratio\n", cli_cpu[1] / cli_cpu[0]);
        printf("trust-import-one-grant-empty-lib: %.3f ms\n", lib[0] * 1e3);
        printf("trust-import-one-grant-10k-lib: %.3f ms\n", lib[1] * 1e3);
        printf("trust-import-one-grant-10k-vs-empty-lib: %.2f ratio\n", lib[1] / lib[0]);
        printf("trust-import-1000-grants: %.0f grants/s\n", rate);
        printf("trust-import-1000-grants-cpu: %.0f grants/s\n", rate_cpu);
        printf("trust-pipeline-1000-grants: %.0f grants/s\n", rate_pipeline);
        printf("trust-pipeline-1000-grants-cpu: %.0f grants/s\n", rate_pipeline_cpu);
        if (speed > 0) {
                printf("trust-import-1000-grants-openssl-speed: %.0f verifications/s\n", speed);
                printf("trust-import-1000-grants-vs-openssl-speed: %.2f ratio (target >= 0.5; wall clock, "
                       "signatures checked on %ld CPUs)\n",
                       rate / speed, sysconf(_SC_NPROCESSORS_ONLN));
                printf("trust-import-1000-grants-cpu-vs-openssl-speed: %.2f ratio (CPU time of all "
                       "threads)\n",
                       rate_cpu / speed);
                printf("trust-pipeline-1000-grants-vs-openssl-speed: %.2f ratio\n", rate_pipeline / speed);
                printf("trust-pipeline-1000-grants-cpu-vs-openssl-speed: %.2f ratio\n",
                       rate_pipeline_cpu / speed);
        } else
                printf("trust-import-1000-grants-openssl-speed: unavailable verifications/s\n");

        bench_key_done(&root_key);
        bench_key_done(&brand);
        bench_key_done(&bulk);
        /* BENCH_KEEP=1 keeps the roots and signed inputs, for a profiler. */
        if (getenv("BENCH_KEEP")) {
                fprintf(stderr, "bench-trust-store: kept %s\n", scratch);
                return 0;
        }
        if (asprintf(&cmd, "rm -rf '%s'", scratch) < 0 || system(cmd) != 0)
                die("cannot remove the scratch directory");
        return 0;
}
