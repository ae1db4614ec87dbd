#!/usr/bin/env bash
# Mode 2 against the real systemd-homed 252 on this machine: homed runs first, corehomed sees it and leaves
# org.freedesktop.home1 to it; users created from grants afterwards are handed to homed (RegisterHome with
# the record as we signed it): `homectl list` — homed's own answer — shows them, our userdb service stops
# serving them (homed does), a login goes through homed (homectl activate, pam_systemd_home), and a grant
# that ends is taken back from homed (UnregisterHome) once our expiry sweep removed the user.
#
# homed works on the test's scratch tree ($SYSTEMD_HOME_ROOT, $SYSTEMD_HOME_RECORD_DIR) and on a private
# system bus ($DBUS_SYSTEM_BUS_ADDRESS); what it needs of the machine (the interop notes: /run a
# mount point, / shared, /run/systemd/system for homectl, its userdb socket) is set up for the test and
# undone on exit, as test/homes/test-homed-interop.sh does. Run under the team's systest lock.
set -uo pipefail
corehomed="$BUILD_DIR/agent/corehomed"
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"
keys="$FIXTURES_DIR/keys"
homed=/lib/systemd/systemd-homed
policy="$SOURCE_DIR/systemd/org.freedesktop.home1.conf"

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$homed" ] || skip "$homed not installed (apt-get install systemd-homed)"
for tool in homectl pamtester dbus-daemon busctl userdbctl openssl gpg; do
        command -v "$tool" >/dev/null || skip "$tool not installed (make deps)"
done
[ -s /etc/machine-id ] || skip "no /etc/machine-id"
pgrep -x systemd-homed >/dev/null && skip "a systemd-homed is already running; not touching it"
if [ -S /run/systemd/userdb/io.systemd.Home ] && ss -xl 2>/dev/null | grep -q ' /run/systemd/userdb/io.systemd.Home '; then
        skip "something listens on /run/systemd/userdb/io.systemd.Home"
fi

scratch=$(mktemp -d /tmp/test-home1-handover.XXXXXX)
chmod 0755 "$scratch"
root="$scratch/root"
log="$scratch/daemon.log"
service="corehomed-handover-test-$$"
pam_file="/etc/pam.d/$service"
userdb_service="io.corehomed-handover-test-$$"
userdb="/run/systemd/userdb/$userdb_service"
homed_userdb=/run/systemd/userdb/io.systemd.Home
bus_pid="" homed_pid="" daemon_pid=""
export DBUS_SYSTEM_BUS_ADDRESS="unix:path=$scratch/bus"
export COREHOMED_MANAGER_SOCKET="$scratch/manager"

# What this test may create on the machine; whatever did not exist before is removed afterwards.
# homed reads the keys it trusts from fixed directories (/etc/systemd/home among them), and keeps its own key
# pair in /var/lib/systemd/home, whatever $SYSTEMD_HOME_RECORD_DIR says.
key_copy="/etc/systemd/home/io.corehomed-handover-test-$$.public"
created_paths=(/run/mount /run/systemd/system /run/systemd/home /run/systemd/user-home-mount "$homed_userdb"
        /etc/systemd/home "$key_copy" /var/lib/systemd/home /var/lib/systemd/home/local.private
        /var/lib/systemd/home/local.public)
preexisting=()
for p in "${created_paths[@]}"; do [ -e "$p" ] && preexisting+=("$p"); done
existed() { local q; for q in "${preexisting[@]}"; do [ "$q" = "$1" ] && return 0; done; return 1; }
root_propagation=$(findmnt -n -o PROPAGATION /)
run_was_mount=0
findmnt -n /run >/dev/null && run_was_mount=1
mounted_run=0
mounts_before=$(findmnt -rn -o TARGET | sort)

stop() { # PID
        [ -n "$1" ] || return 0
        kill -TERM "$1" 2>/dev/null
        for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
        kill -KILL "$1" 2>/dev/null
}
cleanup() {
        set +e
        [ -n "$homed_pid" ] && timeout 30 homectl deactivate-all </dev/null >/dev/null 2>&1
        stop "$daemon_pid"
        stop "$homed_pid"
        stop "$bus_pid"
        awk -v p="$scratch/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
                umount -l "$m"
        done
        [ "$mounted_run" = 1 ] && umount -l /run
        if [ "$root_propagation" != "$(findmnt -n -o PROPAGATION /)" ]; then
                case "$root_propagation" in
                private) mount --make-rprivate / ;;
                slave) mount --make-rslave / ;;
                shared) mount --make-rshared / ;;
                esac
        fi
        rm -f "$pam_file" "$userdb"
        for ((k = ${#created_paths[@]} - 1; k >= 0; k--)); do
                existed "${created_paths[k]}" || rm -rf --one-file-system "${created_paths[k]}"
        done
        [ -z "${KEEP_LOG:-}" ] || cp "$log" "$scratch/homed.log" "$KEEP_LOG" 2>/dev/null
        rm -rf --one-file-system "$scratch"
        if [ "$mounts_before" != "$(findmnt -rn -o TARGET | sort)" ]; then
                echo "cleanup: the mount table differs:" >&2
                diff <(echo "$mounts_before") <(findmnt -rn -o TARGET | sort) >&2
                return 1
        fi
        return 0
}
trap 'rc=$?; if ! cleanup; then rc=1; fi; exit $rc' EXIT
trap 'exit 143' TERM INT HUP

fail() {
        echo "FAIL: $*"
        echo "--- corehomed log:"
        cat "$log" 2>/dev/null
        echo "--- systemd-homed log:"
        tail -50 "$scratch/homed.log" 2>/dev/null
        exit 1
}
ok() { echo "ok: $*"; }

# --- the device: trusted root, the assertions imported (no user yet), our engine key created ---
mkdir -p "$root/etc/corehomed/trusted" "$root/home"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/"
cp /etc/machine-id "$root/etc/machine-id"
printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$root/etc/corehomed/corehomed.yaml"
"$corehomectl" --root="$root" import "$trust/stick.assert" >/dev/null || fail "import"
# homed reads the keys it trusts only when it starts: ours must be there first (the engine makes it).
"$corehomectl" --root="$root" list >/dev/null || fail "list"
[ -f "$root/var/lib/systemd/home/io.corehomed.public" ] || fail "no engine public key below the root"
mkdir -p /etc/systemd/home
install -m 0644 "$root/var/lib/systemd/home/io.corehomed.public" "$key_copy"
gnupg="$scratch/gnupg"
mkdir -m 0700 "$gnupg"
gpg --homedir "$gnupg" --batch --quiet --import "$keys/test-brand.secret.asc" 2>/dev/null

# --- a system bus, and systemd-homed on the scratch tree ---
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
  </policy>
  <include>$policy</include>
</busconfig>
EOF
dbus-daemon --config-file="$scratch/bus.conf" --nofork --nopidfile 2>"$scratch/bus.log" &
bus_pid=$!
for _ in $(seq 100); do [ -S "$scratch/bus" ] && break; sleep 0.05; done
[ -S "$scratch/bus" ] || fail "dbus-daemon did not start"

if [ "$run_was_mount" = 0 ]; then mount --bind /run /run || fail "mount --bind /run /run"; mounted_run=1; fi
mount --make-rshared / || fail "mount --make-rshared /"
mkdir -p /run/systemd/system
rm -f "$homed_userdb" # a stale socket nobody listens on (checked above)
SYSTEMD_HOME_ROOT="$root/home" SYSTEMD_HOME_RECORD_DIR="$root/var/lib/systemd/home" SYSTEMD_LOG_LEVEL=debug \
        "$homed" >"$scratch/homed.log" 2>&1 &
homed_pid=$!
hc() { timeout 60 homectl "$@" </dev/null; }
for _ in $(seq 100); do
        hc list >/dev/null 2>&1 && break
        kill -0 "$homed_pid" 2>/dev/null || fail "systemd-homed exited"
        sleep 0.1
done
hc list >/dev/null 2>&1 || fail "systemd-homed does not answer"
ok "systemd-homed 252 runs (own bus, the scratch tree)"

# --- corehomed sees it: Mode 2 ---
"$corehomed" --root="$root" --home1=auto --userdb-socket="$userdb" --manager-socket="$COREHOMED_MANAGER_SOCKET" 2>>"$log" &
daemon_pid=$!
for _ in $(seq 100); do [ -S "$COREHOMED_MANAGER_SOCKET" ] && break; kill -0 "$daemon_pid" 2>/dev/null || fail "corehomed exited"; sleep 0.1; done
grep -q "org.freedesktop.home1: systemd-homed runs; handing our homes to it" "$log" || fail "corehomed did not choose Mode 2"
busctl --system status org.freedesktop.home1 2>/dev/null | grep -q '^Comm=systemd-homed' || fail "the name is not homed's"
ok "corehomed found systemd-homed and left org.freedesktop.home1 to it"

# --- a grant arrives: the user is homed's ---
"$corehomectl" create-user --known alice@example.com >"$scratch/out" 2>&1 || fail "create-user: $(cat "$scratch/out")"
for _ in $(seq 100); do grep -q "systemd-homed: registered alice" "$log" && break; sleep 0.1; done
grep -q "systemd-homed: registered alice" "$log" || fail "alice was not registered with homed"
hc list >"$scratch/out" 2>&1 || fail "homectl list"
grep -Eq '^alice +60[0-9]+ +60[0-9]+ +inactive ' "$scratch/out" || fail "homed does not list alice: $(cat "$scratch/out")"
cp "$scratch/out" "$scratch/transcript-list"
hc inspect alice >"$scratch/out" 2>&1 || fail "homectl inspect"
grep -Eq '^ *Local Sig\.: no$' "$scratch/out" || fail "homed does not report our signature: $(cat "$scratch/out")"
grep -Eq '^ *Service: io\.systemd\.Home$' "$scratch/out" || fail "not homed's record: $(cat "$scratch/out")"
cp "$scratch/out" "$scratch/transcript-inspect"
ok "after the grant, homed's own homectl list and inspect show alice (signed by our key)"

userdbctl --service="$userdb_service" user alice >/dev/null 2>&1 && fail "our userdb service still serves alice"
userdbctl --service=io.systemd.Home user alice >/dev/null 2>&1 || fail "homed does not serve alice through userdb"
ok "our userdb service leaves alice to homed's"

PASSWORD=alice-secret hc activate alice >"$scratch/out" 2>&1 || fail "homectl activate through homed: $(cat "$scratch/out")"
mountpoint -q "$root/home/alice" || fail "homed did not mount alice's home"
hc deactivate alice >"$scratch/out" 2>&1 || fail "homectl deactivate: $(cat "$scratch/out")"
mountpoint -q "$root/home/alice" && fail "homed did not unmount alice's home"
cat >"$pam_file" <<EOF
auth	[success=2 default=ignore]	pam_systemd_home.so
auth	[success=1 default=ignore]	pam_unix.so nullok try_first_pass
auth	requisite			pam_deny.so
auth	required			pam_permit.so
session	optional	pam_systemd_home.so
EOF
echo alice-secret | timeout 120 pamtester -v "$service" alice authenticate open_session close_session >"$scratch/out" 2>&1 ||
        fail "login through homed: $(cat "$scratch/out")"
cp "$scratch/out" "$scratch/transcript-pam"
grep -q 'Home for user alice successfully acquired' "$scratch/homed.log" "$scratch/out" 2>/dev/null ||
        grep -q 'alice' "$scratch/homed.log" || fail "homed saw no login of alice"
ok "logins go through homed (homectl activate/deactivate, pam_systemd_home)"

# --- a grant that ends: homed lets go of it ---
# Time enough for signing, import and create-user (sanitizer builds on a loaded machine) before the until.
until_s=$(($(date +%s) + 15))
hash=$(openssl passwd -6 bob-secret)
since=$(date -u -d "@$(($(date +%s) - 60))" +%Y-%m-%dT%H:%M:%SZ)
cat >"$scratch/bob.json" <<JSON
{"type":"system-user","format":"2","authority-id":"acme","brand-id":"acme","email":"bob@example.com",
 "series":["16"],"models":["appliance-1"],"name":"Bob","username":"bob","password":"$hash",
 "user-presence":"until-expiration","since":"$since","until":"$(date -u -d "@$until_s" +%Y-%m-%dT%H:%M:%SZ)"}
JSON
"$corehomectl" sign --key=corehomed-test-brand --gnupg-home="$gnupg" "$scratch/bob.json" >"$scratch/bob.assert" || fail "sign bob"
"$corehomectl" import "$scratch/bob.assert" >/dev/null 2>&1 || fail "import bob"
"$corehomectl" create-user --known bob@example.com >/dev/null 2>&1 || fail "create bob"
for _ in $(seq 100); do grep -q "systemd-homed: registered bob" "$log" && break; sleep 0.1; done
grep -q "systemd-homed: registered bob" "$log" || fail "bob was not registered with homed"
hc list >"$scratch/out" 2>&1 || fail "homectl list"
[ "$(date +%s)" -lt "$until_s" ] || skip "bob's grant ended before homed could be asked (machine too slow)"
grep -q '^bob ' "$scratch/out" || fail "bob was not handed to homed: $(cat "$scratch/out")"
gone=0
# Gone means homed answered and did not name him (a failed homectl list proves nothing).
for _ in $(seq 400); do
        if hc list >"$scratch/out" 2>&1 && ! grep -q '^bob ' "$scratch/out"; then gone=1; break; fi
        sleep 0.1
done
[ "$gone" = 1 ] || fail "homed still lists bob after his grant ended: $(cat "$scratch/out")"
grep -q "systemd-homed: unregistered bob" "$log" || fail "no unregistration of bob in the log"
[ "$(date +%s)" -ge "$until_s" ] || fail "bob left homed before his until"
[ -e "$root/home/bob.homedir" ] && fail "bob's home is still there"
ok "bob's grant ended: removed by our sweep, unregistered from homed"

for t in list inspect pam; do
        echo "--- transcript: $t"
        cat "$scratch/transcript-$t"
done
exit 0
