#!/usr/bin/env bash
# An image before its first boot has no machine-id (/etc/machine-id missing, empty or "uninitialized"):
# corehomectl --root preseeds it anyway (assertions stored, users and homes made, host records without a
# binding, each home owned by its future uid), and corehomed, started once the machine has its id, adds
# this machine's binding in its first writer job: the uid stays the home's owner, the record's signature
# stays valid (the home is activated), and the user resolves through userdb. A malformed machine-id is
# still refused.
set -euo pipefail
corehomed="$BUILD_DIR/agent/corehomed"
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"

[ "$(id -u)" = 0 ] || {
        echo "SKIP: needs root (homes are chowned to their users, the daemon binds sockets under /run)"
        exit 77
}

scratch=$(mktemp -d /tmp/corehomed-preseed.XXXXXX)
rundir="/run/corehomed-preseed-$$"
manager="$rundir/io.corehomed.Manager"
userdb_service="io.corehomed-preseed-$$"
userdb="/run/systemd/userdb/$userdb_service"
log="$scratch/daemon.log"
daemon_pid=""
now=2026-01-01T00:00:00Z

# shellcheck source=test/agent/daemon-test-lib.sh
. "$(dirname "$0")/daemon-test-lib.sh"
trap daemon_test_cleanup EXIT

# image MACHINE-ID-STATE: a device tree (acme/appliance-1 trusting the test root) whose machine-id is
# "missing", "empty", "uninitialized" or the given text.
image() {
        local d="$scratch/$1"
        mkdir -p "$d/etc/corehomed/trusted"
        cp "$trust/trusted/root.assert" "$d/etc/corehomed/trusted/root.assert"
        printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$d/etc/corehomed/corehomed.yaml"
        case $1 in
        missing) ;;
        empty) : >"$d/etc/machine-id" ;;
        uninitialized) echo uninitialized >"$d/etc/machine-id" ;;
        *) echo "$1" >"$d/etc/machine-id" ;;
        esac
        echo "$d"
}

# --- the offline half: preseeding works without a machine-id ---
for state in missing empty uninitialized; do
        d=$(image $state)
        "$corehomectl" --root="$d" --now=$now import "$trust/stick.assert" >"$scratch/out" 2>&1 ||
                fail "$state: import: $(cat "$scratch/out")"
        "$corehomectl" --root="$d" --now=$now create-user --known >"$scratch/out" 2>&1 ||
                fail "$state: create-user: $(cat "$scratch/out")"
        grep -q '^alice: created$' "$scratch/out" || fail "$state: create-user: $(cat "$scratch/out")"
        owner=$(stat -c %u "$d/home/alice.homedir")
        [ "$owner" -ge 60001 ] && [ "$owner" -le 60513 ] || fail "$state: the home belongs to uid $owner"
        python3 - "$d/var/lib/systemd/home/alice.identity" <<'PY' || fail "$state: the host record: $(cat "$d/var/lib/systemd/home/alice.identity")"
import json, sys
r = json.load(open(sys.argv[1]))
assert "binding" not in r, r.get("binding")
assert r["userName"] == "alice" and r["signature"], r
PY
        [ -f "$d/home/alice.homedir/.identity" ] || fail "$state: no ~/.identity"
        "$corehomectl" --root="$d" --now=$now list >"$scratch/out" 2>&1 || fail "$state: list: $(cat "$scratch/out")"
        grep -q "^alice  *$owner " "$scratch/out" || fail "$state: list does not show alice with uid $owner: $(cat "$scratch/out")"
        ok "machine-id $state: preseeded (alice, uid $owner from the home's owner, record without binding)"
done
d=$(image malformed-id)
if "$corehomectl" --root="$d" --now=$now create-user --known >"$scratch/out" 2>&1; then
        fail "a malformed machine-id was accepted"
fi
grep -q "machine-id: malformed" "$scratch/out" || fail "malformed machine-id: $(cat "$scratch/out")"
ok "a malformed machine-id is still refused: $(head -n 1 "$scratch/out")"

# A second preseed of the same image (a newer revision of a grant, another run of the image build) works
# on the unbound record too.
d="$scratch/uninitialized"
"$corehomectl" --root="$d" --now=$now expire >"$scratch/out" 2>&1 || fail "expire on the unbound image: $(cat "$scratch/out")"
ok "the unbound image takes further offline operations (expire)"

# --- the first boot: the machine has its id; the daemon binds ---
owner=$(stat -c %u "$d/home/alice.homedir")
machine_id=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
echo "$machine_id" >"$d/etc/machine-id"
"$corehomed" --root="$d" --userdb-socket="$userdb" --manager-socket="$manager" 2>>"$log" &
daemon_pid=$!
for _ in $(seq 100); do
        grep -q "activated the home of alice" "$log" && break
        kill -0 "$daemon_pid" 2>/dev/null || fail "corehomed exited during start"
        sleep 0.1
done
grep -q "bound the home of alice to this machine (uid $owner)" "$log" || fail "no binding logged"
grep -q "activated the home of alice" "$log" || fail "alice's home was not activated (is the record still ours?)"
python3 - "$d/var/lib/systemd/home/alice.identity" "$machine_id" "$owner" <<'PY' || fail "the bound record: $(cat "$d/var/lib/systemd/home/alice.identity")"
import json, sys
r = json.load(open(sys.argv[1]))
b = r["binding"][sys.argv[2]]
assert b["uid"] == int(sys.argv[3]) and b["gid"] == int(sys.argv[3]), b
assert b["imagePath"] == "/home/alice.homedir" and b["storage"] == "directory", b
PY
python3 - "$userdb" "$userdb_service" "$owner" <<'PY' || fail "alice does not resolve through userdb"
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
call = {"method": "io.systemd.UserDatabase.GetUserRecord",
        "parameters": {"userName": "alice", "service": sys.argv[2]}}
s.sendall(json.dumps(call).encode() + b"\0")
data = b""
while not data.endswith(b"\0"):
    chunk = s.recv(65536)
    assert chunk, data
    data += chunk
reply = json.loads(data[:-1])
record = reply["parameters"]["record"]
assert record["userName"] == "alice", reply
uid = record.get("uid")
if uid is None:
    uid = [b["uid"] for b in record["binding"].values()][0]
assert uid == int(sys.argv[3]), reply
PY
ok "the daemon bound alice to the new machine-id at its start (uid $owner), activated her home, userdb serves her"

kill -TERM "$daemon_pid"
wait "$daemon_pid" || fail "corehomed exited $? on SIGTERM"
daemon_pid=""
# A second start finds nothing to bind.
n=$(grep -c "bound the home of alice" "$log")
"$corehomed" --root="$d" --userdb-socket="$userdb" --manager-socket="$manager" 2>>"$log" &
daemon_pid=$!
for _ in $(seq 100); do
        [ "$(grep -c "activated the home of alice" "$log")" -ge 2 ] && break
        kill -0 "$daemon_pid" 2>/dev/null || fail "corehomed exited during its second start"
        sleep 0.1
done
[ "$(grep -c "activated the home of alice" "$log")" -ge 2 ] || fail "alice's home was not activated at the second start"
[ "$(grep -c "bound the home of alice" "$log")" = "$n" ] || fail "alice was bound again at the second start"
ok "a second start binds nothing"
