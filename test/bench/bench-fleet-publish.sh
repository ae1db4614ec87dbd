#!/usr/bin/env bash
# A fleet of 10,000 devices x 50 grants: `corehomectl fleet publish` from scratch, then again after one grant
# changes (the time, and the feeds rewritten), then the polls per second nginx answers on this machine for
# 304s and for full feeds, from h2load on loopback (bounded: a request count each, and a timeout).
#
# The grants: 49 for every device of the model, and 1,000 bound to 10 serials each (format 1), so each device's
# feed holds exactly 50 (51 assertions with the model). The changes measured: a serial-bound grant (10 feeds
# hold it) and a fleet-wide one (all 10,000 do).
#
# h2load cannot present a client certificate, so the nginx of the h2load figures asks for none (otherwise
# it is configured as in docs/fleet.md). Checking a device certificate is a cost per TLS handshake, not per
# request: `openssl s_time` (one new TLS connection with the device's certificate per poll, as devices
# poll) measures that one.
set -euo pipefail
builddir=$(realpath "$1")
corehomectl="$builddir/agent/corehomectl"
src=$(cd "$(dirname "$0")/../.." && pwd)
trust="$src/test/fixtures/trust"
for p in nginx h2load openssl; do
        command -v $p >/dev/null || { echo "bench-fleet-publish: skipped, $p not installed (make deps)"; exit 0; }
done
scratch=$(mktemp -d /tmp/corehomed-bench-publish.XXXXXX)
chmod 0755 "$scratch" # nginx's workers run as nobody
cleanup() {
        nginx_stop
        rm -rf "$scratch"
}
trap cleanup EXIT
fail() {
        echo "bench-fleet-publish: $*" >&2
        exit 1
}
. "$src/test/agent/fleet-nginx.sh"

devices=10000
wide=49
bound=1000 # serial-bound grants, $devices / $bound serials each
per=$((devices / bound))
now=--now=2026-11-25T10:00:00Z
serial() { printf 'SN-%05d' "$1"; }

# --- the signed grants: kept in the build directory, made again only when missing ---
cache="$builddir/test/bench/fleet-publish-$devices.cache"
if [ ! -f "$cache/done" ]; then
        rm -rf "$cache"
        mkdir -p "$cache/signed"
        export GNUPGHOME="$scratch/gnupg"
        mkdir -m 700 "$GNUPGHOME"
        gpg --batch --quiet --import "$src/test/fixtures/keys/test-brand.secret.asc" 2>/dev/null
        python3 - "$wide" "$bound" "$per" <<'PY' | "$builddir/test/sign-many" "$GNUPGHOME" corehomed-test-brand "$cache/signed"
import json, sys
wide, bound, per = map(int, sys.argv[1:])
def grant(name, revision, extra):
    h = {"type": "system-user", "authority-id": "acme", "brand-id": "acme", "email": name + "@example.com",
         "revision": str(revision), "series": ["16"], "models": ["appliance-1"], "username": name,
         "password": "$6$S4ltS4ltS4lt$JJMkHPPOCWwCYm72g0S.IG547HUVw6XxyeKRXzEYaPBzYkq9lVZhMtUFGYUuEKiEIEDnpPkYRiZCYzXNwExfC.",
         "since": "2016-01-01T00:00:00Z", "until": "2030-01-01T00:00:00Z"}
    h.update(extra)
    print(json.dumps(h))
# 00000..: the fleet-wide grants; then the serial-bound ones; then revision 2 of the first of each.
for i in range(wide):
    grant("fleet%02d" % i, 1, {})
def serials(j):
    return {"format": "1", "serials": ["SN-%05d" % (j * per + k) for k in range(per)]}
for j in range(bound):
    grant("site%04d" % j, 1, serials(j))
grant("site0000", 2, dict(serials(0), **{"until": "2026-06-01T00:00:00Z"}))
grant("fleet00", 2, {"until": "2026-06-01T00:00:00Z"})
PY
        touch "$cache/done"
fi
signed=("$cache"/signed/*.assert)
n_grants=$((wide + bound))
[ ${#signed[@]} = $((n_grants + 2)) ] || fail "the cache $cache holds ${#signed[@]} assertions"
base_set=("${signed[@]:0:n_grants}")
site_changed=("${signed[@]:0:wide}" "${signed[@]:wide+1:bound-1}" "${signed[n_grants]}") # site0000 revision 2
fleet_changed=("${signed[@]:1:wide-1}" "${signed[@]:wide+1:bound-1}" "${signed[n_grants]}" "${signed[n_grants+1]}")

python3 - "$devices" >"$scratch/inventory.yaml" <<'PY'
import sys
print("brand-id: acme\ndevices:")
for i in range(int(sys.argv[1])):
    print("  - serial: SN-%05d\n    model: appliance-1" % i)
PY

tree="$scratch/srv/tree"
mkdir -p "$scratch/srv"
# publish NAME INPUT...: one publish, timed (wall clock: the publish ends with a syncfs() of the file system,
# so it includes whatever else is waiting to be written there; and CPU); with what it wrote.
publish() {
        local name=$1 TIMEFORMAT='%R s (CPU %U s user, %S s system)' took summary
        shift
        sync
        took=$({ time "$corehomectl" "$now" fleet publish --inventory="$scratch/inventory.yaml" --out="$tree" \
                --trusted="$trust/trusted/root.assert" "$trust/acme.account" "$trust/acme.account-key" \
                "$trust/appliance-1.model" "$@" >"$scratch/out" 2>&1; } 2>&1) ||
                fail "publish $name: $(tail -n 5 "$scratch/out")"
        summary=$(grep "^$devices devices: " "$scratch/out") || fail "publish $name: $(tail -n 5 "$scratch/out")"
        echo "fleet-publish-$name: $took: $summary"
}
publish "${devices}x50-scratch" "${base_set[@]}"
feed="$tree/devices/$(serial 0)/assertions/index"
[ "$(grep -c '^type: system-user' "$feed")" = 50 ] || fail "device 0's feed does not hold 50 grants"
echo "fleet-publish-tree: $(du -sm "$(readlink -f "$tree")" | cut -f1) MiB, feed $(stat -c %s "$feed") bytes"
publish "same-input" "${base_set[@]}"
publish "one-site-grant-changed" "${site_changed[@]}"
publish "one-fleet-grant-changed" "${fleet_changed[@]}"

# --- nginx: polls answered per second ---
pki="$scratch/pki"
fleet_pki "$pki"
device_cert "$pki" "$(serial 1)"
nginx_start "$scratch/nginx" "$tree" "$pki" off 1 no-client-cert
url="https://127.0.0.1:$nginx_port/devices/$(serial 1)/assertions"
# nginx's ETag of a static file: "MTIME-SIZE" in hexadecimal (the 304 counts below check it).
etag=$(stat -L -c '%Y %s' "$tree/devices/$(serial 1)/assertions/index" | awk '{ printf "\"%x-%x\"", $1, $2 }')
# load NAME N CLIENTS [HEADER]: h2load over HTTP/1.1 with keep-alive; "NAME: R polls/s" from its summary.
load() {
        local name=$1 n=$2 c=$3
        shift 3
        timeout 120 h2load --h1 -n "$n" -c "$c" "$@" "$url" >"$scratch/h2load" 2>&1 || fail "h2load: $(cat "$scratch/h2load")"
        python3 - "$name" "$n" "$scratch/h2load" <<'PY' || fail "$name: $(cat "$scratch/h2load")"
import re, sys
name, n, text = sys.argv[1], int(sys.argv[2]), open(sys.argv[3]).read()
rps = float(re.search(r"finished in [^,]+, ([0-9.]+) req/s, ([0-9.]+[KMG]?B)/s", text).group(1))
mbs = re.search(r"finished in [^,]+, [0-9.]+ req/s, ([0-9.]+[KMG]?B)/s", text).group(1)
codes = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", text).groups()
ok = int(codes[0]) + int(codes[1])
assert ok == n, f"{ok} of {n} answered 2xx/3xx: {codes}"
print(f"{name}: {rps:.0f} polls/s ({mbs}/s; {n} requests, {codes[0]} 200, {codes[1]} 304)")
PY
}
load fleet-nginx-304-keepalive 100000 16 -H "If-None-Match: $etag"
load fleet-nginx-full-feed-keepalive 20000 16
load fleet-nginx-304-new-connection 500 500 -H "If-None-Match: $etag"
# One new TLS connection with the device's certificate per poll (full feed, HTTP/1.0), one client.
nginx_stop
nginx_start "$scratch/nginx" "$tree" "$pki" off 1
timeout 60 openssl s_time -connect "127.0.0.1:$nginx_port" -new -time 5 -www "/devices/$(serial 1)/assertions" \
        -cert "$pki/$(serial 1).pem" -key "$pki/$(serial 1).key" -CAfile "$pki/server-ca.pem" >"$scratch/s_time" 2>&1 ||
        fail "openssl s_time: $(cat "$scratch/s_time")"
python3 - "$scratch/s_time" <<'PY' || fail "openssl s_time: $(cat "$scratch/s_time")"
import re, sys
m = re.search(r"(\d+) connections in (\d+) real seconds, (\d+) bytes read per connection", open(sys.argv[1]).read())
conns, secs, read = map(int, m.groups())
assert read > 1000, f"{read} bytes read per connection: not the feed"
print(f"fleet-nginx-full-feed-mtls-new-connection: {conns / secs:.0f} polls/s ({conns} in {secs} s, one client, {read} bytes each)")
PY
