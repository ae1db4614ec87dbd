#!/usr/bin/env bash
# "What happened to my stick?": status shows the last media import (when, which device, each grant's
# result, or why nothing was imported), kept in a state file written by the media queue's writer job; and
# `corehomectl monitor [--json]` follows every decision live through io.corehomed.Manager.Monitor until
# interrupted (SIGINT: exit 0). Bounds: at most 8 monitors (the 9th is refused, a slot frees when one
# leaves), a monitor that does not read is disconnected once 64 KiB wait for it (the daemon keeps serving,
# the other monitors miss nothing), root only; when the daemon stops, its monitors are told.
set -euo pipefail
corehomed="$BUILD_DIR/agent/corehomed"
corehomectl="$BUILD_DIR/agent/corehomectl"
sign_many="$BUILD_DIR/test/sign-many"
trust="$FIXTURES_DIR/trust"
keys="$FIXTURES_DIR/keys"

skip() {
        echo "SKIP: $*"
        exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (binds sockets under /run, the Manager is root only)"
[ -x "$sign_many" ] || skip "$sign_many is not built"
command -v gpg >/dev/null || skip "gpg is not installed"

scratch=$(mktemp -d /tmp/corehomed-monitor.XXXXXX)
root="$scratch/root"
rundir="/run/corehomed-monitor-$$"
manager="$rundir/io.corehomed.Manager"
userdb="/run/systemd/userdb/io.corehomed-monitor-$$"
log="$scratch/daemon.log"
daemon_pid=""
monitor_pids=()
export COREHOMED_MANAGER_SOCKET="$manager"

# shellcheck source=test/agent/daemon-test-lib.sh
. "$(dirname "$0")/daemon-test-lib.sh"
cleanup() {
        for pid in "${monitor_pids[@]}"; do
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done
        daemon_test_cleanup
}
trap cleanup EXIT

# wait_for SECONDS COMMAND...: until COMMAND succeeds.
wait_for() {
        local n=$(($1 * 20))
        shift
        for _ in $(seq "$n"); do
                "$@" >/dev/null 2>&1 && return 0
                sleep 0.05
        done
        return 1
}

mkdir -p "$root/etc/corehomed/trusted" "$scratch/stick" "$scratch/empty-stick"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/root.assert"
cp /etc/machine-id "$root/etc/machine-id" 2>/dev/null || echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$root/etc/corehomed/corehomed.yaml"
cp "$trust/stick.assert" "$scratch/stick/auto-import.assert"

"$corehomed" --root="$root" --userdb-socket="$userdb" --manager-socket="$manager" 2>>"$log" &
daemon_pid=$!
wait_for 10 test -S "$manager" || fail "corehomed did not create $manager within 10 s"

# --- status before any stick ---
"$corehomectl" status >"$scratch/out" || fail "status: $(cat "$scratch/out")"
grep -q '^Last medium: *none imported yet$' "$scratch/out" || fail "status before a stick: $(cat "$scratch/out")"
ok "status says when no medium was imported yet"

# start_monitor NAME [ARGS...]: corehomectl [ARGS] monitor in the background, output in $scratch/NAME.out
# and .err; waits until it follows (its "following" line) and sets MONITOR_PID.
start_monitor() {
        local name=$1
        shift
        "$corehomectl" "$@" monitor >"$scratch/$name.out" 2>"$scratch/$name.err" &
        MONITOR_PID=$!
        monitor_pids+=("$MONITOR_PID")
        wait_for 10 grep -q "following corehomed's decisions" "$scratch/$name.err" ||
                fail "monitor $name did not start following: $(cat "$scratch/$name.err")"
}
start_monitor json --json
json_pid=$MONITOR_PID
start_monitor people
people_pid=$MONITOR_PID

# --- a stick (a directory, through ImportMedia: the media queue's writer job) ---
"$corehomectl" import-media "$scratch/stick" >"$scratch/out" 2>&1 || fail "import-media: $(cat "$scratch/out")"
wait_for 10 grep -q '"decision":"created"' "$scratch/json.out" || fail "monitor --json did not see alice created: $(cat "$scratch/json.out")"
python3 - "$scratch/json.out" "$scratch/stick" <<'PY' || fail "monitor --json lines: $(cat "$scratch/json.out")"
import json, sys
events = [json.loads(line) for line in open(sys.argv[1])]
created = [e for e in events if e["decision"] == "created"]
assert len(created) == 1, created
e = created[0]
assert e["user"] == "alice", e
assert e["brand"] == "acme" and e["email"] == "alice@example.com" and e["revision"] == 0, e
assert e["grant"].startswith("system-user"), e
assert e["device"] == sys.argv[2], e
assert e["time"].endswith("Z") and e["message"].startswith("user alice: created"), e
accepted = [e for e in events if e["decision"] == "accepted"]
assert len(accepted) == 3, accepted  # the system-user, the brand's account-key and account
PY
wait_for 10 grep -q "created user alice, system-user .* (revision 0), from $scratch/stick" "$scratch/people.out" ||
        fail "monitor (people) did not print alice's decision: $(cat "$scratch/people.out")"
ok "both monitors saw the stick's decisions live ($(wc -l <"$scratch/json.out") lines; $(grep created "$scratch/people.out")"

"$corehomectl" status >"$scratch/out" || fail "status: $(cat "$scratch/out")"
grep -q "^Last medium: *$scratch/stick at 20[0-9-]*T[0-9:.]*Z: 3 assertions, 0 refused; 1 user$" "$scratch/out" ||
        fail "status after the stick: $(cat "$scratch/out")"
grep -q "^ *alice: created (system-user .*alice@example.com.*)$" "$scratch/out" || fail "status does not show alice's result: $(cat "$scratch/out")"
[ "$(stat -c %a "$root/var/lib/corehomed/media/last-import.json")" = 600 ] || fail "the state file is not 0600"
ok "status shows the last stick: $(grep -A1 '^Last medium' "$scratch/out" | tr -s ' ' | tr '\n' '|')"

# --- a stick with nothing on it: refused, and status says why ---
before=$(wc -l <"$scratch/json.out")
"$corehomectl" import-media "$scratch/empty-stick" >"$scratch/out" 2>&1 && fail "an empty stick imported"
wait_for 10 sh -c "[ \$(wc -l <'$scratch/json.out') -gt $before ]" || fail "monitor did not see the empty stick refused"
tail -n 1 "$scratch/json.out" | python3 -c '
import json, sys
e = json.loads(sys.stdin.read())
assert e["decision"] == "refused" and e["device"] == sys.argv[1] and "auto-import.assert" in e["reason"], e
' "$scratch/empty-stick" || fail "the refusal as the monitor saw it: $(tail -n 1 "$scratch/json.out")"
"$corehomectl" status >"$scratch/out" || fail "status: $(cat "$scratch/out")"
grep -q "^Last medium: *$scratch/empty-stick at .*: nothing imported: .*auto-import.assert" "$scratch/out" ||
        fail "status after the empty stick: $(cat "$scratch/out")"
"$corehomectl" --json status >"$scratch/out" || fail "status --json"
python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["last-media"]
assert m["device"] == sys.argv[2] and "error" in m and "report" not in m, m
' "$scratch/out" "$scratch/empty-stick" || fail "status --json: $(cat "$scratch/out")"
ok "a stick without auto-import.assert: refused live, and status says why ($(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["last-media"]["error"])' "$scratch/out"))"

# --- at most 8 monitors; a slot frees when one leaves ---
for i in 3 4 5 6 7 8; do
        start_monitor "extra$i"
done
extra_pid=$MONITOR_PID
if "$corehomectl" monitor >"$scratch/ninth.out" 2>&1; then
        fail "a 9th monitor was accepted"
fi
grep -q "8 monitors follow corehomed already" "$scratch/ninth.out" || fail "the 9th monitor: $(cat "$scratch/ninth.out")"
kill -INT "$extra_pid"
wait "$extra_pid" || fail "monitor interrupted with SIGINT exited $?"
start_monitor again
kill -INT "$MONITOR_PID"
wait "$MONITOR_PID" || fail "monitor interrupted with SIGINT exited $?"
ok "the 9th monitor is refused ($(cat "$scratch/ninth.out")); SIGINT ends one with status 0 and frees its slot"

# --- a monitor that does not read is disconnected; the daemon and the other monitors go on ---
export GNUPGHOME="$scratch/gnupg"
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --import "$keys/test-brand.secret.asc" 2>/dev/null
mkdir "$scratch/signed"
for i in $(seq -w 1 50); do
        printf '{"type":"system-user","authority-id":"acme","brand-id":"acme","email":"user%s@example.com",' "$i"
        printf '"series":["16"],"models":["appliance-1"],"username":"user%s","name":"User %s",' "$i" "$i"
        printf '"since":"2016-01-01T00:00:00Z","until":"2030-01-01T00:00:00Z"}\n'
done | "$sign_many" "$GNUPGHOME" corehomed-test-brand "$scratch/signed" >/dev/null
python3 - "$scratch/stream.assert" "$trust/acme.account" "$trust/acme.account-key" "$scratch"/signed/*.assert <<'PY'
import sys
items = [open(p, "rb").read().rstrip(b"\n") + b"\n" for p in sys.argv[2:]]
open(sys.argv[1], "wb").write(b"\n".join(items))
PY
# The slow client: subscribes, then reads nothing until told (a file appears), then counts to the end.
python3 - "$manager" "$scratch/slow" <<'PY' &
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
s.sendall(b'{"method":"io.corehomed.Manager.Monitor","more":true}\0')
open(sys.argv[2] + ".subscribed", "w").close()
while not os.path.exists(sys.argv[2] + ".go"):
    time.sleep(0.05)
data = b""
s.settimeout(30)
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
open(sys.argv[2] + ".result", "w").write("eof %d messages %d bytes\n" % (data.count(b"\0"), len(data)))
PY
slow_pid=$!
monitor_pids+=("$slow_pid")
wait_for 10 test -e "$scratch/slow.subscribed" || fail "the slow client did not connect"
sleep 0.5
lines_before=$(wc -l <"$scratch/json.out")
imports=0
while ! grep -q "disconnected monitor (pid $slow_pid)" "$log"; do
        [ $imports -lt 40 ] || fail "the monitor that does not read was not disconnected after $imports imports of 52 assertions"
        "$corehomectl" import "$scratch/stream.assert" >"$scratch/out" 2>&1 || fail "import: $(cat "$scratch/out")"
        imports=$((imports + 1))
done
touch "$scratch/slow.go"
wait "$slow_pid" || fail "the slow client failed"
grep -q '^eof ' "$scratch/slow.result" || fail "the slow client's connection was not closed: $(cat "$scratch/slow.result")"
kill -0 "$daemon_pid" || fail "corehomed died"
"$corehomectl" status >/dev/null || fail "status after the slow monitor"
# Everything the flood decided reached the monitor that reads: 52 decisions per import.
want=$((lines_before + imports * 52))
wait_for 20 sh -c "[ \$(wc -l <'$scratch/json.out') -ge $want ]" ||
        fail "the reading monitor has $(wc -l <"$scratch/json.out") lines, want $want"
kill -0 "$json_pid" || fail "the reading monitor ended"
ok "a monitor that does not read was disconnected after $imports imports ($(grep -o 'disconnected monitor.*' "$log" | head -1); it got $(cat "$scratch/slow.result")); the reading monitor got all $((imports * 52)) decisions"

# --- root only ---
if command -v setpriv >/dev/null; then
        chmod 0755 "$rundir" "$scratch"
        if setpriv --reuid=65534 --regid=65534 --clear-groups "$corehomectl" monitor >"$scratch/out" 2>&1; then
                fail "a monitor as nobody was accepted"
        fi
        grep -q "permission denied" "$scratch/out" || fail "monitor as nobody: $(cat "$scratch/out")"
        ok "monitor as another user: $(cat "$scratch/out")"
fi

# --- SIGINT: status 0; the daemon stopping: its monitors are told ---
kill -INT "$json_pid"
wait "$json_pid" || fail "monitor --json interrupted with SIGINT exited $?"
kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "corehomed exited $? on SIGTERM"
daemon_pid=""
status=0
wait "$people_pid" || status=$?
[ $status = 1 ] || fail "the monitor of a stopping daemon exited $status (want 1)"
grep -q "corehomed is stopping" "$scratch/people.err" || fail "the monitor of a stopping daemon said: $(cat "$scratch/people.err")"
ok "SIGINT ends a monitor with status 0; a stopping daemon ends its monitors ($(tail -n 1 "$scratch/people.err"))"
