#!/usr/bin/env bash
# Guest side of the LUKS proof (run inside the VM as root; needs dm-crypt, cryptsetup, e2fsprogs, and for the
# last step systemd-homed 252 with systemd as PID 1). Drives the engine through home-tool on the real root:
# absent after create; a wrong password makes nothing; the first login (realize) makes and mounts an ext4
# in LUKS2 on /dev/mapper/home-<user> with the systemd-homed token; deactivate, activate, lock (suspended),
# unlock; a password change re-keys at the next login that brings both passwords; real systemd-homed
# activates the home we made; removal erases the header. Undoes everything on exit.
# Usage: luks-guest.sh HOME_TOOL [USER]    (LUKS_PBKDF=default to use homed's argon2id defaults)
set -uo pipefail

tool=${1:?usage: luks-guest.sh HOME_TOOL [USER]}
user=${2:-luksalice}
pw_old="first-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
pw_new="second-$(od -An -N6 -tx1 /dev/urandom | tr -d ' \n')"
image=/home/$user.home
work=$(mktemp -d /tmp/luks-guest.XXXXXX)

skip() { echo "SKIP: $*"; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }

[ "$(id -u)" = 0 ] || skip "needs root"
[ -e /sys/class/misc/device-mapper ] || skip "no device-mapper in this kernel"
command -v cryptsetup >/dev/null || skip "cryptsetup not installed"
[ -x "$tool" ] || skip "$tool not built"
[ -e "/var/lib/systemd/home/$user.identity" ] && skip "$user exists already"

cleanup() {
        set +e
        timeout 20 homectl deactivate "$user" </dev/null >/dev/null 2>&1
        HOME_PASSWORDS="$pw_new
$pw_old" "$tool" --mount unlock "$user" >/dev/null 2>&1
        "$tool" --mount deactivate "$user" >/dev/null 2>&1
        "$tool" --mount remove "$user" >/dev/null 2>&1
        cryptsetup close "home-$user" 2>/dev/null
        rm -rf "$work"
}
trap cleanup EXIT

hash() { python3 -c 'import crypt,sys; print(crypt.crypt(sys.argv[1], crypt.mksalt(crypt.METHOD_SHA512)))' "$1"; }
record() { # record LASTCHANGE PASSWORD
        local pbkdf='"luksPbkdfType":"pbkdf2","luksPbkdfTimeCostUSec":1000,'
        [ "${LUKS_PBKDF:-cheap}" = default ] && pbkdf=''
        printf '{"userName":"%s","disposition":"regular","storage":"luks","diskSize":268435456,%s"lastChangeUSec":%s,"privileged":{"hashedPassword":["%s"]}}\n' \
                "$user" "$pbkdf" "$1" "$(hash "$2")"
}
state() { "$tool" state "$user"; }
keyslots() { cryptsetup luksDump "$1" | grep -c '^  [0-9]*: luks2'; }
# The LUKS2 volume of the image, through a read-only loop device over its partition.
with_partition() { # with_partition COMMAND... (the partition's loop device is appended)
        local start size loop rc
        start=$(sfdisk --json "$image" | python3 -c 'import json,sys; p=json.load(sys.stdin)["partitiontable"]["partitions"][0]; print(p["start"]*512, p["size"]*512)')
        read -r start size <<<"$start"
        loop=$(losetup --find --show --read-only --offset "$start" --sizelimit "$size" "$image") || return 1
        "$@" "$loop"; rc=$?
        losetup -d "$loop"
        return $rc
}
opens() { # opens PASSWORD LOOP
        printf %s "$1" | cryptsetup open --test-passphrase --key-file=- "$2" 2>/dev/null
}

step "create: a luks record makes an absent home"
record 1700000000000000 "$pw_old" >"$work/r1.json"
"$tool" create "$work/r1.json" || fail "create"
[ "$(state)" = absent ] || fail "state after create: $(state)"
[ -e "$image" ] && fail "an image exists before the first login"

step "a wrong password makes nothing"
HOME_PASSWORD=wrong "$tool" --mount realize "$user" && fail "realize with a wrong password succeeded"
[ -e "$image" ] && fail "a wrong password made an image"
ls -A /home | grep -q "^\.#homework$user" && fail "a wrong password left a temporary image"

step "first login: realize and mount"
t0=$(date +%s.%N)
HOME_PASSWORD=$pw_old "$tool" --mount realize "$user" || fail "realize"
echo "realize: $(echo "$(date +%s.%N) - $t0" | bc) s"
[ "$(state)" = active ] || fail "state after realize: $(state)"
findmnt -n -o SOURCE "/home/$user" | grep -q "^/dev/mapper/home-$user" || fail "/home/$user is not on /dev/mapper/home-$user"
[ "$(findmnt -n -o FSTYPE "/home/$user")" = ext4 ] || fail "not ext4"
[ "$(stat -c %U "/home/$user/.identity" 2>/dev/null)" != root ] || fail "~/.identity missing or root's"
with_partition cryptsetup luksDump >"$work/dump" || fail "luksDump"
grep -q "systemd-homed" "$work/dump" || fail "no systemd-homed token"
grep -q "Label:.*$user" "$work/dump" || fail "label"
grep -q "Subsystem:.*systemd-home" "$work/dump" || fail "subsystem"
"$tool" inspect "$user" | grep -q luksUuid || fail "binding has no luksUuid"

step "deactivate, activate, lock, unlock"
"$tool" --mount deactivate "$user" || fail "deactivate"
[ "$(state)" = inactive ] || fail "state after deactivate: $(state)"
[ -e "/dev/mapper/home-$user" ] && fail "dm device still open"
losetup -j "$image" | grep -q . && fail "loop device left"
HOME_PASSWORDS=wrong "$tool" --mount activate "$user" && fail "activate with a wrong password"
t0=$(date +%s.%N)
HOME_PASSWORDS=$pw_old "$tool" --mount activate "$user" || fail "activate"
echo "unlock: $(echo "$(date +%s.%N) - $t0" | bc) s"
"$tool" --mount lock "$user" || fail "lock"
[ "$(state)" = locked ] || fail "state after lock: $(state)"
dmsetup info "home-$user" | grep -q SUSPENDED || fail "not suspended"
HOME_PASSWORDS=wrong "$tool" --mount unlock "$user" && fail "unlock with a wrong password"
HOME_PASSWORDS=$pw_old "$tool" --mount unlock "$user" || fail "unlock"
"$tool" --mount deactivate "$user" || fail "deactivate"

step "password change: re-key at the next login with both"
record 1700000000000001 "$pw_new" >"$work/r2.json"
"$tool" update "$work/r2.json" || fail "update"
HOME_PASSWORDS=$pw_new "$tool" --mount activate "$user" && fail "the new password alone opened the old keyslot"
HOME_PASSWORDS=$pw_old "$tool" --mount activate "$user" && fail "the old password was accepted"
HOME_PASSWORDS="$pw_new
$pw_old" "$tool" --mount activate "$user" || fail "activate with both"
"$tool" --mount deactivate "$user" || fail "deactivate"
with_partition keyslots | grep -qx 1 || fail "not exactly one keyslot"
with_partition opens "$pw_new" || fail "the new password does not open"
with_partition opens "$pw_old" && fail "the old password still opens"

step "real systemd-homed activates our LUKS home"
if [ -d /run/systemd/system ] && systemctl cat systemd-homed.service >/dev/null 2>&1; then
        systemctl start systemd-homed || fail "start homed"
        PASSWORD=$pw_new timeout 120 homectl activate "$user" </dev/null || fail "homectl activate"
        findmnt -n "/home/$user" >/dev/null || fail "homed did not mount it"
        homectl inspect "$user" </dev/null | grep -q "LUKS" || fail "homectl inspect"
        timeout 60 homectl deactivate "$user" </dev/null || fail "homectl deactivate"
        systemctl stop systemd-homed
else
        echo "(skipped: no systemd as PID 1 or no systemd-homed)"
fi

step "remove erases the header"
ln "$image" "$work/kept" || fail "link"
"$tool" --mount remove "$user" || fail "remove"
[ -e "$image" ] && fail "image still there"
image=$work/kept
with_partition cryptsetup isLuks && fail "the header survived removal"
echo "luks-guest: all steps passed"
