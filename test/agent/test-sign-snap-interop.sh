#!/usr/bin/env bash
# Proof against the real thing for `corehomectl sign`:
#  1. for the same input, Debian's `snap sign` and `corehomectl sign` print byte-identical assertions (with
#     gpg's clock frozen in gpg.conf so both signatures carry the same creation time; RSA PKCS#1 v1.5 is
#     deterministic), and identical signed content with the real clock;
#  2. YAML input signs to the same bytes as the JSON it mirrors;
#  3. bad input is refused by both, including what only a device's typed checks catch (format 3, serials
#     in a format-0 grant, password hashes, a global grant longer than a year);
#     --json for sign and export-key;
#  4. snapd's own asserts.Database (Go, built here in GOPATH mode) accepts what we signed: a trusted root,
#     a brand account + account-key, system-users of formats 0 and 1 and a model; and refuses a tampered one.
set -euo pipefail

ctl="$BUILD_DIR/agent/corehomectl"
fx="$FIXTURES_DIR/signing"
keys="$FIXTURES_DIR/keys"
tmp=$(mktemp -d /tmp/corehomed-sign-XXXXXX)
home="$tmp/gnupg"      # clock frozen: whole outputs comparable
livehome="$tmp/live"   # real clock

cleanup() {
        gpgconf --homedir "$home" --kill all >/dev/null 2>&1 || true
        gpgconf --homedir "$livehome" --kill all >/dev/null 2>&1 || true
        rm -rf "$tmp"
}
trap cleanup EXIT

for tool in gpg gpgconf snap python3; do
        if ! command -v "$tool" >/dev/null; then
                echo "SKIP: $tool is not installed"
                exit 77
        fi
done

fail() {
        echo "FAIL: $*" >&2
        exit 1
}

for h in "$home" "$livehome"; do
        mkdir -m 700 "$h"
        gpg --homedir "$h" --batch -q --import "$keys/test-brand.secret.asc" "$keys/test-brand2.secret.asc" 2>/dev/null
done
echo 'faked-system-time 20240101T000000!' > "$home/gpg.conf"

KEY1=corehomed-test-brand
KEY2=corehomed-test-brand2
ROOT=corehomed-test-root
BRAND=acme

# Key ids and bodies as export-key prints them.
id_of() {
        "$ctl" --root=/ --now=2024-01-01T00:00:00Z export-key --gnupg-home="$home" --account=x "$1" |
                sed -n 's/^public-key-sha3-384: //p'
}
KEYID1=$(id_of $KEY1)
KEYID2=$(id_of $KEY2)
"$ctl" export-key --gnupg-home="$home" $KEY1 > "$tmp/body1"
"$ctl" export-key --gnupg-home="$home" $KEY2 > "$tmp/body2"
[ ${#KEYID1} -eq 64 ] && [ ${#KEYID2} -eq 64 ] || fail "export-key printed no key id"

# fill IN OUT: replaces the placeholders (JSON-escaped bodies).
fill() {
        python3 - "$1" "$2" "$ROOT" "$BRAND" "$KEYID1" "$KEYID2" "$tmp/body1" "$tmp/body2" <<'PY'
import json, sys
src, dst, root, brand, k1, k2, b1, b2 = sys.argv[1:]
text = open(src).read()
body1 = open(b1).read().rstrip("\n")
body2 = open(b2).read().rstrip("\n")
for a, b in (("@ROOT@", root), ("@BRAND@", brand), ("@KEY@", k1), ("@KEY2@", k2),
             ("@BODY@", json.dumps(body1)[1:-1]), ("@BODY2@", json.dumps(body2)[1:-1])):
    text = text.replace(a, b)
open(dst, "w").write(text)
PY
}

# sign_both NAME KEY [GNUPGHOME]: signs fixture NAME.json with both tools; outputs in $tmp/NAME.{snap,ours}
sign_both() {
        local name=$1 key=$2 h=${3:-$home}
        fill "$fx/$name.json" "$tmp/$name.json"
        SNAP_GNUPG_HOME="$h" snap sign -k "$key" < "$tmp/$name.json" > "$tmp/$name.snap" ||
                fail "snap sign refused $name"
        "$ctl" sign --key="$key" --gnupg-home="$h" "$tmp/$name.json" > "$tmp/$name.ours" ||
                fail "corehomectl sign refused $name"
}

# 1. byte-identical output
for spec in root-account:$KEY1 root-account-key:$KEY1 brand-account:$KEY1 brand-account-key:$KEY1 \
            system-user-format0:$KEY2 system-user-format1:$KEY2 model:$KEY2; do
        name=${spec%%:*}
        sign_both "$name" "${spec#*:}"
        cmp "$tmp/$name.snap" "$tmp/$name.ours" || {
                diff "$tmp/$name.snap" "$tmp/$name.ours" >&2 || true
                fail "$name: corehomectl sign differs from snap sign"
        }
        echo "ok: $name: identical to snap sign"
done

# ... and with the real clock: the signed content is identical (the signatures differ in creation time only)
content() { python3 -c 'import sys; t=open(sys.argv[1]).read(); print(t[:t.rstrip("\n").rindex("\n\n")], end="")' "$1"; }
sign_both system-user-format1 $KEY2 "$livehome"
[ "$(content "$tmp/system-user-format1.snap")" = "$(content "$tmp/system-user-format1.ours")" ] ||
        fail "live clock: signed content differs"
[ -n "$(content "$tmp/system-user-format1.ours")" ] || fail "empty content"
echo "ok: real clock: identical signed content"

# 2. YAML input signs to the same bytes as its JSON twin
for name in system-user-format0 model; do
        fill "$fx/$name.yaml" "$tmp/$name.yaml"
        key=$KEY2
        "$ctl" sign --key=$key --gnupg-home="$home" "$tmp/$name.yaml" > "$tmp/$name.yaml.ours" ||
                fail "corehomectl sign refused $name.yaml"
        cmp "$tmp/$name.yaml.ours" "$tmp/$name.snap" || fail "$name.yaml differs from snap sign of $name.json"
        echo "ok: $name.yaml: identical to snap sign of the JSON"
done
# standard input works too
"$ctl" sign --key=$KEY2 --gnupg-home="$home" - < "$tmp/model.json" | cmp - "$tmp/model.snap" ||
        fail "sign from standard input differs"

# 3. bad input: refused by both, with a reason from us
refuse() {
        local name=$1 expect=$2 ext=${3:-json}
        fill "$fx/$name.$ext" "$tmp/$name.$ext"
        if [ "$ext" = json ] && SNAP_GNUPG_HOME="$home" snap sign -k $KEY2 < "$tmp/$name.$ext" > /dev/null 2>&1; then
                fail "snap sign accepted $name.$ext"
        fi
        if "$ctl" sign --key=$KEY2 --gnupg-home="$home" "$tmp/$name.$ext" > "$tmp/out" 2> "$tmp/err"; then
                fail "corehomectl sign accepted $name.$ext"
        fi
        [ ! -s "$tmp/out" ] || fail "$name.$ext: printed something although refused"
        grep -q -- "$expect" "$tmp/err" || fail "$name.$ext: expected '$expect' in: $(cat "$tmp/err")"
        echo "ok: $name.$ext refused: $(cat "$tmp/err")"
}
refuse bad-number "header values must be strings"
refuse bad-number "is not a string in YAML; quote it" yaml
refuse bad-no-type "missing assertion type header"
refuse bad-unknown-type "invalid assertion type"
refuse bad-missing-email '"email" header is mandatory'
# What a device's typed checks refuse (assertions/system-user.c), in the device's words: never signed.
refuse bad-format3 "devices refuse it: assertion system-user: format 3 is not supported (at most 2)"
refuse bad-serials-format0 'devices refuse it: .*the "serials" header is only supported for format 1 or greater'
refuse bad-password-md5 '"password" header only supports .id. values of 6 (sha512crypt) or higher'
refuse bad-password-rounds '"password" header rounds parameter out of bounds: 1000'
refuse bad-global-two-years "'until' time cannot be more than 365 days in the future when no models are specified"
if "$ctl" sign --key=no-such-key --gnupg-home="$home" "$tmp/model.json" 2> "$tmp/err" >/dev/null; then
        fail "signed with a key that does not exist"
fi
grep -q "cannot find key named 'no-such-key'" "$tmp/err" || fail "unknown key: $(cat "$tmp/err")"

# --json: sign gives the same text with its type and key; export-key its id, key and request
"$ctl" --json sign --key=$KEY2 --gnupg-home="$home" "$tmp/model.json" >"$tmp/model.sign.json" ||
        fail "sign --json refused model.json"
python3 - "$tmp/model.sign.json" "$tmp/model.snap" "$KEYID2" <<'PY' || fail "sign --json: $(cat "$tmp/model.sign.json")"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["assertion"] == open(sys.argv[2]).read(), "assertion differs from snap sign's"
assert o["type"] == "model" and o["sign-key-sha3-384"] == sys.argv[3], o
PY
"$ctl" --json --root=/ --now=2024-01-01T00:00:00Z export-key --gnupg-home="$home" --account=acme $KEY1 \
        >"$tmp/key.json" || fail "export-key --json"
python3 - "$tmp/key.json" "$tmp/body1" "$KEYID1" <<'PY' || fail "export-key --json: $(cat "$tmp/key.json")"
import json, sys
o = json.load(open(sys.argv[1]))
assert o["name"] == "corehomed-test-brand" and o["public-key-sha3-384"] == sys.argv[3], o
assert o["public-key"] == open(sys.argv[2]).read().rstrip("\n"), "public key differs from export-key's"
assert o["account-key-request"].startswith("type: account-key-request\n"), o
assert "public-key-sha3-384: " + sys.argv[3] in o["account-key-request"], o
PY
echo "ok: sign --json and export-key --json"

# 4. snapd's own database accepts what we signed
gopath="$tmp/go"
mkdir -p "$gopath/src/snapd-accept"
cp "$SOURCE_DIR/test/interop/snapd-accept/main.go" "$gopath/src/snapd-accept/"
if ! (cd "$gopath/src/snapd-accept" &&
      GOPATH="$gopath:/usr/share/gocode" GO111MODULE=off GOFLAGS= GOPROXY=off go build -o "$tmp/snapd-accept" .); then
        fail "cannot build the snapd acceptance program (golang-go and snapd's Go source are in make deps)"
fi
{ cat "$tmp/root-account.ours"; echo; cat "$tmp/root-account-key.ours"; } > "$tmp/trusted.assert"
"$tmp/snapd-accept" "$tmp/trusted.assert" "$tmp/brand-account.ours" "$tmp/brand-account-key.ours" \
        "$tmp/system-user-format0.ours" "$tmp/system-user-format1.ours" "$tmp/model.ours" ||
        fail "snapd refused assertions signed by corehomectl"

# the same database refuses a tampered assertion and one signed by a key it does not know
sed 's/^username: alice$/username: mallory/' "$tmp/system-user-format0.ours" > "$tmp/tampered.assert"
cmp -s "$tmp/tampered.assert" "$tmp/system-user-format0.ours" && fail "tampering changed nothing"
"$tmp/snapd-accept" "$tmp/trusted.assert" "$tmp/brand-account.ours" "$tmp/brand-account-key.ours" \
        -refuse "$tmp/tampered.assert" || fail "snapd accepted a tampered assertion"
"$tmp/snapd-accept" "$tmp/trusted.assert" -refuse "$tmp/system-user-format0.ours" ||
        fail "snapd accepted a system-user signed by a key it does not know"
echo "ok: snapd accepts what corehomectl signed"
