#!/usr/bin/env bash
# The contract between build-image.sh and test-vm.sh, on an empty cache, in seconds and without network:
# mmdebstrap and the mirror probe (apt-helper) are stand-ins on PATH, mkfs.ext4 is the real one.
#   - standard output is exactly one line, the image directory, although mmdebstrap and mkfs.ext4 write
#     to standard output ("Creating regular file ..."); a second run answers from the cache;
#   - mmdebstrap failing while the mirror answers is a failure (1), not a skip: CI must not lose the VM
#     test silently; with the mirror unreachable it is a skip (77) with the reason on standard error;
#   - vm_image_dir (test-vm.sh) takes the last line and refuses a directory without a complete image.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
command -v mkfs.ext4 >/dev/null || { echo "SKIP: mkfs.ext4 is not installed"; exit 77; }

work=$(mktemp -d /tmp/test-build-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
status=0
fail() {
	echo "FAIL: $*"
	status=1
}

mkdir -p "$work/bin"
# mmdebstrap: a root with a kernel and an initrd, chatter on both streams; STUB_MMDEBSTRAP=fail fails.
cat >"$work/bin/mmdebstrap" <<'EOF'
#!/bin/bash
echo "mmdebstrap $*" >>"$STUB_LOG"
echo "I: chatter of mmdebstrap on standard output"
echo "I: chatter of mmdebstrap on standard error" >&2
[ "${STUB_MMDEBSTRAP:-ok}" = ok ] || { echo "E: cannot download packages" >&2; exit 1; }
root=${!#}
mkdir -p "$root/boot" "$root/etc"
echo kernel >"$root/boot/vmlinuz-6.1.0-99-amd64"
echo initrd >"$root/boot/initrd.img-6.1.0-99-amd64"
echo corehomed-vm >"$root/etc/hostname"
EOF
# apt-helper download-file URL FILE: STUB_MIRROR=up fetches something, anything else cannot connect.
cat >"$work/bin/apt-helper" <<'EOF'
#!/bin/bash
echo "apt-helper $*" >>"$STUB_LOG"
[ "${STUB_MIRROR:-down}" = up ] || { echo "E: Could not connect" >&2; exit 100; }
echo "Origin: Debian" >"$3"
EOF
chmod +x "$work/bin/mmdebstrap" "$work/bin/apt-helper"
export PATH=$work/bin:$PATH STUB_LOG=$work/calls.log

# run NAME: build-image.sh with an empty cache of that name; sets rc, out (stdout), err (stderr).
run() {
	COREHOMED_VMTEST_CACHE=$work/cache-$1 "$here/build-image.sh" >"$work/$1.out" 2>"$work/$1.err"
	rc=$?
	out=$(cat "$work/$1.out")
	err=$(cat "$work/$1.err")
}

# 1. A build on an empty cache: one line, naming a complete image.
run fresh
[ $rc = 0 ] || fail "fresh build: exit status $rc: $err"
lines=$(wc -l <"$work/fresh.out")
[ "$lines" = 1 ] || fail "fresh build: $lines lines on standard output, want the path alone: '$out'"
for f in complete rootfs.img vmlinuz initrd.img; do
	[ -f "$out/$f" ] || fail "fresh build: no $f in '$out'"
done
[[ $out == "$work/cache-fresh/image-"* ]] || fail "fresh build: '$out' is not in the cache"
grep -q "Creating regular file" <<<"$err" || fail "fresh build: mkfs.ext4's chatter is not on standard error"
# 2. Cached: the same line, no second mmdebstrap.
first=$out
run fresh
[ $rc = 0 ] && [ "$out" = "$first" ] || fail "cached run: status $rc, '$out', want '$first'"
n=$(grep -c '^mmdebstrap' "$work/calls.log")
[ "$n" = 1 ] || fail "mmdebstrap ran $n times for one image"

# 3. mmdebstrap fails and the mirror answers: a failure, nothing on standard output, no image.
STUB_MMDEBSTRAP=fail STUB_MIRROR=up run broken
[ $rc = 1 ] || fail "mmdebstrap failing with the mirror up: exit status $rc, want 1: $err"
[ -z "$out" ] || fail "mmdebstrap failing with the mirror up: standard output '$out'"
grep -q "cannot download packages" <<<"$err" || fail "mmdebstrap's log is not shown: $err"
grep -q 'apt-helper download-file http://deb.debian.org/debian/dists/bookworm/InRelease' "$work/calls.log" ||
	fail "the mirror was not probed"
ls -d "$work/cache-broken"/image-* 2>/dev/null && fail "a failed build left an image"
# 4. mmdebstrap fails and the mirror does not answer: a skip, with the reason.
STUB_MMDEBSTRAP=fail STUB_MIRROR=down run offline
[ $rc = 77 ] || fail "mmdebstrap failing offline: exit status $rc, want 77: $err"
[ -z "$out" ] || fail "mmdebstrap failing offline: standard output '$out'"
grep -q "^SKIP: .*does not answer" <<<"$err" || fail "no SKIP reason on standard error: $err"
left=$(find "$work/cache-offline" -mindepth 1 -maxdepth 1 ! -name build.lock)
[ -z "$left" ] || fail "a failed build left $left"

# 5. test-vm.sh's reading of that output.
# shellcheck source=test/vm/vm-lib.sh
. "$here/vm-lib.sh"
got=$(vm_image_dir "Creating regular file $first/rootfs.img"$'\n'"$first" 2>/dev/null)
[ "$got" = "$first" ] || fail "vm_image_dir with tool chatter before the path: '$got'"
vm_image_dir "Creating regular file $first/rootfs.img" >/dev/null 2>&1 &&
	fail "vm_image_dir accepted a line that is not an image directory"
mkdir -p "$work/partial" && touch "$work/partial/rootfs.img"
vm_image_dir "$work/partial" >/dev/null 2>&1 && fail "vm_image_dir accepted an incomplete image"

[ $status = 0 ] && echo "PASS: one line on standard output, cached, mirror up = failure, mirror down = skip"
exit $status
