# Thin wrapper: the build is meson's; these targets are the stable entry points (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := build

# Every Debian package the build, the tests, the demo and the benchmarks need.
DEB_PACKAGES := meson ninja-build pkg-config gcc clang libclang-rt-14-dev clang-format \
	libjansson-dev libgpgme-dev gnupg libyaml-dev libcryptsetup-dev cryptsetup-bin libudev-dev udev \
	libfdisk-dev libblkid-dev libcrypt-dev btrfs-progs \
	libcurl4-openssl-dev libssl-dev openssl libsystemd-dev libcmocka-dev \
	systemd-homed systemd-userdbd libnss-systemd dbus pamtester util-linux mount e2fsprogs python3 \
	golang-go golang-github-snapcore-snapd-dev golang-golang-x-crypto-dev golang-gopkg-check.v1-dev \
	golang-gopkg-yaml.v2-dev golang-gopkg-tomb.v2-dev golang-dbus-dev snapd \
	qemu-system-x86 qemu-utils mmdebstrap dosfstools mtools fdisk man-db systemd nginx nghttp2-client

# Names must be real packages, never virtual ones (golang-github-godbus-dbus-dev is only a name other
# packages depend on; golang-dbus-dev ships github.com/godbus/dbus): dpkg-query never reports a virtual
# package as installed, so every `make` would run apt-get again. `make deps` fails when a name stays
# missing after the install, and the test deb-packages checks that a second `make deps` has nothing to do.
DEB_MISSING = for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' "$$p" 2>/dev/null | grep -q '^install ok installed$$' || echo "$$p"; \
	done

FUZZ_SECONDS ?= 30

.PHONY: build deps demo check bench fuzz vmtest format clean

deps:
	@missing=$$($(DEB_MISSING)); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing || exit 1; \
		missing=$$($(DEB_MISSING)); \
		if [ -n "$$missing" ]; then \
			echo "make deps: still not installed (a virtual package? name the real one):" $$missing >&2; \
			exit 1; \
		fi; \
	fi

build: deps
	@[ -d build ] || meson setup build --buildtype=debugoptimized
	meson compile -C build

demo: build
	test/demo/run-demo.sh build

check: deps
	@[ -d build-check ] || meson setup build-check --buildtype=debug -Db_sanitize=address,undefined -Dcrash_points=true
	meson compile -C build-check
	@# clang must build the tree too (`make fuzz` uses it, and it warns where gcc does not), and so must an
	@# optimised gcc build (`make bench`; _FORTIFY_SOURCE and -O3 bring warnings of their own).
	@[ -d build-check-clang ] || CC=clang meson setup build-check-clang --buildtype=debug >/dev/null
	meson compile -C build-check-clang
	@[ -d build-check-release ] || meson setup build-check-release --buildtype=release >/dev/null
	meson compile -C build-check-release
	test/run-tests.sh build-check

bench: deps
	@[ -d build-bench ] || meson setup build-bench --buildtype=release
	meson compile -C build-bench
	test/bench/run-bench.sh build-bench

fuzz: deps
	@[ -d build-fuzz ] || CC=clang meson setup build-fuzz --buildtype=debugoptimized -Dfuzzing=true \
		-Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link
	meson compile -C build-fuzz
	test/fuzz/run-fuzz.sh build-fuzz $(FUZZ_SECONDS)

# End to end in a Debian 12 VM (QEMU TCG, systemd as PID 1, hot-plugged USB sticks): docs/vmtest.md.
vmtest: deps
	test/vm/test-vm.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build build-check build-check-clang build-check-release build-bench build-fuzz
