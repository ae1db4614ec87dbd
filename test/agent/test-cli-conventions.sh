#!/usr/bin/env bash
# corehomectl as a device owner meets it (issue 16, item 9): VERB --help answers for every verb without a
# daemon or a tree; status and the refusal of a stick say when the trust directory is to blame (no root in
# it, or a root no assertion chains to); decisions corehomectl takes on the running system (--root=/) reach
# the journal as the daemon's do, with the same fields, and those it takes on another tree, or verify's, do
# not. The running system is a chroot in a private mount namespace, whose /run/systemd/journal/socket is a
# listener of this test: nothing of the machine is touched.
set -euo pipefail
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"
snapd="$FIXTURES_DIR/interop/snapd"
scratch=$(mktemp -d /tmp/corehomed-cli-conventions.XXXXXX)
listener=
cleanup() {
        [ -z "$listener" ] || kill "$listener" 2>/dev/null || true
        [ -z "$listener" ] || wait "$listener" 2>/dev/null || true
        rm -rf "$scratch"
}
trap cleanup EXIT
now=--now=2026-11-25T10:00:00Z
passed=0

fail() {
        echo "FAIL: $*"
        exit 1
}
ok() {
        echo "ok: $*"
        passed=$((passed + 1))
}

# --- VERB --help, with no daemon and no tree ---
export COREHOMED_MANAGER_SOCKET="$scratch/no-such-socket"
"$corehomectl" --help | sed -n '/^Commands:/,/^$/ { s/^  \([a-z][a-z-]*\).*/\1/p }' >"$scratch/verbs"
[ "$(wc -l <"$scratch/verbs")" -ge 15 ] || fail "corehomectl --help lists only: $(tr '\n' ' ' <"$scratch/verbs")"
while read -r verb; do
        for form in "$verb --help" "$verb -h" "$verb ARG --help"; do
                # shellcheck disable=SC2086 # the form is words
                "$corehomectl" $form >"$scratch/out" 2>&1 || fail "corehomectl $form exited $?: $(cat "$scratch/out")"
                head -1 "$scratch/out" | grep -qE "^Usage: corehomectl .* $verb( |$)" ||
                        fail "corehomectl $form: $(head -3 "$scratch/out")"
                grep -q '^Exit status: ' "$scratch/out" || fail "corehomectl $form says nothing of the exit status"
        done
        [ "$(wc -l <"$scratch/out")" -ge 5 ] || fail "corehomectl $verb --help says too little: $(cat "$scratch/out")"
done <"$scratch/verbs"
ok "VERB --help, VERB -h and VERB ARG --help print each of the $(wc -l <"$scratch/verbs") verbs' usage, without a daemon"

# --- the trust directory, when it is to blame ---
new_device() { # new_device DIR: acme/appliance-1 with an empty trust directory
        mkdir -p "$1/etc/corehomed/trusted"
        echo 0123456789abcdef0123456789abcdef >"$1/etc/machine-id"
        printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$1/etc/corehomed/corehomed.yaml"
}
d="$scratch/empty"
new_device "$d"
"$corehomectl" --root="$d" status >"$scratch/out" 2>&1 || fail "status: $(cat "$scratch/out")"
grep -q 'the trust directory /etc/corehomed/trusted holds no root' "$scratch/out" ||
        fail "status of an empty trust directory: $(cat "$scratch/out")"
"$corehomectl" --root="$d" --json status >"$scratch/out"
python3 -c 'import json,sys; o=json.load(open(sys.argv[1])); assert "holds no root" in o["trust-warning"], o' \
        "$scratch/out" || fail "status --json: no trust-warning"
rc=0
"$corehomectl" --root="$d" "$now" import "$trust/stick.assert" >"$scratch/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "import with an empty trust directory exited $rc"
grep -q 'account account-id=acme: .*(unknown signer); the trust directory /etc/corehomed/trusted holds no root' \
        "$scratch/out" || fail "the refusal does not blame the empty trust directory: $(cat "$scratch/out")"
ok "an empty trust directory: status and the refusal say it holds no root"

d="$scratch/wrong-root"
new_device "$d"
{ cat "$snapd/testrootorg.account"; echo; cat "$snapd/testrootorg-root.account-key"; } \
        >"$d/etc/corehomed/trusted/testrootorg.assert"
"$corehomectl" --root="$d" status >"$scratch/out" 2>&1 || fail "status: $(cat "$scratch/out")"
grep -q '^Trusted accounts:  testrootorg (nothing stored chains to it)$' "$scratch/out" ||
        fail "status of a root nothing chains to: $(cat "$scratch/out")"
rc=0
"$corehomectl" --root="$d" "$now" import "$trust/stick.assert" >"$scratch/out" 2>&1 || rc=$?
[ "$rc" = 1 ] || fail "import under a wrong root exited $rc"
grep -q '"testroot" is not a trusted root here and no stored account-key of it is known (trusted here: testrootorg, in /etc/corehomed/trusted)' \
        "$scratch/out" || fail "the refusal does not name the wrong root: $(cat "$scratch/out")"
# The grant itself is signed by a key of the same batch: its refusal is the chain's, not the directory's.
grep 'system-user' "$scratch/out" | grep -q 'trusted root' && fail "the grant's refusal blames the trust directory"
# With the right root beside it, the chain is complete and nothing is said.
cp "$trust/trusted/root.assert" "$d/etc/corehomed/trusted/"
"$corehomectl" --root="$d" "$now" import "$trust/stick.assert" >"$scratch/out" 2>&1 ||
        fail "import with the right root: $(cat "$scratch/out")"
"$corehomectl" --root="$d" status >"$scratch/out" 2>&1
grep -q 'testroot (nothing' "$scratch/out" && fail "status: testroot is chained now: $(cat "$scratch/out")"
grep -q 'testrootorg (nothing stored chains to it)' "$scratch/out" || fail "status: $(cat "$scratch/out")"
ok "a root nothing chains to: status marks it, the refusal names the signer and the roots trusted here"

# --- decisions on the running system reach the journal ---
if ! unshare -m true 2>/dev/null; then
        echo "SKIP: cannot make a private mount namespace (unshare -m) for the chroot; $passed checks passed"
        exit 77
fi
r="$scratch/sysroot"
mkdir -p "$r"/{usr,proc,dev,tmp,stick,run/systemd/journal,etc/corehomed/trusted} "$r$BUILD_DIR"
for l in bin lib lib64 sbin; do
        [ -e "/$l" ] && ln -s "usr/$l" "$r/$l"
done
cp "$trust/trusted/root.assert" "$r/etc/corehomed/trusted/"
echo 0123456789abcdef0123456789abcdef >"$r/etc/machine-id"
printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$r/etc/corehomed/corehomed.yaml"
cp "$trust/stick.assert" "$r/stick/auto-import.assert"
# The journal: one record per datagram (sd_journal_sendv's native protocol, FIELD=value lines).
python3 - "$r/run/systemd/journal/socket" "$scratch/journal" "$scratch/listening" <<'PY' &
import signal, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
out = open(sys.argv[2], "w")
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
open(sys.argv[3], "w").close()
while True:
    out.write(s.recv(1 << 20).decode() + "\n"); out.flush()
PY
listener=$!
for _ in $(seq 100); do [ -e "$scratch/listening" ] && break; sleep 0.05; done
[ -e "$scratch/listening" ] || fail "the journal listener did not start"
# on_system ARGS...: corehomectl ARGS run in the chroot, whose / is the running system to it.
on_system() {
        unshare -m --propagation private sh -c 'r=$1; b=$2; shift 2
                mount --rbind /usr "$r/usr" && mount --rbind /dev "$r/dev" && mount -t proc proc "$r/proc" &&
                mount --bind "$b" "$r$b" && exec chroot "$r" "$b/agent/corehomectl" "$@"' \
                _ "$r" "$BUILD_DIR" "$@"
}
records() { # records DECISION: the journal records of that decision, one line each (fields joined by |)
        python3 - "$scratch/journal" "$1" <<'PY'
import sys
for rec in open(sys.argv[1]).read().split("\n\n"):
    f = dict(l.split("=", 1) for l in rec.splitlines() if "=" in l)
    if f.get("COREHOMED_DECISION") == sys.argv[2]:
        print("|".join(f"{k}={f[k]}" for k in ("SYSLOG_IDENTIFIER", "COREHOMED_USER", "COREHOMED_BRAND",
              "COREHOMED_EMAIL", "COREHOMED_REASON") if k in f))
PY
}
settle() { sleep 0.3; } # datagrams are queued when sendmsg returns; the listener writes them shortly after

on_system --root=/ "$now" verify /stick/auto-import.assert >"$scratch/out" 2>&1 || fail "verify: $(cat "$scratch/out")"
settle
[ ! -s "$scratch/journal" ] || fail "verify reached the journal: $(cat "$scratch/journal")"
on_system --root=/ "$now" import-media /stick >"$scratch/out" 2>&1 || fail "import-media: $(cat "$scratch/out")"
settle
[ "$(records accepted | wc -l)" = 3 ] || fail "3 accepted assertions expected: $(cat "$scratch/journal")"
records created | grep -qx 'SYSLOG_IDENTIFIER=corehomectl|COREHOMED_USER=alice|COREHOMED_BRAND=acme|COREHOMED_EMAIL=alice@example.com' ||
        fail "no journal record of alice's creation: $(cat "$scratch/journal")"
grep -q '^MESSAGE=user alice: created (system-user brand-id=acme email=alice@example.com)$' "$scratch/journal" ||
        fail "the message differs from the daemon's: $(cat "$scratch/journal")"
on_system --root=/ "$now" deny alice >"$scratch/out" 2>&1 || fail "deny: $(cat "$scratch/out")"
on_system --root=/ "$now" import-media /stick >"$scratch/out" 2>&1 || true
settle
records denied | grep -q '^SYSLOG_IDENTIFIER=corehomectl|COREHOMED_USER=alice|.*|COREHOMED_REASON=denied on this device' ||
        fail "no journal record of the deny: $(cat "$scratch/journal")"
records refused | grep -q 'COREHOMED_EMAIL=alice@example.com|COREHOMED_REASON=denied on this device' ||
        fail "no journal record of the stick refused for a denied user: $(cat "$scratch/journal")"
ok "corehomectl --root=/ logs its decisions (accepted, created, denied, refused) with the daemon's fields"

# Another tree is not the running system: nothing reaches the journal.
: >"$scratch/journal"
on_system --root=/tmp "$now" status >/dev/null 2>&1 || true
mkdir -p "$r/other/etc/corehomed/trusted" "$r/other/stick"
cp "$r/etc/corehomed/trusted/root.assert" "$r/other/etc/corehomed/trusted/"
cp "$r/etc/machine-id" "$r/other/etc/"
cp "$r/etc/corehomed/corehomed.yaml" "$r/other/etc/corehomed/"
on_system --root=/other "$now" import-media /stick >"$scratch/out" 2>&1 || fail "import-media: $(cat "$scratch/out")"
grep -q '^alice: created$' "$scratch/out" || fail "import-media on /other: $(cat "$scratch/out")"
settle
[ ! -s "$scratch/journal" ] || fail "a decision on --root=/other reached the journal: $(cat "$scratch/journal")"
ok "decisions on another tree (--root=/other) do not reach the journal"

echo "$passed checks passed"
