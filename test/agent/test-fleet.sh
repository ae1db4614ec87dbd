#!/usr/bin/env bash
# Fleet pulls against a local HTTPS server on 127.0.0.1 (test/agent/fleet-test-server.py, certificates made
# here): new assertions, 304, a denied user kept away, server down, slow server, oversized bodies at the cap
# and one byte over, the wrong CA, a framed multi-stream feed, and the one prerequisite round (found, and
# missing on the server).
# Then the daemon (as root): it polls by itself every fleet.interval; PollFleet; a stalled server
# (test/agent/fleet-stall-server.py), a trickling one and trickling prerequisites neither delay userdb
# lookups nor outlast fleet.timeout, and polls never overlap; SIGTERM during a stalled poll stops it at once.
set -euo pipefail
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"
server="$SOURCE_DIR/test/agent/fleet-test-server.py"
command -v openssl >/dev/null || { echo "SKIP: openssl not installed"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: python3 not installed"; exit 77; }
scratch=$(mktemp -d /tmp/corehomed-fleet.XXXXXX)
server_pid=
daemon_pid=
timer_pid=
stall_pid=
cleanup() {
        for pid in $daemon_pid $timer_pid; do
                kill "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done
        [ -z "$stall_pid" ] || kill "$stall_pid" 2>/dev/null || true
        [ -z "$stall_pid" ] || wait "$stall_pid" 2>/dev/null || true
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

# libcurl is loaded by the first pull (agent/fleet/curl-library.h), not linked: every other start of the
# tools stays free of its ~30 libraries. The pulls below prove the loaded library works.
for exe in "$corehomectl" "$BUILD_DIR/agent/corehomed"; do
        needed=$(readelf -d "$exe" | grep '(NEEDED)') || fail "readelf -d $exe"
        ! grep -q libcurl <<<"$needed" || fail "$(basename "$exe") links libcurl: $(grep libcurl <<<"$needed")"
done
ok "corehomectl and corehomed do not link libcurl"

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
timed_log="$scratch/server-timed.log"
python3 "$server" --dir "$srv" --cert "$pki/server.pem" --key "$pki/server.key" --port-file "$scratch/port" \
        --log "$log" --timed-log "$timed_log" &
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

# --- a user the device owner denied stays away when a feed brings her grant (again, or under another
# email): skipped (a feed serves many devices), the batch is stored, the poll succeeds ---
d="$scratch/deny"
new_device "$d" SN-DENY
serve SN-DENY "$trust/acme.account" "$trust/acme.account-key" "$trust/alice.system-user"
"$corehomectl" --root="$d" "$now" import --fleet >/dev/null 2>&1 || fail "deny: first poll"
has_user "$d" alice || fail "deny: the first poll did not create alice"
"$corehomectl" --root="$d" "$now" deny alice >/dev/null || fail "deny alice"
serve SN-DENY "$trust/acme.account" "$trust/acme.account-key" "$trust/alice.system-user" \
        "$trust/alice-other-email.system-user"
"$corehomectl" --root="$d" "$now" import --fleet >"$scratch/out" 2>&1 || fail "deny: poll: $(cat "$scratch/out")"
[ "$(grep -c '^alice: skipped: denied on this device by the administrator$' "$scratch/out")" = 2 ] ||
        fail "deny: both grants for alice should be skipped: $(cat "$scratch/out")"
grep -q 'alice.smith@other.example.*added' "$scratch/out" || fail "deny: the feed was not stored: $(cat "$scratch/out")"
has_user "$d" alice && fail "deny: a fleet poll brought alice back"
ok "a fleet poll skips both grants for the denied alice (stored, not applied)"

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

# ===== the daemon: it polls by itself, in a worker, and a slow server blocks nothing =====
if [ "$(id -u)" != 0 ] || [ ! -x "$BUILD_DIR/agent/corehomed" ]; then
        echo "note: not root or no corehomed: the daemon's fleet polls are not checked here"
        echo "$passed fleet checks passed"
        exit 0
fi

# start_daemon ROOT NAME: corehomed on ROOT with its sockets and log named NAME in $scratch; sets
# daemon_pid, manager, userdb (the userdb service is the socket's file name) and dlog.
start_daemon() {
        manager="$scratch/$2-manager.socket"
        userdb="$scratch/$2-userdb.socket"
        dlog="$scratch/$2-daemon.log"
        "$BUILD_DIR/agent/corehomed" --root="$1" --manager-socket="$manager" --userdb-socket="$userdb" \
                2>"$dlog" &
        daemon_pid=$!
        for _ in $(seq 100); do [ -S "$manager" ] && [ -S "$userdb" ] && break; sleep 0.1; done
        [ -S "$manager" ] && [ -S "$userdb" ] || fail "daemon did not start: $(cat "$dlog")"
}
stop_daemon() {
        kill "$daemon_pid"
        wait "$daemon_pid" || fail "daemon did not exit cleanly: $(tail -n 5 "$dlog")"
        daemon_pid=
}
# poll_fleet OUT: PollFleet (corehomectl import --fleet without --root) in the background; sets poll_pid.
# OUT gets the output, OUT.took the seconds until the answer, and the exit status is poll_pid's.
poll_fleet() {
        (
                start=$(date +%s.%N)
                rc=0
                COREHOMED_MANAGER_SOCKET="$manager" "$corehomectl" import --fleet >"$1" 2>&1 || rc=$?
                since "$start" >"$1.took"
                exit $rc
        ) &
        poll_pid=$!
}
since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }'; }
# below A B: A < B (decimal seconds)
below() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
# lookup USER [absent]: GetUserRecord on the daemon's userdb socket; prints the seconds it took. Fails when
# no answer comes within 10 s, or the answer is not the record (NoRecordFound with "absent").
lookup() {
        python3 - "$userdb" "$1" "${2:-present}" <<'PY'
import json, os, socket, sys, time
path, user, want = sys.argv[1:]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(10)
start = time.monotonic()
try:
    s.connect(path)
    call = {"method": "io.systemd.UserDatabase.GetUserRecord",
            "parameters": {"userName": user, "service": os.path.basename(path)}}
    s.sendall(json.dumps(call).encode() + b"\0")
    reply = b""
    while not reply.endswith(b"\0"):
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
except OSError as e:
    print(f"no answer after {time.monotonic() - start:.1f} s: {e}")
    sys.exit(1)
took = time.monotonic() - start
answer = json.loads(reply[:-1])
if want == "absent":
    ok = answer.get("error") == "io.systemd.UserDatabase.NoRecordFound"
else:
    ok = answer.get("parameters", {}).get("record", {}).get("userName") == user
print(f"{took:.3f}")
sys.exit(0 if ok else 1)
PY
}
# lookups_stay_fast WHAT USER [absent]: five lookups 0.3 s apart, each answered within 2 s; the slowest
# in $worst.
lookups_stay_fast() {
        local t
        worst=0
        for _ in 1 2 3 4 5; do
                t=$(lookup "$2" "${3:-}") || fail "$1: a lookup of $2 failed: $t"
                below "$t" 2 || fail "$1: a lookup of $2 took $t s during the poll"
                below "$t" "$worst" || worst=$t
                sleep 0.3
        done
}
# poll_times: the duration of every poll the daemon logged ("fleet poll of URL: ... (N.N s)").
poll_times() { sed -n 's/.*fleet poll of .* (\([0-9.]*\) s)$/\1/p' "$dlog"; }
# fleet_tune ROOT INTERVAL [TIMEOUT]
fleet_tune() {
        sed -i "s/^  interval: .*/  interval: $2/" "$1/etc/corehomed/corehomed.yaml"
        [ -z "${3:-}" ] || sed -i "/^  interval: /a\\  timeout: $3" "$1/etc/corehomed/corehomed.yaml"
}

# --- the timer: a daemon left alone polls within one interval of its start, then every interval. It runs
# beside the checks below and is looked at last. ---
dt="$scratch/timer"
new_device "$dt" SN-TIMER
cp /etc/machine-id "$dt/etc/machine-id" 2>/dev/null || true
fleet_tune "$dt" 10s
serve SN-TIMER "$trust/acme.account" "$trust/acme.account-key" "$trust/alice.system-user"
timer_started=$(python3 -c 'import time; print(time.clock_gettime(time.CLOCK_MONOTONIC))')
start_daemon "$dt" timer
timer_pid=$daemon_pid
timer_log=$dlog
daemon_pid=

# --- PollFleet: the daemon polls on request and creates the fleet's users ---
d="$scratch/daemon"
new_device "$d" SN-0003
cp /etc/machine-id "$d/etc/machine-id" 2>/dev/null || true
serve SN-0003 "$trust/acme.account" "$trust/acme.account-key" "$trust/alice.system-user"
start_daemon "$d" daemon
poll_fleet "$scratch/out"
wait "$poll_pid" || fail "PollFleet: $(cat "$scratch/out")"
has_user "$d" alice || fail "PollFleet: alice has no home: $(cat "$scratch/out")"
grep -q "fleet poll of $base/devices/SN-0003" "$dlog" || fail "the poll was not logged"
grep -q 'user alice: created' "$dlog" || fail "alice's creation was not logged: $(cat "$dlog")"
# The daemon's own first poll may have come first; PollFleet is then answered by the poll after it.
grep -q '^alice: created' "$scratch/out" || grep -q 'unchanged (304 Not Modified)' "$scratch/out" ||
        fail "PollFleet did not report the poll: $(cat "$scratch/out")"
stop_daemon
ok "the daemon polls on request (PollFleet) and creates the fleet's users"

# --- a stalled server (accepts, never answers): lookups are served meanwhile, each poll ends at
# fleet.timeout, and polls never overlap (two PollFleet at once: the second waits for a poll of its own) ---
stall_log="$scratch/stall.log"
: >"$stall_log"
python3 "$SOURCE_DIR/test/agent/fleet-stall-server.py" --port-file "$scratch/stall-port" --log "$stall_log" &
stall_pid=$!
for _ in $(seq 100); do [ -f "$scratch/stall-port" ] && break; sleep 0.1; done
[ -f "$scratch/stall-port" ] || fail "the stall server did not start"
stall_base="https://127.0.0.1:$(cat "$scratch/stall-port")"
new_device "$d" SN-0003 "$pki/ca.pem" "$stall_base"
cp /etc/machine-id "$d/etc/machine-id" 2>/dev/null || true
fleet_tune "$d" 10s 3s
start_daemon "$d" stall
poll_fleet "$scratch/poll-a"
pid_a=$poll_pid
poll_fleet "$scratch/poll-b"
pid_b=$poll_pid
for _ in $(seq 100); do grep -q '^open ' "$stall_log" && break; sleep 0.1; done
grep -q '^open ' "$stall_log" || fail "stalled server: no poll reached it: $(cat "$dlog")"
lookups_stay_fast "stalled server" alice
rc=0
wait "$pid_a" || rc=$?
[ $rc = 1 ] && grep -q "timed out" "$scratch/poll-a" || fail "stalled server: first PollFleet (rc $rc): $(cat "$scratch/poll-a")"
rc=0
wait "$pid_b" || rc=$?
[ $rc = 1 ] && grep -q "timed out" "$scratch/poll-b" || fail "stalled server: second PollFleet (rc $rc): $(cat "$scratch/poll-b")"
# Each PollFleet is answered by a poll that started after it: at most the running one and its own.
for took in "$(cat "$scratch/poll-a.took")" "$(cat "$scratch/poll-b.took")"; do
        below "$took" $((2 * 3 + 2)) ||
                fail "stalled server: a PollFleet was answered after $took s: $(grep 'fleet poll' "$dlog")"
done
stop_daemon
# The server's view: never two connections at once, each gone within the deadline (+1 s for the kill).
for _ in $(seq 30); do
        [ "$(grep -c '^open ' "$stall_log")" = "$(grep -c '^close ' "$stall_log")" ] && break
        sleep 0.1
done
python3 - "$stall_log" <<'PY' || fail "stalled server: $(cat "$stall_log")"
import sys
opened, most, longest = {}, 0, 0.0
for line in open(sys.argv[1]):
    event, ident, t = line.split()
    if event == "open":
        opened[ident] = float(t)
        most = max(most, sum(1 for v in opened.values() if v is not None))
    else:
        longest = max(longest, float(t) - opened[ident])
        opened[ident] = None
if most != 1 or longest > 3 + 1 or any(v is not None for v in opened.values()) or len(opened) < 2:
    sys.exit(f"connections {len(opened)}, at once {most}, longest {longest:.1f} s")
PY
for t in $(poll_times); do
        below "$t" 3.5 || fail "stalled server: a poll took $t s with fleet.timeout 3s: $(grep 'fleet poll' "$dlog")"
done
[ -n "$(poll_times)" ] || fail "stalled server: no poll was logged: $(cat "$dlog")"
ok "stalled server: lookups answered within $worst s; polls end by fleet.timeout ($(poll_times | tr '\n' ' ')s), never two at once"

# --- a server that trickles its answer, one byte every 0.2 s: the same ---
serve SN-TRICKLE "$trust/acme.account" "$trust/acme.account-key" "$trust/alice.system-user"
echo 0.2 >"$srv/devices/SN-TRICKLE/assertions/index.trickle"
new_device "$d" SN-TRICKLE
cp /etc/machine-id "$d/etc/machine-id" 2>/dev/null || true
fleet_tune "$d" 10s 3s
start_daemon "$d" trickle
poll_fleet "$scratch/out"
for _ in $(seq 100); do [ "$(requests /devices/SN-TRICKLE/assertions)" -gt 0 ] && break; sleep 0.1; done
[ "$(requests /devices/SN-TRICKLE/assertions)" -gt 0 ] || fail "trickling server: no poll reached it"
lookups_stay_fast "trickling server" alice
rc=0
wait "$poll_pid" || rc=$?
[ $rc = 1 ] && grep -q "timed out" "$scratch/out" || fail "trickling server (rc $rc): $(cat "$scratch/out")"
stop_daemon
for t in $(poll_times); do
        below "$t" 3.5 || fail "trickling server: a poll took $t s with fleet.timeout 3s"
done
ok "trickling server: lookups answered within $worst s; polls end by fleet.timeout ($(poll_times | tr '\n' ' ')s)"

# --- one deadline for the whole poll: prerequisites that trickle share the feed's fleet.timeout ---
dp="$scratch/prereq-slow"
new_device "$dp" SN-PRESLOW
cp /etc/machine-id "$dp/etc/machine-id" 2>/dev/null || true
fleet_tune "$dp" 10s 3s
serve SN-PRESLOW "$trust/alice.system-user"
mkdir -p "$srv/devices/SN-PRESLOW/assertions/account-key" "$srv/devices/SN-PRESLOW/assertions/account"
cp "$trust/acme.account-key" "$srv/devices/SN-PRESLOW/assertions/account-key/$key_id"
cp "$trust/acme.account" "$srv/devices/SN-PRESLOW/assertions/account/acme"
echo 0.2 >"$srv/devices/SN-PRESLOW/assertions/account-key/$key_id.trickle"
echo 0.2 >"$srv/devices/SN-PRESLOW/assertions/account/acme.trickle"
start_daemon "$dp" prereq-slow
poll_fleet "$scratch/out"
for _ in $(seq 100); do [ "$(requests "/devices/SN-PRESLOW/assertions/account-key/$key_id")" -gt 0 ] && break; sleep 0.1; done
lookups_stay_fast "trickling prerequisites" nobody-here absent
rc=0
wait "$poll_pid" || rc=$?
[ $rc = 1 ] && grep -q "unknown signer" "$scratch/out" || fail "trickling prerequisites (rc $rc): $(cat "$scratch/out")"
grep -q "account-key/$key_id: prerequisite failed: .*timed out" "$scratch/out" ||
        fail "trickling prerequisites: the timed-out fetch is not reported: $(cat "$scratch/out")"
stop_daemon
has_user "$dp" alice && fail "trickling prerequisites: alice created"
for t in $(poll_times); do
        below "$t" 3.5 ||
                fail "trickling prerequisites: a poll took $t s with fleet.timeout 3s: $(grep 'fleet poll' "$dlog")"
done
ok "prerequisites share the poll's deadline: polls took $(poll_times | tr '\n' ' ')s with fleet.timeout 3s (two prerequisites trickling)"

# --- SIGTERM during a poll that hangs on a trickling server (the default fleet.timeout, 2 min): lookups
# are served, the daemon stops at once, the worker with it, and the waiting PollFleet gets an answer ---
new_device "$d" SN-TRICKLE
cp /etc/machine-id "$d/etc/machine-id" 2>/dev/null || true
before=$(requests /devices/SN-TRICKLE/assertions)
start_daemon "$d" sigterm
poll_fleet "$scratch/out"
for _ in $(seq 100); do [ "$(requests /devices/SN-TRICKLE/assertions)" -gt "$before" ] && break; sleep 0.1; done
[ "$(requests /devices/SN-TRICKLE/assertions)" -gt "$before" ] || fail "SIGTERM: no poll reached the server: $(cat "$dlog")"
lookups_stay_fast "SIGTERM" alice
worker=$( (pgrep -P "$daemon_pid" || true) | head -n1)
term_start=$(date +%s.%N)
kill -TERM "$daemon_pid"
for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$daemon_pid" 2>/dev/null && fail "SIGTERM: the daemon still runs $(since "$term_start") s later"
wait "$daemon_pid" || fail "SIGTERM: the daemon did not exit cleanly: $(tail -n 5 "$dlog")"
daemon_pid=
took_term=$(since "$term_start")
[ -n "$worker" ] || fail "SIGTERM: no fleet worker was running during the poll"
for _ in $(seq 20); do [ -e "/proc/$worker" ] || break; sleep 0.1; done
[ -e "/proc/$worker" ] && fail "SIGTERM: the fleet worker $worker outlived the daemon"
rc=0
wait "$poll_pid" || rc=$?
[ $rc = 1 ] || fail "SIGTERM: PollFleet (rc $rc): $(cat "$scratch/out")"
below "$took_term" 3 || fail "SIGTERM took $took_term s"
ok "SIGTERM during a hanging poll: lookups answered within $worst s, stopped in $took_term s, worker gone"

# --- the timer (started first): two polls, one interval (10 s, +-10 %) apart, alice created by them ---
# poll_time N: when the server got the Nth request for SN-TIMER's feed (CLOCK_MONOTONIC seconds).
poll_time() { awk -v n="$1" '$2 == "/devices/SN-TIMER/assertions" && ++seen == n { print $4 }' "$timed_log"; }
for _ in $(seq 300); do [ -n "$(poll_time 2)" ] && break; sleep 0.1; done
[ -n "$(poll_time 1)" ] || fail "timer: the daemon never polled by itself: $(cat "$timer_log")"
[ -n "$(poll_time 2)" ] || fail "timer: no second poll: $(cat "$timer_log")"
first=$(python3 -c "import sys; print(f'{float(sys.argv[1]) - float(sys.argv[2]):.1f}')" "$(poll_time 1)" "$timer_started")
gap=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$(poll_time 1)" "$(poll_time 2)")
has_user "$dt" alice || fail "timer: alice was not created by the daemon's own poll: $(cat "$timer_log")"
grep -q "^GET /devices/SN-TIMER/assertions 304" "$log" || fail "timer: the second poll was not conditional"
python3 -c "import sys; sys.exit(not float(sys.argv[1]) < 10.5)" "$first" ||
        fail "timer: the first poll came $first s after the start (fleet.interval 10s)"
python3 -c "import sys; sys.exit(not 8.5 <= float(sys.argv[1]) <= 12.5)" "$gap" ||
        fail "timer: polls $gap s apart with fleet.interval 10s"
kill "$timer_pid"
wait "$timer_pid" || fail "timer: the daemon did not exit cleanly: $(tail -n 5 "$timer_log")"
timer_pid=
ok "the daemon polls by itself: first poll ${first} s after its start, the next $gap s later (fleet.interval 10s); alice created"

echo "$passed fleet checks passed"
