/* SPDX-License-Identifier: MIT */
/* One row per validation rule of USER_RECORD.md: every section, every field type and range, a good value
 * next to each bad one, and the field path the refusal names. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "test-user-record-util.h"

#define MID "3d1219c7c4c5404aaa1f6d2a48adfda4"
#define PEM                                                                                          \
        "-----BEGIN PUBLIC "                                                                         \
        "KEY-----\\nMCowBQYDK2VwAyEAwY6LkIDzdj0efkUNsbgQ6qlHHzZbytLUUdwJOcOiBaw=\\n-----END PUBLIC " \
        "KEY-----\\n"
#define SIG  "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="
#define OK   0
#define BAD  (-EBADMSG)
#define BIG  (-E2BIG)
#define U(x) "{\"userName\":\"alice\"," x "}"

static const struct {
        const char *json;
        int expected;
        const char *field; /* NULL: do not check */
} cases[] = {
        /* the shortest valid record, and the top-level shape */
        { "{\"userName\":\"u\"}", OK, NULL },
        { "{}", BAD, "userName" },
        { "{\"userName\":7}", BAD, "userName" },
        { "{\"userName\":\"root\"}", BAD, "userName" },
        { "{\"userName\":\"systemd-foo\"}", BAD, "userName" },
        { "{\"userName\":\"_svc\"}", BAD, "userName" },
        { "{\"userName\":\"1abc\"}", BAD, "userName" },
        { "{\"userName\":\"abcdefghijklmnopqrstuvwxyz01234\"}", OK, NULL },
        { "{\"userName\":\"abcdefghijklmnopqrstuvwxyz012345\"}", BAD, "userName" },
        { "{\"userName\":null}", BAD, "userName" },
        { "[\"userName\"]", BAD, "" },
        { "\"alice\"", BAD, "" },
        /* unknown and namespaced fields */
        { U("\"userNmae\":\"x\""), BAD, "userNmae" },
        { U("\"io.corehomed.brand\":\"acme\""), OK, NULL },
        { U("\"io.corehomed.grant\":{\"revision\":3,\"serials\":[\"a\",null,true]}"), OK, NULL },
        { U("\"io.corehomed.x\":1.5"), BAD, "io.corehomed.x" },
        { U("\"realName\":null"), BAD, "realName" },
        /* strings: text, safe, GECOS */
        { U("\"realName\":\"Alice \\\"Q\\\" M\xc3\xbcller\""), OK, NULL },
        { U("\"realName\":\"Alice:Admin\""), BAD, "realName" },
        { U("\"realName\":\"Alice\\nAdmin\""), BAD, "realName" },
        { U("\"realName\":\"Alice\\u001b[31m\""), BAD, "realName" },
        { U("\"realName\":\"A\\u007f\""), BAD, "realName" },
        { U("\"location\":\"Room 3a, \\\"North\\\"\""), OK, NULL },
        { U("\"location\":\"tab\\there\""), BAD, "location" },
        { U("\"emailAddress\":\"alice@example.com\""), OK, NULL },
        { U("\"emailAddress\":\"alice\\\"@example.com\""), BAD, "emailAddress" },
        { U("\"emailAddress\":\"a\\\\b@example.com\""), BAD, "emailAddress" },
        { U("\"emailAddress\":\"o'neil@example.com\""), BAD, "emailAddress" },
        { U("\"emailAddress\":5"), BAD, "emailAddress" },
        { U("\"timeZone\":\"Europe/Berlin\""), OK, NULL },
        { U("\"preferredLanguage\":\"de_DE.UTF-8\""), OK, NULL },
        { U("\"iconName\":\"avatar-default\""), OK, NULL },
        { U("\"service\":\"io.corehomed\""), OK, NULL },
        /* realm */
        { U("\"realm\":\"example.com\""), OK, NULL },
        { U("\"realm\":\"example..com\""), BAD, "realm" },
        { U("\"realm\":\"-example.com\""), BAD, "realm" },
        { U("\"realm\":\"exa mple.com\""), BAD, "realm" },
        { U("\"realm\":\"\""), BAD, "realm" },
        /* enumerations */
        { U("\"disposition\":\"regular\""), OK, NULL },
        { U("\"disposition\":\"human\""), BAD, "disposition" },
        { U("\"storage\":\"directory\""), OK, NULL },
        { U("\"storage\":\"luks\""), OK, NULL },
        { U("\"storage\":\"zfs\""), BAD, "storage" },
        /* unsigned integers and ranges */
        { U("\"lastChangeUSec\":1795566788820503"), OK, NULL },
        { U("\"lastChangeUSec\":-1"), BAD, "lastChangeUSec" },
        { U("\"lastChangeUSec\":\"1795566788820503\""), BAD, "lastChangeUSec" },
        { U("\"lastChangeUSec\":1.795566788820503e15"), BAD, "lastChangeUSec" },
        { U("\"lastChangeUSec\":30.0"), BAD, "lastChangeUSec" },
        { U("\"lastPasswordChangeUSec\":0"), OK, NULL },
        { U("\"notBeforeUSec\":1"), OK, NULL },
        { U("\"notAfterUSec\":true"), BAD, "notAfterUSec" },
        { U("\"umask\":511"), OK, NULL },
        { U("\"umask\":512"), BAD, "umask" },
        { U("\"accessMode\":448"), OK, NULL },
        { U("\"accessMode\":512"), BAD, "accessMode" },
        { U("\"niceLevel\":-20"), OK, NULL },
        { U("\"niceLevel\":19"), OK, NULL },
        { U("\"niceLevel\":-21"), BAD, "niceLevel" },
        { U("\"niceLevel\":20"), BAD, "niceLevel" },
        { U("\"tasksMax\":1"), OK, NULL },
        { U("\"tasksMax\":0"), BAD, "tasksMax" },
        { U("\"memoryMax\":0"), BAD, "memoryMax" },
        { U("\"memoryHigh\":1073741824"), OK, NULL },
        { U("\"cpuWeight\":100"), OK, NULL },
        { U("\"cpuWeight\":99"), BAD, "cpuWeight" },
        { U("\"ioWeight\":9999"), OK, NULL },
        { U("\"ioWeight\":10001"), BAD, "ioWeight" },
        { U("\"diskSizeRelative\":4294967296"), OK, NULL },
        { U("\"diskSizeRelative\":4294967297"), BAD, "diskSizeRelative" },
        { U("\"diskSize\":268435456"), OK, NULL },
        { U("\"rateLimitBurst\":30"), OK, NULL },
        { U("\"rateLimitBurst\":3.000000000000000000000e+01"), BAD, "rateLimitBurst" },
        { U("\"rateLimitIntervalUSec\":60000000"), OK, NULL },
        { U("\"stopDelayUSec\":0"), OK, NULL },
        { U("\"passwordChangeMaxUSec\":7776000000000"), OK, NULL },
        { U("\"luksVolumeKeySize\":32"), OK, NULL },
        /* booleans */
        { U("\"locked\":true"), OK, NULL },
        { U("\"locked\":1"), BAD, "locked" },
        { U("\"locked\":\"true\""), BAD, "locked" },
        { U("\"mountNoExecute\":false"), OK, NULL },
        { U("\"enforcePasswordPolicy\":false"), OK, NULL },
        { U("\"autoLogin\":0"), BAD, "autoLogin" },
        { U("\"killProcesses\":true"), OK, NULL },
        { U("\"passwordChangeNow\":\"no\""), BAD, "passwordChangeNow" },
        /* uid and gid */
        { U("\"uid\":60001,\"gid\":60001"), OK, NULL },
        { U("\"uid\":0"), BAD, "uid" },
        { U("\"gid\":0"), BAD, "gid" },
        { U("\"uid\":65535"), BAD, "uid" },
        { U("\"uid\":4294967294"), OK, NULL },
        { U("\"uid\":4294967295"), BAD, "uid" },
        { U("\"uid\":4294967296"), BAD, "uid" },
        { U("\"uid\":-5"), BAD, "uid" },
        { U("\"uid\":\"60001\""), BAD, "uid" },
        /* absolute normalized paths */
        { U("\"homeDirectory\":\"/home/alice\""), OK, NULL },
        { U("\"homeDirectory\":\"home/alice\""), BAD, "homeDirectory" },
        { U("\"homeDirectory\":\"/home/../etc\""), BAD, "homeDirectory" },
        { U("\"homeDirectory\":\"/home/./alice\""), BAD, "homeDirectory" },
        { U("\"homeDirectory\":\"/home//alice\""), BAD, "homeDirectory" },
        { U("\"homeDirectory\":\"/home/alice/\""), BAD, "homeDirectory" },
        { U("\"homeDirectory\":\"/\""), BAD, "homeDirectory" },
        { U("\"homeDirectory\":\"/home/al:ice\""), BAD, "homeDirectory" },
        { U("\"homeDirectory\":\"/home/al\\nice\""), BAD, "homeDirectory" },
        { U("\"shell\":\"/bin/bash\""), OK, NULL },
        { U("\"shell\":\"bash\""), BAD, "shell" },
        { U("\"shell\":\"/bin/..\""), BAD, "shell" },
        { U("\"imagePath\":\"/home/alice.homedir\""), OK, NULL },
        { U("\"imagePath\":\"/home/alice.homedir/..\""), BAD, "imagePath" },
        { U("\"skeletonDirectory\":\"/etc/skel\""), OK, NULL },
        { U("\"skeletonDirectory\":\"/\""), BAD, "skeletonDirectory" },
        { U("\"skeletonDirectory\":\"\""), BAD, "skeletonDirectory" },
        /* 128-bit IDs */
        { U("\"partitionUuid\":\"41f9ce04-c827-4b74-a981-c669f93eb4dc\""), OK, NULL },
        { U("\"luksUuid\":\"e63581ba79fb4226b9de1888393f7573\""), OK, NULL },
        { U("\"fileSystemUuid\":\"758E88C8-5851-4A2A-B88F-E7474279C111\""), BAD, "fileSystemUuid" },
        { U("\"fileSystemUuid\":\"758e88c8-5851-4a2a-b88f\""), BAD, "fileSystemUuid" },
        /* lists */
        { U("\"memberOf\":[\"users\",\"sudo\"]"), OK, NULL },
        { U("\"memberOf\":[]"), OK, NULL },
        { U("\"memberOf\":\"users\""), BAD, "memberOf" },
        { U("\"memberOf\":[\"users\",\"bad group\"]"), BAD, "memberOf[1]" },
        { U("\"memberOf\":[\"users\",3]"), BAD, "memberOf[1]" },
        { U("\"environment\":[\"EDITOR=vi\",\"A_1=\"]"), OK, NULL },
        { U("\"environment\":[\"EDITOR\"]"), BAD, "environment[0]" },
        { U("\"environment\":[\"=vi\"]"), BAD, "environment[0]" },
        { U("\"environment\":[\"1A=vi\"]"), BAD, "environment[0]" },
        { U("\"environment\":[\"A=\\u0007\"]"), BAD, "environment[0]" },
        { U("\"pkcs11TokenUri\":[\"pkcs11:token=foo\"]"), OK, NULL },
        { U("\"pkcs11TokenUri\":[\"http://x\"]"), BAD, "pkcs11TokenUri[0]" },
        { U("\"fido2HmacCredential\":[\"AAEC\"]"), OK, NULL },
        { U("\"fido2HmacCredential\":[\"AAE\"]"), BAD, "fido2HmacCredential[0]" },
        { U("\"recoveryKeyType\":[\"modhex64\"]"), OK, NULL },
        /* resource limits */
        { U("\"resourceLimits\":{\"RLIMIT_NOFILE\":{\"cur\":1024,\"max\":4096}}"), OK, NULL },
        { U("\"resourceLimits\":{\"RLIMIT_NOFILE\":{\"cur\":4097,\"max\":4096}}"), BAD,
          "resourceLimits.RLIMIT_NOFILE" },
        { U("\"resourceLimits\":{\"RLIMIT_FOO\":{\"cur\":1,\"max\":1}}"), BAD, "resourceLimits.RLIMIT_FOO" },
        { U("\"resourceLimits\":{\"RLIMIT_NOFILE\":{\"cur\":1}}"), BAD, "resourceLimits.RLIMIT_NOFILE" },
        { U("\"resourceLimits\":{\"RLIMIT_NOFILE\":{\"cur\":1,\"max\":-1}}"), BAD,
          "resourceLimits.RLIMIT_NOFILE.max" },
        { U("\"resourceLimits\":[]"), BAD, "resourceLimits" },
        /* privileged */
        { U("\"privileged\":{\"hashedPassword\":[\"$6$abc$def\"]}"), OK, NULL },
        { U("\"privileged\":{\"hashedPassword\":\"$6$abc$def\"}"), BAD, "privileged.hashedPassword" },
        { U("\"privileged\":{\"hashedPassword\":[\"$6$a\\\"bc\"]}"), BAD, "privileged.hashedPassword[0]" },
        { U("\"privileged\":{\"sshAuthorizedKeys\":[\"ssh-ed25519 AAAA x@y\"]}"), OK, NULL },
        { U("\"privileged\":{\"sshAuthorizedKeys\":[\"ssh-ed25519 AAAA\\nssh-rsa B\"]}"), BAD,
          "privileged.sshAuthorizedKeys[0]" },
        { U("\"privileged\":{\"passwordHint\":\"pet's name\"}"), OK, NULL },
        { U("\"privileged\":{\"pkcs11EncryptedKey\":[{\"uri\":\"pkcs11:id=1\",\"data\":\"AAEC\","
            "\"hashedPassword\":\"$6$x\"}]}"),
          OK, NULL },
        { U("\"privileged\":{\"pkcs11EncryptedKey\":[{\"uri\":\"pkcs11:id=1\",\"data\":\"AAEC\"}]}"), BAD,
          "privileged.pkcs11EncryptedKey[0].hashedPassword" },
        { U("\"privileged\":{\"pkcs11EncryptedKey\":[{\"uri\":\"pkcs11:id=1\",\"data\":\"AAEC\","
            "\"hashedPassword\":\"$6$x\",\"extra\":1}]}"),
          BAD, "privileged.pkcs11EncryptedKey[0].extra" },
        { U("\"privileged\":{\"fido2HmacSalt\":[{\"credential\":\"AAEC\",\"salt\":\"AAEC\","
            "\"hashedPassword\":\"$6$x\",\"up\":true}]}"),
          OK, NULL },
        { U("\"privileged\":{\"fido2HmacSalt\":[{\"credential\":\"AAEC\",\"salt\":\"AAEC\","
            "\"hashedPassword\":\"$6$x\",\"up\":1}]}"),
          BAD, "privileged.fido2HmacSalt[0].up" },
        { U("\"privileged\":{\"recoveryKey\":[{\"type\":\"modhex64\",\"hashedPassword\":\"$6$x\"}]}"), OK,
          NULL },
        { U("\"privileged\":{\"shell\":\"/bin/sh\"}"), BAD, "privileged.shell" },
        { U("\"privileged\":[]"), BAD, "privileged" },
        { U("\"privileged\":{\"io.corehomed.note\":\"x\"}"), OK, NULL },
        /* perMachine */
        { U("\"perMachine\":[{\"matchMachineId\":\"" MID "\",\"storage\":\"directory\"}]"), OK, NULL },
        { U("\"perMachine\":[{\"matchMachineId\":[\"" MID "\"],\"niceLevel\":5}]"), OK, NULL },
        { U("\"perMachine\":[{\"matchHostname\":\"host-1\",\"shell\":\"/bin/sh\"}]"), OK, NULL },
        { U("\"perMachine\":[{\"matchHostname\":[\"a\",\"b.example\"],\"locked\":true}]"), OK, NULL },
        { U("\"perMachine\":[{\"shell\":\"/bin/sh\"}]"), BAD, "perMachine[0]" },
        { U("\"perMachine\":[{\"matchMachineId\":\"xyz\"}]"), BAD, "perMachine[0].matchMachineId" },
        { U("\"perMachine\":[{\"matchMachineId\":[]}]"), BAD, "perMachine[0].matchMachineId" },
        { U("\"perMachine\":[{\"matchHostname\":\"bad host\"}]"), BAD, "perMachine[0].matchHostname" },
        { U("\"perMachine\":[{\"matchHostname\":\"h\",\"userName\":\"bob\"}]"), BAD,
          "perMachine[0].userName" },
        { U("\"perMachine\":[{\"matchHostname\":\"h\",\"niceLevel\":99}]"), BAD, "perMachine[0].niceLevel" },
        { U("\"perMachine\":{}"), BAD, "perMachine" },
        { U("\"perMachine\":[7]"), BAD, "perMachine[0]" },
        /* binding */
        { U("\"binding\":{\"" MID "\":{\"gid\":60199,\"imagePath\":\"/home/"
            "alice.homedir\",\"storage\":\"directory\",\"uid\":60199}}"),
          OK, NULL },
        { U("\"binding\":{\"" MID "\":{\"uid\":0}}"), BAD, "binding." MID ".uid" },
        { U("\"binding\":{\"" MID "\":{\"shell\":\"/bin/sh\"}}"), BAD, "binding." MID ".shell" },
        { U("\"binding\":{\"3D1219C7C4C5404AAA1F6D2A48ADFDA4\":{}}"), BAD,
          "binding.3D1219C7C4C5404AAA1F6D2A48ADFDA4" },
        { U("\"binding\":{\"" MID "\":[]}"), BAD, "binding." MID },
        { U("\"binding\":[]"), BAD, "binding" },
        /* status */
        { U("\"status\":{\"" MID "\":{\"state\":\"active\",\"service\":\"io.corehomed\",\"diskUsage\":5,"
            "\"signedLocally\":true}}"),
          OK, NULL },
        { U("\"status\":{\"" MID "\":{\"state\":1}}"), BAD, "status." MID ".state" },
        { U("\"status\":{\"" MID "\":{\"locked\":true}}"), BAD, "status." MID ".locked" },
        { U("\"status\":{\"nomachine\":{}}"), BAD, "status.nomachine" },
        /* secret */
        { U("\"secret\":{\"password\":[\"hunter2\"]}"), OK, NULL },
        { U("\"secret\":{\"password\":\"hunter2\"}"), BAD, "secret.password" },
        { U("\"secret\":{\"pkcs11ProtectedAuthenticationPathPermitted\":true,\"tokenPin\":[\"1234\"]}"), OK,
          NULL },
        { U("\"secret\":{\"hashedPassword\":[\"$6$x\"]}"), BAD, "secret.hashedPassword" },
        { U("\"secret\":\"x\""), BAD, "secret" },
        /* signature */
        { U("\"signature\":[]"), OK, NULL },
        { U("\"signature\":[{\"data\":\"" SIG "\",\"key\":\"" PEM "\"}]"), OK, NULL },
        { U("\"signature\":[{\"data\":\"" SIG "\"}]"), BAD, "signature[0].key" },
        { U("\"signature\":[{\"data\":\"not base64!\",\"key\":\"" PEM "\"}]"), BAD, "signature[0].data" },
        { U("\"signature\":[{\"data\":\"" SIG
            "\",\"key\":\"-----BEGIN PUBLIC KEY-----\\nAAAA\\n-----END PUBLIC KEY-----\\n\"}]"),
          BAD, "signature[0].key" },
        { U("\"signature\":[{\"data\":\"" SIG "\",\"key\":\"" PEM "\",\"extra\":true}]"), BAD,
          "signature[0].extra" },
        { U("\"signature\":{}"), BAD, "signature" },
        /* nesting depth: the top-level object is depth 1, so 15 arrays reach USER_RECORD_DEPTH_MAX (16) */
        { U("\"io.x\":[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]"), OK, NULL },
        { U("\"io.x\":[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]"), BIG, NULL },
};

static void test_validate_table(void **state)
{
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                _cleanup_json_ json_t *record = NULL;
                RecordError err = {};
                int r;

                r = user_record_load(cases[i].json, strlen(cases[i].json), &record, &err);
                if (r != cases[i].expected)
                        fail_msg("case %zu %s: expected %d, got %d (%s: %s)", i, cases[i].json,
                                 cases[i].expected, r, err.field, err.message);
                if (r < 0 && record)
                        fail_msg("case %zu: a refused record was returned", i);
                if (r < 0 && err.message[0] == '\0')
                        fail_msg("case %zu: a refusal without a message", i);
                if (cases[i].field && !streq(err.field, cases[i].field))
                        fail_msg("case %zu %s: expected field \"%s\", got \"%s\" (%s)", i, cases[i].json,
                                 cases[i].field, err.field, err.message);
        }
}

static void test_validate_depth_limit_at_n_and_n_plus_1(void **state)
{
        /* depth N: the top-level object plus USER_RECORD_DEPTH_MAX - 1 nested arrays */
        for (unsigned extra = 0; extra <= 1; extra++) {
                _cleanup_json_ json_t *record = test_parse("{\"userName\":\"alice\"}");
                json_t *v = json_array();

                for (unsigned d = 2; d < USER_RECORD_DEPTH_MAX + extra; d++) {
                        json_t *outer = json_array();
                        json_array_append_new(outer, v);
                        v = outer;
                }
                json_object_set_new(record, "io.deep", v);
                assert_int_equal(user_record_validate(record, NULL), extra ? -E2BIG : 0);
        }
}

static void test_validate_refuses_non_object(void **state)
{
        _cleanup_json_ json_t *a = json_array();
        RecordError err = {};

        assert_int_equal(user_record_validate(a, &err), -EBADMSG);
        assert_int_equal(user_record_validate(NULL, NULL), -EBADMSG);
}

static void test_validate_refuses_string_with_nul(void **state)
{
        _cleanup_json_ json_t *record = test_parse("{\"userName\":\"alice\"}");
        RecordError err = {};

        json_object_set_new(record, "realName", json_stringn("a\0b", 3));
        assert_int_equal(user_record_validate(record, &err), -EBADMSG);
        assert_string_equal(err.field, "realName");
}

static void test_validate_accepts_real_vectors(void **state)
{
        static const char *const files[] = { "systemd/vecuser.host.identity",
                                             "systemd/vecuser.embedded.identity",
                                             "systemd/vecswap.host.identity",
                                             "systemd/vecswap.embedded.identity", "systemd/signtest.json" };

        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
                _cleanup_json_ json_t *record = test_load("INTEROP_DIR", files[i]);
                assert_non_null(record);
        }
}

static void test_validate_fixture_full_record(void **state)
{
        _cleanup_json_ json_t *record = test_load("FIXTURES_DIR", "records/full.json");
        assert_string_equal(user_record_user_name(record), "alice");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_validate_table),
                cmocka_unit_test(test_validate_depth_limit_at_n_and_n_plus_1),
                cmocka_unit_test(test_validate_refuses_non_object),
                cmocka_unit_test(test_validate_refuses_string_with_nul),
                cmocka_unit_test(test_validate_accepts_real_vectors),
                cmocka_unit_test(test_validate_fixture_full_record),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
