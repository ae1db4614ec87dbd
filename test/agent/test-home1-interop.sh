#!/usr/bin/env bash
# systemd's own clients against corehomed's org.freedesktop.home1 (Mode 1), on this machine: the real
# homectl (list, inspect with the signature, activate, deactivate) and the real pam_systemd_home through
# pamtester, with a PAM stack as Debian's pam-auth-update writes it for homed: the home is mounted when the
# session opens and deactivated when it closes, a wrong password gets homed's "try again" path, five wrong
# ones end the login, too many attempts hit homed's rate limit, and a grant that ran out is refused.
#
# Directory homes below a scratch root; the "system bus" is a dbus-daemon of the test's own (system.conf's
# default-deny policy plus our systemd/org.freedesktop.home1.conf) that every client finds through
# $DBUS_SYSTEM_BUS_ADDRESS. Machine-wide for the test's duration (the team's systest lock): a userdb socket
# below /run/systemd/userdb (so that pam_unix and dbus-daemon resolve the users), a PAM service file in
# /etc/pam.d, and /run/systemd/system (homectl refuses to run without it) when it is not there already.
# Everything is removed on exit.
set -uo pipefail
corehomed="$BUILD_DIR/agent/corehomed"
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"
keys="$FIXTURES_DIR/keys"
policy="$SOURCE_DIR/systemd/org.freedesktop.home1.conf"

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root (mounts homes, binds a socket under /run)"
for tool in homectl pamtester dbus-daemon busctl openssl gpg; do
        command -v "$tool" >/dev/null || skip "$tool not installed (make deps)"
done
pam_module=$(ls /lib/*/security/pam_systemd_home.so /usr/lib/*/security/pam_systemd_home.so 2>/dev/null | head -1)
[ -n "$pam_module" ] || skip "pam_systemd_home.so not installed (package systemd-homed)"
[ -s /etc/machine-id ] || skip "no /etc/machine-id"
probe=$(mktemp -d)
if ! mount --bind "$probe" "$probe" 2>/dev/null; then rmdir "$probe"; skip "cannot mount (no CAP_SYS_ADMIN)"; fi
umount "$probe"
rmdir "$probe"

scratch=$(mktemp -d /tmp/test-home1-interop.XXXXXX)
chmod 0755 "$scratch"
root="$scratch/root"
service="corehomed-home1-test-$$"
pam_file="/etc/pam.d/$service"
userdb_service="io.corehomed-home1-test-$$"
userdb="/run/systemd/userdb/$userdb_service"
log="$scratch/daemon.log"
bus_pid=""
daemon_pid=""
made_run_systemd=0
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$scratch/bus"
export COREHOMED_MANAGER_SOCKET="$scratch/manager"

cleanup() {
        set +e
        if [ -n "$daemon_pid" ]; then
                kill -TERM "$daemon_pid" 2>/dev/null # with --root, it deactivates every home on its way out
                for _ in $(seq 100); do kill -0 "$daemon_pid" 2>/dev/null || break; sleep 0.1; done
                kill -KILL "$daemon_pid" 2>/dev/null
        fi
        [ -z "$bus_pid" ] || kill "$bus_pid" 2>/dev/null
        awk -v p="$scratch/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
                umount -l "$m"
        done
        rm -f "$pam_file" "$pam_file-strict" "$userdb"
        [ "$made_run_systemd" = 1 ] && rmdir /run/systemd/system
        [ -z "${KEEP_LOG:-}" ] || cp "$log" "$KEEP_LOG"
        rm -rf --one-file-system "$scratch"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

fail() {
        echo "FAIL: $*"
        echo "--- daemon log:"
        cat "$log" 2>/dev/null
        exit 1
}
ok() { echo "ok: $*"; }

# --- a device, alice (stick.assert, password alice-secret), bob and carol signed here ---
mkdir -p "$root/etc/corehomed/trusted"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/"
cp /etc/machine-id "$root/etc/machine-id" # the binding nss-systemd and homectl look for is this machine's
printf 'device:\n  brand-id: acme\n  model: appliance-1\nusers:\n  activation: login\n' \
        >"$root/etc/corehomed/corehomed.yaml"
"$corehomectl" --root="$root" import "$trust/stick.assert" >/dev/null || fail "import stick.assert"
gnupg="$scratch/gnupg"
mkdir -m 0700 "$gnupg"
gpg --homedir "$gnupg" --batch --quiet --import "$keys/test-brand.secret.asc" 2>/dev/null
grant() { # NAME PASSWORD [UNTIL]
        local hash since until_line='"until":"2030-01-01T00:00:00Z",'
        hash=$(openssl passwd -6 "$2")
        since=$(date -u -d "@$(($(date +%s) - 60))" +%Y-%m-%dT%H:%M:%SZ)
        [ -z "${3:-}" ] || until_line="\"user-presence\":\"until-expiration\",\"until\":\"$3\","
        cat >"$scratch/$1.json" <<JSON
{"type":"system-user","format":"2","authority-id":"acme","brand-id":"acme","email":"$1@example.com",
 "series":["16"],"models":["appliance-1"],"name":"$1","username":"$1","password":"$hash",
 $until_line "since":"$since"}
JSON
        "$corehomectl" sign --key=corehomed-test-brand --gnupg-home="$gnupg" "$scratch/$1.json" >"$scratch/$1.assert" &&
                "$corehomectl" "${on_root[@]}" import "$scratch/$1.assert" >/dev/null
}
on_root=(--root="$root") # until the daemon runs
grant bob bob-secret || fail "bob's grant"
"$corehomectl" --root="$root" create-user --known >/dev/null || fail "create-user"

# --- the bus: system.conf's policy (deny by default) and ours ---
cat >"$scratch/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=$scratch/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
  </policy>
  <include>$policy</include>
</busconfig>
EOF
dbus-daemon --config-file="$scratch/bus.conf" --nofork --nopidfile 2>"$scratch/bus.log" &
bus_pid=$!
for _ in $(seq 100); do [ -S "$scratch/bus" ] && break; sleep 0.05; done
[ -S "$scratch/bus" ] || fail "dbus-daemon did not start: $(cat "$scratch/bus.log")"

# --- corehomed serving org.freedesktop.home1 ---
"$corehomed" --root="$root" --home1=serve --userdb-socket="$userdb" --manager-socket="$COREHOMED_MANAGER_SOCKET" 2>>"$log" &
daemon_pid=$!
for _ in $(seq 100); do
        busctl --system status org.freedesktop.home1 >/dev/null 2>&1 && break
        kill -0 "$daemon_pid" 2>/dev/null || fail "corehomed exited"
        sleep 0.1
done
busctl --system status org.freedesktop.home1 >/dev/null 2>&1 || fail "org.freedesktop.home1 did not appear"
grep -q "org.freedesktop.home1: serving it" "$log" || fail "the daemon does not say it serves org.freedesktop.home1"
on_root=() # from now on through the daemon
ok "corehomed owns org.freedesktop.home1 under the shipped bus policy"

# Only root may own the name (the policy file).
if setpriv --reuid=nobody --regid=nogroup --clear-groups busctl --system call org.freedesktop.DBus \
        /org/freedesktop/DBus org.freedesktop.DBus RequestName su org.freedesktop.home1 0 >/dev/null 2>&1; then
        fail "nobody may request org.freedesktop.home1"
fi
ok "a non-root peer cannot own the name"

# --- homectl ---
if [ ! -d /run/systemd/system ]; then
        mkdir -p /run/systemd/system
        made_run_systemd=1
fi
hc() { timeout 60 homectl "$@" </dev/null; }
hc list >"$scratch/out" 2>&1 || fail "homectl list: $(cat "$scratch/out")"
grep -Eq '^alice +60[0-9]+ +60[0-9]+ +inactive +Alice +/home/alice +/bin/bash' "$scratch/out" ||
        fail "homectl list: $(cat "$scratch/out")"
cp "$scratch/out" "$scratch/transcript-list"
ok "homectl list shows alice, inactive (users.activation: login)"
hc inspect alice >"$scratch/out" 2>/dev/null || fail "homectl inspect"
for want in '^ *User name: alice$' '^ *State: inactive$' '^ *Storage: directory' '^ *Local Sig\.: no$' \
        '^ *Service: io\.corehomed$' '^ *Passwords: 1$'; do
        grep -Eq "$want" "$scratch/out" || fail "homectl inspect lacks /$want/: $(cat "$scratch/out")"
done
cp "$scratch/out" "$scratch/transcript-inspect"
hc inspect --json=short alice 2>/dev/null | python3 -c '
import json, sys
r = json.load(sys.stdin)
sig = r["signature"]
assert len(sig) == 1 and sig[0]["key"].startswith("-----BEGIN PUBLIC KEY-----") and sig[0]["data"], sig
assert r["io.corehomed.grant"]["brandId"] == "acme"
' || fail "homectl inspect --json: no signature by our key"
ok "homectl inspect shows the record, its signature (Local Sig.: no: it comes from a grant) and the grant"

PASSWORD=alice-secret hc activate alice >"$scratch/out" 2>&1 || fail "homectl activate: $(cat "$scratch/out")"
mountpoint -q "$root/home/alice" || fail "homectl activate did not mount the home"
hc list >"$scratch/out" 2>&1
grep -Eq '^alice .* active ' "$scratch/out" || fail "homectl list does not show alice active: $(cat "$scratch/out")"
hc deactivate alice >"$scratch/out" 2>&1 || fail "homectl deactivate: $(cat "$scratch/out")"
mountpoint -q "$root/home/alice" && fail "homectl deactivate did not unmount the home"
ok "homectl activate (with the password) mounts, homectl deactivate unmounts"

rc=0
hc update alice --real-name=Mallory >"$scratch/out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q "signed and cannot be modified locally" "$scratch/out" ||
        fail "homectl update was not refused as homed refuses a foreign-signed record: $(cat "$scratch/out")"
ok "homectl update is refused (records come only from signed grants)"

# --- pam_systemd_home, set up as pam-auth-update does for homed ---
cat >"$scratch/session-probe" <<EOF
#!/bin/sh
# pam_exec: records whether the home is mounted while the session opens and closes.
if mountpoint -q "$root/home/\$PAM_USER"; then echo "\$PAM_TYPE mounted"; else echo "\$PAM_TYPE unmounted"; fi >>"$scratch/probe"
EOF
chmod 0755 "$scratch/session-probe"
cat >"$pam_file" <<EOF
# corehomed test-home1-interop: /etc/pam.d/common-* as pam-auth-update writes them with systemd-homed.
auth	[success=2 default=ignore]	pam_systemd_home.so
auth	[success=1 default=ignore]	pam_unix.so nullok try_first_pass
auth	requisite			pam_deny.so
auth	required			pam_permit.so
account	[success=2 default=ignore]	pam_systemd_home.so
account	[success=1 new_authtok_reqd=done default=ignore]	pam_unix.so
account	requisite			pam_deny.so
account	required			pam_permit.so
session	optional	pam_systemd_home.so
session	optional	pam_exec.so quiet $scratch/session-probe
EOF
pt() { timeout 120 pamtester -v "$service" "$@"; }

rm -f "$scratch/probe"
echo alice-secret | pt alice authenticate open_session close_session >"$scratch/out" 2>&1 ||
        fail "pamtester login: $(cat "$scratch/out")"
cp "$scratch/out" "$scratch/transcript-pam"
printf 'open_session mounted\nclose_session unmounted\n' | cmp -s - "$scratch/probe" ||
        fail "the home was not mounted exactly while the session was open: $(cat "$scratch/probe")"
mountpoint -q "$root/home/alice" && fail "the home is still mounted after the login"
ok "pam_systemd_home: the home is mounted while the session is open, deactivated when it closes"

printf 'wrong\nalice-secret\n' | pt alice authenticate >"$scratch/out" 2>&1 || fail "retry after a wrong password: $(cat "$scratch/out")"
grep -q 'Password incorrect or not sufficient for authentication of user alice.' "$scratch/out" ||
        fail "no homed bad-password message: $(cat "$scratch/out")"
grep -q 'Sorry, try again' "$scratch/out" || fail "no second prompt: $(cat "$scratch/out")"
cp "$scratch/out" "$scratch/transcript-pam-wrong"
rc=0
printf 'w1\nw2\nw3\nw4\nw5\nw6\n' | pt alice authenticate >"$scratch/out" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q 'Too many unsuccessful login attempts for user alice, refusing.' "$scratch/out" ||
        fail "five wrong passwords did not end the login: $(cat "$scratch/out")"
mountpoint -q "$root/home/alice" && fail "mounted after wrong passwords"
ok "a wrong password gets homed's bad-password path; five end the login"

# homed's rate limit: 30 attempts a minute (every attempt counts); then even the right password waits.
limited=0
for _ in $(seq 8); do
        printf 'w1\nw2\nw3\nw4\nw5\n' | pt bob authenticate >"$scratch/out" 2>&1
        if grep -q 'Too frequent login attempts for user bob, try again later.' "$scratch/out"; then limited=1; break; fi
done
[ "$limited" = 1 ] || fail "the rate limit never hit: $(cat "$scratch/out")"
# The right password now: pam_systemd_home reports the limit and no home is activated. (pam-auth-update's
# stack then lets pam_unix check the password itself, as it does for homed's own users, whose hashes NSS
# serves to root too; a stack of pam_systemd_home alone refuses the login outright.)
echo bob-secret | pt bob authenticate open_session close_session >"$scratch/out" 2>&1
grep -q 'Too frequent login attempts for user bob' "$scratch/out" ||
        fail "the right password went through the rate limit: $(cat "$scratch/out")"
cp "$scratch/out" "$scratch/transcript-pam-ratelimit"
grep -q "home of bob: activating done" "$log" && fail "bob's home was activated despite the rate limit"
printf 'auth\trequired\tpam_systemd_home.so\n' >"$pam_file-strict"
rc=0
echo bob-secret | timeout 120 pamtester -v "$service-strict" bob authenticate >"$scratch/out" 2>&1 || rc=$?
rm -f "$pam_file-strict"
[ "$rc" != 0 ] && grep -q 'Too frequent login attempts for user bob' "$scratch/out" ||
        fail "a pam_systemd_home-only stack let bob in through the rate limit: $(cat "$scratch/out")"
ok "too many attempts: AuthenticationLimitHit, pam_systemd_home's 'Too frequent login attempts'"

# --- a grant that ends: refused at login ---
until_s=$(($(date +%s) + 4))
grant carol carol-secret "$(date -u -d "@$until_s" +%Y-%m-%dT%H:%M:%SZ)" || fail "carol's grant"
"$corehomectl" create-user --known carol@example.com >"$scratch/out" 2>&1 || fail "create carol: $(cat "$scratch/out")"
echo carol-secret | pt carol authenticate >"$scratch/out" 2>&1 || fail "carol before her until: $(cat "$scratch/out")"
while [ "$(date +%s)" -le "$until_s" ]; do sleep 0.2; done
rc=0
echo carol-secret | pt carol authenticate >"$scratch/out" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "carol logged in after her grant ended: $(cat "$scratch/out")"
hc inspect carol >/dev/null 2>&1 && fail "homectl still knows carol after her grant ended"
ok "a grant that ran out is refused at login (and the user is gone)"

for t in list inspect pam pam-wrong pam-ratelimit; do
        echo "--- transcript: $t"
        cat "$scratch/transcript-$t"
done
exit 0
