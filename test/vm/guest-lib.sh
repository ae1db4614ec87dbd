# shellcheck shell=bash
# Sourced by every command the host runs in the guest (working directory: the 9p share).

marker() { echo "@@VMTEST@@ $*" >/dev/ttyS0; }

# wait_for TIMEOUT COMMAND...: run COMMAND every 20 ms until it succeeds (status 0) or TIMEOUT seconds
# passed (status 124).
wait_for() {
	local deadline
	deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 124
		sleep 0.02
	done
}

# wait_gone TIMEOUT COMMAND...: the reverse, until COMMAND fails.
wait_gone() {
	local deadline
	deadline=$(($(date +%s%N) + $1 * 1000000000))
	shift
	while "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -lt "$deadline" ] || return 124
		sleep 0.02
	done
}

# udev_wait_usb_block TIMEOUT READYFILE: wait for udev to finish an "add" of a block device on USB and
# print the event's properties. READYFILE (in the share) appears once the monitor listens: plug after it.
udev_wait_usb_block() {
	local log
	log=$(mktemp)
	stdbuf -oL udevadm monitor --udev --property --subsystem-match=block >"$log" &
	local pid=$!
	wait_for 10 grep -q 'UDEV - the event' "$log"
	touch "$2"
	# shellcheck disable=SC2016
	wait_for "$1" awk 'BEGIN { RS = "" } /ACTION=add/ && /ID_BUS=usb/ { found = 1 } END { exit !found }' "$log"
	local rc=$?
	kill "$pid"
	wait "$pid" 2>/dev/null
	awk 'BEGIN { RS = ""; ORS = "\n\n" } /ACTION=add/ && /ID_BUS=usb/' "$log"
	rm -f "$log"
	return $rc
}

# install_corehomed [DIR]: what a device maker's image build does with `meson install` output
# (share/stage, made on the host with --destdir), plus the scenario's configuration and trusted root
# (share/DIR, default share/config; a fleet-ca.pem there goes to /etc/corehomed too).
# /lib is a symlink to usr/lib on Debian 12: keep it one.
install_corehomed() {
	local config=${1:-config}
	tar -C stage -cf - . | tar -C / -xf - --keep-directory-symlink --no-same-owner || return 1
	install -d -m 0755 /etc/corehomed /etc/corehomed/trusted
	install -m 0644 "$config/corehomed.yaml" /etc/corehomed/corehomed.yaml
	install -m 0644 "$config/root.assert" /etc/corehomed/trusted/root.assert
	if [ -f "$config/fleet-ca.pem" ]; then
		install -m 0644 "$config/fleet-ca.pem" /etc/corehomed/fleet-ca.pem
	fi
	systemctl daemon-reload
	udevadm control --reload
	systemctl enable --now corehomed.socket corehomed-manager.socket corehomed.service || return 1
	systemctl is-active corehomed.service
}

# daemon_state: "ACTIVE PID RESTARTS" of corehomed.service (Restart=on-failure would hide a crash).
daemon_state() {
	echo "$(systemctl is-active corehomed.service) $(systemctl show -P MainPID corehomed.service)" \
		"$(systemctl show -P NRestarts corehomed.service)"
}

# journal_now: the guest's time in seconds (with microseconds), for --since=@T. (Not cursors: with a
# match, --after-cursor skips the first matching entry written after the cursor.)
journal_now() { date +%s.%6N; }

# journal_dump FILE [JOURNALCTL-ARGS...]: corehomed's entries as JSON lines into results/FILE.
journal_dump() {
	local file=$1
	shift
	journalctl -q -o json SYSLOG_IDENTIFIER=corehomed "$@" >"results/$file"
}

# stick_part SERIAL: the first partition of the USB stick with that serial (QEMU's usb-storage naming).
stick_part() { echo "/dev/disk/by-id/usb-QEMU_QEMU_HARDDISK_$1-0:0-part1"; }

# wait_decision SINCE TIMEOUT: wait until corehomed logged a decision about a stick after SINCE (each
# stick ends with one), then let the rest of its lines land.
wait_decision() {
	wait_for "$2" sh -c "journalctl -q --since=@$1 -o cat SYSLOG_IDENTIFIER=corehomed \
		COREHOMED_DECISION=created COREHOMED_DECISION=refused COREHOMED_DECISION=skipped \
		COREHOMED_DECISION=unchanged COREHOMED_DECISION=updated | grep -q ."
	local rc=$?
	sleep 1
	return $rc
}
