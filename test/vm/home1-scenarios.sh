# shellcheck shell=bash
# org.freedesktop.home1 in the VM (docs/home1.md), sourced by test-vm.sh after its sticks and helpers
# (grant, stick, stickdir, plug_and_wait_user, result, why) exist. The scenarios run in a boot of their own
# (a fresh overlay) with Debian's real systemd-homed package in the guest, masked (Mode 1) except where a
# scenario starts it:
#
#   home1-mode1   homectl list/inspect (signature), activate/deactivate; `pamtester login` mounts the home
#                 at open and deactivates it at close; homed's bad-password path; the rate limit; a grant
#                 that ran out is refused at login
#   home1-luks    a luks grant: absent until the first login, which makes /home/<user> on
#                 /dev/mapper/home-<user> (ext4 in LUKS2, the systemd-homed token); close deactivates; the
#                 next login unlocks; a wrong password makes and opens nothing; homectl lock suspends the
#                 volume (luksSuspend), unlock resumes it (luksResume), not with a wrong password; expiry
#                 removes it and the header no longer opens
#   home1-homed-opens-luks   with corehomed stopped, the real systemd-homed 252 activates that home
#   home1-luks-password-change   a newer revision of that grant with another password: the new password
#                 alone opens nothing; the login that brings both (pam_systemd_home asks again) re-keys the
#                 volume, after which only the new password opens it (docs/homes.md, keyslot policy)
#   home1-mode2   systemd-homed running: a stick's user is homed's (homectl list), logs in through homed,
#                 and is unregistered when the grant ends
#
# Also prints "bench: NAME: VALUE UNIT" lines: the first login (realize) and a later login (unlock) of a
# luks home through PAM with the default PBKDF (argon2id), and the same through the engine alone with the
# test PBKDF (pbkdf2, 1 ms) that tests put in their records. TCG figures: slower than hardware.

HOME1_SCENARIOS=(home1-mode1 home1-luks home1-homed-opens-luks home1-luks-password-change home1-mode2)

# home1_selected NAMES...: whether any name given is one of ours.
home1_selected() {
	local n s
	for n in "$@"; do
		for s in "${HOME1_SCENARIOS[@]}"; do [ "$n" = "$s" ] && return 0; done
	done
	return 1
}

# h1_guest [-t T] SCRIPT: vm_guest with home1-guest.sh sourced.
h1_guest() {
	local t=(-t 300)
	if [ "$1" = -t ]; then
		t=(-t "$2")
		shift 2
	fi
	vm_guest "${t[@]}" ". ./home1-guest.sh; $1"
}

# h1_transcript NAME TEXT: kept for the report (stderr, and results/home1-NAME.txt in the run directory).
h1_transcript() {
	printf '%s\n' "$2" >"$results/home1-$1.txt"
	{
		echo "vm: --- transcript $1"
		printf '%s\n' "$2" | sed 's/^/vm:   /'
	} >&2
}

h1_mode1() {
	local s=0 out
	h1_guest 'h1_config directory login' >/dev/null || {
		why "home1-mode1: corehomed did not restart with users.activation: login"
		result home1-mode1 1 "no daemon"
		return
	}
	if ! plug_and_wait_user alice ALICE0001 alice; then
		result home1-mode1 1 "alice did not appear"
		return
	fi
	vm_unplug alice
	out=$(h1_guest '
		set -e
		h1_homed_masked
		busctl status org.freedesktop.home1 | grep "^Comm="
		h1_pam_stack
		homectl list </dev/null
		homectl inspect alice </dev/null
		homectl inspect --json=pretty alice </dev/null | grep -A3 "\"signature\""
		PASSWORD=alice-secret timeout 120 homectl activate alice </dev/null
		findmnt -n -o TARGET,SOURCE /home/alice
		homectl deactivate alice </dev/null
		! findmnt /home/alice') || {
		s=1
		why "home1-mode1: homectl: $out"
	}
	h1_transcript homectl "$out"
	for want in 'Comm=corehomed' 'alice +[0-9]+ +[0-9]+ +inactive' 'Local Sig\.: no' 'Service: io\.corehomed' '"signature"'; do
		grep -Eq "$want" <<<"$out" || {
			s=1
			why "home1-mode1: homectl output lacks /$want/"
		}
	done

	out=$(h1_guest '
		set -e
		h1_probe_setup
		h1_login alice alice-secret
		cat /run/home1-probe
		wait_gone 120 findmnt /home/alice
		echo "after the login: not mounted"
		echo alice-secret | timeout 300 pamtester login alice authenticate open_session close_session
		wait_gone 120 findmnt /home/alice
		echo "after the plain login: not mounted"
		journalctl -q -o cat SYSLOG_IDENTIFIER=corehomed | grep "home of alice" | tail -n 8') || {
		s=1
		why "home1-mode1: login: $out"
	}
	h1_transcript pam-login "$out"
	grep -q '^open_session /dev/' <<<"$out" || {
		s=1
		why "home1-mode1: the home was not mounted when the session opened"
	}
	grep -q 'the last reference is gone' <<<"$out" || s=1

	out=$(h1_guest 'printf "wrong\nalice-secret\n" | timeout 300 pamtester -v login alice authenticate 2>&1') || {
		s=1
		why "home1-mode1: wrong then right password: $out"
	}
	h1_transcript pam-wrong-password "$out"
	grep -q 'Password incorrect or not sufficient for authentication of user alice' <<<"$out" || s=1

	# The rate limit (30 attempts a minute, every attempt counts), on gina: alice keeps working.
	plug_and_wait_user gina GINA0001 gina && vm_unplug gina || s=1
	out=$(h1_guest '
		for i in $(seq 10); do
			out=$(printf "w1\nw2\nw3\nw4\nw5\n" | timeout 300 pamtester login gina authenticate 2>&1)
			grep -q "Too frequent login attempts" <<<"$out" && break
		done
		echo "after $i rounds of five wrong passwords:"
		echo "$out"
		! echo alice-secret | pamtester login gina authenticate 2>&1
		homectl inspect gina </dev/null | grep "Login OK"') || {
		s=1
		why "home1-mode1: rate limit: $out"
	}
	h1_transcript pam-ratelimit "$out"
	grep -q 'Too frequent login attempts for user gina' <<<"$out" || s=1
	grep -q 'Login OK: no (ratelimit)' <<<"$out" || s=1

	# A grant that runs out: logins work until its until, not after.
	local until=$(($(date +%s) + 90))
	grant hana "$(rfc3339 "$until")" >"$(stickdir hana)/auto-import.assert" && stick hana vfat
	if plug_and_wait_user hana HANA0001 hana; then
		vm_unplug hana
		h1_guest 'echo alice-secret | timeout 300 pamtester login hana authenticate' >/dev/null || {
			s=1
			why "home1-mode1: hana could not log in before her until"
		}
		local now
		now=$(date +%s)
		[ "$now" -le "$until" ] && sleep $((until + 2 - now))
		out=$(h1_guest '! echo alice-secret | timeout 300 pamtester login hana authenticate 2>&1; ! homectl inspect hana </dev/null 2>&1') || {
			s=1
			why "home1-mode1: hana logged in after her grant ended: $out"
		}
		h1_transcript pam-expired "$out"
	else
		s=1
		why "home1-mode1: hana did not appear"
	fi
	result home1-mode1 $s "homectl, pam_systemd_home login/logout, bad password, rate limit, expiry"
}

h1_luks() {
	local s=0 out lena_until t0 t1
	h1_guest 'h1_config luks login' >/dev/null || {
		result home1-luks 1 "corehomed did not restart with users.storage: luks"
		return
	}
	# lena: made at her first login, then her grant runs out (the end of this scenario checks the erase).
	lena_until=$(($(date +%s) + 240))
	grant lena "$(rfc3339 "$lena_until")" >"$(stickdir lena)/auto-import.assert" && stick lena vfat
	grant lucy >"$(stickdir lucy)/auto-import.assert" && stick lucy ext4
	plug_and_wait_user lena LENA0001 lena && vm_unplug lena || s=1
	h1_guest 'h1_probe_setup; h1_login lena alice-secret && cat /run/home1-probe && wait_gone 120 findmnt /home/lena &&
		exec 3</home/lena.home && (sleep 3600 <&3 >/dev/null 2>&1 &) && echo kept open' >/dev/null || {
		s=1
		why "home1-luks: lena's first login failed"
	}

	plug_and_wait_user lucy LUCY0001 lucy && vm_unplug lucy || s=1
	out=$(h1_guest '
		set -e
		homectl list </dev/null | grep "^lucy"
		test ! -e /home/lucy.home
		! printf "w1\nw2\nw3\nw4\nw5\n" | timeout 300 pamtester login-probe lucy authenticate open_session 2>&1
		test ! -e /home/lucy.home && test ! -e /dev/mapper/home-lucy
		echo "wrong passwords: no image, no mapping"') || {
		s=1
		why "home1-luks: before the first login: $out"
	}
	h1_transcript luks-before "$out"
	grep -Eq '^lucy +[0-9]+ +[0-9]+ +absent' <<<"$out" || s=1

	t0=$(date +%s.%N)
	out=$(h1_guest 'h1_login lucy alice-secret && cat /run/home1-probe') || {
		s=1
		why "home1-luks: first login: $out"
	}
	t1=$(date +%s.%N)
	h1_transcript luks-first-login "$out"
	# homed's layout: the file system holds the home as /lucy, bind-mounted on /home/lucy (findmnt: [/lucy]).
	grep -Eq '^open_session /dev/mapper/home-lucy(\[/lucy\])? ext4' <<<"$out" || {
		s=1
		why "home1-luks: the first login did not mount /dev/mapper/home-lucy (ext4)"
	}
	echo "bench: home1-luks-first-login-default-pbkdf: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
	out=$(h1_guest '
		set -e
		wait_gone 120 test -e /dev/mapper/home-lucy
		echo "closed: no /home/lucy mount, no /dev/mapper/home-lucy"
		h1_with_luks_partition /home/lucy.home cryptsetup luksDump | grep -E "^Version|^Label|systemd-homed|^Keyslots|luks2|PBKDF"') || {
		s=1
		why "home1-luks: after the session: $out"
	}
	h1_transcript luks-dump "$out"
	grep -q 'systemd-homed' <<<"$out" || s=1
	t0=$(date +%s.%N)
	out=$(h1_guest 'h1_login lucy alice-secret && cat /run/home1-probe') || {
		s=1
		why "home1-luks: second login: $out"
	}
	t1=$(date +%s.%N)
	grep -q '^open_session /dev/mapper/home-lucy' <<<"$out" || s=1
	echo "bench: home1-luks-login-unlock-default-pbkdf: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s"
	h1_guest 'wait_gone 120 test -e /dev/mapper/home-lucy' >/dev/null || s=1

	# Lock/unlock (what logind asks before suspend): the volume suspended, its key out of the kernel
	# (luksSuspend); a wrong password resumes nothing; the right one resumes it (luksResume).
	out=$(h1_guest '
		set -e
		PASSWORD=alice-secret timeout 300 homectl activate lucy </dev/null
		dm=/sys/block/$(basename "$(readlink -f /dev/mapper/home-lucy)")/dm
		echo "active: suspended=$(cat $dm/suspended)"
		homectl lock lucy </dev/null
		homectl inspect lucy </dev/null | grep -E "^ *State:"
		echo "locked: suspended=$(cat $dm/suspended)"
		cryptsetup status home-lucy | grep -E "^ *mode:"
		! busctl call org.freedesktop.home1 /org/freedesktop/home1 org.freedesktop.home1.Manager UnlockHome \
			ss lucy "{\"password\":[\"not-it\"]}" 2>&1
		echo "after a wrong password: suspended=$(cat $dm/suspended)"
		PASSWORD=alice-secret timeout 300 homectl unlock lucy </dev/null
		homectl inspect lucy </dev/null | grep -E "^ *State:"
		echo "unlocked: suspended=$(cat $dm/suspended)"
		test -f /home/lucy/.identity && echo "home readable after resume"
		homectl deactivate lucy </dev/null
		wait_gone 120 test -e /dev/mapper/home-lucy
		echo "deactivated"') || {
		s=1
		why "home1-luks: lock/unlock: $out"
	}
	h1_transcript luks-lock-unlock "$out"
	grep -q '^locked: suspended=1$' <<<"$out" && grep -q '^after a wrong password: suspended=1$' <<<"$out" &&
		grep -q '^unlocked: suspended=0$' <<<"$out" && grep -q 'home readable after resume' <<<"$out" || {
		s=1
		why "home1-luks: lock did not suspend or unlock did not resume the volume"
	}

	# lena's grant ends: removed, the image erased (the bytes a still-open descriptor reads do not open).
	local now
	now=$(date +%s)
	[ "$now" -le "$lena_until" ] && sleep $((lena_until + 3 - now))
	out=$(h1_guest '
		set -e
		wait_gone 60 test -e /home/lena.home
		echo "lena.home deleted"
		pid=$(pgrep -f "^sleep 3600" | head -n 1)
		h1_with_luks_partition /proc/$pid/fd/0 sh -c "
			cryptsetup isLuks \"\$0\" && echo \"LUKS header: present\" || echo \"LUKS header: gone\"
			printf alice-secret | cryptsetup open --test-passphrase --key-file=- \"\$0\" 2>/dev/null &&
				echo \"the password opens it\" || echo \"the password does not open it\""
		kill "$pid"') || {
		s=1
		why "home1-luks: expiry: $out"
	}
	h1_transcript luks-expiry "$out"
	grep -q 'the password does not open it' <<<"$out" || s=1
	result home1-luks $s "first login makes the LUKS home, close deactivates, next login unlocks, lock suspends and unlock resumes it, expiry erases"
}

h1_homed_opens_luks() {
	local s=0 out
	out=$(h1_guest '
		set -e
		systemctl stop corehomed.service corehomed.socket corehomed-manager.socket
		systemctl unmask systemd-homed.service
		systemctl start systemd-homed.service
		homectl list </dev/null
		PASSWORD=alice-secret timeout 300 homectl activate lucy </dev/null
		findmnt -n -o TARGET,SOURCE,FSTYPE /home/lucy
		homectl inspect lucy </dev/null | grep -E "State|Storage|LUKS|Local Sig|Service"
		homectl deactivate lucy </dev/null
		systemctl stop systemd-homed.service
		systemctl mask systemd-homed.service
		systemctl start corehomed.socket corehomed-manager.socket corehomed.service
		systemctl is-active corehomed.service') || {
		s=1
		why "home1-homed-opens-luks: $out"
	}
	h1_transcript homed-opens-luks "$out"
	grep -Eq '^/home/lucy /dev/mapper/home-lucy(\[/lucy\])? ext4' <<<"$out" || s=1
	result home1-homed-opens-luks $s "systemd-homed 252 activated the LUKS home corehomed made"
}

h1_luks_password_change() {
	local s=0 out new_hash
	new_hash=$(openssl passwd -6 lucy-new-secret)
	mkdir -p "$VM_SHARE/luks"
	{ system_user lucy "{\"revision\": \"1\", \"password\": \"$new_hash\"}" && brand_chain; } \
		>"$VM_SHARE/luks/lucy-r1.assert" || s=1
	out=$(h1_guest '
		set -e
		corehomectl import luks/lucy-r1.assert
		corehomectl create-user --known | grep "^lucy"
		count_keyslots() { cryptsetup luksDump "$1" | grep -cE "^ +[0-9]+: luks2"; }
		echo "before: keyslots $(h1_with_luks_partition /home/lucy.home count_keyslots)"
		h1_login lucy lucy-new-secret >/tmp/new-alone.log 2>&1 && echo "the new password alone logged in"
		tail -n 3 /tmp/new-alone.log
		test ! -e /dev/mapper/home-lucy && echo "the new password alone: refused, nothing opened"
		rm -f /run/home1-probe
		printf "lucy-new-secret\nalice-secret\n" |
			timeout 300 pamtester -v login-probe lucy authenticate open_session close_session 2>&1 | tail -n 4
		cat /run/home1-probe
		wait_gone 120 test -e /dev/mapper/home-lucy
		echo "after: keyslots $(h1_with_luks_partition /home/lucy.home count_keyslots)"
		h1_with_luks_partition /home/lucy.home sh -c "
			printf lucy-new-secret | cryptsetup open --test-passphrase --key-file=- \"\$0\" 2>/dev/null &&
				echo \"the new password opens it\" || echo \"the new password does not open it\"
			printf alice-secret | cryptsetup open --test-passphrase --key-file=- \"\$0\" 2>/dev/null &&
				echo \"the old password opens it\" || echo \"the old password does not open it\""') || {
		s=1
		why "home1-luks-password-change: $out"
	}
	h1_transcript luks-password-change "$out"
	! grep -q 'the new password alone logged in' <<<"$out" && grep -q '^before: keyslots 1$' <<<"$out" &&
		grep -q 'the new password alone: refused, nothing opened' <<<"$out" &&
		grep -q '^open_session /dev/mapper/home-lucy' <<<"$out" && grep -q '^after: keyslots 1$' <<<"$out" &&
		grep -q 'the new password opens it' <<<"$out" && grep -q 'the old password does not open it' <<<"$out" || {
		s=1
		why "home1-luks-password-change: the re-key did not leave one keyslot with the new password"
	}
	result home1-luks-password-change $s "revision 1 changes lucy's password: the new alone opens nothing, the login with both re-keys, then only the new one opens the volume"
}

h1_mode2() {
	local s=0 out until
	# homed cannot take its name while corehomed holds it: corehomed goes first, comes back in Mode 2.
	out=$(h1_guest '
		set -e
		systemctl stop corehomed.service
		systemctl unmask systemd-homed.service
		systemctl start systemd-homed.service
		h1_config directory start
		journalctl -q -o cat -u corehomed.service -n 50 | grep "org.freedesktop.home1"
		busctl status org.freedesktop.home1 | grep "^Comm="') || {
		s=1
		why "home1-mode2: start: $out"
	}
	grep -q 'handing our homes to it' <<<"$out" && grep -q 'Comm=systemd-homed' <<<"$out" || s=1
	until=$(($(date +%s) + 150))
	grant mia "$(rfc3339 "$until")" >"$(stickdir mia)/auto-import.assert" && stick mia vfat
	plug_and_wait_user mia MIA00001 mia && vm_unplug mia || s=1
	out=$(h1_guest '
		set -e
		wait_for 60 sh -c "homectl list </dev/null | grep -q ^mia"
		homectl list </dev/null
		userdbctl user mia | grep -E "User name|Service"
		h1_login mia alice-secret
		cat /run/home1-probe
		journalctl -q -o cat -u systemd-homed.service | grep -i mia | tail -n 5') || {
		s=1
		why "home1-mode2: mia: $out"
	}
	h1_transcript mode2 "$out"
	grep -q 'Service: io.systemd.Home' <<<"$out" && grep -q '^open_session ' <<<"$out" || s=1
	local now
	now=$(date +%s)
	[ "$now" -le "$until" ] && sleep $((until + 3 - now))
	out=$(h1_guest 'wait_gone 60 sh -c "homectl list </dev/null | grep -q ^mia"; homectl list </dev/null;
		journalctl -q -o cat SYSLOG_IDENTIFIER=corehomed | grep "mia" | tail -n 5') || {
		s=1
		why "home1-mode2: mia still in homed after her grant: $out"
	}
	h1_transcript mode2-expiry "$out"
	grep -q 'systemd-homed: unregistered mia' <<<"$out" || s=1
	result home1-mode2 $s "systemd-homed got the stick's user, the login, and let go at expiry"
}

# Engine alone, test PBKDF (pbkdf2, 1 ms, in the record): realize and activate through home-tool.
h1_bench_engine() {
	local rec out
	rec=$(printf '{"userName":"benchy","disposition":"regular","storage":"luks","diskSize":268435456,"luksPbkdfType":"pbkdf2","luksPbkdfTimeCostUSec":1000,"lastChangeUSec":1700000000000000,"privileged":{"hashedPassword":["%s"]}}' "$password")
	printf '%s\n' "$rec" >"$VM_SHARE/benchy.json"
	out=$(h1_guest '
		set -e
		./home-tool create benchy.json >/dev/null
		t0=$(date +%s%N); HOME_PASSWORD=alice-secret ./home-tool --mount realize benchy; t1=$(date +%s%N)
		./home-tool --mount deactivate benchy
		t2=$(date +%s%N); HOME_PASSWORDS=alice-secret ./home-tool --mount activate benchy; t3=$(date +%s%N)
		./home-tool --mount deactivate benchy
		./home-tool --mount remove benchy
		echo "$(( (t1 - t0) / 1000000 )) $(( (t3 - t2) / 1000000 ))"') || {
		why "home1 bench: $out"
		return
	}
	read -r a b <<<"$(tail -n 1 <<<"$out")"
	echo "bench: home1-luks-realize-test-pbkdf: $a ms"
	echo "bench: home1-luks-activate-test-pbkdf: $b ms"
}

# home1_run [NAMES...]: our scenarios in a boot of their own (all of them when no name is given).
home1_run() {
	local overlay
	overlay=$(vm_overlay home1)
	cp "$here/home1-guest.sh" "$VM_SHARE/"
	if meson compile -C "$build_dir" test/homes/home-tool >>"$run/meson.log" 2>&1; then
		cp "$build_dir/test/homes/home-tool" "$VM_SHARE/"
	fi
	vm_start "$overlay"
	if ! vm_wait_ready 300 || ! vm_guest install_corehomed >/dev/null; then
		for s in "${HOME1_SCENARIOS[@]}"; do result "$s" 1 "guest or corehomed did not come up"; done
		vm_kill
		return
	fi
	local want=("$@")
	[ ${#want[@]} -gt 0 ] || want=("${HOME1_SCENARIOS[@]}")
	wanted() { local n; for n in "${want[@]}"; do [ "$n" = "$1" ] && return 0; done; return 1; }
	wanted home1-mode1 && h1_mode1
	# homed-opens-luks needs the home the luks scenario made.
	if wanted home1-luks || wanted home1-homed-opens-luks || wanted home1-luks-password-change; then
		h1_luks
		[ -e "$VM_SHARE/home-tool" ] && h1_bench_engine
		wanted home1-homed-opens-luks && h1_homed_opens_luks
		# After homed opened the home with the first password.
		wanted home1-luks-password-change && h1_luks_password_change
	fi
	wanted home1-mode2 && h1_mode2
	vm_poweroff 120 || why "home1: the guest did not power off cleanly"
}
