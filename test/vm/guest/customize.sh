#!/bin/sh
# mmdebstrap --customize-hook of test/vm/build-image.sh: runs after the packages are installed.
# $1: the guest's root directory; the other guest files sit next to this script.
set -eu
root=$1
hooks=$(dirname "$0")
echo corehomed-vm >"$root/etc/hostname"
printf '/dev/vda / ext4 rw,errors=remount-ro 0 1\n' >"$root/etc/fstab"
install -m 0644 "$hooks/corehomed-vmtest.service" "$root/etc/systemd/system/"
install -m 0755 "$hooks/corehomed-vmtest-agent" "$root/usr/local/sbin/"
mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
ln -sf /etc/systemd/system/corehomed-vmtest.service "$root/etc/systemd/system/multi-user.target.wants/"
# A persistent journal: the reboot scenarios count decisions across boots.
mkdir -p "$root/var/log/journal"
# Nothing in the guest waits for a network or a clock server; timers that would only cost CPU under TCG.
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
	getty@tty1.service serial-getty@ttyS0.service systemd-networkd-wait-online.service; do
	ln -sf /dev/null "$root/etc/systemd/system/$unit"
done
# systemd-homed is installed for its clients and as the real thing to compare with; corehomed serves
# org.freedesktop.home1 unless a scenario unmasks and starts homed (docs/home1.md, Mode 1 / Mode 2).
ln -sf /dev/null "$root/etc/systemd/system/systemd-homed.service"
# Root without a password: the guest has no network and lives for one test run.
chroot "$root" passwd -d root >/dev/null
