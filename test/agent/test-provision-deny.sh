#!/usr/bin/env bash
# The device owner's local revoke through corehomectl, offline (--root, --now): deny removes alice and keeps
# her away across re-plugged sticks, create-user --known (all, and by email), a grant of another email for the
# same name, new processes (each command is one); allow lets her back; the brand's assertions are untouched;
# list and status show the denied names; JSON; refusals (an invalid name, a home corehomed did not make, a
# corrupt deny list); an interrupted deny is finished by the next writer.
set -euo pipefail
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"
scratch=$(mktemp -d /tmp/corehomed-deny.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
now=--now=2026-11-25T10:00:00Z
passed=0

fail() {
        echo "FAIL: $*"
        exit 1
}
ok() {
        echo "ok: $*"
        passed=$((passed + 1))
}

new_device() { # new_device DIR: acme/appliance-1 trusting the test root, with a stick carrying alice's grant
        mkdir -p "$1/etc/corehomed/trusted" "$1/stick"
        cp "$trust/trusted/root.assert" "$1/etc/corehomed/trusted/"
        echo 0123456789abcdef0123456789abcdef >"$1/etc/machine-id"
        printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$1/etc/corehomed/corehomed.yaml"
        cp "$trust/stick.assert" "$1/stick/auto-import.assert"
}
has_user() { [ -f "$1/var/lib/systemd/home/$2.identity" ] || [ -d "$1/home/$2.homedir" ]; }
ctl() { "$corehomectl" --root="$d" "$now" "$@"; }
expect_rc() { # expect_rc RC COMMAND...: runs corehomectl on $d, output in $scratch/out
        local want=$1 rc=0
        shift
        ctl "$@" >"$scratch/out" 2>&1 || rc=$?
        [ "$rc" = "$want" ] || fail "$* exited $rc, expected $want: $(cat "$scratch/out")"
}

d="$scratch/device"
new_device "$d"
expect_rc 0 import-media "$d/stick"
has_user "$d" alice || fail "the stick did not create alice"
ctl known system-user >"$scratch/known-before"

# --- deny removes the user and says so ---
expect_rc 0 deny alice
grep -q '^alice: denied: denied on this device by the administrator; the user and its home were removed$' \
        "$scratch/out" || fail "deny: $(cat "$scratch/out")"
has_user "$d" alice && fail "deny left alice's record or home"
[ "$(stat -c %a "$d/var/lib/corehomed/denied.json")" = 600 ] || fail "the deny list is not 0600"
ok "deny alice removes her with her home"

# --- ... and keeps every grant for the name from applying ---
expect_rc 1 import-media "$d/stick"
grep -q 'system-user brand-id=acme email=alice@example.com: denied on this device by the administrator' \
        "$scratch/out" || fail "re-plugged stick: $(cat "$scratch/out")"
has_user "$d" alice && fail "a re-plugged stick brought alice back"
ok "a re-plugged stick is refused for alice: $(grep -o 'denied on this.*' "$scratch/out" | head -n1)"

expect_rc 0 create-user --known
grep -q '^alice: skipped: denied on this device by the administrator$' "$scratch/out" ||
        fail "create-user --known: $(cat "$scratch/out")"
has_user "$d" alice && fail "create-user --known brought alice back"
expect_rc 1 create-user --known alice@example.com
grep -q 'denied on this device by the administrator' "$scratch/out" || fail "by email: $(cat "$scratch/out")"
has_user "$d" alice && fail "create-user --known EMAIL brought alice back"
ok "create-user --known skips alice, and refuses her when asked by email"

expect_rc 0 import "$trust/alice-other-email.system-user"
expect_rc 1 create-user --known alice.smith@other.example
grep -q 'email=alice.smith@other.example: denied on this device' "$scratch/out" ||
        fail "another grant for the same name: $(cat "$scratch/out")"
has_user "$d" alice && fail "a grant of another email brought alice back"
ok "the deny is by name: another email's grant for alice is denied too"

ctl known system-user email=alice@example.com >"$scratch/known-after"
cmp -s "$scratch/known-before" "$scratch/known-after" || fail "deny changed the brand's assertion"
ok "the brand's assertion is stored unchanged"

# --- what list, inspect and status show ---
expect_rc 0 list
grep -q '^Denied here' "$scratch/out" && grep -q '^alice  *since 2026-11-25T10:00:00Z$' "$scratch/out" ||
        fail "list: $(cat "$scratch/out")"
expect_rc 0 --json list
[ "$(cat "$scratch/out" | tr -d ' \n')" = "[]" ] || fail "list --json is no longer the users array: $(cat "$scratch/out")"
expect_rc 0 status
grep -q '^Denied here: *alice$' "$scratch/out" || fail "status: $(cat "$scratch/out")"
expect_rc 0 --json status
python3 -c 'import json,sys; o=json.load(open(sys.argv[1]));
assert o["denied"] == [{"user": "alice", "since": "2026-11-25T10:00:00Z"}], o' "$scratch/out" ||
        fail "status --json: $(cat "$scratch/out")"
expect_rc 1 inspect alice
grep -q 'denied on this device by the administrator (corehomectl allow alice lifts it)' "$scratch/out" ||
        fail "inspect: $(cat "$scratch/out")"
ok "list, status (text and JSON) and inspect show that alice is denied"

# --- deny is idempotent; JSON ---
expect_rc 0 --json deny alice
python3 -c 'import json,sys; u=json.load(open(sys.argv[1]));
assert len(u) == 1 and u[0]["user"] == "alice" and u[0]["outcome"] == "denied", u
assert u[0]["reason"] == "already denied here since 2026-11-25T10:00:00Z", u' "$scratch/out" ||
        fail "deny --json: $(cat "$scratch/out")"
ok "denying again changes nothing and says since when (JSON)"

# --- allow lifts it; the next stick brings alice back ---
expect_rc 0 --json allow alice
python3 -c 'import json,sys; u=json.load(open(sys.argv[1])); assert u[0]["outcome"] == "allowed", u' \
        "$scratch/out" || fail "allow --json: $(cat "$scratch/out")"
has_user "$d" alice && fail "allow created alice by itself"
expect_rc 0 allow alice
grep -q '^alice: unchanged: not denied here$' "$scratch/out" || fail "allow twice: $(cat "$scratch/out")"
expect_rc 0 import-media "$d/stick"
has_user "$d" alice || fail "after allow, the stick did not create alice: $(cat "$scratch/out")"
ok "allow lifts the deny: the next stick creates alice again"

# --- a name with nobody behind it can be denied beforehand ---
expect_rc 0 deny bob
grep -q '^bob: denied: denied on this device by the administrator; no such user was here$' "$scratch/out" ||
        fail "deny bob: $(cat "$scratch/out")"
ok "a name can be denied before any grant for it arrives"

# --- refusals ---
expect_rc 2 deny 'not a name'
grep -q 'not a valid user name' "$scratch/out" || fail "invalid name: $(cat "$scratch/out")"
expect_rc 2 deny
mkdir -p "$d/home/carol.homedir"
cat >"$d/var/lib/systemd/home/carol.identity" <<'JSON'
{"userName": "carol", "uid": 60100, "gid": 60100, "disposition": "regular"}
JSON
cp "$d/var/lib/corehomed/denied.json" "$scratch/denied-before"
expect_rc 1 deny carol
grep -q 'not created by corehomed' "$scratch/out" || fail "deny of a home not ours: $(cat "$scratch/out")"
cmp -s "$d/var/lib/corehomed/denied.json" "$scratch/denied-before" || fail "a refused deny changed the list"
[ -d "$d/home/carol.homedir" ] || fail "deny removed a home corehomed did not make"
ok "refused: an invalid name (usage), a home corehomed did not make (nothing changed)"

# --- a corrupt deny list is refused, never taken for empty ---
cp "$d/var/lib/corehomed/denied.json" "$scratch/denied-good"
echo '{"denied": [{"user": "alice"}]}' >"$d/var/lib/corehomed/denied.json"
expect_rc 1 create-user --known
grep -q 'denied.json: an entry needs "user" and an RFC 3339 "since"' "$scratch/out" ||
        fail "corrupt deny list: $(cat "$scratch/out")"
cp "$scratch/denied-good" "$d/var/lib/corehomed/denied.json"
ok "a corrupt deny list stops every change: $(head -n1 "$scratch/out")"

# --- an interrupted deny (killed after the list was written) is finished by the next writer ---
if [ "${CRASH_POINTS:-false}" = true ]; then
        rc=0
        COREHOMED_CRASH_AT=provision-deny:listed "$corehomectl" --root="$d" "$now" deny alice >/dev/null 2>&1 ||
                rc=$?
        [ "$rc" = 137 ] || fail "crash point provision-deny:listed not reached (exit status $rc)"
        has_user "$d" alice || fail "the crash came after the removal"
        ctl list >/dev/null
        has_user "$d" alice || fail "a reader (list) repaired the interrupted deny"
        expect_rc 0 expire
        has_user "$d" alice && fail "the next writer did not finish the interrupted deny"
        ok "a deny killed after writing the list is finished by the next writer (alice removed)"
else
        echo "skip: crash point (this build has no crash points)"
fi

echo "$passed checks passed"
