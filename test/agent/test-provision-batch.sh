#!/usr/bin/env bash
# What one import does with a whole batch, through corehomectl offline (--root, --now), as a stick brings it:
#  - snapd's rule for one key and revision: of two different assertions the first is kept, the other is
#    reported "skipped" with the reason and does not apply; the stored one is kept against a same-revision
#    copy; snapd's developer1 account, account-key and auto-import bundle (which carries re-signed copies of
#    both) import together;
#  - a clock-less device (clock at 1970-01-02) takes its time floor from its trusted roots, for the
#    signatures and for the grants' since/until windows, and imports a valid stick;
#  - a big stick: 500 grants in one auto-import.assert (one stream, within the 1 MiB media bound) are
#    stored as one batch and become 500 users.
set -euo pipefail
corehomectl="$BUILD_DIR/agent/corehomectl"
sign_many="$BUILD_DIR/test/sign-many"
trust="$FIXTURES_DIR/trust"
snapd="$INTEROP_DIR/snapd"
keys="$FIXTURES_DIR/keys"
GRANTS=${GRANTS:-500}
scratch=$(mktemp -d /tmp/corehomed-batch.XXXXXX)
export GNUPGHOME="$scratch/gnupg"
cleanup() {
        gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null || true
        rm -rf "$scratch"
}
trap cleanup EXIT

fail() {
        echo "FAIL: $*"
        exit 1
}
ok() { echo "ok: $*"; }

# new_device DIR BRAND MODEL: a scratch root trusting our test root and snapd's testrootorg
new_device() {
        mkdir -p "$1/etc/corehomed/trusted" "$1/stick"
        cp "$trust/trusted/root.assert" "$1/etc/corehomed/trusted/test-root.assert"
        { cat "$snapd/testrootorg.account"; echo; cat "$snapd/testrootorg-root.account-key"; } \
                >"$1/etc/corehomed/trusted/testrootorg.assert"
        echo 0123456789abcdef0123456789abcdef >"$1/etc/machine-id"
        printf 'device:\n  brand-id: %s\n  model: %s\n' "$2" "$3" >"$1/etc/corehomed/corehomed.yaml"
}
# stick DIR FILE...: the files as one stream, DIR/stick/auto-import.assert
stick() {
        local d=$1 f
        shift
        for f in "$@"; do cat "$f"; echo; done >"$d/stick/auto-import.assert"
}
has_user() { [ -f "$1/var/lib/systemd/home/$2.identity" ] && [ -d "$1/home/$2.homedir" ]; }
real_name() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["realName"])' \
        "$1/var/lib/systemd/home/$2.identity"; }

now=--now=2026-11-25T10:00:00Z

# --- snapd's rule: two grants with one key and revision on one stick, the first is kept ---
d="$scratch/same-revision"
new_device "$d" acme appliance-1
stick "$d" "$trust/acme.account" "$trust/acme.account-key" "$trust/alice-r1.system-user" \
        "$trust/alice-r1-conflict.system-user"
"$corehomectl" --root="$d" "$now" import-media "$d/stick" >"$scratch/out" 2>&1 ||
        fail "a stick with two revisions 1 of alice was refused: $(cat "$scratch/out")"
grep -q 'system-user brand-id=acme email=alice@example.com: skipped: a different system-user with the same key and revision 1 comes first in this batch (#3) and is kept' \
        "$scratch/out" || fail "the skipped grant is not reported: $(cat "$scratch/out")"
[ "$(real_name "$d" alice)" = "Alice Liddell" ] || fail "alice is not made from the kept (first) grant"
[ "$(grep -c '^alice:' "$scratch/out")" = 1 ] || fail "the skipped grant applied: $(cat "$scratch/out")"
ok "two grants with one key and revision: the first is kept and applies, the second is reported skipped"

rm -rf "$d/var/lib/systemd" "$d/home" "$d/var/lib/corehomed"
"$corehomectl" --root="$d" "$now" --json import-media "$d/stick" >"$scratch/out.json"
python3 - "$scratch/out.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
v = [a["verdict"] for a in o["assertions"]]
assert v == ["added", "added", "added", "skipped"], v
assert "is kept, as snapd keeps the first" in o["assertions"][3]["reason"], o["assertions"][3]
assert "reason" not in o["assertions"][2], o["assertions"][2]
assert o["committed"] is True, o
assert o["users"] == [{"user": "alice", "assertion": "system-user brand-id=acme email=alice@example.com",
                       "outcome": "created"}], o["users"]
PY
ok "--json: the skipped assertion has verdict \"skipped\" and a reason; one user"

# --- the stored grant is kept against a same-revision copy with other content ---
stick "$d" "$trust/alice-r1-conflict.system-user"
"$corehomectl" --root="$d" "$now" import-media "$d/stick" >"$scratch/out" 2>&1 ||
        fail "a same-revision copy of a stored grant was refused: $(cat "$scratch/out")"
grep -q 'skipped: revision 1 is already stored with different content: the stored one is kept' "$scratch/out" ||
        fail "the stored one kept is not reported: $(cat "$scratch/out")"
grep -q '^alice:' "$scratch/out" && fail "the skipped copy applied: $(cat "$scratch/out")"
[ "$(real_name "$d" alice)" = "Alice Liddell" ] || fail "alice changed"
"$corehomectl" --root="$d" "$now" create-user --known >"$scratch/out"
grep -q '^alice: unchanged$' "$scratch/out" || fail "the stored grant is not the kept one: $(cat "$scratch/out")"
ok "a same-revision copy of a stored grant: skipped and reported, the stored one stays and applies"

# --- snapd's developer1 files and the auto-import bundle together ---
d="$scratch/developer1"
new_device "$d" developer1 testkeys-snapd-signed-core-22-amd64
stick "$d" "$snapd/testrootorg-store.account-key" "$snapd/developer1.account" "$snapd/developer1.account-key" \
        "$snapd/developer1-22-auto-import.assert"
"$corehomectl" --root="$d" "$now" --json import-media "$d/stick" >"$scratch/out.json" 2>"$scratch/err" ||
        fail "snapd's developer1 files and bundle together: $(cat "$scratch/out.json" "$scratch/err")"
python3 - "$scratch/out.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
v = [(a["type"], a["verdict"]) for a in o["assertions"]]
assert v == [("account-key", "added"), ("account", "added"), ("account-key", "added"), ("account", "skipped"),
             ("account-key", "skipped"), ("system-user", "added")], v
assert o["committed"] is True and [u["outcome"] for u in o["users"]] == ["created"], o
PY
has_user "$d" user1 || fail "user1 not created from snapd's bundle"
"$corehomectl" --root="$d" "$now" --json known account-key | python3 -c '
import json, sys
keys = {k["headers"]["public-key-sha3-384"]: k["headers"]["sign-key-sha3-384"] for k in json.load(sys.stdin)}
# developer1 key as snapd stores it: the copy signed by the store key, first in the batch
assert keys["EAD4DbLxK_kn0gzNCXOs3kd6DeMU3f-L6BEsSEuJGBqCORR0gXkdDxMbOm11mRFu"] == \
        "XCIC_Wvj9_hiAt0b10sDon74oGr3a6xGODkMZqrj63ZzNYUD5N87-ojjPoeN7f1Y", keys'
ok "snapd's developer1 account, account-key and bundle together: stored per snapd's rule, user1 created"

# --- a clock-less device: the clock says 1970, the floor comes from the trusted roots ---
d="$scratch/clockless"
new_device "$d" acme appliance-1
cp "$trust/stick.assert" "$d/stick/auto-import.assert"
"$corehomectl" --root="$d" --now=1970-01-02T00:00:00Z import-media "$d/stick" >"$scratch/out" 2>&1 ||
        fail "a fresh device at 1970-01-02 refused a valid stick: $(cat "$scratch/out")"
has_user "$d" alice || fail "alice not created at 1970-01-02: $(cat "$scratch/out")"
"$corehomectl" --root="$d" --now=1970-01-02T00:00:00Z --json status | python3 -c '
import json, sys
o = json.load(sys.stdin)
assert o["clock-floor"] >= "2016-01-01T00:00:00Z", o  # the trusted roots: ours (2016), testrootorg (2018)'
ok "a fresh device at 1970-01-02 imports a valid stick (its clock floored by the trusted roots)"

# --- a big stick: $GRANTS grants in one stream ---
if ! command -v gpg >/dev/null; then
        echo "SKIP: gpg not installed (the big stick needs $GRANTS signed grants)"
        exit 77
fi
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --import "$keys/test-brand.secret.asc" 2>/dev/null
mkdir "$scratch/signed"
for i in $(seq -f '%03g' "$GRANTS"); do
        printf '{"type":"system-user","authority-id":"acme","brand-id":"acme","email":"tech%s@example.com",' "$i"
        printf '"series":["16"],"models":["appliance-1"],"name":"Tech %s","username":"tech%s",' "$i" "$i"
        printf '"since":"2016-01-01T00:00:00Z","until":"2030-01-01T00:00:00Z"}\n'
done | "$sign_many" "$GNUPGHOME" corehomed-test-brand "$scratch/signed"
d="$scratch/big"
new_device "$d" acme appliance-1
stick "$d" "$trust/acme.account" "$trust/acme.account-key" "$scratch"/signed/*.assert
size=$(stat -c %s "$d/stick/auto-import.assert")
[ "$size" -le $((1024 * 1024)) ] || fail "the big stick's file is $size bytes, more than a stick may hold"
start=$(date +%s%N)
"$corehomectl" --root="$d" "$now" --json import-media "$d/stick" >"$scratch/out.json" 2>"$scratch/err" ||
        fail "the stick with $GRANTS grants was refused: $(head -c 2000 "$scratch/out.json" "$scratch/err")"
ms=$((($(date +%s%N) - start) / 1000000))
python3 - "$scratch/out.json" "$GRANTS" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert len(o["assertions"]) == n + 2 and all(a["verdict"] == "added" for a in o["assertions"]), o["assertions"][:3]
assert o["committed"] is True, o
assert len(o["users"]) == n and all(u["outcome"] == "created" for u in o["users"]), o["users"][:3]
PY
[ "$(ls "$d"/var/lib/systemd/home/*.identity | wc -l)" = "$GRANTS" ] || fail "not $GRANTS records"
has_user "$d" tech001 && has_user "$d" "tech$GRANTS" || fail "tech001 or tech$GRANTS missing"
"$corehomectl" --root="$d" "$now" import-media "$d/stick" >"$scratch/out"
[ "$(grep -c '^tech[0-9]*: unchanged$' "$scratch/out")" = "$GRANTS" ] || fail "re-plugging the big stick was not a no-op"
ok "a stick with $GRANTS grants ($size bytes, one stream): one batch, $GRANTS users in $ms ms; re-plugged: unchanged"
