#!/usr/bin/env bash
# Kills a writer of the assertion store (SIGKILL, through the crash points of a -Dcrash_points=true build)
# at every step of a batch commit, of the merge that follows it, of the migration of the old per-file
# layout and of recovery. After each kill:
#   - a reader that takes no lock and repairs nothing sees the old or the new batch, whole (and the step
#     tells which: before the rename the old, from the rename on the new), and changes nothing on disk;
#   - the next writer's recovery removes every leftover and leaves the state the reader saw;
#   - the import run again ends in the new state.
set -euo pipefail
tool="$BUILD_DIR/test/assertions/trust-store-tool"
trust="$FIXTURES_DIR/trust"
now=2026-11-25T10:00:00Z
scratch=$(mktemp -d /tmp/corehomed-store-crash.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

if [ "${CRASH_POINTS:-false}" != true ]; then
        echo "SKIP: this build has no crash points (configure with -Dcrash_points=true, as make check does)"
        exit 77
fi

fail() {
        echo "FAIL: $*"
        exit 1
}

store() { echo "$1/var/lib/corehomed/assertions"; }

new_root() { # new_root DIR: a device trusting the test root
        mkdir -p "$1/etc/corehomed/trusted"
        cp "$trust/trusted/root.assert" "$1/etc/corehomed/trusted/"
}

# The batch every scenario commits: alice's revision 1 (an update) and acme's model (new, and its timestamp
# moves the time floor).
batch=("$trust/alice-r1.system-user" "$trust/appliance-1.model")

dump() { "$tool" "$1" "$now" dump; }
listing() { (cd "$(store "$1")" && find . | sort); }

# leftovers DIR: temporary files, packs covered by a wider one, files of the old layout.
leftovers() {
        local s
        s=$(store "$1")
        [ -d "$s" ] || return 0
        find "$s" -name '.pack-*'
        find "$s" -mindepth 1 -type d
        [ ! -e "$s/time-floor" ] || echo "$s/time-floor"
        python3 - "$s" <<'PY'
import os, sys
packs = [(int(n[:16], 16), int(n[17:33], 16), n) for n in os.listdir(sys.argv[1]) if n.endswith(".pack")]
for f, l, n in packs:
    if any((f2 <= f and l <= l2) and (f2, l2) != (f, l) for f2, l2, _ in packs):
        print(n)
PY
}

crash() { # crash POINT ROOT ARGS...: the tool must die at POINT
        local rc=0
        COREHOMED_CRASH_AT="$1" "$tool" "$2" "$now" "${@:3}" >/dev/null 2>&1 || rc=$?
        [ "$rc" = 137 ] || fail "crash point $1 was not reached (exit status $rc)"
}

# check SCENARIO POINT ROOT EXPECTED(old|new) OLD-DUMP NEW-DUMP
check() {
        local what="$1 at $2" r="$3" seen before after
        before=$(listing "$r")
        seen=$(dump "$r") || fail "$what: a reader cannot open the store: $seen"
        if [ "$seen" = "$5" ]; then
                state=old
        elif [ "$seen" = "$6" ]; then
                state=new
        else
                fail "$what: the reader sees neither the old nor the new state:"$'\n'"$seen"
        fi
        [ "$state" = "$4" ] || fail "$what: the reader sees the $state state, expected the $4 one"
        after=$(listing "$r")
        [ "$before" = "$after" ] || fail "$what: a reader changed the store"

        "$tool" "$r" "$now" recover >/dev/null || fail "$what: recovery failed"
        [ -z "$(leftovers "$r")" ] || fail "$what: leftovers after recovery: $(leftovers "$r")"
        [ "$(dump "$r")" = "$seen" ] || fail "$what: recovery changed what the store holds"

        "$tool" "$r" "$now" import "${batch[@]}" >/dev/null || fail "$what: the import again failed"
        [ "$(dump "$r")" = "$6" ] || fail "$what: the import again did not end in the new state"
        [ -z "$(leftovers "$r")" ] || fail "$what: leftovers after the import again: $(leftovers "$r")"
        echo "ok: $what -> the reader saw the $state state; recovery and the import again completed it"
        checked=$((checked + 1))
}

checked=0

# base ROOT: the stick's three assertions, committed one by one: three packs of the smallest tier
base() {
        new_root "$1"
        for f in acme.account acme.account-key alice.system-user; do
                "$tool" "$1" "$now" import "$trust/$f" >/dev/null
        done
}

# --- a batch commit, and the merge it triggers (the fourth pack of the smallest tier) ---
ref="$scratch/ref"
base "$ref"
old=$(dump "$ref")
"$tool" "$ref" "$now" import "${batch[@]}" >/dev/null
new=$(dump "$ref")
[ "$old" != "$new" ] || fail "the batch changes nothing: the test proves nothing"
[ "$(find "$(store "$ref")" -name '*.pack' | wc -l)" = 1 ] || fail "the reference commit did not merge"

for point in store-commit:written:old store-commit:synced:old store-commit:renamed:new store-commit:durable:new \
        store-merge:written:new store-merge:synced:new store-merge:renamed:new store-merge:durable:new \
        store-merge:pruned-one:new; do
        expect=${point##*:}
        point=${point%:*}
        r="$scratch/commit-${point//:/-}"
        base "$r"
        crash "$point" "$r" import "${batch[@]}"
        check commit "$point" "$r" "$expect" "$old" "$new"
done

# --- the old per-file layout, moved into a pack by the first commit ---
legacy_root() { # legacy_root DIR: the stick's assertions as the old layout wrote them
        local s
        new_root "$1"
        s=$(store "$1")
        mkdir -p "$s/account" "$s/account-key" "$s/system-user"
        cp "$trust/acme.account" "$s/account/acme.assert"
        cp "$trust/acme.account-key" "$s/account-key/key.assert"
        cp "$trust/alice.system-user" "$s/system-user/acme,alice@example.com.assert"
        echo 2016-06-01T00:00:00Z >"$s/time-floor"
}
ref="$scratch/legacy-ref"
legacy_root "$ref"
old_legacy=$(dump "$ref")
"$tool" "$ref" "$now" import "${batch[@]}" >/dev/null
new_legacy=$(dump "$ref")
[ -z "$(leftovers "$ref")" ] || fail "the reference migration left $(leftovers "$ref")"
for point in store-migrate:written store-migrate:synced store-migrate:renamed store-migrate:durable \
        store-migrate:pruned-one; do
        r="$scratch/migrate-${point//:/-}"
        legacy_root "$r"
        crash "$point" "$r" import "${batch[@]}"
        check migrate "$point" "$r" old "$old_legacy" "$new_legacy"
done

# --- recovery itself interrupted: a leftover temporary file and covered packs ---
r="$scratch/recover"
base "$r"
crash store-merge:renamed "$r" import "${batch[@]}"
crash store-commit:written "$r" import "$trust/alice-r2-revoked.system-user"
[ "$(leftovers "$r" | wc -l)" -ge 5 ] || fail "recover: the setup left too few leftovers: $(leftovers "$r")"
crash store-recover:removed-one "$r" recover
check recover store-recover:removed-one "$r" new "$old" "$new"

echo "$checked crash points: every reader saw one whole state, every recovery completed it"
