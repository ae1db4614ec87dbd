#!/usr/bin/env bash
# corehomed end to end, on a scratch root with test sockets: readiness, corehomectl without --root through
# io.corehomed.Manager (import, create-user, list, inspect, remove, import-media of a directory and of a
# block device), homes activated at run time, root-only Manager, expiry on time (a grant ending 3 s after
# creation is gone within 1 s after its until), decisions logged, clean SIGTERM.
set -euo pipefail
corehomed="$BUILD_DIR/agent/corehomed"
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"
keys="$FIXTURES_DIR/keys"

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root (mounts homes, binds sockets under /run)"
        exit 77
fi

scratch=$(mktemp -d /tmp/corehomed-daemon.XXXXXX)
root="$scratch/root"
rundir="/run/corehomed-test-$$"
manager="$rundir/io.corehomed.Manager"
userdb_service="io.corehomed-test-$$"
userdb="/run/systemd/userdb/$userdb_service"
log="$scratch/daemon.log"
daemon_pid=""
loop=""
export COREHOMED_MANAGER_SOCKET="$manager"

# shellcheck source=test/agent/daemon-test-lib.sh
. "$(dirname "$0")/daemon-test-lib.sh"
FAIL_LOG_LINES=200
cleanup() {
        daemon_kill
        [ -z "$loop" ] || losetup -d "$loop" 2>/dev/null || true
        daemon_test_cleanup
}
trap cleanup EXIT

# --- a device acme/appliance-1 trusting the test root ---
mkdir -p "$root/etc/corehomed/trusted" "$scratch/stick"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/root.assert"
cp /etc/machine-id "$root/etc/machine-id" 2>/dev/null || echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
# media.devices stays "removable": this test reads media only through ImportMedia, and must not read the
# loop devices other tests attach meanwhile (udev coldplug).
printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$root/etc/corehomed/corehomed.yaml"

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
start_daemon
ok "corehomed is ready (manager socket present)"

# --- the CLI without --root talks to the daemon ---
"$corehomectl" status >"$scratch/out" || fail "status: $(cat "$scratch/out")"
grep -q "^Daemon: *running (pid $daemon_pid" "$scratch/out" || fail "status does not show the daemon: $(cat "$scratch/out")"
grep -q "^Root: *$root" "$scratch/out" || fail "status shows another root: $(cat "$scratch/out")"
ok "corehomectl status (no --root) reaches the daemon"

"$corehomectl" import "$trust/stick.assert" >"$scratch/out" 2>&1 || fail "import: $(cat "$scratch/out")"
grep -q 'system-user brand-id=acme email=alice@example.com: added' "$scratch/out" || fail "import: $(cat "$scratch/out")"
"$corehomectl" --now=2026-01-01T00:00:00Z status >/dev/null 2>&1 && fail "--now without --root accepted"
"$corehomectl" create-user --known alice@example.com >"$scratch/out" 2>&1 || fail "create-user: $(cat "$scratch/out")"
grep -q '^alice: created$' "$scratch/out" || fail "create-user: $(cat "$scratch/out")"
[ -f "$root/var/lib/systemd/home/alice.identity" ] || fail "no host record for alice"
ok "import + create-user through the daemon"

mountpoint -q "$root/home/alice" || fail "the daemon did not activate alice's home"
"$corehomectl" list >"$scratch/out" || fail "list"
grep -Eq '^alice +[0-9]+ +active ' "$scratch/out" || fail "list: $(cat "$scratch/out")"
"$corehomectl" --json inspect alice >"$scratch/out" || fail "inspect"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert o["state"]=="active" and o["record"]["userName"]=="alice" and o["assertion"]["type"]=="system-user", o' "$scratch/out" ||
        fail "inspect --json: $(cat "$scratch/out")"
ok "the home of a created user is active; list and inspect show it"

grep -q 'accepted assertion system-user brand-id=acme email=alice@example.com' "$log" || fail "import not logged"
grep -q 'user alice: created' "$log" || fail "creation not logged"
ok "decisions are logged, one line each"

# --- errors keep the CLI's words and exit codes ---
rc=0
"$corehomectl" inspect nobody-here >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q '^corehomectl: nobody-here: no such user managed here' "$scratch/out" ||
        fail "inspect of an unknown user: rc=$rc $(cat "$scratch/out")"
rc=0
"$corehomectl" import "$trust/alice-by-unknown-key.system-user" >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q 'assertions refused; nothing was stored' "$scratch/out" || fail "refused import: rc=$rc $(cat "$scratch/out")"
grep -q 'refused assertion system-user' "$log" || fail "refusal not logged"
ok "refusals come back with the CLI's messages and exit status 1"

# --- root only ---
rc=0
runuser -u nobody -- "$corehomectl" list >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q 'permission denied' "$scratch/out" || fail "nobody reached the Manager: rc=$rc $(cat "$scratch/out")"
chmod 0666 "$manager" # past the socket's mode, the peer check must still stop it
rc=0
runuser -u nobody -- "$corehomectl" list >"$scratch/out" 2>&1 || rc=$?
chmod 0600 "$manager"
[ $rc = 1 ] && grep -q 'corehomed refused the call: permission denied' "$scratch/out" ||
        fail "the Manager served a non-root peer: rc=$rc $(cat "$scratch/out")"
ok "a non-root peer is refused (socket mode, and the peer check behind it)"

# --- remove ---
"$corehomectl" remove alice >"$scratch/out" 2>&1 || fail "remove: $(cat "$scratch/out")"
mountpoint -q "$root/home/alice" 2>/dev/null && fail "alice's home still mounted after remove"
[ -e "$root/var/lib/systemd/home/alice.identity" ] && fail "alice's record still there"
ok "remove through the daemon deactivates and removes the home"

# --- import-media: a directory, then an ext4 block device read by the media worker ---
cp "$trust/stick.assert" "$scratch/stick/auto-import.assert"
(cd "$scratch" && "$corehomectl" import-media stick) >"$scratch/out" 2>&1 || fail "import-media dir: $(cat "$scratch/out")"
grep -q '^alice: created$' "$scratch/out" || fail "import-media dir: $(cat "$scratch/out")"
"$corehomectl" remove alice >/dev/null
if command -v mkfs.ext4 >/dev/null && losetup -f >/dev/null 2>&1; then
        truncate -s 8M "$scratch/stick.img"
        mkfs.ext4 -q -d "$scratch/stick" "$scratch/stick.img"
        loop=$(losetup -f --show "$scratch/stick.img")
        "$corehomectl" import-media "$loop" >"$scratch/out" 2>&1 || fail "import-media $loop: $(cat "$scratch/out")"
        grep -q '^alice: created$' "$scratch/out" || fail "import-media $loop: $(cat "$scratch/out")"
        mountpoint -q "$root/home/alice" || fail "alice from the block device not activated"
        ok "import-media of a directory and of an ext4 block device through the daemon"
else
        ok "import-media of a directory through the daemon (no loop devices here for the block case)"
fi

# --- expiry: a grant that ends 3 s after creation ---
gnupg="$scratch/gnupg"
mkdir -m 0700 "$gnupg"
gpg --homedir "$gnupg" --batch --quiet --import "$keys/test-brand.secret.asc" 2>/dev/null
now=$(date +%s)
until_s=$((now + 4)) # created within a second, gone at until
since=$(date -u -d "@$((now - 60))" +%Y-%m-%dT%H:%M:%SZ)
until=$(date -u -d "@$until_s" +%Y-%m-%dT%H:%M:%SZ)
cat >"$scratch/bob.json" <<JSON
{"type":"system-user","format":"2","authority-id":"acme","brand-id":"acme","email":"bob@example.com",
 "series":["16"],"models":["appliance-1"],"name":"Bob","username":"bob",
 "password":"\$6\$S4ltS4ltS4lt\$JJMkHPPOCWwCYm72g0S.IG547HUVw6XxyeKRXzEYaPBzYkq9lVZhMtUFGYUuEKiEIEDnpPkYRiZCYzXNwExfC.",
 "user-presence":"until-expiration","since":"$since","until":"$until"}
JSON
"$corehomectl" sign --key=corehomed-test-brand --gnupg-home="$gnupg" "$scratch/bob.json" >"$scratch/bob.assert" ||
        fail "cannot sign bob's grant"
"$corehomectl" import "$scratch/bob.assert" >/dev/null 2>&1 || fail "import bob"
"$corehomectl" create-user --known bob@example.com >"$scratch/out" 2>&1 || fail "create bob: $(cat "$scratch/out")"
created_at=$(date +%s.%N)
mountpoint -q "$root/home/bob" || fail "bob's home not active"
ok "bob created at $created_at, grant until $until"

# Users resolve through userdb (getent, logins): that is where the grant must end within 1 s of until.
# Removing the home (unmount, delete, fsync) follows at once and may take longer on a loaded machine.
resolvable() { userdbctl --service="$userdb_service" user bob >/dev/null 2>&1; }
resolvable || fail "bob does not resolve through userdb before until"
userdb_gone_at=""
list_gone_at=""
deadline_ns=$(( (until_s + 5) * 1000000000 ))
while :; do
        t=$(date +%s%N)
        [ -n "$userdb_gone_at" ] || resolvable || userdb_gone_at=$t
        if [ -n "$userdb_gone_at" ] && [ -z "$list_gone_at" ] && ! "$corehomectl" list | grep -q '^bob '; then
                list_gone_at=$t
        fi
        [ -n "$list_gone_at" ] && break
        [ "$t" -lt "$deadline_ns" ] || break
        sleep 0.02
done
[ -n "$userdb_gone_at" ] || fail "bob still resolves through userdb 5 s after until"
[ -n "$list_gone_at" ] || fail "bob still listed 5 s after until"
late=$(python3 -c "print(round($userdb_gone_at / 1e9 - $until_s, 3))")
list_late=$(python3 -c "print(round($list_gone_at / 1e9 - $until_s, 3))")
[ $((userdb_gone_at - until_s * 1000000000)) -le 1000000000 ] || fail "bob still resolved $late s after until (> 1 s)"
[ "$userdb_gone_at" -ge $((until_s * 1000000000 - 50000000)) ] || fail "bob unresolvable BEFORE until ($late s)"
[ -e "$root/var/lib/systemd/home/bob.identity" ] && fail "bob's record still in the engine"
[ -e "$root/home/bob.homedir" ] && fail "bob's home still in the engine"
mountpoint -q "$root/home/bob" 2>/dev/null && fail "bob's home still mounted"
grep -q 'user bob: removed: grant expired' "$log" || fail "expiry not logged"
ok "bob's grant ended at $until; unresolvable $late s later, home and record removed $list_late s later"

# --- userdb, when the service answers ---
if command -v userdbctl >/dev/null; then
        if userdbctl --service="$userdb_service" user alice >"$scratch/out" 2>&1; then
                grep -q 'alice' "$scratch/out" || fail "userdbctl: $(cat "$scratch/out")"
                ok "userdbctl --service=$userdb_service user alice resolves through the daemon"
        else
                echo "note: userdbctl could not query $userdb_service: $(head -1 "$scratch/out")"
        fi
fi

# --- SIGTERM ---
kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=""
[ $rc = 0 ] || fail "corehomed exited $rc on SIGTERM"
[ -e "$manager" ] && fail "manager socket left behind"
[ -e "$userdb" ] && fail "userdb socket left behind"
if awk -v p="$root/" 'index($2, p) == 1' /proc/self/mounts | grep -q .; then
        fail "mounts left below the root: $(awk -v p="$root/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts)"
fi
ok "SIGTERM: exit 0, sockets removed, homes below --root unmounted"

rc=0
"$corehomectl" list >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "corehomed is not running (cannot connect to $manager); use --root=DIR to work offline" "$scratch/out" ||
        fail "no daemon: rc=$rc $(cat "$scratch/out")"
ok "without a daemon the CLI says so"
