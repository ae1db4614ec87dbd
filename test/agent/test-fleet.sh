#!/usr/bin/env bash
# Fleet pulls against a local HTTPS server on 127.0.0.1 (test/agent/fleet-test-server.py, certificates made
# here): new assertions, 304, server down, slow server, oversized bodies at the cap and one byte over, the
# wrong CA, a framed multi-stream feed, and the one prerequisite round (found, and missing on the server).
set -euo pipefail
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"
server="$SOURCE_DIR/test/agent/fleet-test-server.py"
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
scratch=$(mktemp -d /tmp/corehomed-fleet.XXXXXX)
server_pid=
daemon_pid=
cleanup() {
        if [ -n "$daemon_pid" ]; then
                kill "$daemon_pid" 2>/dev/null || true
                wait "$daemon_pid" 2>/dev/null || true
        fi
        # The daemon unmounts what it mounted when it stops; make sure before deleting anything.
        grep -o " $scratch/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
        [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
        [ -z "$server_pid" ] || wait "$server_pid" 2>/dev/null || true
        rm -rf "$scratch"
}
trap cleanup EXIT
passed=0
fail() {
        echo "FAIL: $*"
        exit 1
}
ok() {
        echo "ok: $*"
        passed=$((passed + 1))
}

# FLEET_BODY_MAX in agent/fleet/fleet.h, so the N / N+1 cases follow the constant.
body_max=$(($(sed -n 's/^#define FLEET_BODY_MAX *(\([0-9]*\) \* \([0-9]*\) \* \([0-9]*\)).*/\1*\2*\3/p' \
        "$SOURCE_DIR/agent/fleet/fleet.h")))
[ "$body_max" -gt 0 ] || fail "cannot read FLEET_BODY_MAX from agent/fleet/fleet.h"

# --- certificates: a CA, a server certificate for 127.0.0.1/localhost, and an unrelated CA ---
pki="$scratch/pki"
mkdir -p "$pki"
ossl() { openssl "$@" >/dev/null 2>&1 || fail "openssl $1 failed"; }
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=fleet-test-ca -keyout "$pki/ca.key" -out "$pki/ca.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
ossl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=other-ca -keyout "$pki/other.key" -out "$pki/other.pem" \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
ossl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout "$pki/server.key" -out "$pki/server.csr"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >"$pki/ext"
ossl x509 -req -in "$pki/server.csr" -CA "$pki/ca.pem" -CAkey "$pki/ca.key" -CAcreateserial -days 2 \
        -extfile "$pki/ext" -out "$pki/server.pem"

# --- the server ---
srv="$scratch/srv"
log="$scratch/server.log"
mkdir -p "$srv"
: >"$log"
python3 "$server" --dir "$srv" --cert "$pki/server.pem" --key "$pki/server.key" --port-file "$scratch/port" \
        --log "$log" &
server_pid=$!
for _ in $(seq 100); do [ -f "$scratch/port" ] && break; sleep 0.1; done
[ -f "$scratch/port" ] || fail "the test server did not start"
port=$(cat "$scratch/port")
base="https://127.0.0.1:$port"

# stream FILE...: the files as one assertion stream.
stream() {
        local first=1
        for f in "$@"; do
                [ $first = 1 ] || echo
                cat "$f"
                first=0
        done
}
# serve DEVICE FILE...: the feed of DEVICE (…/devices/DEVICE/assertions).
serve() {
        local d="$srv/devices/$1/assertions"
        shift
        mkdir -p "$d"
        stream "$@" >"$d/index"
}
# new_device DIR DEVICE [CA]: a scratch root polling $base/devices/DEVICE with CA pinned.
new_device() {
        mkdir -p "$1/etc/corehomed/trusted"
        cp "$trust/trusted/root.assert" "$1/etc/corehomed/trusted/root.assert"
        cp "${3:-$pki/ca.pem}" "$1/etc/corehomed/fleet-ca.pem"
        echo 0123456789abcdef0123456789abcdef >"$1/etc/machine-id"
        cat >"$1/etc/corehomed/corehomed.yaml" <<YAML
device:
  brand-id: acme
  model: appliance-1
fleet:
  url: ${4:-$base}/devices/$2
  ca-file: /etc/corehomed/fleet-ca.pem
  interval: 15m
  create-users: true
YAML
}
requests() { grep -c "^GET $1 " "$log" || true; }
has_user() { [ -f "$1/var/lib/systemd/home/$2.identity" ]; }
now=--now=2026-11-25T10:00:00Z
key_id=$(sed -n 's/^sign-key-sha3-384: //p' "$trust/alice.system-user")

# --- new assertions: fetched, imported, users created (fleet.create-users: true) ---
d="$scratch/new"
new_device "$d" SN-0001
serve SN-0001 "$trust/acme.account" "$trust/acme.account-key" "$trust/alice.system-user"
"$corehomectl" --root="$d" "$now" import --fleet >"$scratch/out" 2>&1 || fail "new feed: $(cat "$scratch/out")"
grep -q 'alice.*added' "$scratch/out" || fail "new feed: alice not added: $(cat "$scratch/out")"
grep -q '^alice: created' "$scratch/out" || fail "new feed: no user created: $(cat "$scratch/out")"
has_user "$d" alice || fail "new feed: alice has no home"
ok "a new feed is imported and creates alice"

# --- unchanged: the stored ETag gets a 304 and nothing is done ---
before=$(requests /devices/SN-0001/assertions)
"$corehomectl" --root="$d" "$now" import --fleet >"$scratch/out" 2>&1 || fail "304: $(cat "$scratch/out")"
grep -q 'unchanged (304 Not Modified)' "$scratch/out" || fail "304: $(cat "$scratch/out")"
[ "$(tail -n1 "$log")" = "GET /devices/SN-0001/assertions 304" ] || fail "304: server saw $(tail -n1 "$log")"
[ "$(requests /devices/SN-0001/assertions)" = $((before + 1)) ] || fail "304: more than one request"
ok "an unchanged feed costs one 304 and no import"

"$corehomectl" --root="$d" "$now" status >"$scratch/out" 2>&1 || fail "status: $(cat "$scratch/out")"
grep -q "^Fleet:.*2026-11-25T10:00:00Z.*unchanged (304 Not Modified)" "$scratch/out" ||
        fail "status does not show the last poll: $(cat "$scratch/out")"
"$corehomectl" --root="$d" "$now" --json status >"$scratch/out.json" 2>&1
python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["fleet"]; assert f["ok"] and f["last-poll"]' \
        "$scratch/out.json" || fail "status --json: no fleet member: $(cat "$scratch/out.json")"
ok "status shows the last poll (time and result)"

# --- a framed feed of several streams ---
d="$scratch/framed"
new_device "$d" SN-FRAMED
mkdir -p "$srv/devices/SN-FRAMED/assertions"
python3 - "$srv/devices/SN-FRAMED/assertions/index" "$trust/acme.account" "$trust/acme.account-key" \
        "$trust/alice.system-user" <<'PY'
import sys
parts = [open(p, "rb").read() for p in sys.argv[2:]]
streams = [parts[0] + b"\n" + parts[1], parts[2]]
with open(sys.argv[1], "wb") as f:
    f.write(b"corehomed-feed 1\n")
    for s in streams:
        f.write(b"%d\n" % len(s) + s + b"\n")
PY
"$corehomectl" --root="$d" "$now" import --fleet >"$scratch/out" 2>&1 || fail "framed feed: $(cat "$scratch/out")"
has_user "$d" alice || fail "framed feed: alice not created: $(cat "$scratch/out")"
ok "a framed feed of two streams is imported as one batch"

# --- server down ---
d="$scratch/down"
free_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
new_device "$d" SN-0001 "$pki/ca.pem" "https://127.0.0.1:$free_port"
rc=0
"$corehomectl" --root="$d" "$now" import --fleet >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "cannot connect" "$scratch/out" || fail "server down (rc $rc): $(cat "$scratch/out")"
"$corehomectl" --root="$d" "$now" status >"$scratch/status" 2>&1
grep -q "^Fleet:.*failed: .*cannot connect" "$scratch/status" || fail "server down not in status: $(cat "$scratch/status")"
ok "server down: $(grep -o 'cannot connect.*' "$scratch/out" | head -n1)"

# --- slow server: the total timeout ends the request ---
d="$scratch/slow"
new_device "$d" SN-SLOW
serve SN-SLOW "$trust/acme.account"
echo 5 >"$srv/devices/SN-SLOW/assertions/index.delay"
rc=0
start=$(date +%s)
"$corehomectl" --root="$d" "$now" import --timeout=1 --fleet >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "timed out" "$scratch/out" || fail "slow server (rc $rc): $(cat "$scratch/out")"
[ $(($(date +%s) - start)) -lt 5 ] || fail "slow server: the timeout did not cut the request short"
ok "slow server: timed out after the 1 s limit"

# --- oversized bodies: FLEET_BODY_MAX passes the cap, one byte more is refused; with and without a
# Content-Length (the received bytes are counted too) ---
d="$scratch/big"
new_device "$d" SN-BIG
for mode in length nolength; do
        mkdir -p "$srv/devices/SN-BIG/assertions"
        f="$srv/devices/SN-BIG/assertions/index"
        rm -f "$f.nolength"
        [ $mode = length ] || : >"$f.nolength"
        head -c "$body_max" /dev/zero | tr '\0' 'x' >"$f"
        rc=0
        "$corehomectl" --root="$d" "$now" import --fleet >"$scratch/out" 2>&1 || rc=$?
        [ $rc = 1 ] || fail "body of N bytes ($mode): rc $rc"
        grep -q "larger than" "$scratch/out" && fail "body of exactly N bytes refused as too big ($mode)"
        grep -q "stream 1" "$scratch/out" || fail "body of N bytes ($mode) not decoded: $(cat "$scratch/out")"
        printf x >>"$f"
        rc=0
        "$corehomectl" --root="$d" "$now" import --fleet >"$scratch/out" 2>&1 || rc=$?
        [ $rc = 1 ] && grep -q "larger than $body_max bytes" "$scratch/out" ||
                fail "body of N+1 bytes ($mode) (rc $rc): $(cat "$scratch/out")"
        ok "body cap ($mode): $body_max bytes read, $((body_max + 1)) refused"
done
rm -rf "$srv/devices/SN-BIG"

# --- TLS with the wrong CA ---
d="$scratch/wrong-ca"
new_device "$d" SN-0001 "$pki/other.pem"
rc=0
"$corehomectl" --root="$d" "$now" import --fleet >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "TLS verification failed" "$scratch/out" || fail "wrong CA (rc $rc): $(cat "$scratch/out")"
[ -d "$d/var/lib/corehomed/assertions" ] && [ -n "$(find "$d/var/lib/corehomed/assertions" -type f)" ] &&
        fail "wrong CA: something was stored"
ok "a server certificate from another CA is refused"

# --- missing prerequisites: fetched once each from the server, then imported ---
d="$scratch/prereq"
new_device "$d" SN-PRE
serve SN-PRE "$trust/alice.system-user"
mkdir -p "$srv/devices/SN-PRE/assertions/account-key" "$srv/devices/SN-PRE/assertions/account"
cp "$trust/acme.account-key" "$srv/devices/SN-PRE/assertions/account-key/$key_id"
cp "$trust/acme.account" "$srv/devices/SN-PRE/assertions/account/acme"
"$corehomectl" --root="$d" "$now" import --fleet >"$scratch/out" 2>&1 || fail "prerequisites: $(cat "$scratch/out")"
has_user "$d" alice || fail "prerequisites: alice not created: $(cat "$scratch/out")"
[ "$(requests "/devices/SN-PRE/assertions/account-key/$key_id")" = 1 ] || fail "account-key not fetched exactly once"
[ "$(requests /devices/SN-PRE/assertions/account/acme)" = 1 ] || fail "account not fetched exactly once"
ok "a bundle with only the system-user: account-key and account fetched once each, then imported"

# --- the same through a one-off `import https://URL` (prerequisites from the URL's base) ---
d="$scratch/oneoff"
new_device "$d" SN-NONE
mkdir -p "$srv/pub/assertions/account-key" "$srv/pub/assertions/account"
cp "$trust/alice.system-user" "$srv/pub/alice.assert"
cp "$trust/acme.account-key" "$srv/pub/assertions/account-key/$key_id"
cp "$trust/acme.account" "$srv/pub/assertions/account/acme"
"$corehomectl" --root="$d" "$now" import "$base/pub/alice.assert" >"$scratch/out" 2>&1 ||
        fail "one-off import: $(cat "$scratch/out")"
grep -q "prerequisite fetched" "$scratch/out" || fail "one-off import: $(cat "$scratch/out")"
has_user "$d" alice && fail "one-off import created a user (import never does)"
"$corehomectl" --root="$d" "$now" known system-user | grep -q '^email: alice@example.com' ||
        fail "one-off import: alice not stored"
ok "import https://…/pub/alice.assert fetches prerequisites from …/pub/assertions/ and stores alice"

# --- prerequisites missing on the server too: a clear refusal, one request each, nothing stored ---
d="$scratch/prereq-missing"
new_device "$d" SN-LONE
serve SN-LONE "$trust/alice.system-user"
rc=0
"$corehomectl" --root="$d" "$now" import --fleet >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] || fail "missing prerequisites accepted (rc $rc): $(cat "$scratch/out")"
grep -q "unknown signer" "$scratch/out" || fail "missing prerequisites: no reason: $(cat "$scratch/out")"
grep -q "account-key/$key_id: prerequisite failed: .*404" "$scratch/out" ||
        fail "missing prerequisites: the failed fetch is not reported: $(cat "$scratch/out")"
[ "$(requests "/devices/SN-LONE/assertions/account-key/$key_id")" = 1 ] || fail "account-key not requested exactly once"
[ "$(requests /devices/SN-LONE/assertions/account/acme)" = 1 ] || fail "account not requested exactly once"
[ "$(grep -c '^GET /devices/SN-LONE/' "$log")" = 3 ] || fail "more than feed + 2 requests: $(grep SN-LONE "$log")"
has_user "$d" alice && fail "missing prerequisites: alice created"
ok "prerequisites missing on the server: refused, exactly one request each ($(grep -o 'unknown signer' "$scratch/out" | head -n1))"

# --- URLs that must not be fetched ---
for url in "http://127.0.0.1:$port/devices/SN-0001/assertions" "$base/devices/../x" "$base/x?y=1" \
        "https://user@127.0.0.1:$port/x"; do
        n=$(wc -l <"$log")
        rc=0
        "$corehomectl" --root="$scratch/new" "$now" import "$url" >"$scratch/out" 2>&1 || rc=$?
        [ $rc != 0 ] || fail "$url was accepted"
        [ "$(wc -l <"$log")" = "$n" ] || fail "$url reached the server"
done
ok "http://, '..', queries and user information are refused before any request"

# --- the daemon polls too: PollFleet (corehomectl import --fleet without --root) ---
if [ "$(id -u)" = 0 ] && [ -x "$BUILD_DIR/agent/corehomed" ]; then
        d="$scratch/daemon"
        new_device "$d" SN-0003
        cp /etc/machine-id "$d/etc/machine-id" 2>/dev/null || true
        serve SN-0003 "$trust/acme.account" "$trust/acme.account-key" "$trust/alice.system-user"
        manager="$scratch/manager.socket"
        "$BUILD_DIR/agent/corehomed" --root="$d" --manager-socket="$manager" \
                --userdb-socket="$scratch/userdb.socket" 2>"$scratch/daemon.log" &
        daemon_pid=$!
        for _ in $(seq 100); do [ -S "$manager" ] && break; sleep 0.1; done
        [ -S "$manager" ] || fail "daemon did not start: $(cat "$scratch/daemon.log")"
        COREHOMED_MANAGER_SOCKET="$manager" "$corehomectl" import --fleet >"$scratch/out" 2>&1 ||
                fail "PollFleet: $(cat "$scratch/out")"
        grep -q '^alice: created' "$scratch/out" || fail "PollFleet did not create alice: $(cat "$scratch/out")"
        has_user "$d" alice || fail "PollFleet: alice has no home"
        grep -q "fleet poll of $base/devices/SN-0003" "$scratch/daemon.log" || fail "the poll was not logged"
        kill "$daemon_pid"
        wait "$daemon_pid" || fail "daemon did not exit cleanly"
        daemon_pid=
        ok "the daemon polls on request (PollFleet) and creates the fleet's users"
else
        echo "note: not root or no corehomed: the daemon's fleet poll is not checked here"
fi

echo "$passed fleet checks passed"
