#!/usr/bin/env bash
# Builds (once) the Debian 12 guest of the VM test and prints the directory holding it:
#   rootfs.img   ext4 root file system (made with mkfs.ext4 -d: no mount, no loop device)
#   vmlinuz, initrd.img   the guest's own kernel and initramfs, for qemu -kernel/-initrd
# The result is cached under $COREHOMED_VMTEST_CACHE (default /var/cache/corehomed-vmtest), keyed by a hash
# of the guest files (test/vm/guest/), the package list and $layout: change any of them and the next run
# builds a new image. Nothing of corehomed is in the image; the test installs it from the build at every run.
# Standard output carries that one line and nothing else (test-vm.sh reads it): every tool's output goes to
# standard error. Exit status 77 (after "SKIP: reason") when mmdebstrap is missing, or when mmdebstrap fails
# and the Debian mirror does not answer (no network here); a failure with the mirror answering is a real
# failure (status 1), never a skip: CI, where the mirror answers, must not lose the VM test silently.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${COREHOMED_VMTEST_CACHE:-/var/cache/corehomed-vmtest}

# The guest: systemd as PID 1, udev, the kernel (its modules: virtio, xhci, usb-storage, vfat, ext4, 9p,
# dm-crypt) and the libraries corehomed links against. No compiler: corehomed comes in over 9p, built on
# the host and staged with `meson install --destdir`.
packages=(
	systemd systemd-sysv udev kmod dbus libpam-systemd libnss-systemd systemd-userdbd
	linux-image-amd64 initramfs-tools
	util-linux mount e2fsprogs dosfstools cryptsetup-bin procps pamtester
	libjansson4 libgpgme11 libyaml-0-2 libcryptsetup12 libudev1 libcurl4 libssl3 libsystemd0
	openssl # the fleet scenario's HTTPS server in the guest (openssl s_server -WWW on loopback)
)
guest_files=("$here/guest/customize.sh" "$here/guest/corehomed-vmtest.service" "$here/guest/corehomed-vmtest-agent")
# Bump when the way the image is made (below) changes what it contains.
layout=1

key=$( { echo "$layout"; cat "${guest_files[@]}"; printf '%s\n' "${packages[@]}"; } | sha256sum | cut -c1-16)
out=$cache/image-$key
# mmdebstrap's default mirror (it adds bookworm-updates and bookworm-security of the same hosts).
mirror=http://deb.debian.org/debian

# mirror_answers: whether the mirror serves bookworm's release file within a minute. apt's own downloader
# (it uses the host's apt proxy settings, as mmdebstrap's apt does).
mirror_answers() {
	local probe=$work/InRelease
	PATH=$PATH:/usr/lib/apt timeout 60 apt-helper download-file "$mirror/dists/bookworm/InRelease" "$probe" \
		>/dev/null 2>&1 && [ -s "$probe" ]
}

build() {
	mkdir -p "$cache"
	# Concurrent runs (two test suites at once) wait for one build instead of making two.
	exec 9>"$cache/build.lock"
	flock 9
	[ -f "$out/complete" ] && return 0

	for tool in mmdebstrap mkfs.ext4; do
		if ! command -v "$tool" >/dev/null; then
			echo "SKIP: $tool is not installed (make deps installs it)"
			exit 77
		fi
	done

	work=$(mktemp -d "$cache/build.XXXXXX")
	trap 'rm -rf "$work"' EXIT

	local hooks=$work/hooks
	mkdir -p "$hooks"
	cp "${guest_files[@]}" "$hooks/"

	echo "build-image: mmdebstrap bookworm (${#packages[@]} packages) into $work/root"
	if ! mmdebstrap --variant=minbase --mode=root --quiet \
		--include="$(IFS=,; echo "${packages[*]}")" \
		--customize-hook="$hooks/customize.sh \"\$1\"" \
		bookworm "$work/root" >"$work/mmdebstrap.log" 2>&1; then
		tail -n 30 "$work/mmdebstrap.log"
		if mirror_answers; then
			echo "build-image: mmdebstrap failed although $mirror answers (log above)"
			exit 1
		fi
		echo "SKIP: mmdebstrap could not build the Debian 12 guest: $mirror does not answer (log above)"
		exit 77
	fi

	mkdir -p "$work/out"
	local kernel
	kernel=$(ls "$work/root/boot"/vmlinuz-* | sort -V | tail -n 1)
	cp "$kernel" "$work/out/vmlinuz"
	cp "$work/root/boot/initrd.img-${kernel##*/vmlinuz-}" "$work/out/initrd.img"
	# 3 GiB, sparse: the root (~700 MB) plus room for homes and the journal. (mkfs.ext4 says "Creating
	# regular file ..." on standard output even with -q: one reason build runs with stdout on stderr.)
	mkfs.ext4 -q -F -L corehomed-vm -d "$work/root" "$work/out/rootfs.img" 3G
	touch "$work/out/complete"
	rm -rf "$out"
	mv "$work/out" "$out"
	echo "build-image: $out"
}

if [ ! -f "$out/complete" ]; then
	build >&2
fi
echo "$out"
