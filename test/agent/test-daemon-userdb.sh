#!/usr/bin/env bash
# The daemon's userdb answers come from an index of records (agent/varlink/userdb-index.h) that must stay
# current: on a root with many homes the userdb socket answers while the homes are still being activated
# (lookups never wait for all of them); enumeration lists every user; a user created or removed through the
# daemon, or by `corehomectl --root` beside it (another process under the root's lock), resolves or is gone
# in the very next lookup; a user whose grant runs out is gone from userdb at its until although its entry
# was read before.
set -euo pipefail
corehomed="$BUILD_DIR/agent/corehomed"
corehomectl="$BUILD_DIR/agent/corehomectl"
make_homes="$BUILD_DIR/test/make-bench-homes"
probe="$SOURCE_DIR/test/agent/userdb-probe.py"
trust="$FIXTURES_DIR/trust"
keys="$FIXTURES_DIR/keys"
homes=${USERDB_TEST_HOMES:-120}

skip() {
        echo "SKIP: $*"
        exit 77
}
[ "$(id -u)" = 0 ] || skip "needs root (mounts homes, binds sockets under /run)"
command -v python3 >/dev/null || skip "python3 is not installed"
command -v gpg >/dev/null || skip "gpg is not installed"
[ -x "$make_homes" ] || skip "$make_homes is not built"

scratch=$(mktemp -d /tmp/corehomed-daemon-userdb.XXXXXX)
root="$scratch/root"
rundir="/run/corehomed-test-userdb-$$"
manager="$rundir/io.corehomed.Manager"
service="io.corehomed-test-userdb-$$"
userdb="/run/systemd/userdb/$service"
log="$scratch/daemon.log"
daemon_pid=""
export COREHOMED_MANAGER_SOCKET="$manager"

# shellcheck source=test/agent/daemon-test-lib.sh
. "$(dirname "$0")/daemon-test-lib.sh"
FAIL_LOG_LINES=30
stop_daemon() {
        [ -n "$daemon_pid" ] || return 0
        kill -TERM "$daemon_pid" 2>/dev/null || true
        for _ in $(seq 300); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$daemon_pid" 2>/dev/null || true
        # Not our child (the probe started it): wait until it is gone.
        for _ in $(seq 50); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
        daemon_pid=""
}
cleanup() {
        set +e
        stop_daemon
        daemon_test_cleanup
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP
resolves() { python3 "$probe" get "$userdb" "$service" "$1" >/dev/null; }
mounts() { awk -v p="$root/home/" 'index($2, p) == 1' /proc/self/mounts | wc -l; }

# --- a device acme/appliance-1 trusting the test root, with many homes made by the engine ---
mkdir -p "$root/etc/corehomed/trusted" "$rundir"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/root.assert"
cp /etc/machine-id "$root/etc/machine-id" 2>/dev/null || echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$root/etc/corehomed/corehomed.yaml"
"$make_homes" "$root" 1 "$homes" benchu >/dev/null || fail "cannot create $homes homes"

# --- the socket answers while the homes are being activated ---
python3 "$probe" start-and-ask "$userdb" "$service" benchu0001 "$root/home" "$scratch/pid" "$log" -- \
        "$corehomed" --root="$root" --userdb-socket="$userdb" --manager-socket="$manager" >"$scratch/first" ||
        fail "no answer for benchu0001: $(cat "$scratch/first")"
daemon_pid=$(cat "$scratch/pid")
at_answer=$(awk '/^mounts-at-answer:/ { print $2 }' "$scratch/first")
answer_ms=$(awk '/^answer-ms:/ { print $2 }' "$scratch/first")
[ "$at_answer" -lt "$homes" ] ||
        fail "the first lookup was answered only after all $homes homes were active ($answer_ms ms after the start)"
ok "benchu0001 resolved $answer_ms ms after the start, with $at_answer of $homes homes active"

for _ in $(seq 1200); do
        grep -q "home activation done: $homes homes activated" "$log" && break
        kill -0 "$daemon_pid" 2>/dev/null || fail "corehomed exited"
        sleep 0.1
done
grep -q "home activation done: $homes homes activated" "$log" || fail "homes not all activated within 120 s"
[ "$(mounts)" = "$homes" ] || fail "$(mounts) of $homes homes mounted after the activation"
ok "all $homes homes activated afterwards: $(grep -o 'home activation done.*' "$log")"

python3 "$probe" enumerate "$userdb" "$service" >"$scratch/enum" || fail "enumeration failed"
grep -q "^records: $homes\$" "$scratch/enum" || fail "enumeration: $(cat "$scratch/enum")"
ok "enumeration lists all $homes users ($(awk '/^enumerate-ms:/ { print $2 }' "$scratch/enum") ms)"

# --- through the daemon ---
resolves alice && fail "alice resolves before she exists"
"$corehomectl" import "$trust/stick.assert" >/dev/null 2>&1 || fail "import through the daemon"
"$corehomectl" create-user --known alice@example.com >"$scratch/out" 2>&1 || fail "create-user: $(cat "$scratch/out")"
resolves alice || fail "alice created through the daemon does not resolve in the next lookup"
"$corehomectl" remove alice >"$scratch/out" 2>&1 || fail "remove: $(cat "$scratch/out")"
resolves alice && fail "alice removed through the daemon still resolves in the next lookup"
ok "a user created / removed through the daemon resolves / is gone in the next lookup"

# --- corehomectl --root beside the daemon ---
"$corehomectl" --root="$root" create-user --known alice@example.com >"$scratch/out" 2>&1 ||
        fail "create-user --root: $(cat "$scratch/out")"
resolves alice || fail "alice created by corehomectl --root does not resolve in the next lookup"
python3 "$probe" enumerate "$userdb" "$service" >"$scratch/enum" || fail "enumeration failed"
grep -q "^records: $((homes + 1))\$" "$scratch/enum" || fail "enumeration after --root create: $(cat "$scratch/enum")"
# The daemon activates her home (its refresh job). corehomectl --root does not unmount (it refuses to remove an
# active home): unmount it as an administrator would, then remove offline.
for _ in $(seq 100); do mountpoint -q "$root/home/alice" && break; sleep 0.1; done
mountpoint -q "$root/home/alice" || fail "the daemon did not activate the home of alice made by corehomectl --root"
umount "$root/home/alice"
"$corehomectl" --root="$root" remove alice >"$scratch/out" 2>&1 || fail "remove --root: $(cat "$scratch/out")"
resolves alice && fail "alice removed by corehomectl --root still resolves in the next lookup"
ok "a user created / removed by corehomectl --root beside the daemon resolves / is gone in the next lookup"

# --- expiry: the index read bob's record before his until; the answer checks the clock ---
gnupg="$scratch/gnupg"
mkdir -m 0700 "$gnupg"
gpg --homedir "$gnupg" --batch --quiet --import "$keys/test-brand.secret.asc" 2>/dev/null
now=$(date +%s)
until_s=$((now + 10)) # signing, importing and creating take seconds under ASan on a loaded machine
cat >"$scratch/bob.json" <<JSON
{"type":"system-user","format":"2","authority-id":"acme","brand-id":"acme","email":"bob@example.com",
 "series":["16"],"models":["appliance-1"],"name":"Bob","username":"bob",
 "password":"\$6\$S4ltS4ltS4lt\$JJMkHPPOCWwCYm72g0S.IG547HUVw6XxyeKRXzEYaPBzYkq9lVZhMtUFGYUuEKiEIEDnpPkYRiZCYzXNwExfC.",
 "user-presence":"until-expiration","since":"$(date -u -d "@$((now - 60))" +%Y-%m-%dT%H:%M:%SZ)",
 "until":"$(date -u -d "@$until_s" +%Y-%m-%dT%H:%M:%SZ)"}
JSON
"$corehomectl" sign --key=corehomed-test-brand --gnupg-home="$gnupg" "$scratch/bob.json" >"$scratch/bob.assert" ||
        fail "cannot sign bob's grant"
"$corehomectl" --root="$root" import "$scratch/bob.assert" >/dev/null 2>&1 || fail "import bob --root"
"$corehomectl" --root="$root" create-user --known bob@example.com >"$scratch/out" 2>&1 ||
        fail "create bob --root: $(cat "$scratch/out")"
resolves bob || fail "bob does not resolve before his until"
# One probe process polls every 10 ms (a new process per lookup would take longer than the bound).
python3 "$probe" gone-at "$userdb" "$service" bob "$until_s" >"$scratch/gone" || fail "bob still resolves 5 s after his until"
gone_at=$(awk '/^gone-ns:/ { print $2 }' "$scratch/gone")
last_found=$(awk '/^last-found-ns:/ { print $2 }' "$scratch/gone")
late_ms=$(((gone_at - until_s * 1000000000) / 1000000))
[ "$gone_at" -ge $((until_s * 1000000000)) ] || fail "bob gone before his until ($late_ms ms)"
[ "$late_ms" -le 1000 ] || fail "bob resolved until $late_ms ms after his until (> 1 s)"
ok "bob (made by corehomectl --root) is gone from userdb $late_ms ms after his until (last found $(((last_found - until_s * 1000000000) / 1000000)) ms)"

stop_daemon
ok "daemon stopped"
