#!/usr/bin/env bash
# userdb lookups per second through NSS (getent passwd -> nss-systemd -> our io.systemd.UserDatabase
# service), beside the same figure for a user in /etc/passwd (nss-files), in one run.
#   usage: bench-userdb.sh BUILDDIR
set -euo pipefail
builddir=$(cd "${1:?usage: bench-userdb.sh BUILDDIR}" && pwd)
fixtures=${FIXTURES_DIR:-$(cd "$(dirname "$0")/../fixtures" && pwd)}
lookups=${USERDB_BENCH_LOOKUPS:-300}

skip() {
        echo "SKIP: bench-userdb: $*" >&2
        exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root (binds in /run/systemd/userdb)"
[ -s /etc/machine-id ] || skip "/etc/machine-id is missing"
ldconfig -p | grep 'libnss_systemd\.so' >/dev/null || skip "libnss-systemd is not installed"
grep -Eq '^passwd:.*\bsystemd\b' /etc/nsswitch.conf || skip "nsswitch.conf does not ask systemd for passwd"
[ -x "$builddir/test/agent/userdb-test-server" ] || skip "no userdb-test-server in $builddir"

service="io.corehomed-bench-$$"
socket="/run/systemd/userdb/$service"
scratch=$(mktemp -d /tmp/corehomed-bench-userdb.XXXXXX)
server_pid=
cleanup() {
        if [ -n "$server_pid" ]; then
                kill "$server_pid" 2>/dev/null || true
                wait "$server_pid" 2>/dev/null || true
        fi
        rm -f "$socket"
        rm -rf "$scratch"
}
trap cleanup EXIT

root="$scratch/root"
mkdir -p "$root/etc/corehomed/trusted" "$scratch/stick"
cp /etc/machine-id "$root/etc/machine-id"
cp "$fixtures/trust/trusted/root.assert" "$root/etc/corehomed/trusted/test-root.assert"
printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$root/etc/corehomed/corehomed.yaml"
cp "$fixtures/trust/stick.assert" "$scratch/stick/auto-import.assert"
"$builddir/agent/corehomectl" --root="$root" --now=2026-11-25T10:00:00Z import-media "$scratch/stick" >/dev/null

mkfifo "$scratch/ready"
"$builddir/test/agent/userdb-test-server" --root="$root" --socket="$socket" >"$scratch/ready" &
server_pid=$!
read -r -t 10 line <"$scratch/ready" && [ "$line" = READY ] || { echo "bench-userdb: server did not start" >&2; exit 1; }
getent passwd alice >/dev/null || { echo "bench-userdb: alice does not resolve" >&2; exit 1; }

# rate NAME USER: lookups/s of getent passwd USER. One getent process asks for USER $lookups times (getent
# takes several keys), so the figure is the NSS lookup itself, not fork+exec (which costs more than
# either lookup on a loaded machine). A running nscd would cache both figures: say so when there is one.
if pgrep -x nscd >/dev/null; then echo "bench-userdb: note: nscd is running and may cache lookups" >&2; fi
rate() {
        local start end keys=()
        for ((i = 0; i < lookups; i++)); do keys+=("$2"); done
        start=$(date +%s%N)
        getent passwd "${keys[@]}" >"$scratch/out" || { echo "bench-userdb: lookup of $2 failed" >&2; exit 1; }
        end=$(date +%s%N)
        [ "$(grep -c "^$2:" "$scratch/out")" = "$lookups" ] || { echo "bench-userdb: $2 not found every time" >&2; exit 1; }
        echo "$1: $((lookups * 1000000000 / (end - start))) lookups/s"
}
rate userdb-getent-ours alice
rate userdb-getent-passwd root
