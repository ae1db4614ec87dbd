# shellcheck shell=bash
# What every test that runs a corehomed daemon in a scratch tree needs, sourced by those scripts:
#   ok / fail            one line per check; fail shows the daemon log's tail ($log) and exits 1
#   unmount_below DIR    every mount below DIR, deepest first (homes the daemon activated, sticks)
#   daemon_kill          SIGKILL and reap $daemon_pid, if it runs
#   daemon_test_cleanup  the usual EXIT trap's end: KEEP_LOG=FILE keeps the daemon log, the daemon goes,
#                        the mounts below $scratch, $scratch, $rundir and the socket $userdb (each if set)
# A script with more to clean (helper processes, loop devices) defines its own cleanup() that does that
# first and then calls daemon_test_cleanup.

ok() { echo "ok: $*"; }

fail() {
        echo "FAIL: $*"
        echo "--- daemon log (last ${FAIL_LOG_LINES:-20} lines):"
        tail -n "${FAIL_LOG_LINES:-20}" "${log:-/dev/null}" 2>/dev/null || true
        exit 1
}

unmount_below() {
        awk -v p="$1/" 'index($2, p) == 1 { print $2 }' /proc/self/mounts | sort -r | while read -r m; do
                umount -l "$m" 2>/dev/null || true
        done
}

daemon_kill() {
        if [ -n "${daemon_pid:-}" ] && kill -0 "$daemon_pid" 2>/dev/null; then
                kill -KILL "$daemon_pid" 2>/dev/null || true
                wait "$daemon_pid" 2>/dev/null || true
        fi
}

daemon_test_cleanup() {
        [ -z "${KEEP_LOG:-}" ] || cp "${log:-/dev/null}" "$KEEP_LOG" 2>/dev/null || true
        daemon_kill
        if [ -n "${scratch:-}" ]; then
                unmount_below "$scratch"
                rm -rf "$scratch"
        fi
        [ -z "${rundir:-}" ] || rm -rf "$rundir"
        [ -z "${userdb:-}" ] || rm -f "$userdb"
}
