#!/usr/bin/env bash
# A full disk is reported as what it is (ENOSPC, with the step that hit it), never with a message left over
# from an earlier step, and leaves nothing half made: once there is room again, the same command works.
set -euo pipefail
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"
now=--now=2026-11-25T10:00:00Z

if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root (mounts a small tmpfs as the device's root)"
        exit 77
fi
root=$(mktemp -d /tmp/corehomed-disk-full.XXXXXX)
cleanup() {
        umount "$root" 2>/dev/null || true
        rm -rf "$root"
}
trap cleanup EXIT
fail() {
        echo "FAIL: $*"
        exit 1
}

mount -t tmpfs -o size=1m,mode=0755 corehomed-disk-full "$root"
mkdir -p "$root/etc/corehomed/trusted"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/"
echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$root/etc/corehomed/corehomed.yaml"
"$corehomectl" --root="$root" "$now" import "$trust/stick.assert" >/dev/null
"$corehomectl" --root="$root" "$now" expire >/dev/null # the engine key and the state directories
dd if=/dev/zero of="$root/filler" bs=4k 2>/dev/null || true

rc=0
"$corehomectl" --root="$root" "$now" create-user --known >"$root.out" 2>&1 || rc=$?
[ $rc = 1 ] || fail "create-user on a full disk exited $rc: $(cat "$root.out")"
grep -q 'No space left on device' "$root.out" || fail "create-user on a full disk does not say ENOSPC: $(cat "$root.out")"
! grep -q 'no such home' "$root.out" || fail "a stale message from the lookup: $(cat "$root.out")"
echo "ok: create-user on a full disk says: $(cat "$root.out")"
[ ! -e "$root/var/lib/systemd/home/alice.identity" ] && [ ! -e "$root/home/alice.homedir" ] &&
        ! compgen -G "$root/home/.#*" >/dev/null && ! compgen -G "$root/var/lib/corehomed/journal/*" >/dev/null ||
        fail "a full disk left a half user behind: $(ls -A "$root/home" "$root/var/lib/systemd/home" 2>&1)"

rm -f "$root/filler"
"$corehomectl" --root="$root" "$now" create-user --known >"$root.out" 2>&1 || fail "with room again: $(cat "$root.out")"
grep -q '^alice: created$' "$root.out" || fail "with room again alice was not created: $(cat "$root.out")"
echo "ok: with room again the same command creates alice"
rm -f "$root.out"
