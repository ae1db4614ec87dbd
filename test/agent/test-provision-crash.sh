#!/usr/bin/env bash
# Kills corehomectl (SIGKILL, through the crash points of a -Dcrash_points=true build) at every step of
# create, update and remove, then checks that the next start leaves either the old or the new user, never a
# half one, and that the interrupted operation can simply be run again. Readers (list) leave the journal
# alone; the next writer (here expire, which has nothing else to do) finishes or undoes the step.
set -euo pipefail
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"
now=--now=2026-11-25T10:00:00Z
scratch=$(mktemp -d /tmp/corehomed-crash.XXXXXX)
# The gpg-agent the signing below starts goes with the scratch directory, whatever way the test ends.
trap '[ -d "$scratch/gnupg" ] && gpgconf --homedir "$scratch/gnupg" --kill all 2>/dev/null; rm -rf "$scratch"' EXIT

if [ "${CRASH_POINTS:-false}" != true ]; then
        echo "SKIP: this build has no crash points (configure with -Dcrash_points=true, as make check does)"
        exit 77
fi

fail() {
        echo "FAIL: $*"
        exit 1
}

new_root() { # new_root DIR: a device acme/appliance-1 trusting the test root, with a stick directory
        mkdir -p "$1/etc/corehomed/trusted" "$1/stick"
        cp "$trust/trusted/root.assert" "$1/etc/corehomed/trusted/"
        echo 0123456789abcdef0123456789abcdef >"$1/etc/machine-id"
        printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$1/etc/corehomed/corehomed.yaml"
        cp "$trust/stick.assert" "$1/stick/auto-import.assert"
}

# state ROOT [USER]: "absent", "present" or "half: why" for USER (default alice)
state() {
        local user=${2:-alice}
        local host="$1/var/lib/systemd/home/$user.identity" home="$1/home/$user.homedir"
        if compgen -G "$1/home/.#*" >/dev/null; then
                echo "half: temporary home left behind"
        elif compgen -G "$1/var/lib/corehomed/journal/*.intent" >/dev/null; then
                echo "half: journal entry left behind"
        elif [ ! -e "$host" ] && [ ! -e "$home" ]; then
                echo absent
        elif [ -f "$host" ] && [ -f "$home/.identity" ]; then
                echo present
        else
                echo "half: record $( [ -e "$host" ] && echo yes || echo no ), home $( [ -e "$home" ] && echo yes || echo no )"
        fi
}

crash() { # crash POINT ARGS...: runs corehomectl, which must die at POINT
        local rc=0
        COREHOMED_CRASH_AT="$1" "$corehomectl" "${@:2}" >/dev/null 2>&1 || rc=$?
        [ "$rc" = 137 ] || fail "crash point $1 was not reached (exit status $rc)"
}

recover() { # after the crash: a reader repairs nothing; the next writer recovers before anything else
        local intents
        intents=$(ls "$1/var/lib/corehomed/journal")
        "$corehomectl" --root="$1" "$now" list >/dev/null
        [ "$(ls "$1/var/lib/corehomed/journal")" = "$intents" ] && [ -n "$intents" ] ||
                fail "a reader (list) touched the intent journal after the crash"
        "$corehomectl" --root="$1" "$now" expire >/dev/null
}

checked=0
for point in provision-create:journaled home-create:host-record home-create:filled provision-create:created; do
        r="$scratch/create-${point//:/-}"
        new_root "$r"
        crash "$point" --root="$r" "$now" import-media "$r/stick"
        recover "$r"
        s=$(state "$r")
        [ "$s" = absent ] || [ "$s" = present ] || fail "create, crash at $point: $s"
        "$corehomectl" --root="$r" "$now" create-user --known alice@example.com >/dev/null
        [ "$(state "$r")" = present ] || fail "create, crash at $point: the retry did not create the user"
        "$corehomectl" --root="$r" "$now" inspect alice | grep -q 'Signature: signed-exclusive' ||
                fail "create, crash at $point: the record does not verify"
        echo "ok: create interrupted at $point -> $s after restart, then created"
        checked=$((checked + 1))
done

for point in provision-update:journaled home-update:host-record provision-update:updated; do
        r="$scratch/update-${point//:/-}"
        new_root "$r"
        "$corehomectl" --root="$r" "$now" import-media "$r/stick" >/dev/null
        "$corehomectl" --root="$r" "$now" import "$trust/alice-r1.system-user" >/dev/null
        crash "$point" --root="$r" "$now" create-user --known alice@example.com
        recover "$r"
        [ "$(state "$r")" = present ] || fail "update, crash at $point: $(state "$r")"
        grep -q '"realName" : "Alice Liddell"' "$r/var/lib/systemd/home/alice.identity" ||
                fail "update, crash at $point: the host record is not the new one"
        grep -q '"realName" : "Alice Liddell"' "$r/home/alice.homedir/.identity" ||
                fail "update, crash at $point: the home's .identity is not the new one"
        echo "ok: update interrupted at $point -> finished on restart"
        checked=$((checked + 1))
done

for point in provision-remove:journaled home-remove:renamed home-remove:home-deleted provision-remove:removed; do
        r="$scratch/remove-${point//:/-}"
        new_root "$r"
        "$corehomectl" --root="$r" "$now" import-media "$r/stick" >/dev/null
        crash "$point" --root="$r" "$now" remove alice
        recover "$r"
        [ "$(state "$r")" = absent ] || fail "remove, crash at $point: $(state "$r")"
        echo "ok: remove interrupted at $point -> finished on restart"
        checked=$((checked + 1))
done

# A batch: alice and two more users made by one application of the stored grants (create-batch.h). Killed
# in the middle of it — the second home filled, the third host record written, or after the batch's sync
# but before its journal entries are closed — the next writer undoes the whole batch, and the retry makes
# all three.
export GNUPGHOME="$scratch/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$FIXTURES_DIR/keys/test-brand.secret.asc" 2>/dev/null
for user in bob carol; do
        [ ! -s "$scratch/more.assert" ] || echo >>"$scratch/more.assert"
        printf '{"type":"system-user","authority-id":"acme","brand-id":"acme","email":"%s@example.com","series":["16"],"models":["appliance-1"],"username":"%s","password":"$6$S4ltS4ltS4lt$JJMkHPPOCWwCYm72g0S.IG547HUVw6XxyeKRXzEYaPBzYkq9lVZhMtUFGYUuEKiEIEDnpPkYRiZCYzXNwExfC.","since":"2016-01-01T00:00:00Z","until":"2030-01-01T00:00:00Z"}' "$user" "$user" |
                "$corehomectl" sign --key=corehomed-test-brand --gnupg-home="$GNUPGHOME" - >>"$scratch/more.assert"
done
for point in 'home-create:filled#2' 'home-create:host-record#3' provision-create:created; do
        r="$scratch/batch-${point//[:#]/-}"
        new_root "$r"
        "$corehomectl" --root="$r" "$now" import "$trust/acme.account" "$trust/acme.account-key" \
                "$trust/alice.system-user" "$scratch/more.assert" >/dev/null
        crash "$point" --root="$r" "$now" create-user --known
        [ "$(ls "$r/var/lib/corehomed/journal" | grep -c '\.intent$')" = 3 ] ||
                fail "batch, crash at $point: not one journal entry per user of the batch"
        recover "$r"
        for user in alice bob carol; do
                s=$(state "$r" $user)
                [ "$s" = absent ] || fail "batch, crash at $point: $user is $s after recovery (the batch is undone whole)"
        done
        "$corehomectl" --root="$r" "$now" create-user --known >/dev/null
        for user in alice bob carol; do
                [ "$(state "$r" $user)" = present ] || fail "batch, crash at $point: the retry did not create $user"
        done
        echo "ok: batch interrupted at $point -> all three absent after restart, then all created"
        checked=$((checked + 1))
done

[ "$checked" = 14 ] || fail "only $checked crash points checked"
echo "all $checked crash points leave a whole state"
