#!/usr/bin/env bash
# Assertions imported per second from a fleet feed: 1000 system-users signed by the test brand (plus the
# brand's account and account-key) served as one framed feed (16 streams: a stream holds at most
# ASSERTION_STREAM_MAX assertions, an import at most FLEET_FEED_ASSERTIONS_MAX) by the local HTTPS test
# server, pulled with `corehomectl --root import --fleet`: fetch over TLS, decode, verify the chain, store.
set -euo pipefail
builddir=$(realpath "$1")
corehomectl="$builddir/agent/corehomectl"
src=$(cd "$(dirname "$0")/../.." && pwd)
trust="$src/test/fixtures/trust"
scratch=$(mktemp -d /tmp/corehomed-bench-fleet.XXXXXX)
server_pid=
cleanup() {
        [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
        [ -z "$server_pid" ] || wait "$server_pid" 2>/dev/null || true
        rm -rf "$scratch"
}
trap cleanup EXIT
n=1000
srv="$scratch/srv/devices/SN-BENCH/assertions"
mkdir -p "$srv"
# The signed feed is kept in the build directory and only made again when it is missing.
cache="$builddir/test/bench/fleet-feed-$n.cache"
if [ ! -s "$cache" ]; then
        export GNUPGHOME="$scratch/gnupg"
        mkdir -m 700 "$GNUPGHOME"
        gpg --batch --quiet --import "$src/test/fixtures/keys/test-brand.secret.asc" 2>/dev/null

        mkdir -p "$scratch/signed"
        for i in $(seq -w 1 $n); do
                printf '{"type":"system-user","authority-id":"acme","brand-id":"acme","email":"user%s@example.com",' "$i"
                printf '"series":["16"],"models":["appliance-1"],"username":"user%s",' "$i"
                printf '"password":"$6$S4ltS4ltS4lt$JJMkHPPOCWwCYm72g0S.IG547HUVw6XxyeKRXzEYaPBzYkq9lVZhMtUFGYUuEKiEIEDnpPkYRiZCYzXNwExfC.",'
                printf '"since":"2016-01-01T00:00:00Z","until":"2030-01-01T00:00:00Z"}\n'
        done | "$builddir/test/sign-many" "$GNUPGHOME" corehomed-test-brand "$scratch/signed"

        python3 - "$cache.tmp" "$trust/acme.account" "$trust/acme.account-key" "$scratch"/signed/*.assert <<'PY'
import sys
items = [open(p, "rb").read().rstrip(b"\n") + b"\n" for p in sys.argv[2:]]
with open(sys.argv[1], "wb") as f:
    f.write(b"corehomed-feed 1\n")
    for i in range(0, len(items), 64):
        s = b"\n".join(items[i:i + 64])
        f.write(b"%d\n" % len(s) + s + b"\n")
PY
        mv "$cache.tmp" "$cache"
fi
cp "$cache" "$srv/index"

pki="$scratch/pki"
mkdir -p "$pki"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -keyout "$pki/server.key" \
        -out "$pki/server.pem" -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
python3 "$src/test/agent/fleet-test-server.py" --dir "$scratch/srv" --cert "$pki/server.pem" \
        --key "$pki/server.key" --port-file "$scratch/port" --log "$scratch/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -f "$scratch/port" ] && break; sleep 0.1; done
port=$(cat "$scratch/port")

root="$scratch/root"
mkdir -p "$root/etc/corehomed/trusted"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/"
cp "$pki/server.pem" "$root/etc/corehomed/fleet-ca.pem"
echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
printf 'device:\n  brand-id: acme\n  model: appliance-1\nfleet:\n  url: https://127.0.0.1:%s/devices/SN-BENCH\n  ca-file: /etc/corehomed/fleet-ca.pem\n' \
        "$port" >"$root/etc/corehomed/corehomed.yaml"

start=$(date +%s%N)
"$corehomectl" --root="$root" --now=2026-11-25T10:00:00Z import --fleet >"$scratch/out"
end=$(date +%s%N)
total=$((n + 2))
added=$(grep -c ': added$' "$scratch/out" || true)
[ "$added" = $total ] || { echo "bench-fleet: only $added of $total assertions added" >&2; exit 1; }
python3 -c "print(f'fleet-import: {$total / (($end - $start) / 1e9):.1f} assertions/s')"
