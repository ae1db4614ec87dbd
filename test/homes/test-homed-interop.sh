#!/usr/bin/env bash
# Proof against the real thing: systemd-homed 252 lists a home our engine created on the real root file
# system, reports it signed by a trusted foreign key, and activates it (directory storage).
# Runs homed without systemd as PID 1 (own system bus, /run a mount point, / shared,
# /run/systemd/system for homectl) and undoes every step on exit. Needs root. Usage: test-homed-interop.sh HOME_TOOL
set -uo pipefail

home_tool=${1:?usage: test-homed-interop.sh HOME_TOOL}
homed=/lib/systemd/systemd-homed

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || skip "needs root"
[ -x "$homed" ] || skip "$homed not installed (apt-get install systemd-homed)"
command -v homectl >/dev/null || skip "homectl not installed"
command -v dbus-daemon >/dev/null || skip "dbus-daemon not installed"
[ -x "$home_tool" ] || skip "$home_tool not built"
pgrep -x systemd-homed >/dev/null && skip "a systemd-homed is already running; not touching it"
[ -e /run/dbus/system_bus_socket ] && skip "a system bus is already running; this test starts its own"
[ -s /etc/machine-id ] || skip "no /etc/machine-id"

user="chi$(od -An -N4 -tx1 /dev/urandom | tr -d ' \n')"
password="interop-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
getent passwd "$user" >/dev/null && skip "user $user exists already"

# Everything this test may create; whatever did not exist before is removed afterwards. homed leaves its
# userdb socket behind when it stops: a stale io.systemd.Home that every later nss-systemd lookup on the
# machine would try (and the lookup benchmark would pay in corehomed's rounds).
created_paths=(/run/mount /run/systemd/system /run/systemd/home /run/systemd/userdb /run/systemd/userdb/io.systemd.Home
        /run/systemd/user-home-mount /run/dbus/system_bus_socket /run/dbus/pid
        /var/lib/systemd/home /var/lib/systemd/home/local.private /var/lib/systemd/home/local.public
        /var/lib/systemd/home/io.corehomed.public /var/lib/corehomed /var/lib/corehomed/io.corehomed.private
        /var/lib/corehomed/homes "/home/$user" "/home/$user.homedir" "/var/lib/systemd/home/$user.identity")
preexisting=()
for p in "${created_paths[@]}"; do [ -e "$p" ] && preexisting+=("$p"); done
existed() { local q; for q in "${preexisting[@]}"; do [ "$q" = "$1" ] && return 0; done; return 1; }

# mount(8) itself may create /run/mount (libmount's utab): probe only after the snapshot above.
probe=$(mktemp -d)
if ! mount --bind "$probe" "$probe" 2>/dev/null; then rmdir "$probe"; skip "cannot mount (no CAP_SYS_ADMIN)"; fi
umount "$probe"; rmdir "$probe"; [ -e /run/mount ] && ! existed /run/mount && rm -rf /run/mount

work=$(mktemp -d /tmp/test-homed-interop.XXXXXX)
root_propagation=$(findmnt -n -o PROPAGATION /)
run_was_mount=0; findmnt -n /run >/dev/null && run_was_mount=1
mounted_run=0
dbus_pid=""
homed_pid=""
mounts_before=$(findmnt -rn -o TARGET | sort)

cleanup() {
        set +e
        if [ -n "$homed_pid" ]; then
                timeout 20 homectl deactivate "$user" </dev/null >/dev/null 2>&1
                kill "$homed_pid" 2>/dev/null
                for _ in $(seq 50); do kill -0 "$homed_pid" 2>/dev/null || break; sleep 0.1; done
                kill -9 "$homed_pid" 2>/dev/null
        fi
        # homed may leave the home mounted if deactivation failed.
        while findmnt -n "/home/$user" >/dev/null 2>&1; do umount "/home/$user" || umount -l "/home/$user"; done
        if [ -n "$dbus_pid" ]; then
                kill "$dbus_pid" 2>/dev/null
                for _ in $(seq 50); do kill -0 "$dbus_pid" 2>/dev/null || break; sleep 0.1; done
        fi
        "$home_tool" remove "$user" >/dev/null 2>&1
        [ "$mounted_run" = 1 ] && umount /run
        if [ "$root_propagation" != "$(findmnt -n -o PROPAGATION /)" ]; then
                case "$root_propagation" in
                private) mount --make-rprivate / ;;
                slave) mount --make-rslave / ;;
                shared) mount --make-rshared / ;;
                esac
        fi
        # Deepest first, so a created directory is removed after what we created inside it.
        for ((k = ${#created_paths[@]} - 1; k >= 0; k--)); do
                p=${created_paths[k]}
                existed "$p" || rm -rf --one-file-system "$p"
        done
        rm -rf "$work"
        mounts_after=$(findmnt -rn -o TARGET | sort)
        if [ "$mounts_before" != "$mounts_after" ]; then
                echo "cleanup: mount table differs:" >&2
                diff <(echo "$mounts_before") <(echo "$mounts_after") >&2
                return 1
        fi
        return 0
}
# A cleanup that leaves the mount table changed fails the test, whatever the checks said.
trap 'rc=$?; if ! cleanup; then rc=1; fi; exit $rc' EXIT
# meson's timeout sends SIGTERM: turn signals into an exit so the EXIT trap still cleans up.
trap 'exit 143' TERM INT HUP

# 1. Our engine creates the home on the real root, before homed starts (homed reads records at start-up).
hash=$(openssl passwd -6 "$password") || fail "openssl passwd"
cat >"$work/record.json" <<JSON
{"userName": "$user", "disposition": "regular", "realName": "corehomed interop test",
 "enforcePasswordPolicy": false, "privileged": {"hashedPassword": ["$hash"]}}
JSON
"$home_tool" create "$work/record.json" || fail "home-tool create"
[ "$("$home_tool" state "$user")" = inactive ] || fail "engine does not report the new home inactive"

# 2. The environment homed needs without systemd as PID 1.
mkdir -p /run/dbus
dbus_pid=$(dbus-daemon --system --fork --print-pid) || fail "dbus-daemon --system --fork"
if [ "$run_was_mount" = 0 ]; then mount --bind /run /run || fail "mount --bind /run /run"; mounted_run=1; fi
mount --make-rshared / || fail "mount --make-rshared /"
mkdir -p /run/systemd/system

"$homed" >"$work/homed.log" 2>&1 &
homed_pid=$!
ok=0
for _ in $(seq 100); do
        timeout 5 homectl list </dev/null >"$work/list" 2>/dev/null && { ok=1; break; }
        kill -0 "$homed_pid" 2>/dev/null || break
        sleep 0.1
done
[ "$ok" = 1 ] || { cat "$work/homed.log" >&2; fail "systemd-homed did not come up"; }

# 3. homectl list shows the home.
grep -qE "^$user[[:space:]]+[0-9]+" "$work/list" || { cat "$work/list" "$work/homed.log" >&2; fail "homectl list does not show $user"; }
echo "ok: homectl list shows $user"

# 4. homectl inspect: a record homed verified against a trusted key that is not its own. homed 252 prints
#    "Local Sig.: no" for that (records it signed itself say "yes"; records it does not trust are dropped).
timeout 20 homectl inspect "$user" </dev/null >"$work/inspect" 2>&1 || { cat "$work/inspect" >&2; fail "homectl inspect"; }
grep -qE "^[[:space:]]*Local Sig\.: no$" "$work/inspect" || { cat "$work/inspect" >&2; fail "homectl inspect does not report a foreign (not locally) signed record"; }
grep -qE "^[[:space:]]*State: inactive$" "$work/inspect" || { cat "$work/inspect" >&2; fail "homectl inspect: state is not inactive"; }
grep -qE "^[[:space:]]*Storage: directory" "$work/inspect" || { cat "$work/inspect" >&2; fail "homectl inspect: storage is not directory"; }
sed 's/^/    /' "$work/inspect"
echo "ok: homectl inspect reports $user signed by a trusted foreign key"

# 5. homectl activate mounts it (directory storage), with the password from our record.
PASSWORD="$password" timeout 60 homectl activate "$user" </dev/null >"$work/activate" 2>&1 ||
        { cat "$work/activate" "$work/homed.log" >&2; fail "homectl activate"; }
findmnt -n "/home/$user" >/dev/null || fail "/home/$user is not mounted after activation"
[ -f "/home/$user/.identity" ] || fail "/home/$user/.identity not visible after activation"
timeout 20 homectl inspect "$user" </dev/null | grep -qE "^[[:space:]]*State: active" || fail "homectl inspect: not active"
[ "$("$home_tool" state "$user")" = active ] || fail "engine does not see the home active"
echo "ok: homectl activate mounted /home/$user"

timeout 30 homectl deactivate "$user" </dev/null || fail "homectl deactivate"
findmnt -n "/home/$user" >/dev/null && fail "/home/$user still mounted after deactivation"
echo "ok: homectl deactivate"
exit 0
