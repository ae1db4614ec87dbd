# shellcheck shell=bash
# Host side of the VM test: start QEMU (TCG), wait for the guest agent, run commands in the guest over the
# 9p share, hot-plug USB sticks over QMP, power off. Sourced by test-vm.sh; every function works on the
# run directory VM_RUN (vm_setup) and the one QEMU process it started (VM_PID). vm_cleanup, called from
# the caller's EXIT trap, stops QEMU whatever state it is in.

VM_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
VM_PID=
VM_BOOTS=0

vm_log() { echo "vm: $*" >&2; }

# vm_image_dir OUTPUT: the image directory build-image.sh printed. Its standard output is that one line,
# but a tool that writes to standard output must not turn into a path QEMU cannot open ("guest did not
# boot" in every scenario): the last line counts, and it must hold a complete image.
vm_image_dir() {
	local dir=${1##*$'\n'} f
	for f in complete rootfs.img vmlinuz initrd.img; do
		if [ ! -f "$dir/$f" ]; then
			vm_log "build-image.sh printed '$1': no $f in '$dir'"
			return 1
		fi
	done
	echo "$dir"
}

# vm_setup RUNDIR IMAGEDIR: the run directory (share/ is what the guest sees at /run/vmtest).
vm_setup() {
	VM_RUN=$1
	VM_IMAGE=$2
	VM_SHARE=$VM_RUN/share
	mkdir -p "$VM_SHARE/cmd" "$VM_SHARE/results"
	cp "$VM_LIB_DIR/guest-agent.sh" "$VM_LIB_DIR/guest-lib.sh" "$VM_SHARE/"
}

# vm_overlay NAME: a copy-on-write disk over the cached image; the image itself is never written, so every
# run starts from the same clean system, and an overlay survives power cycles of one scenario chain.
vm_overlay() {
	qemu-img create -q -f qcow2 -F raw -b "$VM_IMAGE/rootfs.img" "$VM_RUN/$1.qcow2"
	echo "$VM_RUN/$1.qcow2"
}

# vm_start OVERLAY [QEMU-ARGS...]: boot the guest (extra arguments: sticks present at boot).
vm_start() {
	local disk=$1
	shift
	VM_BOOTS=$((VM_BOOTS + 1))
	VM_SERIAL=$VM_RUN/serial-$VM_BOOTS.log
	VM_QMP=$VM_RUN/qmp.sock
	rm -f "$VM_QMP"
	: >"$VM_SERIAL"
	VM_T0=$EPOCHREALTIME
	# modprobe.blacklist=9pnet_virtio: udev never loads the 9p transport, the guest's agent always does
	# (test/vm/guest/corehomed-vmtest-agent): the share's mount does not depend on which comes first.
	qemu-system-x86_64 \
		-accel tcg,thread=multi -machine q35 -cpu max -smp 2 -m 1024 \
		-nodefaults -no-user-config -display none -no-reboot -nic none \
		-kernel "$VM_IMAGE/vmlinuz" -initrd "$VM_IMAGE/initrd.img" \
		-append "root=/dev/vda rw console=ttyS0 loglevel=4 panic=-1 corehomed.vmtest=1 modprobe.blacklist=9pnet_virtio" \
		-drive "if=none,id=root,file=$disk,format=qcow2,discard=unmap" -device virtio-blk-pci,drive=root \
		-device virtio-rng-pci \
		-device qemu-xhci,id=xhci \
		-virtfs "local,path=$VM_SHARE,mount_tag=vmtest,security_model=none,id=vmtest" \
		-qmp "unix:$VM_QMP,server=on,wait=off" \
		-serial "file:$VM_SERIAL" \
		"$@" >"$VM_RUN/qemu-$VM_BOOTS.log" 2>&1 &
	VM_PID=$!
	vm_log "boot $VM_BOOTS: qemu pid $VM_PID, serial $VM_SERIAL"
}

vm_running() {
	[ -n "$VM_PID" ] && [ -e "/proc/$VM_PID" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$VM_PID/status" 2>/dev/null
}

# seconds since T (an $EPOCHREALTIME), one decimal
vm_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }

# vm_wait_ready TIMEOUT: wait for the agent's READY marker; sets VM_BOOT_SECONDS (QEMU start to READY).
vm_wait_ready() {
	local deadline=$((SECONDS + $1))
	while ! grep -q '^@@VMTEST@@ READY' "$VM_SERIAL" 2>/dev/null; do
		if grep -q '^@@VMTEST@@ FAILED' "$VM_SERIAL" 2>/dev/null; then
			vm_log "the guest agent failed to start; last serial lines:"
			tail -n 20 "$VM_SERIAL" >&2
			return 1
		fi
		if ! vm_running; then
			vm_log "QEMU exited before the guest was ready; last serial lines:"
			tail -n 20 "$VM_SERIAL" >&2
			cat "$VM_RUN/qemu-$VM_BOOTS.log" >&2
			return 1
		fi
		if [ $SECONDS -ge $deadline ]; then
			vm_log "guest not ready within $1 s; last serial lines:"
			tail -n 20 "$VM_SERIAL" >&2
			return 1
		fi
		sleep 0.2
	done
	VM_BOOT_SECONDS=$(vm_since "$VM_T0")
	vm_log "boot $VM_BOOTS ready after $VM_BOOT_SECONDS s ($(grep -m1 '^@@VMTEST@@ READY' "$VM_SERIAL" | tr -d '\r'))"
}

# vm_guest_async SCRIPT: queue a bash script in the guest (guest-lib.sh sourced first); sets VM_CMD.
# The sequence number lives in a file: callers often run vm_guest inside $(...), a subshell.
vm_guest_async() {
	local seq
	seq=$(($(cat "$VM_RUN/cmd.seq" 2>/dev/null || echo 0) + 1))
	echo "$seq" >"$VM_RUN/cmd.seq"
	VM_CMD=$(printf 'c%04d' "$seq")
	{
		echo '. ./guest-lib.sh'
		echo "$1"
	} >"$VM_SHARE/cmd/$VM_CMD.tmp"
	mv "$VM_SHARE/cmd/$VM_CMD.tmp" "$VM_SHARE/cmd/$VM_CMD.sh"
}

# vm_guest_wait ID TIMEOUT: print the command's output, return its status (124: no answer in time).
vm_guest_wait() {
	local id=$1 deadline=$((SECONDS + $2))
	while [ ! -e "$VM_SHARE/cmd/$id.rc" ]; do
		if ! vm_running || [ $SECONDS -ge $deadline ]; then
			vm_log "guest command $id: no answer (running: $(vm_running && echo yes || echo no))"
			cat "$VM_SHARE/cmd/$id.out" 2>/dev/null
			return 124
		fi
		sleep 0.05
	done
	cat "$VM_SHARE/cmd/$id.out"
	return "$(cat "$VM_SHARE/cmd/$id.rc")"
}

# vm_guest [-t TIMEOUT] SCRIPT: run a script in the guest and wait for it (default 120 s).
vm_guest() {
	local timeout=120
	if [ "$1" = -t ]; then
		timeout=$2
		shift 2
	fi
	vm_guest_async "$1"
	vm_guest_wait "$VM_CMD" "$timeout"
}

vm_qmp() { python3 "$VM_LIB_DIR/qmp.py" "$VM_QMP" "$@"; }

# vm_plug ID IMAGE SERIAL: insert a USB stick; sets VM_PLUG_T (host time of the insertion).
vm_plug() {
	vm_qmp plug "$1" "$2" "$3" || return 1
	VM_PLUG_T=$EPOCHREALTIME
}
vm_unplug() { vm_qmp unplug "$1"; }

# vm_stick_args ID IMAGE SERIAL: QEMU arguments for a stick that is present at power-on.
vm_stick_args() {
	echo "-blockdev driver=raw,node-name=$1,file.driver=file,file.filename=$2"
	echo "-device usb-storage,bus=xhci.0,drive=$1,id=$1,serial=$3,removable=on"
}

# vm_poweroff [TIMEOUT]: orderly shutdown from inside; QEMU is stopped by force when it takes too long.
vm_poweroff() {
	local deadline=$((SECONDS + ${1:-90}))
	vm_running || return 0
	vm_guest_async 'systemctl --no-block poweroff'
	while vm_running; do
		if [ $SECONDS -ge $deadline ]; then
			vm_log "guest did not power off in time; stopping QEMU"
			vm_kill
			return 1
		fi
		sleep 0.2
	done
	wait "$VM_PID" 2>/dev/null
	VM_PID=
}

vm_kill() {
	[ -n "$VM_PID" ] || return 0
	if vm_running; then
		vm_qmp quit 2>/dev/null
		for _ in $(seq 50); do
			vm_running || break
			sleep 0.1
		done
		vm_running && kill -KILL "$VM_PID" 2>/dev/null
	fi
	wait "$VM_PID" 2>/dev/null
	VM_PID=
}

vm_cleanup() { vm_kill; }

# stick_make IMAGE FSTYPE DIR: a 32 MiB stick with an MBR partition table whose first partition holds a
# FSTYPE (vfat or ext4) file system with DIR's contents. No mount and no loop device: the partition is
# built as a file (mkfs.vfat + mcopy, or mkfs.ext4 -d) and written into place.
stick_make() {
	local image=$1 fstype=$2 dir=$3 part=$1.part
	rm -f "$image" "$part"
	truncate -s 32M "$image"
	case $fstype in
	vfat) printf 'label: dos\nstart=2048, type=c\n' | sfdisk -q "$image" ;;
	*) printf 'label: dos\nstart=2048, type=83\n' | sfdisk -q "$image" ;;
	esac
	case $fstype in
	vfat)
		mkfs.vfat -C -n STICK "$part" $((31 * 1024)) >/dev/null
		if [ -n "$(ls -A "$dir")" ]; then
			mcopy -s -i "$part" "$dir"/* ::
		fi
		;;
	ext4) mkfs.ext4 -q -F -L STICK -d "$dir" "$part" 31M >/dev/null ;;
	none) truncate -s 31M "$part" ;;
	*)
		vm_log "stick_make: unknown file system $fstype"
		return 1
		;;
	esac
	dd if="$part" of="$image" bs=1M seek=1 conv=notrunc status=none
	rm -f "$part"
}
