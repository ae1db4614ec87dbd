#!/bin/bash
# SPDX-License-Identifier: MIT
# Proves the USB stick path end to end with real components: systemd-udevd, loop devices carrying
# partitioned ext4 images, our udev rule, the libudev monitor and the media worker (through
# media-monitor-tool, which runs them on one sd-event loop as the daemon does).
#   - good stick (hotplug and coldplug): the bytes read equal the file;
#   - symlink, FIFO, directory, 10 MiB file, 1 MiB + 1, no file: refused with the right error, and the
#     harness keeps running; exactly 1 MiB is accepted;
#   - a loop device detached mid-read does not wedge the harness; a hung worker is killed after the time
#     budget and reaped;
#   - without media.devices=any only devices tagged by our rule are read: an untagged loop device is
#     ignored, and one our rule tags (made to look like USB) is read;
#   - our rule loads without errors (udevadm test), a broken copy is caught;
#   - nothing stays mounted, every loop device is detached, every process stopped.
set -euo pipefail

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root (loop devices, mounts, udevd)"
        exit 77
fi
for tool in losetup partx mkfs.ext4 udevadm; do
        if ! command -v "$tool" >/dev/null; then
                echo "SKIP: $tool not installed"
                exit 77
        fi
done
if ! grep -qw ext4 /proc/filesystems; then
        echo "SKIP: the kernel has no ext4"
        exit 77
fi
UDEVD=/lib/systemd/systemd-udevd
TOOL="$BUILD_DIR/test/agent/media-monitor-tool"
RULE="$SOURCE_DIR/udev/99-corehomed.rules"

work=$(mktemp -d /tmp/test-udev-media.XXXXXX)
loops=()
tools=()
declare -A lock_pids=()
udevd_pid=
rules_installed=()

cleanup() {
        set +e
        for pid in "${tools[@]}" "${lock_pids[@]}"; do
                kill "$pid" 2>/dev/null
                wait "$pid" 2>/dev/null
        done
        for dev in "${loops[@]}"; do
                losetup -d "$dev" 2>/dev/null
        done
        for f in "${rules_installed[@]}"; do
                rm -f "$f"
        done
        if [ "${#rules_installed[@]}" -gt 0 ] && [ -z "$udevd_pid" ]; then
                udevadm control --reload 2>/dev/null
        fi
        if [ -n "$udevd_pid" ]; then
                kill "$udevd_pid" 2>/dev/null
                for _ in $(seq 50); do kill -0 "$udevd_pid" 2>/dev/null || break; sleep 0.1; done
        fi
        rm -rf "$work"
}
trap cleanup EXIT

fail() {
        echo "FAIL: $*" >&2
        for f in "$work"/tool-*.out; do
                [ -e "$f" ] && { echo "--- $f" >&2; cat "$f" >&2; }
        done
        exit 1
}

# udevd: use the running one, else start our own (and stop it afterwards).
if ! udevadm control --ping 2>/dev/null; then
        "$UDEVD" --daemon
        for _ in $(seq 50); do udevadm control --ping 2>/dev/null && break; sleep 0.1; done
        # Skip zombies of an earlier udevd: only the live daemon is ours to stop.
        udevd_pid=$(ps -eo pid=,stat=,comm= | awk '$3 == "systemd-udevd" && $2 !~ /^Z/ { print $1; exit }')
        [ -n "$udevd_pid" ] || fail "systemd-udevd did not start"
        # No `udevadm trigger`: every device this test uses is attached after udevd started, and
        # re-triggering would replay add events to other tests' devices.
fi
# Events of loop devices an earlier test detached are delivered before this test attaches any.
udevadm settle --timeout=30

# make_stick NAME: builds NAME.img from directory NAME.d: an MBR with one Linux partition from 1 MiB
# holding an ext4 file system populated from the directory.
make_stick() {
        local name=$1 img="$work/$1.img"
        truncate -s 16M "$img"
        # Partition 1: type 0x83, start LBA 2048, 30720 sectors (15 MiB); then the 0x55AA signature.
        printf '\x00\x00\x00\x00\x83\x00\x00\x00\x00\x08\x00\x00\x00\x78\x00\x00' |
                dd of="$img" bs=1 seek=446 conv=notrunc status=none
        printf '\x55\xaa' | dd of="$img" bs=1 seek=510 conv=notrunc status=none
        truncate -s 15M "$work/$name.part"
        mkfs.ext4 -q -F -d "$work/$name.d" "$work/$name.part"
        dd if="$work/$name.part" of="$img" bs=1M seek=1 conv=notrunc status=none
        rm -f "$work/$name.part"
}

# lock_device DEV: holds a shared BSD lock on the loop device DEV (in a process of its own, which keeps the
# device open) until unlock_device. Without it a partition can vanish under the test: udevd watches loop
# devices, and when one that was open for writing is closed (losetup itself does that when it attaches)
# udevd re-reads its partition table (BLKRRPART). This kernel has no partition table parsers, so the
# re-read drops the partition partx added; when partx runs before udevd gets to it, the partition is gone
# and a worker about to mount it reports "ENXIO the device vanished". (Seen by hand: opening a watched
# loop device for writing and closing it drops its partx partition.) udevd skips the re-read when it
# cannot take LOCK_EX on the disk (systemd's "Locking Block Device Access"); LOCK_SH still lets its
# workers process the device's events.
lock_device() {
        local dev=$1 ready=$work/locked-${1##*/}
        rm -f "$ready"
        (exec {fd}<"$dev" && flock -s "$fd" && : >"$ready" && exec sleep infinity) </dev/null >/dev/null 2>&1 &
        lock_pids[$dev]=$!
        for _ in $(seq 100); do [ -e "$ready" ] && return 0; sleep 0.05; done
        fail "cannot lock $dev"
}

# unlock_device DEV: ends the lock (and the holder's open file: a loop device still open when it is
# detached stays attached until the last close).
unlock_device() {
        local pid=${lock_pids[$1]:-}
        [ -n "$pid" ] || return 0
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true # 143: the holder ended by SIGTERM, as it should
        unset "lock_pids[$1]"
}

# attach_locked IMG: attaches IMG with partition scanning to a free loop device that is locked before
# the attach (see lock_device), adds its partitions, and sets $dev (a variable, not output: $(...) would
# run in a subshell and lose the lists the cleanup needs). This kernel lacks partition table parsers;
# partx adds the partition through BLKPG, which emits the same add event a parser would.
attach_locked() {
        local img=$1
        dev=
        for _ in 1 2 3; do
                dev=$(losetup -f) || fail "no free loop device"
                lock_device "$dev"
                losetup -P "$dev" "$img" && break
                # Taken between losetup -f and the attach (by someone not holding the systest lock).
                unlock_device "$dev"
                dev=
        done
        [ -n "$dev" ] || fail "cannot attach $img"
        loops+=("$dev")
        partx -a "$dev" 2>/dev/null || true
}

# attach NAME: attaches NAME.img and sets $part to its partition's device node.
attach() {
        attach_locked "$work/$1.img"
        for _ in $(seq 50); do [ -b "${dev}p1" ] && break; sleep 0.1; done
        [ -b "${dev}p1" ] || fail "no partition device for $dev"
        part="${dev}p1"
}

# detach DEV: detaches DEV and waits (up to 15 s) until it is free. While anything has the device open
# (a worker's mount, which a killed worker's exit releases a moment later; udev's blkid probe) the kernel
# only marks it to be detached at the last close: checking or reusing it at once raced with that.
detach() {
        local dev=$1 keep=()
        unlock_device "$dev"
        losetup -d "$dev" || true
        for _ in $(seq 150); do [ -e "/sys/block/${dev#/dev/}/loop/backing_file" ] || break; sleep 0.1; done
        for l in "${loops[@]}"; do [ "$l" != "$dev" ] && keep+=("$l"); done
        loops=("${keep[@]}")
}

# start_tool NAME ARGS...: starts the harness writing to tool-NAME.out and waits for READY.
start_tool() {
        local name=$1
        shift
        mkdir -p "$work/dump-$name"
        "$TOOL" --dump="$work/dump-$name" "$@" >"$work/tool-$name.out" 2>"$work/tool-$name.err" &
        tools+=("$!")
        eval "pid_$name=$!"
        for _ in $(seq 100); do grep -q '^READY$' "$work/tool-$name.out" && return 0; sleep 0.1; done
        fail "harness $name did not get ready: $(cat "$work/tool-$name.err")"
}

# expect NAME DEVNODE REGEX: waits up to 20 s for DEVNODE's line in tool-NAME.out and checks it.
expect() {
        local name=$1 devnode=$2 regex=$3 line=
        for _ in $(seq 200); do
                line=$(grep "^$devnode " "$work/tool-$name.out" | tail -n1 || true)
                [ -n "$line" ] && break
                sleep 0.1
        done
        [ -n "$line" ] || fail "$name: no line for $devnode"
        [[ "$line" =~ $regex ]] || fail "$name: $devnode: got '$line', want /$regex/"
        echo "ok: $line"
}

# stick NAME [auto-import.assert content setup...]
mkdir -p "$work"/{good,cold,symlink,fifo,big,max,over,none,dir,detach,usb,plain}.d
head -c 4000 /dev/urandom | base64 >"$work/good.d/auto-import.assert"
echo "coldplugged" >"$work/cold.d/auto-import.assert"
echo "target" >"$work/symlink.d/target"
ln -s target "$work/symlink.d/auto-import.assert"
mkfifo "$work/fifo.d/auto-import.assert"
head -c $((10 * 1024 * 1024)) /dev/zero >"$work/big.d/auto-import.assert"
head -c $((1024 * 1024)) /dev/zero | tr '\0' 'a' >"$work/max.d/auto-import.assert"
head -c $((1024 * 1024 + 1)) /dev/zero | tr '\0' 'a' >"$work/over.d/auto-import.assert"
echo "something else" >"$work/none.d/README"
mkdir "$work/dir.d/auto-import.assert"
echo "detached" >"$work/detach.d/auto-import.assert"
echo "usb" >"$work/usb.d/auto-import.assert"
echo "plain" >"$work/plain.d/auto-import.assert"
for s in good cold symlink fifo big max over none dir detach usb plain; do
        make_stick "$s"
done

# Coldplug: a stick already present when the monitor starts.
attach cold
cold=$part
udevadm settle --timeout=30
start_tool any --any
start_tool removable
expect any "$cold" " OK 12$"
cmp "$work/cold.d/auto-import.assert" "$work/dump-any/$(basename "$cold")" || fail "coldplug bytes differ"

# Hotplug, one case after the other, all through the same harness.
good_seen=$(wc -l <"$work/tool-any.out")
attach good
good=$part
expect any "$good" " OK [0-9]+$"
cmp "$work/good.d/auto-import.assert" "$work/dump-any/$(basename "$good")" || fail "good stick bytes differ"

# The synchronous reader (corehomectl import-media) runs the same worker.
mkdir -p "$work/dump-sync"
"$TOOL" --dump="$work/dump-sync" --read="$good" | grep -Eq "^$good OK [0-9]+$" || fail "sync read of $good"
cmp "$work/good.d/auto-import.assert" "$work/dump-sync/$(basename "$good")" || fail "sync read bytes differ"
out=$("$TOOL" --read="$work/none.img") && fail "sync read of a regular file succeeded"
grep -q "ERROR ENOTBLK" <<<"$out" || fail "sync read of a regular file: $out"
echo "ok: synchronous read of $good"

attach symlink
dev=$part
expect any "$dev" " ERROR ELOOP .*symbolic link"
attach fifo
dev=$part
expect any "$dev" " ERROR EBADFD .*not a regular file"
attach dir
dev=$part
expect any "$dev" " ERROR EBADFD .*not a regular file"
attach big
dev=$part
expect any "$dev" " ERROR E2BIG "
attach over
dev=$part
expect any "$dev" " ERROR E2BIG "
attach max
dev=$part
expect any "$dev" " OK 1048576$"
cmp "$work/max.d/auto-import.assert" "$work/dump-any/$(basename "$dev")" || fail "1 MiB stick bytes differ"
attach none
dev=$part
expect any "$dev" " ERROR ENOENT .*no auto-import.assert"

# Each device was read once: duplicate events must not start a second read.
n=$(tail -n +"$((good_seen + 1))" "$work/tool-any.out" | grep -c "^$good ")
[ "$n" = 1 ] || fail "$good was read $n times"

# Detach mid-read: the harness must survive and go on reading the next stick.
seen=$(wc -l <"$work/tool-any.out")
attach_locked "$work/detach.img"
detach "$dev"
# The number stays taken until the end. The next stick got the same loop device, so the same partition
# node, and this stick's outcome (read before the detach landed: "OK 9"; or "ENOENT cannot start worker",
# or "ENXIO the device vanished") was taken for the next stick's result: 6 failures in 15 runs here.
truncate -s 1M "$work/placeholder.img"
losetup "$dev" "$work/placeholder.img" || fail "cannot keep $dev taken"
loops+=("$dev")
sleep 1
# If the read got that far, it failed for the right reason, not as a missing file.
if tail -n +"$((seen + 1))" "$work/tool-any.out" | grep "^${dev}p1 " | grep -q "ERROR ENOENT .*no auto-import.assert"; then
        fail "a vanished device was reported as a missing file"
fi
kill -0 "$pid_any" || fail "harness died after a detach mid-read"
attach plain
dev=$part
expect any "$dev" " OK 6$"
cmp "$work/plain.d/auto-import.assert" "$work/dump-any/$(basename "$dev")" || fail "stick after detach differs"

# Removable mode: nothing above was tagged (loop devices are not USB), so nothing was read.
if grep -q "^/dev/" "$work/tool-removable.out"; then
        fail "removable mode read an untagged loop device"
fi
echo "ok: removable mode ignored untagged loop devices"

# Our rule: loads cleanly (udevadm test reports rule syntax errors), and tags a device that looks like
# USB. A helper rule fakes ID_BUS=usb for the loop device backed by usb.img only.
rules_dir=/run/udev/rules.d
mkdir -p "$rules_dir"
fake="$rules_dir/98-corehomed-test-fake-usb-$$.rules"
ours="$rules_dir/99-corehomed-test-$$.rules"
rules_installed+=("$fake" "$ours")
cat >"$fake" <<EOF
SUBSYSTEM=="block", ATTRS{loop/backing_file}=="$work/usb.img", ENV{ID_BUS}="usb"
EOF
cp "$RULE" "$ours"
udevadm control --reload
attach usb
usb=$part
udevadm settle --timeout=30
udevadm info --query=property "$usb" | grep -q '^ID_BUS=usb$' || fail "the fake USB rule did not apply"
udevadm info --query=property "$usb" | grep -Eq '^TAGS=.*:corehomed-media:' || fail "our rule did not tag $usb"
expect removable "$usb" " OK 4$"
expect any "$usb" " OK 4$"
cmp "$work/usb.d/auto-import.assert" "$work/dump-removable/$(basename "$usb")" || fail "usb stick bytes differ"
echo "ok: our rule tags USB media and the removable-mode monitor reads it"

out=$(udevadm test --action=add "/sys/class/block/$(basename "$usb")" 2>&1) || fail "udevadm test failed"
if grep -i "$(basename "$ours")" <<<"$out" | grep -Eiq "invalid|error|fail|unknown|ignor"; then
        fail "udevadm reports problems with our rule: $(grep -i "$(basename "$ours")" <<<"$out")"
fi
grep -q "corehomed-media" <<<"$out" || fail "udevadm test did not apply our tag"
# The check above must be able to fail: a broken copy of the rule is reported.
echo 'SUBSYSTEM=="block", ENV{ID_FS_USAGE}=="filesystem", TAGG+="corehomed-media"' >>"$ours"
out=$(udevadm test --action=add "/sys/class/block/$(basename "$usb")" 2>&1) || true
grep -i "$(basename "$ours")" <<<"$out" | grep -Eiq "invalid|error|unknown" ||
        fail "udevadm test did not report a broken rule: $out"
rm -f "$ours" "$fake"
udevadm control --reload
echo "ok: the rule loads without errors under udevadm test"

# Time budget: a worker that hangs (frozen with SIGSTOP, as a mount on a dying medium would hang) is
# killed after MEDIA_MOUNT_TIMEOUT (10 s), reported, and reaped; the harness goes on.
start_tool stuck --any --stop-workers
expect stuck "$usb" " ERROR ETIMEDOUT .*took too long"
worker=$(awk -v d="$usb" '$1 == "STOPPED" && $2 == d { print $3 }' "$work/tool-stuck.out")
[ -n "$worker" ] || fail "no worker pid for $usb"
for _ in $(seq 50); do [ -e "/proc/$worker" ] || break; sleep 0.1; done
if [ -e "/proc/$worker" ]; then
        fail "the killed worker $worker was not reaped: $(cat "/proc/$worker/status" | head -3)"
fi
kill -0 "$pid_stuck" || fail "harness (stuck) died"
echo "ok: a hung worker is killed and reaped"

# The harnesses are still alive and serving.
kill -0 "$pid_any" || fail "harness (any) died"
kill -0 "$pid_removable" || fail "harness (removable) died"

# Nothing the workers mounted is visible here, and nothing is left behind.
for dev in "${loops[@]}"; do
        if grep -q "$dev" /proc/self/mountinfo; then
                fail "$dev is mounted"
        fi
done
if grep -q "corehomed-media" /proc/self/mountinfo; then
        fail "a corehomed-media mount is visible"
fi
if ls -d /tmp/corehomed-media-* 2>/dev/null; then
        fail "worker directories left in /tmp"
fi
echo "ok: nothing mounted"

for pid in "${tools[@]}"; do
        kill "$pid"
        wait "$pid" || fail "harness $pid exited with an error"
done
tools=()
grep -E "ERROR|AddressSanitizer|runtime error" "$work"/tool-*.err && fail "harness reported errors"
for dev in "${loops[@]}"; do
        detach "$dev"
done
if losetup -a | grep -q "$work/"; then
        fail "loop devices left attached: $(losetup -a | grep "$work/")"
fi
echo "PASS"
