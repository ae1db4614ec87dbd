#!/usr/bin/env bash
# The grant lifecycle through corehomectl, offline (--root, --now): snapd's own bundle, device rules at
# their exact time boundaries, pending serials, revocation, expiry, media policies, JSON output.
set -euo pipefail
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"
snapd="$INTEROP_DIR/snapd"
scratch=$(mktemp -d /tmp/corehomed-cli.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
passed=0

fail() {
        echo "FAIL: $*"
        exit 1
}
ok() {
        echo "ok: $*"
        passed=$((passed + 1))
}

# new_device DIR BRAND MODEL [SERIAL]: a scratch root trusting our test root (and snapd's testrootorg)
new_device() {
        mkdir -p "$1/etc/corehomed/trusted" "$1/stick"
        cp "$trust/trusted/root.assert" "$1/etc/corehomed/trusted/test-root.assert"
        { cat "$snapd/testrootorg.account"; echo; cat "$snapd/testrootorg-root.account-key"; } \
                >"$1/etc/corehomed/trusted/testrootorg.assert"
        echo 0123456789abcdef0123456789abcdef >"$1/etc/machine-id"
        printf 'device:\n  brand-id: %s\n  model: %s\n' "$2" "$3" >"$1/etc/corehomed/corehomed.yaml"
        [ -z "${4:-}" ] || printf '  serial: %s\n' "$4" >>"$1/etc/corehomed/corehomed.yaml"
}

has_user() { [ -f "$1/var/lib/systemd/home/$2.identity" ] && [ -d "$1/home/$2.homedir" ]; }

now=--now=2026-11-25T10:00:00Z

# --- snapd's own bundle (issue 5's proof) ---
d="$scratch/developer1"
new_device "$d" developer1 testkeys-snapd-signed-core-20-amd64
cp "$snapd/developer1-20-auto-import.assert" "$d/stick/auto-import.assert"
"$corehomectl" --root="$d" "$now" import-media "$d/stick" >"$scratch/out" 2>&1 || fail "developer1 bundle: $(cat "$scratch/out")"
has_user "$d" user1 || fail "developer1 bundle did not create user1"
ok "snapd's developer1-20 bundle creates user1 on testkeys-snapd-signed-core-20-amd64"

d="$scratch/other-model"
new_device "$d" developer1 other-model
cp "$snapd/developer1-20-auto-import.assert" "$d/stick/auto-import.assert"
if "$corehomectl" --root="$d" "$now" import-media "$d/stick" >"$scratch/out" 2>&1; then
        fail "other-model accepted the developer1 grant"
fi
grep -q '"other-model" not in models' "$scratch/out" || fail "other-model: no reason given: $(cat "$scratch/out")"
has_user "$d" user1 && fail "other-model created user1"
ok "model other-model yields nothing and says: $(grep -o '"other-model" not in models.*' "$scratch/out")"

# --- exact time boundaries of since <= now < until (alice: since 2016-01-01, until 2030-01-01) ---
boundary() { # boundary NOW EXPECT(created|refused)
        local d="$scratch/time-$1"
        new_device "$d" acme appliance-1
        "$corehomectl" --root="$d" --now=2016-06-01T00:00:00Z import "$trust/stick.assert" >/dev/null
        local rc=0
        "$corehomectl" --root="$d" --now="$1" create-user --known alice@example.com >"$scratch/out" 2>&1 || rc=$?
        if [ "$2" = created ]; then
                [ $rc = 0 ] && has_user "$d" alice || fail "at $1 alice should be created: $(cat "$scratch/out")"
        else
                [ $rc = 1 ] && ! has_user "$d" alice || fail "at $1 alice should be refused: $(cat "$scratch/out")"
        fi
        ok "at $1: $2"
}
boundary 2016-01-01T00:00:00Z created
# One microsecond before since, the clock is behind the time floor (the trusted roots and the stored
# assertions were made on 2016-01-01): grant windows are checked at the floored clock, as signatures are, so
# alice is valid. The exact since boundary of the rule itself is in test-grant-policy-time.
boundary 2015-12-31T23:59:59.999999Z created
boundary 2029-12-31T23:59:59.999999Z created
boundary 2030-01-01T00:00:00Z refused

# --- idempotence, update to a higher revision, revocation ---
d="$scratch/lifecycle"
new_device "$d" acme appliance-1
cp "$trust/stick.assert" "$d/stick/auto-import.assert"
"$corehomectl" --root="$d" "$now" import-media "$d/stick" >/dev/null
"$corehomectl" --root="$d" "$now" import-media "$d/stick" >"$scratch/out"
grep -q '^alice: unchanged$' "$scratch/out" || fail "re-plugging the stick was not a no-op: $(cat "$scratch/out")"
ok "re-plugging the same stick is a no-op"
before=$(grep lastChangeUSec "$d/var/lib/systemd/home/alice.identity")
"$corehomectl" --root="$d" "$now" import "$trust/alice-r1.system-user" >/dev/null
"$corehomectl" --root="$d" "$now" create-user --known >"$scratch/out"
grep -q '^alice: updated' "$scratch/out" || fail "revision 1 did not update alice: $(cat "$scratch/out")"
grep -q '"realName" : "Alice Liddell"' "$d/var/lib/systemd/home/alice.identity" || fail "record not updated"
[ "$before" != "$(grep lastChangeUSec "$d/var/lib/systemd/home/alice.identity")" ] || fail "lastChangeUSec unchanged"
ok "a higher revision updates the record with a newer lastChangeUSec"
"$corehomectl" --root="$d" "$now" import "$trust/alice-r2-revoked.system-user" >/dev/null
"$corehomectl" --root="$d" "$now" create-user --known >"$scratch/out"
grep -q '^alice: removed: revoked by revision 2' "$scratch/out" || fail "revision 2 did not revoke: $(cat "$scratch/out")"
has_user "$d" alice && fail "revoked alice still exists"
ok "a revision whose until has passed revokes the user"

# --- serial-bound grant: pending without a serial, created once the serial is known ---
d="$scratch/serial"
new_device "$d" acme appliance-1
"$corehomectl" --root="$d" "$now" import "$trust/acme.account" "$trust/acme.account-key" \
        "$trust/alice-r3-serial.system-user" >/dev/null
"$corehomectl" --root="$d" "$now" create-user --known >"$scratch/out"
grep -q '^alice: pending' "$scratch/out" || fail "serial-bound grant not pending: $(cat "$scratch/out")"
has_user "$d" alice && fail "pending grant created a user"
printf '  serial: SN-0002\n' >>"$d/etc/corehomed/corehomed.yaml"
"$corehomectl" --root="$d" "$now" create-user --known >"$scratch/out"
grep -q '^alice: skipped: "SN-0002" not in serials' "$scratch/out" || fail "wrong serial: $(cat "$scratch/out")"
sed -i 's/SN-0002/SN-0001/' "$d/etc/corehomed/corehomed.yaml"
"$corehomectl" --root="$d" "$now" create-user --known >"$scratch/out"
has_user "$d" alice || fail "serial-bound grant not applied once the serial is known: $(cat "$scratch/out")"
ok "serial-bound grant: pending, then refused for SN-0002, created for SN-0001"

# --- media.create-users policies, and a name taken by the base system ---
d="$scratch/never"
new_device "$d" acme appliance-1
printf 'media:\n  create-users: never\n' >>"$d/etc/corehomed/corehomed.yaml"
cp "$trust/stick.assert" "$d/stick/auto-import.assert"
"$corehomectl" --root="$d" "$now" import-media "$d/stick" >"$scratch/out"
has_user "$d" alice && fail "media.create-users: never created a user"
grep -q 'media.create-users: never' "$scratch/out" || fail "never: no explanation"
ok "media.create-users: never stores the assertions, creates nobody"

d="$scratch/unmanaged"
new_device "$d" acme appliance-1
printf 'media:\n  create-users: unmanaged-only\n' >>"$d/etc/corehomed/corehomed.yaml"
cp "$trust/stick.assert" "$d/stick/auto-import.assert"
"$corehomectl" --root="$d" "$now" import-media "$d/stick" >/dev/null
has_user "$d" alice || fail "unmanaged-only: first user not created"
cp "$trust/alice-r1.system-user" "$d/stick/auto-import.assert"
"$corehomectl" --root="$d" "$now" import-media "$d/stick" >"$scratch/out"
grep -q '"realName" : "Alice"' "$d/var/lib/systemd/home/alice.identity" || fail "unmanaged-only: user changed"
grep -q 'unmanaged-only' "$scratch/out" || fail "unmanaged-only: second stick not explained: $(cat "$scratch/out")"
ok "media.create-users: unmanaged-only creates users only on a device without any"

d="$scratch/taken"
new_device "$d" acme appliance-1
echo 'alice:x:1000:1000::/home/alice:/bin/sh' >"$d/etc/passwd"
cp "$trust/stick.assert" "$d/stick/auto-import.assert"
if "$corehomectl" --root="$d" "$now" import-media "$d/stick" >"$scratch/out" 2>&1; then
        fail "a name from /etc/passwd was taken over"
fi
grep -q 'already taken in /etc/passwd' "$scratch/out" || fail "taken: $(cat "$scratch/out")"
ok "a user name of the base system is refused"

# --- JSON for scripts, inspect, remove, expire ---
d="$scratch/lifecycle2"
new_device "$d" acme appliance-1
cp "$trust/stick.assert" "$d/stick/auto-import.assert"
"$corehomectl" --root="$d" "$now" --json import-media "$d/stick" >"$scratch/out.json"
python3 - "$scratch/out.json" <<'PY'
import json, sys
o = json.load(open(sys.argv[1]))
assert [a["verdict"] for a in o["assertions"]] == ["added"] * 3, o
assert o["users"] == [{"user": "alice", "assertion": "system-user brand-id=acme email=alice@example.com",
                       "outcome": "created"}], o["users"]
PY
"$corehomectl" --root="$d" "$now" --json list | python3 -c '
import json, sys
l = json.load(sys.stdin)
assert len(l) == 1 and l[0]["user"] == "alice" and l[0]["brand"] == "acme" and l[0]["state"] == "inactive", l
assert 60001 <= l[0]["uid"] <= 60513, l'
"$corehomectl" --root="$d" "$now" --json inspect alice | python3 -c '
import json, sys
o = json.load(sys.stdin)
assert o["signature"] == "signed-exclusive" and o["record"]["userName"] == "alice", o
assert o["assertion"]["headers"]["email"] == "alice@example.com", o'
"$corehomectl" --root="$d" "$now" --json status | python3 -c '
import json, sys
o = json.load(sys.stdin)
assert o["device"].startswith("acme/appliance-1") and o["users"] == 1, o'
ok "--json output of import-media, list, inspect, status parses and says what happened"
"$corehomectl" --root="$d" "$now" remove alice >/dev/null
has_user "$d" alice && fail "remove left alice"
if "$corehomectl" --root="$d" "$now" remove alice 2>"$scratch/out"; then fail "removing twice succeeded"; fi
grep -q 'no such user' "$scratch/out" || fail "remove unknown: $(cat "$scratch/out")"
ok "remove deletes the user; removing an unknown user fails with a reason"

echo "$passed checks passed"
