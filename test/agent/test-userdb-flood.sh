#!/usr/bin/env bash
# A local user must not be able to starve lookups or logins: the real corehomed (on a scratch root, test
# sockets) under attack by unprivileged uids on its io.systemd.UserDatabase socket.
#   - one uid flooding pipelined GetUserRecord calls on many connections: another client's lookups
#     (a new connection each, as nss-systemd asks) stay fast;
#   - several uids flooding at once: the same;
#   - two uids, then enough uids to fill every unprivileged slot, hoarding connections: root is answered;
#   - a client trickling a call byte by byte is cut at the message deadline (10 s), long before the idle
#     timeout (60 s) that each of its bytes would have renewed.
# The bounds are generous (a shared, loaded machine; ASan): the p99 under flood is measured by
# `make bench` (bench-userdb-flood.sh), not here.
set -euo pipefail
corehomed="$BUILD_DIR/agent/corehomed"
corehomectl="$BUILD_DIR/agent/corehomectl"
load="$BUILD_DIR/test/agent/varlink-load"
trust="$FIXTURES_DIR/trust"

# Milliseconds a victim's lookup may take while others flood: measured 17-50 ms with this ASan build on a
# loaded 2-core machine; before uids took turns, no lookup was answered within 5 s.
LOOKUP_BOUND_MS=${LOOKUP_BOUND_MS:-1000}
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-16}
MESSAGE_DEADLINE_MS=10000 # VARLINK_MESSAGE_TIMEOUT_DEFAULT

skip() {
        echo "SKIP: $*"
        exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (binds in /run/systemd/userdb, runs clients as other uids)"
command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"

scratch=$(mktemp -d /tmp/corehomed-flood.XXXXXX)
chmod 0755 "$scratch"
root="$scratch/root"
rundir="/run/corehomed-flood-$$"
manager="$rundir/io.corehomed.Manager"
service="io.corehomed-flood-$$"
userdb="/run/systemd/userdb/$service"
log="$scratch/daemon.log"
daemon_pid=""
helpers=()
export COREHOMED_MANAGER_SOCKET="$manager"

# shellcheck source=test/agent/daemon-test-lib.sh
. "$(dirname "$0")/daemon-test-lib.sh"
stop_helpers() {
        local pid
        for pid in "${helpers[@]}"; do
                kill -TERM "$pid" 2>/dev/null || true
        done
        for _ in $(seq 50); do
                local alive=0
                for pid in "${helpers[@]}"; do
                        kill -0 "$pid" 2>/dev/null && alive=1
                done
                [ "$alive" = 1 ] || break
                sleep 0.1
        done
        for pid in "${helpers[@]}"; do
                kill -KILL "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done
        helpers=()
}
cleanup() {
        stop_helpers
        daemon_test_cleanup
}
trap cleanup EXIT

# as UID CMD...: runs CMD as an unprivileged uid (no passwd entry needed), in place of the calling
# (sub)shell: a background "as ... &" is the client itself, so killing $! kills the client.
as() {
        local uid=$1
        shift
        exec setpriv --reuid="$uid" --regid="$uid" --clear-groups -- "$@"
}

# --- a device with alice ---
mkdir -p "$root/etc/corehomed/trusted" "$scratch/stick"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/root.assert"
cp /etc/machine-id "$root/etc/machine-id" 2>/dev/null || echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$root/etc/corehomed/corehomed.yaml"
cp "$trust/stick.assert" "$scratch/stick/auto-import.assert"

"$corehomed" --root="$root" --userdb-socket="$userdb" --manager-socket="$manager" 2>>"$log" &
daemon_pid=$!
for _ in $(seq 100); do
        [ -S "$manager" ] && [ -S "$userdb" ] && break
        kill -0 "$daemon_pid" 2>/dev/null || fail "corehomed exited during start"
        sleep 0.1
done
[ -S "$userdb" ] || fail "corehomed did not create $userdb within 10 s"
"$corehomectl" import-media "$scratch/stick" >"$scratch/out" 2>&1 || fail "import-media: $(cat "$scratch/out")"
grep -q '^alice: created$' "$scratch/out" || fail "import-media: $(cat "$scratch/out")"

lookup="{\"method\":\"io.systemd.UserDatabase.GetUserRecord\",\"parameters\":{\"userName\":\"alice\",\"service\":\"$service\"}}"

# probe UID COUNT: COUNT lookups of alice as UID (a lookup without an answer after 5 bounds ends the
# probe); sets p99_ms, max_ms, failures.
probe() {
        local line
        line=$(as "$1" "$load" probe "$userdb" "$lookup" "$2" $((LOOKUP_BOUND_MS * 5)) 2>"$scratch/probe.err") ||
                fail "probe as uid $1: $(cat "$scratch/probe.err")"
        echo "   $line (uid $1)"
        failures=$(sed -E 's/.*failures=([0-9]+).*/\1/' <<<"$line")
        p99_ms=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$line")
        max_ms=$(sed -E 's/.*max_ms=([0-9.]+).*/\1/' <<<"$line")
}
# flood UID: FLOOD_CONNECTIONS connections of pipelined lookups as UID, in the background.
flood() {
        as "$1" "$load" flood "$userdb" "$lookup" "$FLOOD_CONNECTIONS" >"$scratch/flood-$1.out" 2>&1 &
        helpers+=($!)
}
within_bound() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) <= float(sys.argv[2]) else 1)" "$1" "$2"; }

probe 1000 20
[ "$failures" = 0 ] || fail "lookups fail without any load"
ok "alice resolves through the daemon (no load)"

# --- one uid floods ---
flood 65534
sleep 1
probe 1000 30
stop_helpers
[ "$failures" = 0 ] || fail "$failures lookups failed while uid 65534 flooded"
within_bound "$max_ms" "$LOOKUP_BOUND_MS" ||
        fail "a lookup took $max_ms ms while one uid flooded $FLOOD_CONNECTIONS connections (bound $LOOKUP_BOUND_MS ms)"
ok "one uid flooding $FLOOD_CONNECTIONS connections: the slowest of 30 lookups took $max_ms ms"

# --- four uids flood ---
for uid in 65534 65533 65532 65531; do flood "$uid"; done
sleep 1
probe 1000 30
stop_helpers
[ "$failures" = 0 ] || fail "$failures lookups failed while four uids flooded"
within_bound "$max_ms" "$LOOKUP_BOUND_MS" ||
        fail "a lookup took $max_ms ms while four uids flooded $FLOOD_CONNECTIONS connections each (bound $LOOKUP_BOUND_MS ms)"
ok "four uids flooding $FLOOD_CONNECTIONS connections each: the slowest of 30 lookups took $max_ms ms"

# --- hoarding: two uids take what they can, then enough uids to fill every unprivileged slot ---
PER_UID=64       # VARLINK_CONNECTIONS_PER_UID_MAX_DEFAULT
UNPRIVILEGED=960 # VARLINK_CONNECTIONS_MAX_DEFAULT - VARLINK_CONNECTIONS_RESERVED_ROOT_DEFAULT
# hold UID N: UID opens N connections and keeps those the daemon answers; sets held.
hold() {
        local fifo="$scratch/hold-$1"
        mkfifo "$fifo"
        as "$1" "$load" hold "$userdb" "$2" >"$fifo" &
        helpers+=($!)
        read -r -t 90 _ held <"$fifo" || fail "hold as uid $1 did not report"
}
total=0
for uid in 65534 65533; do
        hold "$uid" $((PER_UID + 36))
        [ "$held" -le "$PER_UID" ] || fail "uid $uid holds $held connections (more than $PER_UID)"
        total=$((total + held))
done
probe 0 5
[ "$failures" = 0 ] || fail "root's lookups were refused while two uids held $total connections"
ok "two uids hold $total connections; root is answered"
probe 1000 5
[ "$failures" = 0 ] || fail "a third uid's lookups were refused while two uids held $total connections"
ok "... and so is a third uid"
for uid in $(seq 65532 -1 65500); do
        hold "$uid" $((PER_UID + 36))
        total=$((total + held))
        [ "$held" != 0 ] || break
done
[ "$held" = 0 ] || fail "35 uids found slots left: the test must fill them all"
[ "$total" = "$UNPRIVILEGED" ] || fail "other uids hold $total connections, not $UNPRIVILEGED"
probe 0 5
[ "$failures" = 0 ] || fail "root's lookups were refused while other uids held every other slot ($total)"
ok "uids holding every unprivileged slot ($total connections); root is still answered"
stop_helpers

# --- a trickling client ---
line=$(as 65534 "$load" trickle "$userdb" "$lookup" 200 $((MESSAGE_DEADLINE_MS + 10000)))
echo "   $line"
ms=$(sed -E 's/.* ([0-9]+) ms$/\1/' <<<"$line")
[[ "$line" == *"closed after"* ]] ||
        fail "a client trickling one byte every 200 ms is still connected after $ms ms (message deadline $MESSAGE_DEADLINE_MS ms)"
[ "$ms" -ge $((MESSAGE_DEADLINE_MS - 500)) ] || fail "the trickling client was cut after $ms ms, before the deadline"
[ "$ms" -le $((MESSAGE_DEADLINE_MS + 5000)) ] || fail "the trickling client was cut only after $ms ms"
ok "a client trickling a call is cut at the message deadline ($ms ms)"

probe 1000 5
[ "$failures" = 0 ] || fail "lookups fail after the attacks"
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=""
[ $rc = 0 ] || fail "corehomed exited $rc on SIGTERM"
ok "the daemon still answers and stops cleanly"
