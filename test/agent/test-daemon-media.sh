#!/usr/bin/env bash
# corehomed with sticks through real systemd-udevd: plugging a partitioned ext4 loop image whose first
# partition holds auto-import.assert creates the user (and activates the home); bad sticks (symlink, FIFO,
# 10 MiB file, garbage, tampered, unknown signer, another model, an expired grant, no file) create nothing,
# each is logged with a reason, and the daemon keeps serving the Manager throughout. A big stick, 500
# grants in one auto-import.assert, creates 500 users.
set -euo pipefail
corehomed="$BUILD_DIR/agent/corehomed"
corehomectl="$BUILD_DIR/agent/corehomectl"
sign_many="$BUILD_DIR/test/sign-many"
trust="$FIXTURES_DIR/trust"
GRANTS=${GRANTS:-500}

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root (loop devices, mounts, udevd)"
        exit 77
fi
for tool in losetup partx mkfs.ext4 udevadm gpg; do
        command -v "$tool" >/dev/null || { echo "SKIP: $tool not installed"; exit 77; }
done
grep -qw ext4 /proc/filesystems || { echo "SKIP: the kernel has no ext4"; exit 77; }

work=$(mktemp -d /tmp/corehomed-daemon-media.XXXXXX)
root="$work/root"
rundir="/run/corehomed-test-$$"
manager="$rundir/io.corehomed.Manager"
userdb="/run/systemd/userdb/io.corehomed-test-$$"
log="$work/daemon.log"
export COREHOMED_MANAGER_SOCKET="$manager"
daemon_pid=
udevd_pid=
loops=()

cleanup() {
        set +e
        if [ -n "$daemon_pid" ]; then
                kill -TERM "$daemon_pid" 2>/dev/null
                wait "$daemon_pid" 2>/dev/null
        fi
        for dev in "${loops[@]}"; do losetup -d "$dev" 2>/dev/null; done
        awk -v p="$work/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r |
                while read -r m; do umount -l "$m"; done
        if [ -n "$udevd_pid" ]; then
                kill "$udevd_pid" 2>/dev/null
                for _ in $(seq 50); do kill -0 "$udevd_pid" 2>/dev/null || break; sleep 0.1; done
        fi
        gpgconf --homedir "$work/gnupg" --kill all 2>/dev/null
        rm -rf "$work" "$rundir"
        rm -f "$userdb"
}
trap cleanup EXIT

fail() {
        echo "FAIL: $*"
        echo "--- daemon log:"
        cat "$log"
        exit 1
}

if ! udevadm control --ping 2>/dev/null; then
        /lib/systemd/systemd-udevd --daemon
        for _ in $(seq 50); do udevadm control --ping 2>/dev/null && break; sleep 0.1; done
        udevd_pid=$(pgrep -xo systemd-udevd) || fail "systemd-udevd did not start"
        udevadm trigger --subsystem-match=block --action=add
        udevadm settle --timeout=30
fi

# make_stick NAME: NAME.img, an MBR with one Linux partition holding ext4 populated from NAME.d.
make_stick() {
        local img="$work/$1.img"
        truncate -s 16M "$img"
        printf '\x00\x00\x00\x00\x83\x00\x00\x00\x00\x08\x00\x00\x00\x78\x00\x00' |
                dd of="$img" bs=1 seek=446 conv=notrunc status=none
        printf '\x55\xaa' | dd of="$img" bs=1 seek=510 conv=notrunc status=none
        truncate -s 15M "$work/$1.part"
        mkfs.ext4 -q -F -d "$work/$1.d" "$work/$1.part"
        dd if="$work/$1.part" of="$img" bs=1M seek=1 conv=notrunc status=none
        rm -f "$work/$1.part"
}
attach() { # sets $part
        local dev
        dev=$(losetup -P --show -f "$work/$1.img")
        loops+=("$dev")
        [ -b "${dev}p1" ] || partx -a "$dev" 2>/dev/null || true
        for _ in $(seq 50); do [ -b "${dev}p1" ] && break; sleep 0.1; done
        [ -b "${dev}p1" ] || fail "no partition device for $dev"
        part="${dev}p1"
}
# wait_log DEVNODE REGEX [SECONDS]: up to 20 s (or SECONDS) for a daemon log line about DEVNODE matching REGEX
wait_log() {
        for _ in $(seq $((${3:-20} * 10))); do
                grep -F "$1" "$log" | grep -Eq "$2" && return 0
                sleep 0.1
        done
        fail "no log line about $1 matching /$2/"
}

mkdir -p "$root/etc/corehomed/trusted"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/"
cp /etc/machine-id "$root/etc/machine-id" 2>/dev/null || echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
printf 'device:\n  brand-id: acme\n  model: appliance-1\nmedia:\n  devices: any\n' >"$root/etc/corehomed/corehomed.yaml"

mkdir -p "$work"/{good,symlink,fifo,big,garbage,tampered,unknown,model,expired,none}.d
cp "$trust/stick.assert" "$work/good.d/auto-import.assert"
ln -s /etc/passwd "$work/symlink.d/auto-import.assert"
mkfifo "$work/fifo.d/auto-import.assert"
head -c $((10 * 1024 * 1024)) /dev/zero >"$work/big.d/auto-import.assert"
head -c 3000 /dev/urandom >"$work/garbage.d/auto-import.assert"
sed 's/^username: alice$/username: mallory/' "$trust/stick.assert" >"$work/tampered.d/auto-import.assert"
cp "$trust/alice-by-unknown-key.system-user" "$work/unknown.d/auto-import.assert"
# Validly signed by the brand, but not for this device: another model, and a grant whose until has passed.
export GNUPGHOME="$work/gnupg"
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --import "$FIXTURES_DIR/keys/test-brand.secret.asc" 2>/dev/null
signed_stick() { # signed_stick NAME USERNAME MODEL UNTIL: NAME.d/auto-import.assert with the brand's chain
        printf '{"type":"system-user","authority-id":"acme","brand-id":"acme","email":"%s@example.com",
 "series":["16"],"models":["%s"],"username":"%s",
 "password":"$6$S4ltS4ltS4lt$JJMkHPPOCWwCYm72g0S.IG547HUVw6XxyeKRXzEYaPBzYkq9lVZhMtUFGYUuEKiEIEDnpPkYRiZCYzXNwExfC.",
 "since":"2016-01-01T00:00:00Z","until":"%s"}\n' "$2" "$3" "$2" "$4" |
                "$corehomectl" sign --key=corehomed-test-brand --gnupg-home="$GNUPGHOME" - >"$work/$1.system-user" ||
                fail "cannot sign the $1 system-user"
        { cat "$work/$1.system-user"; echo; cat "$trust/acme.account-key"; echo; cat "$trust/acme.account"; } \
                >"$work/$1.d/auto-import.assert"
}
signed_stick model bob other-model 2030-01-01T00:00:00Z
signed_stick expired carol appliance-1 2020-01-01T00:00:00Z
echo "nothing to see" >"$work/none.d/README"
# The big stick: $GRANTS grants for technicians, one stream, within the 1 MiB a stick may hold.
mkdir -p "$work/crowd.d" "$work/signed"
for i in $(seq -f '%03g' "$GRANTS"); do
        printf '{"type":"system-user","authority-id":"acme","brand-id":"acme","email":"tech%s@example.com",' "$i"
        printf '"series":["16"],"models":["appliance-1"],"name":"Tech %s","username":"tech%s",' "$i" "$i"
        printf '"since":"2016-01-01T00:00:00Z","until":"2030-01-01T00:00:00Z"}\n'
done | "$sign_many" "$GNUPGHOME" corehomed-test-brand "$work/signed" || fail "cannot sign the big stick's grants"
for f in "$trust/acme.account" "$trust/acme.account-key" "$work"/signed/*.assert; do cat "$f"; echo; done \
        >"$work/crowd.d/auto-import.assert"
[ "$(stat -c %s "$work/crowd.d/auto-import.assert")" -le $((1024 * 1024)) ] || fail "the big stick is over 1 MiB"
for s in good symlink fifo big garbage tampered unknown model expired none crowd; do make_stick "$s"; done

"$corehomed" --root="$root" --userdb-socket="$userdb" --manager-socket="$manager" 2>"$log" &
daemon_pid=$!
# Ready once the start line is logged (after the sockets are bound): the socket alone may come first.
for _ in $(seq 100); do grep -q 'corehomed started' "$log" && break; sleep 0.1; done
[ -S "$manager" ] || fail "corehomed did not start"
grep -q 'watching for media' "$log" || fail "the daemon does not watch for media"
echo "ok: corehomed started, watching for media (media.devices: any)"

# Bad sticks first: each is refused with a reason; nobody is created; the Manager still answers.
declare -A want=(
        [symlink]='symbolic link'
        [fifo]='not a regular file'
        [big]='larger than 1 MiB'
        [garbage]='^corehomed: refused stick .*auto-import.assert: '
        [tampered]='^corehomed: refused (assertion system-user|stick)'
        [unknown]='^corehomed: refused assertion system-user'
        [model]='^corehomed: user bob: refused: "appliance-1" not in models \["other-model"\]'
        [expired]='^corehomed: user carol: refused: assertion not valid anymore: until 2020-01-01T00:00:00Z'
        [none]='no auto-import.assert'
)
for s in symlink fifo big garbage tampered unknown model expired none; do
        attach "$s"
        udevadm settle --timeout=10 || true
        [ -z "${DEBUG:-}" ] || udevadm info "$part" | grep -E "ID_FS_TYPE|TAGS|DEVNAME"
        wait_log "$part" "${want[$s]}"
        "$corehomectl" list >"$work/out" 2>&1 || fail "the Manager stopped answering after the $s stick"
        grep -q '^No users\.$' "$work/out" || fail "the $s stick created a user: $(cat "$work/out")"
        echo "ok: $s stick refused and logged ($(grep -F "$part" "$log" | tail -1 | cut -c1-140))"
done

attach good
wait_log "$part" "user alice: created"
for _ in $(seq 50); do mountpoint -q "$root/home/alice" && break; sleep 0.1; done
mountpoint -q "$root/home/alice" || fail "alice's home not activated after the stick"
"$corehomectl" list | grep -Eq '^alice +[0-9]+ +active ' || fail "alice not listed active"
echo "ok: the good stick ($part) created alice, home active"
if userdbctl --service="io.corehomed-test-$$" user alice >/dev/null 2>&1; then
        echo "ok: userdbctl resolves alice through the daemon's userdb socket"
fi

attach crowd
start=$(date +%s%N)
wait_log "$part" "user tech$GRANTS: created" 240
ms=$((($(date +%s%N) - start) / 1000000))
"$corehomectl" list >"$work/out" 2>&1 || fail "list after the big stick: $(cat "$work/out")"
[ "$(grep -c '^tech[0-9]* ' "$work/out")" = "$GRANTS" ] || fail "not $GRANTS users listed: $(tail -3 "$work/out")"
grep -F "$part" "$log" | grep -q "refused" && fail "the big stick refused something"
echo "ok: the big stick ($part, $GRANTS grants in one stream) created $GRANTS users (last one after $ms ms)"

kill -TERM "$daemon_pid"
rc=0
wait "$daemon_pid" || rc=$?
daemon_pid=
[ $rc = 0 ] || fail "corehomed exited $rc on SIGTERM"
echo "ok: SIGTERM after the media run: exit 0"
