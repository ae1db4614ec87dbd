#!/usr/bin/env bash
# The p99 of a userdb lookup while other local users flood the service:
#   userdb-lookup-p99-under-flood   GetUserRecord of a served user, each on a new connection (as
#                                   nss-systemd asks), 500 of them one after another, while four
#                                   unprivileged uids keep 16 connections each full of pipelined
#                                   GetUserRecord calls (64 KiB written at a time, answers read and
#                                   dropped). The server is userdb-test-server: the daemon's userdb code with
#                                   the same Varlink limits, on a socket in a scratch directory.
#   usage: bench-userdb-flood.sh BUILDDIR   (needs root to run the flooders as other uids; prints
#                                            "bench-userdb-flood: SKIP reason" and exits 0 otherwise)
set -euo pipefail
builddir=$(cd "${1:?usage: bench-userdb-flood.sh BUILDDIR}" && pwd)
fixtures=${FIXTURES_DIR:-$(cd "$(dirname "$0")/../fixtures" && pwd)}
lookups=${FLOOD_BENCH_LOOKUPS:-500}
uids=${FLOOD_BENCH_UIDS:-4}
connections=${FLOOD_BENCH_CONNECTIONS:-16}
server="$builddir/test/agent/userdb-test-server"
load="$builddir/test/agent/varlink-load"

skip() {
        echo "bench-userdb-flood: SKIP $*" >&2
        exit 0
}
[ "$(id -u)" = 0 ] || skip "needs root (flooders run as other uids)"
[ -s /etc/machine-id ] || skip "/etc/machine-id is missing"
command -v setpriv >/dev/null || skip "setpriv is not installed"
for exe in "$server" "$load" "$builddir/agent/corehomectl"; do
        [ -x "$exe" ] || skip "$exe is not built"
done

scratch=$(mktemp -d /tmp/corehomed-bench-flood.XXXXXX)
chmod 0755 "$scratch"
socket="$scratch/io.corehomed-bench"
pids=()
cleanup() {
        for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
        for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
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
"$server" --root="$root" --socket="$socket" --service=io.corehomed >"$scratch/ready" &
pids+=($!)
read -r -t 10 line <"$scratch/ready" && [ "$line" = READY ] || { echo "bench-userdb-flood: server did not start" >&2; exit 1; }

lookup='{"method":"io.systemd.UserDatabase.GetUserRecord","parameters":{"userName":"alice","service":"io.corehomed"}}'
for ((i = 0; i < uids; i++)); do
        setpriv --reuid=$((65534 - i)) --regid=$((65534 - i)) --clear-groups -- \
                "$load" flood "$socket" "$lookup" "$connections" >/dev/null &
        pids+=($!)
done
sleep 1
out=$(setpriv --reuid=1000 --regid=1000 --clear-groups -- "$load" probe "$socket" "$lookup" "$lookups" 60000) ||
        { echo "bench-userdb-flood: probe failed" >&2; exit 1; }
case "$out" in
*"failures=0 "*) ;;
*) echo "bench-userdb-flood: lookups failed under flood: $out" >&2; exit 1 ;;
esac
p99=$(sed -E 's/.*p99_ms=([0-9.]+).*/\1/' <<<"$out")
echo "userdb-lookup-p99-under-flood: $p99 ms"
