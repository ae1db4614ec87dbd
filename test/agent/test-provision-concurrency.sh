#!/usr/bin/env bash
# Several processes on one root must not lose or half-create anything (one writer per root, readers never
# repair): create-user --known while `list` loops, two create-users at once, a revocation imported at the same
# moment as an older revision, and the CLI on the daemon's root while the daemon creates users. After every
# race: each user reported "created" exists, no host record without its home and no home without its
# record, no temporary homes or intents left, UIDs distinct, and the highest revision stored.
set -euo pipefail
corehomed="$BUILD_DIR/agent/corehomed"
corehomectl="$BUILD_DIR/agent/corehomectl"
sign_many="$BUILD_DIR/test/sign-many"
trust="$FIXTURES_DIR/trust"
keys="$FIXTURES_DIR/keys"
USERS=${USERS:-60}
ROUNDS=${ROUNDS:-30}

scratch=$(mktemp -d /tmp/corehomed-concurrency.XXXXXX)
daemon_pid=""
rundir="/run/corehomed-concurrency-$$"
export GNUPGHOME="$scratch/gnupg"
# shellcheck source=test/agent/daemon-test-lib.sh
. "$(dirname "$0")/daemon-test-lib.sh"
cleanup() {
        jobs -p | xargs -r kill 2>/dev/null || true
        if [ -n "$daemon_pid" ]; then
                kill -KILL "$daemon_pid" 2>/dev/null || true
                wait "$daemon_pid" 2>/dev/null || true
        fi
        gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null || true
        unmount_below "$scratch"
        rm -rf "$scratch" "$rundir"
}
trap cleanup EXIT

fail() {
        echo "FAIL: $*"
        exit 1
}
ok() { echo "ok: $*"; }

now=--now=2026-11-25T10:00:00Z

new_device() { # new_device DIR
        mkdir -p "$1/etc/corehomed/trusted"
        cp "$trust/trusted/root.assert" "$1/etc/corehomed/trusted/root.assert"
        echo 0123456789abcdef0123456789abcdef >"$1/etc/machine-id"
        printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$1/etc/corehomed/corehomed.yaml"
}

# $USERS grants (tech001..), signed once in one process.
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --import "$keys/test-brand.secret.asc" 2>/dev/null
mkdir "$scratch/signed"
for i in $(seq -f '%03g' "$USERS"); do
        printf '{"type":"system-user","authority-id":"acme","brand-id":"acme","email":"tech%s@example.com",' "$i"
        printf '"series":["16"],"models":["appliance-1"],"name":"Tech %s","username":"tech%s",' "$i" "$i"
        printf '"since":"2016-01-01T00:00:00Z","until":"2030-01-01T00:00:00Z"}\n'
done | "$sign_many" "$GNUPGHOME" corehomed-test-brand "$scratch/signed"
{
        cat "$trust/acme.account"
        echo
        cat "$trust/acme.account-key"
        for f in "$scratch/signed"/*.assert; do
                echo
                cat "$f"
        done
} >"$scratch/grants.assert"

# check_root ROOT REPORTED-FILE WHAT: the invariants after a race.
check_root() {
        local root=$1 reported=$2 what=$3 user
        while read -r user; do
                [ -f "$root/var/lib/systemd/home/$user.identity" ] && [ -d "$root/home/$user.homedir" ] ||
                        fail "$what: $user was reported created but does not exist"
        done < <(sed -n 's/^\([a-z0-9]*\): created$/\1/p' "$reported")
        for f in "$root"/var/lib/systemd/home/*.identity; do
                [ -e "$f" ] || continue
                user=$(basename "$f" .identity)
                [ -d "$root/home/$user.homedir" ] || fail "$what: record of $user without its home"
        done
        for h in "$root"/home/*.homedir; do
                [ -e "$h" ] || continue
                user=$(basename "$h" .homedir)
                [ -f "$root/var/lib/systemd/home/$user.identity" ] || fail "$what: home of $user without its record"
        done
        ! ls -A "$root/home" | grep -q '^\.#' || fail "$what: temporary homes left: $(ls -A "$root/home" | grep '^\.#')"
        [ -z "$(ls -A "$root/var/lib/corehomed/journal" 2>/dev/null)" ] ||
                fail "$what: intents left: $(ls -A "$root/var/lib/corehomed/journal")"
        local uids
        uids=$(cat "$root"/var/lib/systemd/home/*.identity 2>/dev/null | sed -n 's/^\t\t\t"uid" : \([0-9]*\),\?$/\1/p')
        [ "$(sort <<<"$uids" | uniq -d)" = "" ] || fail "$what: UIDs used twice: $(sort <<<"$uids" | uniq -d | tr '\n' ' ')"
}

count_users() { ls "$1"/var/lib/systemd/home/*.identity 2>/dev/null | wc -l; }

# --- create-user --known while four loops of `list` run ---
root="$scratch/list-race"
new_device "$root"
"$corehomectl" --root="$root" "$now" import "$scratch/grants.assert" >/dev/null
touch "$scratch/stop-readers"
rm -f "$scratch/stop-readers"
for _ in 1 2 3 4; do
        (while [ ! -e "$scratch/stop-readers" ]; do "$corehomectl" --root="$root" "$now" list >/dev/null 2>&1 || true; done) &
done
"$corehomectl" --root="$root" "$now" create-user --known >"$scratch/out" 2>&1 || true
touch "$scratch/stop-readers"
wait
check_root "$root" "$scratch/out" "create-user beside list"
[ "$(grep -c ': created$' "$scratch/out")" = "$USERS" ] ||
        fail "create-user beside list: $(grep -c ': created$' "$scratch/out") of $USERS created: $(grep -v ': created$' "$scratch/out" | head -3)"
[ "$(count_users "$root")" = "$USERS" ] || fail "create-user beside list: $(count_users "$root") users exist, not $USERS"
ok "create-user --known beside four list loops: $USERS created, all whole"

# --- two create-user --known at once ---
root="$scratch/two-writers"
new_device "$root"
"$corehomectl" --root="$root" "$now" import "$scratch/grants.assert" >/dev/null
"$corehomectl" --root="$root" "$now" create-user --known >"$scratch/out1" 2>&1 &
p1=$!
"$corehomectl" --root="$root" "$now" create-user --known >"$scratch/out2" 2>&1 &
p2=$!
wait $p1 || true
wait $p2 || true
cat "$scratch/out1" "$scratch/out2" >"$scratch/out"
check_root "$root" "$scratch/out" "two create-users"
created=$(grep -c ': created$' "$scratch/out" || true)
[ "$created" = "$USERS" ] || fail "two create-users: $created created in all, expected $USERS: $(grep -v -e ': created$' -e ': unchanged$' "$scratch/out" | head -3)"
[ "$(count_users "$root")" = "$USERS" ] || fail "two create-users: $(count_users "$root") users exist"
ok "two create-user --known at once: each user created once ($(grep -c ': created$' "$scratch/out1" || true) + $(grep -c ': created$' "$scratch/out2" || true)), the rest unchanged"

# --- a revocation and an older revision imported at the same moment ---
lost=0
for round in $(seq "$ROUNDS"); do
        root="$scratch/revision-$round"
        new_device "$root"
        "$corehomectl" --root="$root" "$now" import "$trust/acme.account" "$trust/acme.account-key" >/dev/null
        "$corehomectl" --root="$root" "$now" import "$trust/alice.system-user" >"$scratch/r0" 2>&1 &
        p1=$!
        "$corehomectl" --root="$root" "$now" import "$trust/alice-r2-revoked.system-user" >"$scratch/r2" 2>&1 &
        p2=$!
        wait $p1 || true
        wait $p2 || true
        stored=$("$corehomectl" --root="$root" "$now" known system-user | sed -n 's/^revision: //p')
        [ "$stored" = 2 ] || lost=$((lost + 1))
        rm -rf "$root"
done
[ $lost = 0 ] || fail "revision race: the revocation (revision 2) was lost in $lost of $ROUNDS rounds"
ok "revision 2 and revision 0 imported at once, $ROUNDS times: revision 2 always stored"

# --- the daemon creates users while the CLI works on the same root ---
if [ "$(id -u)" != 0 ]; then
        echo "SKIP: the daemon part needs root (binds sockets under /run)"
        exit 77
fi
root="$scratch/daemon"
new_device "$root"
mkdir -p "$rundir"
export COREHOMED_MANAGER_SOCKET="$rundir/io.corehomed.Manager"
"$corehomed" --root="$root" --userdb-socket="$rundir/io.corehomed" --manager-socket="$COREHOMED_MANAGER_SOCKET" \
        2>"$scratch/daemon.log" &
daemon_pid=$!
for _ in $(seq 100); do
        [ -S "$COREHOMED_MANAGER_SOCKET" ] && break
        kill -0 "$daemon_pid" 2>/dev/null || fail "corehomed exited during start: $(cat "$scratch/daemon.log")"
        sleep 0.1
done
"$corehomectl" import "$scratch/grants.assert" >/dev/null || fail "import through the daemon"
rm -f "$scratch/stop-readers"
(while [ ! -e "$scratch/stop-readers" ]; do "$corehomectl" --root="$root" status >/dev/null 2>&1 || true; done) &
reader1=$!
(while [ ! -e "$scratch/stop-readers" ]; do "$corehomectl" --root="$root" list >/dev/null 2>&1 || true; done) &
reader2=$!
"$corehomectl" create-user --known >"$scratch/out" 2>&1 || true
touch "$scratch/stop-readers"
wait $reader1 $reader2
check_root "$root" "$scratch/out" "daemon beside the CLI's readers"
[ "$(grep -c ': created$' "$scratch/out")" = "$USERS" ] ||
        fail "daemon beside readers: $(grep -c ': created$' "$scratch/out") of $USERS created: $(grep -v ': created$' "$scratch/out" | head -3)"
ok "the daemon's CreateUsers beside CLI status/list loops on its root: $USERS created, all whole"

# The CLI on the daemon's root writes behind its back: the daemon picks it up (the root's generation moved).
mkdir "$scratch/revoke"
printf '%s\n' '{"type":"system-user","authority-id":"acme","brand-id":"acme","email":"tech001@example.com","revision":"1","series":["16"],"models":["appliance-1"],"name":"Tech 001","username":"tech001","since":"2016-01-01T00:00:00Z","until":"2020-01-01T00:00:00Z"}' |
        "$sign_many" "$GNUPGHOME" corehomed-test-brand "$scratch/revoke"
"$corehomectl" --root="$root" import "$scratch/revoke/00000.assert" >/dev/null || fail "import of the revocation with --root"
"$corehomectl" create-user --known >"$scratch/out" 2>&1 || true
grep -q '^tech001: removed: revoked by revision 1' "$scratch/out" ||
        fail "the daemon did not see the revocation the CLI stored: $(grep tech001 "$scratch/out")"
check_root "$root" "$scratch/out" "revocation stored by the CLI, applied by the daemon"
ok "a revocation stored with --root beside the daemon is applied by the daemon's next create-user"

# A writer waits for the lock and says so.
flock "$root/var/lib/corehomed/lock" sleep 2 &
holder=$!
sleep 0.3
"$corehomectl" --root="$root" create-user --known >"$scratch/out" 2>&1 || true
grep -q "^corehomectl: waiting for $root/var/lib/corehomed/lock, held by another process$" "$scratch/out" ||
        fail "a writer did not say it waits for the lock: $(head -3 "$scratch/out")"
wait $holder
ok "a writer waits for the lock and says who holds it: $(head -1 "$scratch/out")"
