#!/usr/bin/env bash
# A published fleet served by a real nginx over TLS on 127.0.0.1 (configured as docs/fleet.md says, device
# certificates checked against the fleet's device CA, each device limited to its own directory), polled by
# the real corehomed: the first poll gets 200 and creates the user, the next one a 304 by ETag; a revocation
# published is applied by the next poll, within one interval; a device presenting a certificate of another
# CA, another device's certificate, or none is refused by nginx and imports nothing.
set -euo pipefail
corehomectl="$BUILD_DIR/agent/corehomectl"
trust="$FIXTURES_DIR/trust"
command -v nginx >/dev/null || { echo "SKIP: nginx not installed (Debian package nginx, make deps)"; exit 77; }
[ "$(id -u)" = 0 ] || { echo "SKIP: corehomed creates homes: needs root"; exit 77; }
scratch=$(mktemp -d /tmp/corehomed-nginx.XXXXXX)
chmod 0755 "$scratch" # nginx's workers run as nobody
export GNUPGHOME="$scratch/gnupg"
daemon_pids=
cleanup() {
        for pid in $daemon_pids; do
                kill "$pid" 2>/dev/null || true
                wait "$pid" 2>/dev/null || true
        done
        nginx_stop
        grep -o " $scratch/[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
        gpgconf --homedir "$GNUPGHOME" --kill all 2>/dev/null || true
        rm -rf "$scratch"
}
trap cleanup EXIT
passed=0
fail() {
        echo "FAIL: $*"
        [ ! -f "$scratch/nginx/access.log" ] || { echo "nginx saw:" && cat "$scratch/nginx/access.log"; }
        exit 1
}
ok() {
        echo "ok: $*"
        passed=$((passed + 1))
}
# shellcheck source=fleet-nginx.sh
. "$SOURCE_DIR/test/agent/fleet-nginx.sh"

# --- the brand's grants, signed here: alice for every appliance-1; bob for SN-A only ---
mkdir -m 0700 "$GNUPGHOME"
gpg --batch --quiet --import "$FIXTURES_DIR/keys/test-brand.secret.asc" 2>/dev/null
# grant NAME EMAIL REVISION EXTRA-JSON: a system-user of brand acme in $scratch/NAME.
grant() {
        printf '{"type":"system-user","authority-id":"acme","brand-id":"acme","email":"%s","revision":"%s",
                "series":["16"],"username":"%s","models":["appliance-1"],"since":"2016-01-01T00:00:00Z",
                "until":"2030-01-01T00:00:00Z"%s}' "$2" "$3" "${2%%@*}" "$4" |
                python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)))' |
                "$corehomectl" sign --key=corehomed-test-brand --gnupg-home="$GNUPGHOME" - >"$scratch/$1" ||
                fail "cannot sign $1"
}
grant alice alice@example.com 1 ''
grant bob bob@example.com 1 ',"format":"1","serials":["SN-A"]'
# The revocation: bob's next revision, whose until has passed.
grant bob-revoked bob@example.com 2 ",\"format\":\"1\",\"serials\":[\"SN-A\"],\"until\":\"$(date -u -d '-1 hour' +%FT%TZ)\""
cat >"$scratch/inventory.yaml" <<'YAML'
brand-id: acme
devices:
  - serial: SN-A
    model: appliance-1
  - serial: SN-B
    model: appliance-1
YAML
tree="$scratch/srv/tree"
mkdir -p "$scratch/srv"
publish() {
        "$corehomectl" fleet publish --inventory="$scratch/inventory.yaml" --out="$tree" \
                --trusted="$trust/trusted/root.assert" "$trust/acme.account" "$trust/acme.account-key" \
                "$trust/appliance-1.model" "$@" >"$scratch/publish.out" 2>&1 || fail "publish: $(cat "$scratch/publish.out")"
}
publish "$scratch/alice" "$scratch/bob"

# --- nginx ---
pki="$scratch/pki"
fleet_pki "$pki"
for serial in SN-A SN-B; do device_cert "$pki" "$serial"; done
device_cert "$pki" SN-B-other "$pki/other-ca" # a well-formed certificate of an unrelated CA
nginx_start "$scratch/nginx" "$tree" "$pki"
base="https://127.0.0.1:$nginx_port"
access="$scratch/nginx/access.log"
# seen SERIAL: what nginx answered to SERIAL's feed requests, e.g. "200 304".
seen() { awk -v u="/devices/$1/assertions" '$2 == u { printf "%s%s", sep, $3; sep = " " }' "$access"; }

# device ROOT SERIAL CERT [INTERVAL]: a device root polling $base/devices/SERIAL with the client certificate
# CERT of $pki (none: no certificate).
device() {
        local root=$1
        mkdir -p "$root/etc/corehomed/trusted"
        cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/"
        cp "$pki/server-ca.pem" "$root/etc/corehomed/fleet-ca.pem"
        echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
        cat >"$root/etc/corehomed/corehomed.yaml" <<YAML
device:
  brand-id: acme
  model: appliance-1
  serial: $2
fleet:
  url: $base/devices/$2
  ca-file: /etc/corehomed/fleet-ca.pem
  interval: ${4:-15m}
  create-users: true
YAML
        if [ "$3" != none ]; then
                install -m 0600 "$pki/$3.pem" "$root/etc/corehomed/fleet-client.pem"
                install -m 0600 "$pki/$3.key" "$root/etc/corehomed/fleet-client.key"
                printf '  client-cert: /etc/corehomed/fleet-client.pem\n  client-key: /etc/corehomed/fleet-client.key\n' \
                        >>"$root/etc/corehomed/corehomed.yaml"
        fi
}
has_user() { [ -f "$1/var/lib/systemd/home/$2.identity" ]; }
# start_daemon ROOT NAME: corehomed on ROOT, its log in $scratch/NAME.log.
start_daemon() {
        "$BUILD_DIR/agent/corehomed" --root="$1" --manager-socket="$scratch/$2-manager.socket" \
                --userdb-socket="$scratch/$2-userdb.socket" 2>"$scratch/$2.log" &
        daemon_pids="$daemon_pids $!"
}
# polls LOG: how many fleet polls the daemon logged as ended ("fleet poll of URL: RESULT (N.N s)").
polls() { grep -c "fleet poll of .* ([0-9.]* s)$" "$1" || true; }
# wait_polls LOG N SECONDS: until the daemon logged N polls; fails after SECONDS.
wait_polls() {
        local i
        for ((i = 0; i < $3 * 10; i++)); do
                [ "$(polls "$1")" -ge "$2" ] && return 0
                sleep 0.1
        done
        fail "$1: $2 polls not logged within $3 s: $(cat "$1")"
}

# --- wrong certificates, each a device of its own, all in one go: refused by nginx, nothing imported ---
device "$scratch/other-ca" SN-B SN-B-other
device "$scratch/stolen" SN-B SN-A
device "$scratch/none" SN-B none
for d in other-ca stolen none; do
        rc=0
        "$corehomectl" --root="$scratch/$d" import --fleet >"$scratch/$d.out" 2>&1 || rc=$?
        [ $rc != 0 ] || fail "$d: the poll succeeded: $(cat "$scratch/$d.out")"
        [ ! -d "$scratch/$d/var/lib/corehomed/assertions" ] ||
                [ -z "$(find "$scratch/$d/var/lib/corehomed/assertions" -type f)" ] || fail "$d: something was stored"
        has_user "$scratch/$d" alice && fail "$d: alice was created"
done
grep -q "HTTP status 400" "$scratch/other-ca.out" || fail "other CA: $(cat "$scratch/other-ca.out")"
grep -q "HTTP status 403" "$scratch/stolen.out" || fail "SN-A's certificate for SN-B: $(cat "$scratch/stolen.out")"
grep -q "HTTP status 400" "$scratch/none.out" || fail "no certificate: $(cat "$scratch/none.out")"
grep -q '^GET /devices/SN-B/assertions 400 "-" "CN=SN-B-other" FAILED:' "$access" ||
        fail "nginx did not refuse the certificate of another CA"
grep -q '^GET /devices/SN-B/assertions 403 "-" "CN=SN-A" SUCCESS$' "$access" ||
        fail "nginx did not refuse SN-A's certificate for SN-B"
grep -q '^GET /devices/SN-B/assertions 400 "-" "-" NONE$' "$access" || fail "nginx did not refuse a device without one"
ok "nginx refuses a certificate of another CA (400), another device's certificate (403) and none (400); nothing imported"

# --- the daemon: 200 and users, then 304 by ETag ---
dev="$scratch/device-a"
device "$dev" SN-A SN-A 10s
start_daemon "$dev" sn-a
log="$scratch/sn-a.log"
# The first poll comes within min(30 s, interval) of the start, the next one interval +-10 % later.
wait_polls "$log" 1 15
for _ in $(seq 50); do has_user "$dev" bob && break; sleep 0.1; done
has_user "$dev" alice && has_user "$dev" bob || fail "first poll: alice and bob not created: $(cat "$log")"
[ "$(seen SN-A)" = 200 ] || fail "first poll: nginx answered $(seen SN-A)"
# nginx's ETag of a static file: "MTIME-SIZE" in hexadecimal.
etag=$(stat -L -c '%Y %s' "$tree/devices/SN-A/assertions/index" | awk '{ printf "\"%x-%x\"", $1, $2 }')
wait_polls "$log" 2 15
[ "$(seen SN-A)" = "200 304" ] || fail "second poll: nginx answered $(seen SN-A)"
# nginx's log writes a quote inside a value as \x22.
grep -qxF "GET /devices/SN-A/assertions 304 \"\\x22${etag//\"/}\\x22\" \"CN=SN-A\" SUCCESS" "$access" ||
        fail "the 304 was not for If-None-Match: $etag"
grep -q "fleet poll of $base/devices/SN-A: unchanged (304 Not Modified)" "$log" || fail "second poll: $(cat "$log")"
ok "the daemon's first poll gets 200 and creates alice and bob; the next one sends ETag $etag and gets a 304"

# --- a revocation, published: applied by the next poll, within one interval of the publish ---
published_at=$(date +%s.%N)
publish "$scratch/alice" "$scratch/bob-revoked"
grep -q "1 feeds* written, 1 unchanged" "$scratch/publish.out" || fail "revocation: $(cat "$scratch/publish.out")"
for _ in $(seq 150); do has_user "$dev" bob || break; sleep 0.1; done
took=$(awk -v a="$published_at" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
has_user "$dev" bob && fail "bob was not removed within 15 s of the publish: $(cat "$log")"
has_user "$dev" alice || fail "alice was removed"
# Applied by the first poll after the publish, which comes one interval (10 s +-10 %) after the one before
# it; the publish and the poll themselves take a second or two.
wait_polls "$log" 3 5
[ "$(polls "$log")" = 3 ] || fail "the revocation was not applied by the first poll after the publish: $(cat "$log")"
awk -v t="$took" 'BEGIN { exit !(t <= 13) }' || fail "the revocation took $took s, more than one interval"
[ "$(seen SN-A)" = "200 304 200" ] || fail "the poll after the publish: nginx answered $(seen SN-A)"
ok "a revocation published is applied by the daemon's next poll, $took s after the publish (interval 10 s)"

echo "$passed nginx checks passed"
