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
pam_service_file=
cleanup() {
        if [ -n "$server_pid" ]; then
                kill "$server_pid" 2>/dev/null || true
                wait "$server_pid" 2>/dev/null || true
        fi
        rm -f "$socket" "$pam_service_file"
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

# --- an until-expiration grant on until's own day: shadow through nss-systemd and pam_unix's account check ---
# nss-systemd gives PAM notAfterUSec as shadow's sp_expire in whole days, rounded down, and pam_unix refuses
# an account from that day on. corehomed sets notAfterUSec to the day boundary after until (and ends the user
# at until itself: grant-convert.h), so a technician whose grant ends later today still passes pam_unix.
command -v pamtester >/dev/null || skip "pamtester is not installed (make deps installs it)"
gnupg="$scratch/gnupg"
mkdir -m 0700 "$gnupg"
gpg --homedir "$gnupg" --batch --quiet --import "$FIXTURES_DIR/keys/test-brand.secret.asc" 2>/dev/null
now=$(date +%s)
until_s=$((now + 600))
until=$(date -u -d "@$until_s" +%Y-%m-%dT%H:%M:%SZ)
cat >"$scratch/tess.json" <<JSON
{"type":"system-user","format":"2","authority-id":"acme","brand-id":"acme","email":"tess@example.com",
 "series":["16"],"models":["appliance-1"],"name":"Tess","username":"tess","password":"$(openssl passwd -6 tess-secret)",
 "user-presence":"until-expiration","until":"$until",
 "since":"$(date -u -d "@$((now - 60))" +%Y-%m-%dT%H:%M:%SZ)"}
JSON
"$corehomectl" sign --key=corehomed-test-brand --gnupg-home="$gnupg" "$scratch/tess.json" >"$scratch/tess.assert" ||
        fail "signing tess's grant"
gpgconf --homedir "$gnupg" --kill all 2>/dev/null || true
"$corehomectl" --root="$root" import "$scratch/tess.assert" >"$scratch/out" 2>&1 &&
        "$corehomectl" --root="$root" create-user --known >>"$scratch/out" 2>&1 || fail "tess: $(cat "$scratch/out")"
sp_expire=$(getent shadow tess | cut -d: -f8) || fail "getent shadow tess found nothing"
want=$(((until_s + 86399) / 86400))
[ "$sp_expire" = "$want" ] ||
        fail "tess's sp_expire is $sp_expire, want $want (the day after until $until; today is day $((now / 86400)))"
ok "getent shadow tess: sp_expire $sp_expire, the day boundary after until $until"
expires=$("$corehomectl" --root="$root" --json list | python3 -c '
import json, sys
print(next(u.get("expires") for u in json.load(sys.stdin) if u["user"] == "tess"))')
[ "$expires" = "$until" ] || fail "corehomectl list shows tess expiring at $expires, not at until $until"
ok "corehomectl list shows tess expiring at until itself ($until)"
pam_service_file=/etc/pam.d/corehomed-test-$$
printf 'account required pam_unix.so\n' >"$pam_service_file"
pamtester "corehomed-test-$$" tess acct_mgmt >"$scratch/out" 2>&1 ||
        fail "pam_unix refuses tess on until's day: $(cat "$scratch/out")"
ok "pam_unix's account check lets tess in on until's day ($(cat "$scratch/out"))"

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
