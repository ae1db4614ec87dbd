#!/usr/bin/env bash
# What the documentation lets one import carry, corehomectl carries through the daemon as well as offline
# (--root): the real corehomed on a scratch root, corehomectl without --root on its Manager socket.
#   - a real stream of 52 signed assertions (~170 KB: 50 grants with SSH keys, the brand's account and
#     account-key) is imported through the daemon;
#   - the largest Import the bounds allow (OPERATION_FILES_MAX = 64 files, ASSERTION_BATCH_MAX = 1024
#     assertions, OPERATION_IMPORT_BYTES_MAX = 16 MiB of assertions with bodies of ASSERTION_BODY_MAX =
#     2 MiB, every byte of the bodies and of the file names (~4 KiB each) a control character, which JSON
#     escapes to six bytes) reaches the daemon and is answered, assertion by assertion (a report of ~25 MB:
#     each of the 1024 verdicts names its file);
#   - one byte more is refused by the CLI with the same message offline and through the daemon;
#   - the Manager's message limit itself (MANAGER_MESSAGE_MAX) at N and N+1.
set -euo pipefail
corehomed="$BUILD_DIR/agent/corehomed"
corehomectl="$BUILD_DIR/agent/corehomectl"
sign_many="$BUILD_DIR/test/sign-many"
trust="$FIXTURES_DIR/trust"
keys="$FIXTURES_DIR/keys"

# agent/operations.h
FILES_MAX=64
ASSERTIONS_MAX=1024
IMPORT_BYTES_MAX=$((16 * 1024 * 1024))
BODY_MAX=$((2 * 1024 * 1024)) # assertions/assertion-limits.h
PATH_MAX=4096
MANAGER_MESSAGE_MAX=$((6 * IMPORT_BYTES_MAX + FILES_MAX * (6 * PATH_MAX + 64) + 4096))

skip() {
        echo "SKIP: $*"
        exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (the Manager serves root only; sockets under /run)"
[ -x "$sign_many" ] || skip "$sign_many is not built"
command -v gpg >/dev/null || skip "gpg is not installed"

scratch=$(mktemp -d /tmp/corehomed-import-limits.XXXXXX)
root="$scratch/root"
rundir="/run/corehomed-import-limits-$$"
manager="$rundir/io.corehomed.Manager"
userdb="/run/systemd/userdb/io.corehomed-import-limits-$$"
log="$scratch/daemon.log"
daemon_pid=""
export COREHOMED_MANAGER_SOCKET="$manager"

# shellcheck source=test/agent/daemon-test-lib.sh
. "$(dirname "$0")/daemon-test-lib.sh"
trap daemon_test_cleanup EXIT

mkdir -p "$root/etc/corehomed/trusted"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/root.assert"
cp /etc/machine-id "$root/etc/machine-id" 2>/dev/null || echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$root/etc/corehomed/corehomed.yaml"
cp -a "$root" "$scratch/offline-root"

"$corehomed" --root="$root" --userdb-socket="$userdb" --manager-socket="$manager" 2>>"$log" &
daemon_pid=$!
for _ in $(seq 100); do
        [ -S "$manager" ] && break
        kill -0 "$daemon_pid" 2>/dev/null || fail "corehomed exited during start"
        sleep 0.1
done
[ -S "$manager" ] || fail "corehomed did not create $manager within 10 s"

# --- a real stream of 52 assertions ---
export GNUPGHOME="$scratch/gnupg"
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --import "$keys/test-brand.secret.asc" 2>/dev/null
mkdir "$scratch/signed"
key=$(python3 -c 'import base64, os; print("ssh-rsa " + base64.b64encode(os.urandom(535)).decode())')
for i in $(seq -w 1 50); do
        printf '{"type":"system-user","authority-id":"acme","brand-id":"acme","email":"user%s@example.com",' "$i"
        printf '"series":["16"],"models":["appliance-1"],"username":"user%s","name":"User %s",' "$i" "$i"
        printf '"password":"$6$S4ltS4ltS4lt$JJMkHPPOCWwCYm72g0S.IG547HUVw6XxyeKRXzEYaPBzYkq9lVZhMtUFGYUuEKiEIEDnpPkYRiZCYzXNwExfC.",'
        printf '"ssh-keys":["%s user%s@laptop","%s user%s@desktop","%s user%s@phone"],' "$key" "$i" "$key" "$i" "$key" "$i"
        printf '"since":"2016-01-01T00:00:00Z","until":"2030-01-01T00:00:00Z"}\n'
done | "$sign_many" "$GNUPGHOME" corehomed-test-brand "$scratch/signed" >/dev/null
python3 - "$scratch/stream.assert" "$trust/acme.account" "$trust/acme.account-key" "$scratch"/signed/*.assert <<'PY'
import sys
items = [open(p, "rb").read().rstrip(b"\n") + b"\n" for p in sys.argv[2:]]
open(sys.argv[1], "wb").write(b"\n".join(items))
PY
size=$(stat -c %s "$scratch/stream.assert")
[ "$size" -gt $((128 * 1024)) ] || fail "the stream is only $size bytes: it must exceed the old 128 KiB message limit"
"$corehomectl" import "$scratch/stream.assert" >"$scratch/out" 2>&1 || fail "import of the 52-assertion stream: $(cat "$scratch/out")"
added=$(grep -c ': added$' "$scratch/out" || true)
[ "$added" = 52 ] || fail "52 assertions imported through the daemon, $added added: $(head -5 "$scratch/out")"
ok "a real stream of 52 signed assertions ($size bytes) imports through the daemon"

# --- the largest Import the bounds allow ---
# make_import DIR EXTRA: FILES_MAX files of ASSERTIONS_MAX / FILES_MAX assertions each, IMPORT_BYTES_MAX +
# EXTRA bytes in all, the first bodies at BODY_MAX; bodies and file names made of U+0001 (six bytes each
# in JSON). Prints the files' paths, one per line.
make_import() {
        python3 - "$1" "$2" "$FILES_MAX" "$ASSERTIONS_MAX" "$IMPORT_BYTES_MAX" "$BODY_MAX" "$PATH_MAX" <<'PY'
import os, sys
top, extra, files_max, assertions_max, total, body_max, path_max = sys.argv[1], *map(int, sys.argv[2:])
total += extra
per_file = assertions_max // files_max
sig = "AcLBXAQAAQoABgUCV0nzZAAK" * 20
key = "A" * 64

def assertion(i, body_length, pad=0):
    head = ("type: account\nauthority-id: acme\naccount-id: account-%04d\ndisplay-name: Account %d%s\n"
            "timestamp: 2016-01-01T00:00:00Z\nusername: account-%04d\nvalidation: unproven\n"
            "body-length: %d\nsign-key-sha3-384: %s\n\n" % (i, i, "x" * pad, i, body_length, key))
    return head.encode() + b"\x01" * body_length + b"\n\n" + sig.encode()

# Separators between the assertions of a file, and each file's final newline.
separators = assertions_max * 2 - files_max
# As many bodies of body_max as fit, the others sharing what is left; the last assertion's display-name
# takes the few bytes that rounding leaves.
full = (total - separators) // (body_max + 2048) - 1
bodies = [body_max] * full + [0] * (assertions_max - full)
left = total - separators - sum(len(assertion(i, bodies[i])) for i in range(assertions_max))
for i in range(full, assertions_max):
    bodies[i] = left // (assertions_max - full) - 8
pad = total - separators - sum(len(assertion(i, bodies[i])) for i in range(assertions_max))
assert 0 <= pad < 64 * 1024, pad
# A directory chain whose names are U+0001 only, so each file's path is close to PATH_MAX.
d = top
while len(d) < path_max - 1 - 1 - 255:
    d = os.path.join(d, "\x01" * 255)
os.makedirs(d)
written = 0
for f in range(files_max):
    path = os.path.join(d, ("\x01" * (path_max - 1 - len(d) - 1 - 8)) + "%08d" % f)
    items = [assertion(i, bodies[i], pad if i == assertions_max - 1 else 0)
             for i in range(f * per_file, (f + 1) * per_file)]
    data = b"\n\n".join(items) + b"\n"
    open(path, "wb").write(data)
    written += len(data)
    print(path)
assert written == total, (written, total)
PY
}
make_import "$scratch/bound" 0 >"$scratch/bound.list"
mapfile -t files <"$scratch/bound.list"
[ "${#files[@]}" = "$FILES_MAX" ] || fail "made ${#files[@]} files"
bytes=$(cat "${files[@]}" | wc -c)
[ "$bytes" = "$IMPORT_BYTES_MAX" ] || fail "made $bytes bytes, not $IMPORT_BYTES_MAX"
rc=0
"$corehomectl" --json import "${files[@]}" >"$scratch/out" 2>"$scratch/err" || rc=$?
grep -q 'Connection reset\|cannot talk to corehomed' "$scratch/err" && fail "the largest import did not reach the daemon: $(head -3 "$scratch/err")"
[ $rc = 1 ] || fail "the largest import (all of it refused: unknown signer) ended with $rc: $(head -3 "$scratch/err")"
verdicts=$(python3 -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["assertions"]))' "$scratch/out") ||
        fail "no report for the largest import: $(head -c 300 "$scratch/out")"
[ "$verdicts" = "$ASSERTIONS_MAX" ] || fail "the daemon reported $verdicts assertions, not $ASSERTIONS_MAX"
ok "the largest import the bounds allow ($FILES_MAX files, $ASSERTIONS_MAX assertions, $bytes bytes, escaped ~6x) is answered by the daemon"

# --- one byte more ---
rm -rf "$scratch/bound"
make_import "$scratch/over" 1 >"$scratch/over.list"
mapfile -t files <"$scratch/over.list"
for mode in daemon offline; do
        rc=0
        if [ $mode = daemon ]; then
                "$corehomectl" import "${files[@]}" >"$scratch/out" 2>&1 || rc=$?
        else
                "$corehomectl" --root="$scratch/offline-root" import "${files[@]}" >"$scratch/out" 2>&1 || rc=$?
        fi
        [ $rc = 1 ] && grep -q "more than $IMPORT_BYTES_MAX bytes of assertions in one import" "$scratch/out" ||
                fail "$mode: an import one byte over the bound: rc=$rc $(head -c 300 "$scratch/out")"
done
ok "one byte more is refused with the same words offline and through the daemon"
rm -rf "$scratch/over"

# --- the Manager's message limit at N and N+1 (a Status call padded to the size) ---
send_raw() {
        python3 - "$manager" "$1" <<'PY'
import json, socket, sys
path, size = sys.argv[1], int(sys.argv[2])
head = '{"method":"io.corehomed.Manager.Status","parameters":{"pad":"'
tail = '"}}'
msg = (head + "x" * (size - len(head) - len(tail)) + tail).encode() + b"\0"
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(path)
try:
    s.sendall(msg)
except (BrokenPipeError, ConnectionResetError):
    print("closed")
    sys.exit(0)
buf = b""
while not buf.endswith(b"\0"):
    try:
        chunk = s.recv(65536)
    except ConnectionResetError:
        chunk = b""
    if not chunk:
        print("closed")
        sys.exit(0)
    buf += chunk
reply = json.loads(buf[:-1])
print("error" if "error" in reply else "answered")
PY
}
[ "$(send_raw "$MANAGER_MESSAGE_MAX")" = answered ] || fail "a Manager call of MANAGER_MESSAGE_MAX bytes was not answered"
[ "$(send_raw $((MANAGER_MESSAGE_MAX + 1)))" = closed ] || fail "a Manager call one byte over MANAGER_MESSAGE_MAX was not refused"
ok "the Manager takes a message of $MANAGER_MESSAGE_MAX bytes and closes the connection at one more"

kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=""
[ $rc = 0 ] || fail "corehomed exited $rc on SIGTERM"
ok "the daemon stops cleanly"
