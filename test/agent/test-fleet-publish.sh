#!/usr/bin/env bash
# corehomectl fleet publish on files (no server): which grants each device's feed holds (the device's own
# rules for the identity the inventory gives it), the tree's layout, byte-identical output for the same
# input whatever its order, unchanged files kept (same inode: same ETag), changed ones rewritten with a later
# mtime, a revocation propagated, grants held back until their since, refused input (unknown signer, bad
# signature, expired key, a downgrade of what is served) leaving the served tree alone, the lock, and a
# device storing what its feed and prerequisites hold and creating its users from them.
set -euo pipefail
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"
command -v gpg >/dev/null || { echo "SKIP: gpg not installed"; exit 77; }
scratch=$(mktemp -d /tmp/corehomed-publish.XXXXXX)
export GNUPGHOME="$scratch/gnupg"
lock_pid=
cleanup() {
        [ -z "$lock_pid" ] || kill "$lock_pid" 2>/dev/null || true
        [ -z "$lock_pid" ] || wait "$lock_pid" 2>/dev/null || true
        gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null || true
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

mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --import "$FIXTURES_DIR/keys/test-brand.secret.asc" 2>/dev/null
# grant NAME EMAIL REVISION EXTRA-JSON: a system-user of brand acme signed by its key, in $scratch/NAME.
grant() {
        printf '{"type":"system-user","authority-id":"acme","brand-id":"acme","email":"%s","revision":"%s",
                "series":["16"],"username":"%s","since":"2016-01-01T00:00:00Z","until":"2030-01-01T00:00:00Z"%s}' \
                "$2" "$3" "${2%%@*}" "$4" |
                python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' |
                "$corehomectl" sign --key=corehomed-test-brand --gnupg-home="$GNUPGHOME" - >"$scratch/$1" ||
                fail "cannot sign $1"
}
grant all all@example.com 1 ',"models":["appliance-1"]'
grant all-revoked all@example.com 2 ',"models":["appliance-1"],"until":"2026-06-01T00:00:00Z"'
grant serial-b tech@example.com 1 ',"format":"1","models":["appliance-1"],"serials":["SN-B"]'
grant model-two two@example.com 1 ',"models":["appliance-2"]'
grant future later@example.com 1 ',"models":["appliance-1"],"since":"2027-01-01T00:00:00Z"'
prereqs=("$trust/acme.account" "$trust/acme.account-key" "$trust/appliance-1.model")
now=--now=2026-11-25T10:00:00Z

cat >"$scratch/inv.yaml" <<'YAML'
brand-id: acme
devices:
  - serial: SN-A
    model: appliance-1
    labels: {site: berlin}
  - serial: SN-B
    model: appliance-1
  - serial: SN-C
    model: appliance-2
YAML
out="$scratch/srv/tree"
mkdir -p "$scratch/srv"
# publish_to OUT INPUT...: fleet publish of the inventory to OUT at $now; output in $scratch/out (stdout and
# stderr). publish INPUT...: the same to $out.
publish_to() {
        local o=$1
        shift
        "$corehomectl" "$now" fleet publish --inventory="$scratch/inv.yaml" --out="$o" \
                --trusted="$trust/trusted/root.assert" "$@" >"$scratch/out" 2>&1
}
publish() { publish_to "$out" "$@"; }
# emails DEVICE: the system-user emails of DEVICE's feed, sorted, space-separated.
emails() { sed -n 's/^email: //p' "$out/devices/$1/assertions/index" | tr '\n' ' '; }
types() { sed -n 's/^type: //p' "$out/devices/$1/assertions/index" | tr '\n' ' '; }
inode() { stat -c %i "$out/devices/$1/assertions/index"; }
mtime() { stat -c %Y "$out/devices/$1/assertions/index"; }

# --- the tree: a symlink to a generation, each device's feed and its prerequisites ---
publish "${prereqs[@]}" "$scratch/all" "$scratch/serial-b" "$scratch/model-two" "$scratch/future" ||
        fail "publish: $(cat "$scratch/out")"
[ "$(readlink "$out")" = tree.generations/1 ] || fail "tree is not a symlink to generation 1: $(ls -l "$scratch/srv")"
grep -q "^3 devices: 3 feeds written, 0 unchanged; 2 prerequisites, 2 written$" "$scratch/out" ||
        fail "first publish: $(cat "$scratch/out")"
key_id=$(sed -n 's/^public-key-sha3-384: //p' "$trust/acme.account-key")
for d in SN-A SN-B SN-C; do
        for f in assertions/index assertions/account/acme "assertions/account-key/$key_id"; do
                [ -f "$out/devices/$d/$f" ] || fail "$d: no $f"
        done
        [ "$(stat -c %i "$out/devices/$d/assertions/account/acme")" = \
                "$(stat -c %i "$out/prerequisites/account/acme")" ] || fail "$d: account is not a link to the one copy"
done
cmp -s "$out/devices/SN-A/assertions/account/acme" "$trust/acme.account" || fail "the account served is not the input's"
ok "layout: tree -> tree.generations/1, devices/SERIAL/assertions/{index,account/acme,account-key/ID}, prerequisites linked"

# --- what each feed holds: the device's own rules ---
[ "$(emails SN-A)" = "all@example.com " ] || fail "SN-A holds $(emails SN-A)"
[ "$(emails SN-B)" = "all@example.com tech@example.com " ] || fail "SN-B holds $(emails SN-B)"
[ "$(emails SN-C)" = "two@example.com " ] || fail "SN-C holds $(emails SN-C)"
[ "$(types SN-A)" = "model system-user " ] || fail "SN-A: $(types SN-A)"
[ "$(types SN-C)" = "system-user " ] || fail "SN-C (no model assertion for appliance-2): $(types SN-C)"
grep -q "later@example.com revision 1: held back until its since, 2027-01-01T00:00:00Z" "$scratch/out" ||
        fail "the future grant is not reported held back: $(cat "$scratch/out")"
grep -q "tech@example.com revision 1: served, in 1 feed$" "$scratch/out" || fail "$(cat "$scratch/out")"
grep -q "all@example.com revision 1: served, in 2 feeds$" "$scratch/out" || fail "$(cat "$scratch/out")"
"$corehomectl" decode "$out/devices/SN-B/assertions/index" >/dev/null || fail "SN-B's feed does not decode"
ok "feeds: SN-A all, SN-B all + its serial-bound grant, SN-C its model's grant; the future grant held back"

# --- stable output: the same input in another order, into another tree: the same bytes ---
publish_to "$scratch/srv/other" "$scratch/future" "$scratch/model-two" "$scratch/serial-b" "$scratch/all" \
        "$trust/appliance-1.model" "$trust/acme.account-key" "$trust/acme.account" || fail "$(cat "$scratch/out")"
diff -r "$out/devices" "$scratch/srv/other/devices" >/dev/null || fail "another order gives other bytes"
diff -r "$out/prerequisites" "$scratch/srv/other/prerequisites" >/dev/null || fail "prerequisites differ"
ok "the same input in another order gives byte-identical files"

# --- unchanged: nothing written, every file kept (same inode, same mtime: same ETag) ---
before_a=$(inode SN-A)
mtime_a=$(mtime SN-A)
publish "${prereqs[@]}" "$scratch/all" "$scratch/serial-b" "$scratch/model-two" "$scratch/future" ||
        fail "republish: $(cat "$scratch/out")"
grep -q "^3 devices: 0 feeds written, 3 unchanged; 2 prerequisites, 0 written$" "$scratch/out" ||
        fail "republish: $(cat "$scratch/out")"
[ "$(readlink "$out")" = tree.generations/2 ] || fail "not swapped to generation 2"
[ "$(inode SN-A)" = "$before_a" ] && [ "$(mtime SN-A)" = "$mtime_a" ] || fail "an unchanged feed was rewritten"
ok "republishing the same input writes nothing: generation 2 links generation 1's files"

# --- revocation: a newer revision; only the feeds holding the grant change, each with a later mtime ---
before_c=$(inode SN-C)
publish "${prereqs[@]}" "$scratch/all-revoked" "$scratch/serial-b" "$scratch/model-two" "$scratch/future" ||
        fail "revocation: $(cat "$scratch/out")"
grep -q "^3 devices: 2 feeds written, 1 unchanged" "$scratch/out" || fail "revocation: $(cat "$scratch/out")"
grep -q "all@example.com revision 2: revoking (until 2026-06-01T00:00:00Z), in 2 feeds" "$scratch/out" ||
        fail "revocation: $(cat "$scratch/out")"
grep -q "^revision: 2" "$out/devices/SN-A/assertions/index" || fail "SN-A does not get revision 2"
[ "$(inode SN-C)" = "$before_c" ] || fail "SN-C's feed was rewritten although it did not change"
[ "$(mtime SN-A)" -gt "$mtime_a" ] || fail "SN-A's new feed has no later mtime ($(mtime SN-A) <= $mtime_a)"
ls "$scratch/srv/tree.generations" | sort | tr '\n' ' ' | grep -qx "2 2.manifest 3 3.manifest lock " ||
        fail "generations kept: $(ls "$scratch/srv/tree.generations")"
ok "a revocation (revision 2, until passed) rewrites the 2 feeds holding it, with a later mtime; 2 generations kept"

# --- held back until since: served once the publish's time has passed it ---
now=--now=2027-02-01T00:00:00Z
publish "${prereqs[@]}" "$scratch/all-revoked" "$scratch/serial-b" "$scratch/model-two" "$scratch/future" ||
        fail "$(cat "$scratch/out")"
[ "$(emails SN-A)" = "all@example.com later@example.com " ] || fail "SN-A after since: $(emails SN-A)"
now=--now=2026-11-25T10:00:00Z
ok "a grant held back until its since is served by the first publish after it"

# --- refused input: nothing is written, the served tree stays ---
served=$(readlink "$out")
check_refused() { # WHAT EXPECTED-MESSAGE INPUT...
        local what=$1 message=$2 rc=0
        shift 2
        publish "$@" || rc=$?
        [ $rc = 1 ] || fail "$what: rc $rc: $(cat "$scratch/out")"
        grep -q -- "$message" "$scratch/out" || fail "$what: $(cat "$scratch/out")"
        [ "$(readlink "$out")" = "$served" ] || fail "$what: the tree was swapped"
        [ ! -e "$scratch/srv/tree.generations/$((${served##*/} + 1))" ] || fail "$what: a generation was left"
}
check_refused "unknown signer" "alice-by-unknown-key.system-user: .*unknown signer" "${prereqs[@]}" \
        "$trust/alice-by-unknown-key.system-user"
python3 - "$scratch/serial-b" "$scratch/tampered" <<'PY'
import sys
data = open(sys.argv[1]).read()
head, sig = data.rsplit("\n\n", 1)
lines = sig.split("\n")
lines[2] = lines[2][:30] + ("A" if lines[2][30] != "A" else "B") + lines[2][31:]
open(sys.argv[2], "w").write(head + "\n\n" + "\n".join(lines))
PY
cmp -s "$scratch/serial-b" "$scratch/tampered" && fail "could not tamper with the signature"
check_refused "bad signature" "tampered: .*bad signature" "${prereqs[@]}" "$scratch/tampered"
check_refused "expired key" "alice-by-expired-key.system-user: .*expired" "${prereqs[@]}" \
        "$trust/acme-expired.account-key" "$trust/alice-by-expired-key.system-user"
check_refused "downgrade" "all: .*revision 1 is older than revision 2 served by generation" "${prereqs[@]}" \
        "$scratch/all" "$scratch/serial-b" "$scratch/model-two" "$scratch/future"
check_refused "no trusted chain" "refused: nothing published" "$trust/alice.system-user"
ok "unknown signer, bad signature, expired key, a downgrade of a served revision: refused, the tree left alone"

# --- a grant left out of the input is not a revocation: said so ---
publish "${prereqs[@]}" "$scratch/all-revoked" "$scratch/serial-b" "$scratch/future" || fail "$(cat "$scratch/out")"
grep -q "note: system-user brand-id=acme email=two@example.com: served by generation .*, not in this input: devices that have it keep the user" \
        "$scratch/out" || fail "no note for the dropped grant: $(cat "$scratch/out")"
[ "$(types SN-C)" = "account " ] || fail "SN-C without grants should get its brand's account: $(types SN-C)"
ok "a grant dropped from the input is noted (devices keep the user); a device with nothing gets its brand's account"

# --- the inventory is strict; DIR must be the publish symlink; one publisher at a time ---
printf 'devices:\n  - serial: SN-A\n    model: appliance-1\n    colour: blue\n' >"$scratch/bad.yaml"
rc=0
"$corehomectl" fleet publish --inventory="$scratch/bad.yaml" --out="$out" --trusted="$trust/trusted/root.assert" \
        "${prereqs[@]}" >"$scratch/out" 2>&1 || rc=$?
[ $rc = 1 ] && grep -q "bad.yaml:4: key 'devices\[1\].colour': unknown key" "$scratch/out" ||
        fail "bad inventory (rc $rc): $(cat "$scratch/out")"
mkdir -p "$scratch/srv/plain"
rc=0
publish_to "$scratch/srv/plain" "${prereqs[@]}" || rc=$?
[ $rc = 1 ] && grep -q "is not a publish symlink" "$scratch/out" || fail "a real directory as --out: $(cat "$scratch/out")"
# The holder is the process itself (flock(1) would leave its child holding the lock when killed).
(exec 9>>"$scratch/srv/tree.generations/lock" && flock 9 && exec sleep 30) &
lock_pid=$!
for _ in $(seq 50); do flock -n "$scratch/srv/tree.generations/lock" true || break; sleep 0.1; done
rc=0
publish "${prereqs[@]}" "$scratch/all-revoked" || rc=$?
[ $rc = 1 ] && grep -q "another publish is running" "$scratch/out" || fail "lock: rc $rc: $(cat "$scratch/out")"
kill "$lock_pid"
wait "$lock_pid" 2>/dev/null || true
lock_pid=
rc=0
"$corehomectl" fleet publish --inventory="$scratch/inv.yaml" --out="$out" "${prereqs[@]}" >"$scratch/out" 2>&1 || rc=$?
[ $rc = 2 ] || fail "publish without --trusted: rc $rc"
ok "inventory errors name FILE:LINE and the key; a real directory as --out, a held lock, no --trusted: refused"

# --- --json ---
"$corehomectl" "$now" --json fleet publish --inventory="$scratch/inv.yaml" --out="$out" \
        --trusted="$trust/trusted/root.assert" "${prereqs[@]}" "$scratch/all-revoked" "$scratch/serial-b" \
        "$scratch/future" >"$scratch/out.json" 2>/dev/null || fail "--json publish"
python3 - "$scratch/out.json" <<'PY' || fail "--json: $(cat "$scratch/out.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["published"] and r["devices"] == 3 and r["feeds-written"] == 0, r
g = {x["email"]: x for x in r["grants"]}
assert g["all@example.com"]["state"] == "revoking" and g["all@example.com"]["devices"] == 2, g
assert g["later@example.com"]["state"] == "held-back" and g["later@example.com"]["devices"] == 0, g
assert len(r["assertions"]) == 6, r["assertions"]
PY
ok "--json: published, counts, grants with their state"

# --- a device stores its feed and prerequisites and creates its users from them ---
dev="$scratch/device"
mkdir -p "$dev/etc/corehomed/trusted"
cp "$trust/trusted/root.assert" "$dev/etc/corehomed/trusted/"
echo 0123456789abcdef0123456789abcdef >"$dev/etc/machine-id"
printf 'device:\n  brand-id: acme\n  model: appliance-1\n  serial: SN-B\n' >"$dev/etc/corehomed/corehomed.yaml"
feed="$out/devices/SN-B/assertions"
"$corehomectl" --root="$dev" "$now" import "$feed/account/acme" "$feed/account-key/$key_id" "$feed/index" \
        >"$scratch/out" 2>&1 || fail "the device refuses its feed: $(cat "$scratch/out")"
"$corehomectl" --root="$dev" "$now" create-user --known >"$scratch/out" 2>&1 || true
grep -q "^tech: created" "$scratch/out" || fail "SN-B did not create its serial-bound user: $(cat "$scratch/out")"
ok "device SN-B imports its feed and prerequisites and creates its users ($(grep -c ': created' "$scratch/out") created)"

echo "$passed publish checks passed"
