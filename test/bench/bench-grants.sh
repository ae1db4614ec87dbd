#!/usr/bin/env bash
# Grants applied per second, end to end (decode, verify the chain, convert, sign the record, create the
# home), for 100 system-users signed by the test brand, imported in one batch and applied in one run.
set -euo pipefail
builddir=$(realpath "$1")
corehomectl="$builddir/agent/corehomectl"
src=$(cd "$(dirname "$0")/../.." && pwd)
trust="$src/test/fixtures/trust"
scratch=$(mktemp -d /tmp/corehomed-bench-grants.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
export GNUPGHOME="$scratch/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$src/test/fixtures/keys/test-brand.secret.asc" 2>/dev/null

n=100
for i in $(seq -w 1 $n); do
        printf '{"type":"system-user","authority-id":"acme","brand-id":"acme","email":"user%s@example.com",' "$i"
        printf '"series":["16"],"models":["appliance-1"],"username":"user%s",' "$i"
        printf '"password":"$6$S4ltS4ltS4lt$JJMkHPPOCWwCYm72g0S.IG547HUVw6XxyeKRXzEYaPBzYkq9lVZhMtUFGYUuEKiEIEDnpPkYRiZCYzXNwExfC.",'
        printf '"since":"2016-01-01T00:00:00Z","until":"2030-01-01T00:00:00Z"}\n'
done >"$scratch/grants.jsonl"
# A stream holds at most 64 assertions: two files, one batch.
i=0
while read -r line; do
        part=$((i / 50))
        [ $((i % 50)) = 0 ] || echo >>"$scratch/part$part.assert"
        "$corehomectl" sign --key=corehomed-test-brand --gnupg-home="$GNUPGHOME" - <<<"$line" >>"$scratch/part$part.assert"
        i=$((i + 1))
done <"$scratch/grants.jsonl"

root="$scratch/root"
mkdir -p "$root/etc/corehomed/trusted"
cp "$trust/trusted/root.assert" "$root/etc/corehomed/trusted/"
echo 0123456789abcdef0123456789abcdef >"$root/etc/machine-id"
printf 'device:\n  brand-id: acme\n  model: appliance-1\n' >"$root/etc/corehomed/corehomed.yaml"

now=--now=2026-11-25T10:00:00Z
start=$(date +%s%N)
"$corehomectl" --root="$root" "$now" import "$trust/acme.account" "$trust/acme.account-key" \
        "$scratch/part0.assert" "$scratch/part1.assert" >/dev/null
"$corehomectl" --root="$root" "$now" create-user --known >"$scratch/out"
end=$(date +%s%N)
created=$(grep -c ': created$' "$scratch/out")
[ "$created" = $n ] || { echo "bench-grants: only $created of $n users created" >&2; exit 1; }
python3 -c "print(f'grants-applied: {$n / (($end - $start) / 1e9):.1f} grants/s (target >= 500)')"
