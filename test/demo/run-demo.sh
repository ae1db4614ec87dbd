#!/usr/bin/env bash
# `make demo`: the whole story on bundled test keys, in a scratch root (nothing outside it is touched).
#   1. A brand (acme, signing key corehomed-test-brand) signs a system-user grant with corehomectl sign.
#   2. A technician's stick carries it, with the brand's account and key (signed by the test root).
#   3. The device (acme/appliance-1, trusting the test root) imports the stick: the user appears.
#   4. list / inspect show the user and its signed systemd user record.
#   5. A tampered stick and a stick for another model are refused, with reasons.
#   6. Time moves past the grant's until: expire removes the user.
# The clock is fixed with --now, so the story reads the same every day.
set -euo pipefail
builddir=$(realpath "${1:-build}")
src=$(cd "$(dirname "$0")/../.." && pwd)
corehomectl="$builddir/agent/corehomectl"
fixtures="$src/test/fixtures"

scratch=$(mktemp -d /tmp/corehomed-demo.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
cd "$scratch" # relative paths keep the output readable
root=device
stick=stick
export GNUPGHOME="$scratch/brand-gnupg"
mkdir -p "$GNUPGHOME" "$stick" "$root/etc/corehomed/trusted"
chmod 700 "$GNUPGHOME"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { printf '$ %s\n' "$*" | sed "s|$builddir/agent/||g" >&2; "$@"; }

step "1. The brand signs a system-user grant (format 2, removed when it expires)"
gpg --batch --quiet --import "$fixtures/keys/test-brand.secret.asc" 2>/dev/null
cat >"$scratch/grant.yaml" <<'EOF'
type: system-user
format: "2"
authority-id: acme
brand-id: acme
email: technician@acme.example
series: ["16"]
models: [appliance-1]
name: Service Technician
username: tech
password: "$6$S4ltS4ltS4lt$JJMkHPPOCWwCYm72g0S.IG547HUVw6XxyeKRXzEYaPBzYkq9lVZhMtUFGYUuEKiEIEDnpPkYRiZCYzXNwExfC."
user-presence: until-expiration
since: "2026-06-01T00:00:00Z"
until: "2026-07-01T00:00:00Z"
EOF
cat "$scratch/grant.yaml"
show "$corehomectl" sign --key=corehomed-test-brand --gnupg-home="$GNUPGHOME" "$scratch/grant.yaml" \
        >"$scratch/grant.assert"
echo "(signed: $(grep -c '' "$scratch/grant.assert") lines)"

step "2. The stick: auto-import.assert = brand account + account-key + the grant"
{
        cat "$fixtures/trust/acme.account"
        echo
        cat "$fixtures/trust/acme.account-key"
        echo
        cat "$scratch/grant.assert"
} >"$stick/auto-import.assert"
show "$corehomectl" decode "$stick/auto-import.assert" | grep -E '^# assertion|^(type|username|until|user-presence):'

step "3. The device: acme/appliance-1, trusting the test root; the technician plugs the stick in"
cp "$fixtures/trust/trusted/root.assert" "$root/etc/corehomed/trusted/"
echo 5e1f0c3a9b7d4e2f8a6c1b3d5f7e9a0c >"$root/etc/machine-id"
cat >"$root/etc/corehomed/corehomed.yaml" <<'EOF'
device:
  brand-id: acme
  model: appliance-1
  serial: SN-0001
users:
  admin-groups: [sudo]
EOF
cp -a "$root" device-template
now="--now=2026-06-15T09:00:00Z"
show "$corehomectl" --root="$root" "$now" import-media "$stick"

step "4. The user exists: list and inspect"
show "$corehomectl" --root="$root" "$now" list
show "$corehomectl" --root="$root" "$now" inspect tech | head -40
echo "..."
echo "Host record:  $(stat -c '%U %a' "$root/var/lib/systemd/home/tech.identity") /var/lib/systemd/home/tech.identity"
echo "Home:         $(stat -c '%u %a' "$root/home/tech.homedir") /home/tech.homedir"

step "5. Plugging the same stick again changes nothing"
show "$corehomectl" --root="$root" "$now" import-media "$stick"

step "6. A tampered stick (one letter of the name changed) is refused on a new device; nothing is created"
mkdir -p tampered
sed 's/^name: Service Technician$/name: Service Technicia./' "$stick/auto-import.assert" >tampered/auto-import.assert
cp -a device-template fresh-device
show "$corehomectl" --root=fresh-device "$now" import-media tampered || echo "(exit status $?)"
show "$corehomectl" --root=fresh-device "$now" list

step "7. A device of another model ignores the grant, and says why"
other=other-device
cp -a device-template "$other"
sed -i 's/model: appliance-1/model: appliance-2/' "$other/etc/corehomed/corehomed.yaml"
show "$corehomectl" --root="$other" "$now" import-media "$stick" || echo "(exit status $?)"

step "8. July comes: the grant has run out and expire removes the user"
later="--now=2026-07-01T00:00:00Z"
show "$corehomectl" --root="$root" "$later" expire
show "$corehomectl" --root="$root" "$later" list
test ! -e "$root/home/tech.homedir" && test ! -e "$root/var/lib/systemd/home/tech.identity"
echo
echo "Demo complete: the user came from a signed stick, lived for its grant, and is gone."
