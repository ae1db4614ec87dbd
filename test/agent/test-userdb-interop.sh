#!/usr/bin/env bash
# Our io.systemd.UserDatabase service against systemd's own clients: a user made by the engine from a
# stick (corehomectl import-media) is served by userdb-test-server on /run/systemd/userdb/, and
# userdbctl, nss-systemd (getent, id) and runuser see it as systemd-homed's users are seen: binding applied,
# per-user group, memberships, enumeration, password hash only for root.
set -euo pipefail

skip() {
        echo "SKIP: $*"
        exit 77
}
fail() {
        echo "FAIL: $*"
        exit 1
}
passed=0
ok() {
        echo "ok: $*"
        passed=$((passed + 1))
}

[ "$(id -u)" = 0 ] || skip "needs root (binds in /run/systemd/userdb, creates homes)"
# Clients apply the binding of THIS machine only: the scratch root must share the real machine-id.
[ -s /etc/machine-id ] || skip "/etc/machine-id is missing"
for tool in userdbctl getent runuser id; do
        command -v "$tool" >/dev/null || skip "$tool is not installed"
done
ldconfig -p | grep 'libnss_systemd\.so' >/dev/null || skip "libnss-systemd is not installed"

corehomectl="$BUILD_DIR/agent/corehomectl"
server="$BUILD_DIR/test/agent/userdb-test-server"
trust="$FIXTURES_DIR/trust"
service="io.corehomed-test-$$"
socket="/run/systemd/userdb/$service"

scratch=$(mktemp -d /tmp/corehomed-userdb.XXXXXX)
server_pid=
nsswitch_backup=
cleanup() {
        if [ -n "$server_pid" ]; then
                kill "$server_pid" 2>/dev/null || true
                wait "$server_pid" 2>/dev/null || true
        fi
        rm -f "$socket"
        if [ -n "$nsswitch_backup" ]; then
                cp "$nsswitch_backup" /etc/nsswitch.conf
        fi
        rm -rf "$scratch"
}
trap cleanup EXIT

# nss-systemd must be asked for passwd and group; add it for the test when it is not.
if ! grep -Eq '^passwd:.*\bsystemd\b' /etc/nsswitch.conf || ! grep -Eq '^group:.*\bsystemd\b' /etc/nsswitch.conf; then
        nsswitch_backup="$scratch/nsswitch.conf"
        cp /etc/nsswitch.conf "$nsswitch_backup"
        sed -i -E '/^(passwd|group):/{/\bsystemd\b/!s/$/ systemd/}' /etc/nsswitch.conf
fi

# --- a device with alice from the stick ---
root="$scratch/root"
mkdir -p "$root/etc/corehomed/trusted" "$scratch/stick"
cp /etc/machine-id "$root/etc/machine-id"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/test-root.assert"
printf 'device:\n  brand-id: acme\n  model: appliance-1\nusers:\n  admin-groups: [sudo, adm]\n' \
        >"$root/etc/corehomed/corehomed.yaml"
cp "$trust/stick.assert" "$scratch/stick/auto-import.assert"
"$corehomectl" --root="$root" --now=2026-11-25T10:00:00Z import-media "$scratch/stick" >"$scratch/out" 2>&1 ||
        fail "import-media: $(cat "$scratch/out")"
[ -f "$root/var/lib/systemd/home/alice.identity" ] || fail "import-media made no alice"
uid=$(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["binding"][sys.argv[2]]["uid"])' \
        "$root/var/lib/systemd/home/alice.identity" "$(cat /etc/machine-id)")
ok "corehomectl import-media created alice (uid $uid)"

# --- the service ---
mkfifo "$scratch/ready"
"$server" --root="$root" --socket="$socket" >"$scratch/ready" 2>"$scratch/server.err" &
server_pid=$!
read -r -t 10 line <"$scratch/ready" || fail "server did not start: $(cat "$scratch/server.err")"
[ "$line" = READY ] || fail "server said: $line $(cat "$scratch/server.err")"
[ -S "$socket" ] || fail "no socket at $socket"
[ "$(stat -c %a "$socket")" = 666 ] || fail "socket mode is $(stat -c %a "$socket"), want 666"
ok "test server serves $service"

# --- userdbctl, asking our service only (other services may know other alices) ---
userdbctl -s "$service" user alice >"$scratch/out" 2>&1 || fail "userdbctl user alice: $(cat "$scratch/out")"
grep -Eq "User name: alice" "$scratch/out" || fail "userdbctl shows no alice: $(cat "$scratch/out")"
grep -Eq "UID: $uid" "$scratch/out" || fail "userdbctl shows another UID: $(cat "$scratch/out")"
grep -Eq "Service: $service" "$scratch/out" || fail "userdbctl shows no service: $(cat "$scratch/out")"
grep -Eq "Directory: /home/alice" "$scratch/out" || fail "userdbctl shows no home: $(cat "$scratch/out")"
ok "userdbctl user alice: uid $uid, service $service, home /home/alice"

userdbctl -s "$service" user >"$scratch/out" 2>&1 || fail "userdbctl user: $(cat "$scratch/out")"
grep -Eq "^ *alice +regular +$uid" "$scratch/out" || fail "enumeration lacks alice: $(cat "$scratch/out")"
ok "userdbctl user (enumeration) lists alice"

userdbctl -s "$service" -j user alice >"$scratch/root.json" || fail "userdbctl -j user alice failed"
python3 - "$scratch/root.json" "$(cat /etc/machine-id)" "$service" <<'EOF' || fail "root's view: $(cat "$scratch/root.json")"
import json, sys
r = json.load(open(sys.argv[1]))
assert r["privileged"]["hashedPassword"][0].startswith("$6$"), "no hash"
assert r["status"][sys.argv[2]]["service"] == sys.argv[3], "no status service"
assert "io.corehomed.grant" in r, "no grant extension"
EOF
ok "userdbctl -j user alice as root shows the hashedPassword"

runuser -u nobody -- userdbctl -s "$service" -j user alice >"$scratch/nobody.json" 2>"$scratch/err" ||
        fail "userdbctl as nobody: $(cat "$scratch/err")"
grep -q hashedPassword "$scratch/nobody.json" && fail "nobody sees the password hash: $(cat "$scratch/nobody.json")"
grep -q '\$6\$' "$scratch/nobody.json" && fail "nobody sees a hash: $(cat "$scratch/nobody.json")"
grep -q '"userName" : "alice"\|"userName": "alice"' "$scratch/nobody.json" || fail "nobody sees no alice: $(cat "$scratch/nobody.json")"
ok "runuser -u nobody -- userdbctl -j user alice shows no password hash"

userdbctl -s "$service" group alice >"$scratch/out" 2>&1 || fail "userdbctl group alice: $(cat "$scratch/out")"
grep -Eq "GID: $uid" "$scratch/out" || fail "group alice has another GID: $(cat "$scratch/out")"
ok "userdbctl group alice: the per-user group, gid $uid"

userdbctl -s "$service" groups-of-user alice >"$scratch/out" 2>&1 || fail "groups-of-user: $(cat "$scratch/out")"
grep -Eq "alice +sudo" "$scratch/out" && grep -Eq "alice +adm" "$scratch/out" ||
        fail "memberships missing: $(cat "$scratch/out")"
userdbctl -s "$service" users-in-group sudo >"$scratch/out" 2>&1 || fail "users-in-group: $(cat "$scratch/out")"
grep -Eq "alice +sudo" "$scratch/out" || fail "users-in-group sudo lacks alice: $(cat "$scratch/out")"
ok "userdbctl groups-of-user alice / users-in-group sudo show the memberships"

if userdbctl -s "$service" user nosuchuser-$$ >"$scratch/out" 2>&1; then
        fail "unknown user found: $(cat "$scratch/out")"
fi
ok "unknown user: not found"

# --- NSS, through nss-systemd (every service in /run/systemd/userdb is asked) ---
getent passwd alice >"$scratch/out" || fail "getent passwd alice found nothing"
grep -Eq "^alice:x:$uid:$uid:.*:/home/alice:/bin/bash$" "$scratch/out" || fail "getent passwd: $(cat "$scratch/out")"
ok "getent passwd alice: $(cat "$scratch/out")"

getent passwd "$uid" | grep -q "^alice:" || fail "getent passwd $uid found no alice"
ok "getent passwd $uid finds alice"

getent group alice >"$scratch/out" || fail "getent group alice found nothing"
grep -Eq "^alice:x:$uid:" "$scratch/out" || fail "getent group: $(cat "$scratch/out")"
ok "getent group alice: $(cat "$scratch/out")"

# (getent group sudo stops at nss-files with "group: files systemd"; initgroups asks every source.)
sudo_gid=$(getent group sudo | cut -d: -f3)
getent initgroups alice | grep -Eq "(^| )$sudo_gid( |$)" || fail "initgroups alice lacks sudo: $(getent initgroups alice)"
ok "getent initgroups alice includes sudo ($sudo_gid), membership through nss-systemd"

id alice >"$scratch/out" 2>&1 || fail "id alice: $(cat "$scratch/out")"
grep -q "uid=$uid(alice) gid=$uid(alice)" "$scratch/out" || fail "id alice: $(cat "$scratch/out")"
grep -q "(sudo)" "$scratch/out" || fail "id alice lacks sudo: $(cat "$scratch/out")"
ok "id alice: $(cat "$scratch/out")"

getent passwd | grep -q "^alice:x:$uid:" || fail "getent passwd (enumeration) lacks alice"
ok "getent passwd (enumeration) lists alice"

if getent passwd "nosuchuser-$$" >/dev/null; then
        fail "getent found an unknown user"
fi
ok "getent passwd of an unknown user: not found"

# --- freshness: the record goes, the user goes ---
"$corehomectl" --root="$root" --now=2026-11-25T10:00:00Z remove alice >"$scratch/out" 2>&1 ||
        fail "remove alice: $(cat "$scratch/out")"
if userdbctl -s "$service" user alice >"$scratch/out" 2>&1; then
        fail "alice still served after removal: $(cat "$scratch/out")"
fi
ok "after corehomectl remove, the service no longer knows alice"

# The server is still healthy and exits cleanly.
kill "$server_pid"
wait "$server_pid" || fail "server exited with $?"
server_pid=
[ -e "$socket" ] && fail "server left its socket behind"
ok "server exits cleanly on SIGTERM and removes its socket"

echo "passed: $passed"
