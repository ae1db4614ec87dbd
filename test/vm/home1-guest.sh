# shellcheck shell=bash
# Guest side of the org.freedesktop.home1 scenarios (test/vm/home1-scenarios.sh): sourced after
# guest-lib.sh by the commands those scenarios run, working directory the 9p share. Each h1_* function
# prints what a person would look at (the transcripts of the report) and fails on the first surprise.

# h1_config STORAGE ACTIVATION: corehomed.yaml for the scenario, and a restart so that it counts.
h1_config() {
	cat >/etc/corehomed/corehomed.yaml <<EOF
device:
  brand-id: acme
  model: appliance-1
  serial: SN-0001
media:
  create-users: always
  devices: removable
users:
  admin-groups: [sudo]
  storage: $1
  disk-size: 256M
  activation: $2
  shell: /bin/bash
EOF
	systemctl restart corehomed.service && systemctl is-active corehomed.service || return 1
	# The bus side settles after READY=1 (whether a systemd-homed runs is asked and the name requested
	# asynchronously, as homed requests its own; docs/home1.md): wait for this start's line about it.
	local id
	id=$(systemctl show -p InvocationID --value corehomed.service)
	wait_for 60 sh -c "journalctl -q -o cat _SYSTEMD_INVOCATION_ID=$id | grep -q org.freedesktop.home1"
}

# A PAM service as login, with a probe after its session modules: it records whether the user's home is
# mounted (and from where) when the session opens and when it closes.
h1_probe_setup() {
	cat >/usr/local/sbin/home1-probe <<'EOF'
#!/bin/sh
echo "$PAM_TYPE $(findmnt -n -o SOURCE,FSTYPE "/home/$PAM_USER" | tr -s ' ' || echo unmounted)" >>/run/home1-probe
EOF
	chmod 0755 /usr/local/sbin/home1-probe
	cat >/etc/pam.d/login-probe <<'EOF'
auth     include  login
account  include  login
session  include  login
session  optional pam_exec.so quiet /usr/local/sbin/home1-probe
EOF
	rm -f /run/home1-probe
}

# h1_login USER PASSWORD: `pamtester login USER authenticate open_session close_session`, with the probe.
h1_login() {
	rm -f /run/home1-probe
	echo "$2" | timeout 300 pamtester -v login-probe "$1" authenticate open_session close_session
}

h1_homed_masked() {
	[ "$(systemctl is-enabled systemd-homed.service 2>&1)" = masked ]
}

h1_pam_stack() {
	grep -H pam_systemd_home /etc/pam.d/common-auth /etc/pam.d/common-account /etc/pam.d/common-session
}

# The LUKS2 volume inside a home image: a read-only loop device over its GPT partition.
h1_with_luks_partition() { # IMAGE COMMAND...
	local image=$1 start size loop rc
	shift
	# partx (util-linux, in the image) reads the GPT of a plain file; sizes in 512-byte sectors.
	read -r start size < <(partx -g -o START,SECTORS "$image" | awk 'NR == 1 { print $1 * 512, $2 * 512 }')
	[ -n "$size" ] || return 1
	loop=$(losetup --find --show --read-only --offset "$start" --sizelimit "$size" "$image") || return 1
	"$@" "$loop"
	rc=$?
	losetup -d "$loop"
	return $rc
}
