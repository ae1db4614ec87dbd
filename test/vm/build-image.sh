#!/usr/bin/env bash
# Builds (once) the Debian 12 guest of the VM test and prints the directory holding it:
#   rootfs.img   ext4 root file system (made with mkfs.ext4 -d: no mount, no loop device)
#   vmlinuz, initrd.img   the guest's own kernel and initramfs, for qemu -kernel/-initrd
# The result is cached under $COREHOMED_VMTEST_CACHE (default /var/cache/corehomed-vmtest), keyed by a hash
# of the guest files (test/vm/guest/), the package list and $layout: change any of them and the next run
# builds a new image. Nothing of corehomed is in the image; the test installs it from the build at every run.
# Exit status 77 (after "SKIP: reason") when mmdebstrap is missing or the image cannot be built here.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${COREHOMED_VMTEST_CACHE:-/var/cache/corehomed-vmtest}

# The guest: systemd as PID 1, udev, the kernel (its modules: virtio, xhci, usb-storage, vfat, ext4, 9p,
# dm-crypt) and the libraries corehomed links against. systemd-homed brings homectl, pam_systemd_home (its
# pam-auth-update profile, enabled) and the real homed for the org.freedesktop.home1 scenarios; the image
# masks the daemon (customize.sh), so corehomed serves org.freedesktop.home1 unless a scenario starts homed. No compiler: corehomed comes in over 9p, built on
# the host and staged with `meson install --destdir`.
packages=(
	systemd systemd-sysv udev kmod dbus libpam-systemd libnss-systemd systemd-userdbd
	linux-image-amd64 initramfs-tools
	util-linux mount e2fsprogs dosfstools cryptsetup-bin procps pamtester
	systemd-homed
	libjansson4 libgpgme11 libyaml-0-2 libcryptsetup12 libudev1 libcurl4 libssl3 libsystemd0
)
guest_files=("$here/guest/customize.sh" "$here/guest/corehomed-vmtest.service" "$here/guest/corehomed-vmtest-agent")
# Bump when the way the image is made (below) changes what it contains.
layout=1

key=$( { echo "$layout"; cat "${guest_files[@]}"; printf '%s\n' "${packages[@]}"; } | sha256sum | cut -c1-16)
out=$cache/image-$key
if [ -f "$out/complete" ]; then
	echo "$out"
	exit 0
fi
mkdir -p "$cache"
# Concurrent runs (two test suites at once) wait for one build instead of making two.
exec 9>"$cache/build.lock"
flock 9
if [ -f "$out/complete" ]; then
	echo "$out"
	exit 0
fi

for tool in mmdebstrap mkfs.ext4; do
	if ! command -v "$tool" >/dev/null; then
		echo "SKIP: $tool is not installed (make deps installs it)" >&2
		exit 77
	fi
done

work=$(mktemp -d "$cache/build.XXXXXX")
trap 'rm -rf "$work"' EXIT

hooks=$work/hooks
mkdir -p "$hooks"
cp "${guest_files[@]}" "$hooks/"

echo "build-image: mmdebstrap bookworm (${#packages[@]} packages) into $work/root" >&2
if ! mmdebstrap --variant=minbase --mode=root --quiet \
	--include="$(IFS=,; echo "${packages[*]}")" \
	--customize-hook="$hooks/customize.sh \"\$1\"" \
	bookworm "$work/root" >"$work/mmdebstrap.log" 2>&1; then
	tail -n 30 "$work/mmdebstrap.log" >&2
	echo "SKIP: mmdebstrap could not build the Debian 12 guest (log above)" >&2
	exit 77
fi

mkdir -p "$work/out"
kernel=$(ls "$work/root/boot"/vmlinuz-* | sort -V | tail -n 1)
cp "$kernel" "$work/out/vmlinuz"
cp "$work/root/boot/initrd.img-${kernel##*/vmlinuz-}" "$work/out/initrd.img"
# 3 GiB, sparse: the root (~700 MB) plus room for homes and the journal.
mkfs.ext4 -q -F -L corehomed-vm -d "$work/root" "$work/out/rootfs.img" 3G
touch "$work/out/complete"
rm -rf "$out"
mv "$work/out" "$out"
echo "build-image: $out" >&2
echo "$out"
