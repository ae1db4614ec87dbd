#!/bin/bash
# The guest side of the VM test, started by corehomed-vmtest.service (baked into the image) from the 9p
# share SHARE. It announces readiness on the serial console, then runs the host's commands one at a time:
# the host writes SHARE/cmd/N.sh (atomically, by rename); the agent runs it with SHARE as working directory
# and writes SHARE/cmd/N.out (stdout + stderr) and then SHARE/cmd/N.rc (exit status).
# Serial markers ("@@VMTEST@@ ...") let the host time boots and follow progress in serial.log.
share=${1:?usage: guest-agent.sh SHARE}
marker() { echo "@@VMTEST@@ $*" >/dev/ttyS0; }

marker "AGENT $(cut -d' ' -f1 /proc/uptime)"
# Ready means the boot transaction is over (running or degraded), so every enabled unit had its chance.
state=$(systemctl is-system-running --wait 2>/dev/null)
marker "READY state=$state uptime=$(cut -d' ' -f1 /proc/uptime)"

mkdir -p "$share/cmd"
while :; do
	for script in "$share"/cmd/*.sh; do
		[ -e "$script" ] || continue
		id=${script%.sh}
		# Started before (e.g. the poweroff that ended the previous boot): never run twice.
		[ -e "$id.rc" ] || [ -e "$id.started" ] && continue
		: >"$id.started"
		(cd "$share" && exec bash "$script") >"$id.out" 2>&1 </dev/null
		rc=$?
		echo "$rc" >"$id.rc.tmp"
		mv "$id.rc.tmp" "$id.rc"
		marker "DONE ${id##*/} rc=$rc"
	done
	sleep 0.05
done
