#!/usr/bin/env bash
# The local revoke through corehomed (io.corehomed.Manager Deny / Allow, root only): deny deactivates and
# removes an active user and logs the decision; the denied grant stays away when a stick is imported, on
# create-user --known, when the list was written by another process (corehomectl --root on the same tree,
# the daemon reloads), and across a restart of the daemon; every refusal is logged with its reason; allow
# lifts it; a non-root caller is refused.
set -euo pipefail
corehomed="$BUILD_DIR/agent/corehomed"
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root (mounts homes, binds sockets under /run)"
        exit 77
fi

scratch=$(mktemp -d /tmp/corehomed-daemon-deny.XXXXXX)
root="$scratch/root"
rundir="/run/corehomed-deny-test-$$"
manager="$rundir/io.corehomed.Manager"
userdb="/run/systemd/userdb/io.corehomed-deny-test-$$"
log="$scratch/daemon.log"
daemon_pid=""
export COREHOMED_MANAGER_SOCKET="$manager"

stop_daemon() {
        [ -n "$daemon_pid" ] || return 0
        kill -TERM "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
        daemon_pid=""
}
cleanup() {
        if [ -n "$daemon_pid" ] && kill -0 "$daemon_pid" 2>/dev/null; then
                kill -KILL "$daemon_pid" 2>/dev/null || true
                wait "$daemon_pid" 2>/dev/null || true
        fi
        awk -v p="$scratch/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
                umount -l "$m" 2>/dev/null || true
        done
        rm -rf "$scratch" "$rundir"
        rm -f "$userdb"
}
trap cleanup EXIT

fail() {
        echo "FAIL: $*"
        echo "--- daemon log:"
        cat "$log" 2>/dev/null || true
        exit 1
}
ok() { echo "ok: $*"; }

start_daemon() {
        "$corehomed" --root="$root" --userdb-socket="$userdb" --manager-socket="$manager" 2>>"$log" &
        daemon_pid=$!
        for _ in $(seq 100); do
                [ -S "$manager" ] && return 0
                kill -0 "$daemon_pid" 2>/dev/null || fail "corehomed exited during start"
                sleep 0.1
        done
        fail "corehomed did not create $manager within 10 s"
}
# logged PATTERN: the daemon logged a line matching PATTERN (it logs before it answers).
logged() { grep -q -- "$1" "$log"; }

mkdir -p "$root/etc/corehomed/trusted" "$scratch/stick"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/root.assert"
echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$root/etc/corehomed/corehomed.yaml"
cp "$trust/stick.assert" "$scratch/stick/auto-import.assert"
start_daemon

"$corehomectl" import-media "$scratch/stick" >"$scratch/out" 2>&1 || fail "import-media: $(cat "$scratch/out")"
mountpoint -q "$root/home/alice" || fail "alice's home is not active"

# --- deny through the daemon: the active home is deactivated, then removed; the decision is logged ---
"$corehomectl" deny alice >"$scratch/out" 2>&1 || fail "deny: $(cat "$scratch/out")"
grep -q '^alice: denied: denied on this device by the administrator; the user and its home were removed$' \
        "$scratch/out" || fail "deny: $(cat "$scratch/out")"
mountpoint -q "$root/home/alice" 2>/dev/null && fail "alice's home still mounted after deny"
[ -e "$root/var/lib/systemd/home/alice.identity" ] && fail "alice's record still there after deny"
logged 'user alice: denied: denied on this device by the administrator; the user and its home were removed' ||
        fail "the deny was not logged"
ok "deny through the daemon deactivates and removes alice, and is logged"

# --- the denied grant stays away: stick, create-user --known ---
rc=0
"$corehomectl" import-media "$scratch/stick" >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q 'denied on this device by the administrator' "$scratch/out" ||
        fail "stick after deny: rc=$rc $(cat "$scratch/out")"
[ -e "$root/var/lib/systemd/home/alice.identity" ] && fail "a stick brought alice back through the daemon"
logged 'user alice: refused: denied on this device by the administrator' || fail "the refused grant was not logged"
"$corehomectl" create-user --known >"$scratch/out" 2>&1 || fail "create-user: $(cat "$scratch/out")"
grep -q '^alice: skipped: denied on this device by the administrator$' "$scratch/out" ||
        fail "create-user --known: $(cat "$scratch/out")"
logged 'user alice: skipped: denied on this device by the administrator' || fail "the skipped grant was not logged"
ok "a stick (refused) and create-user --known (skipped) leave alice away, each logged with the reason"

"$corehomectl" --json deny alice >"$scratch/out" || fail "deny --json: $(cat "$scratch/out")"
python3 -c 'import json,sys; u=json.load(open(sys.argv[1])); assert u[0]["outcome"] == "denied", u' "$scratch/out" ||
        fail "deny --json: $(cat "$scratch/out")"
"$corehomectl" status >"$scratch/out" || fail "status"
grep -q '^Denied here: *alice$' "$scratch/out" || fail "status through the daemon: $(cat "$scratch/out")"
ok "--json and status through the daemon"

# --- across a restart ---
stop_daemon
start_daemon
rc=0
"$corehomectl" import-media "$scratch/stick" >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q 'denied on this device' "$scratch/out" || fail "after a restart: rc=$rc $(cat "$scratch/out")"
[ -e "$root/var/lib/systemd/home/alice.identity" ] && fail "a restart let alice back"
ok "the deny holds across a restart of the daemon"

# --- allow lifts it; another process's deny is seen by the daemon (generation moved: reload) ---
"$corehomectl" allow alice >"$scratch/out" 2>&1 || fail "allow: $(cat "$scratch/out")"
grep -q '^alice: allowed' "$scratch/out" || fail "allow: $(cat "$scratch/out")"
logged 'user alice: allowed' || fail "allow was not logged"
"$corehomectl" create-user --known alice@example.com >"$scratch/out" 2>&1 || fail "after allow: $(cat "$scratch/out")"
grep -q '^alice: created$' "$scratch/out" || fail "after allow: $(cat "$scratch/out")"
ok "allow through the daemon lifts the deny (and is logged); create-user --known makes alice again"

"$corehomectl" remove alice >/dev/null 2>&1 || fail "remove before the offline deny"
"$corehomectl" --root="$root" deny alice >"$scratch/out" 2>&1 || fail "offline deny: $(cat "$scratch/out")"
rc=0
"$corehomectl" create-user --known alice@example.com >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q 'denied on this device' "$scratch/out" ||
        fail "the daemon did not see a deny written by corehomectl --root: rc=$rc $(cat "$scratch/out")"
ok "a deny written by corehomectl --root on the same tree holds in the daemon at once"

# --- root only ---
rc=0
runuser -u nobody -- "$corehomectl" allow alice >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q 'permission denied' "$scratch/out" || fail "nobody called Allow: rc=$rc $(cat "$scratch/out")"
grep -q '"user": "alice"' "$root/var/lib/corehomed/denied.json" || fail "a refused Allow changed the list"
ok "Deny / Allow are for root only"

stop_daemon
