#!/usr/bin/env bash
# The sshd drop-in (systemd/20-corehomed-userdb.conf, docs/ssh.md) is installed by meson where Debian's
# sshd_config includes it, and tells sshd to ask userdb, as root, for a user's keys. The VM test
# (9-ssh-technician, docs/vmtest.md) proves it with Debian's sshd; this checks the build's part without a VM:
# meson's install plan, the file's two lines, and (when this machine has sshd) sshd's own reading of them.
set -euo pipefail
source_dir=$(cd "$(dirname "$0")/../.." && pwd)
conf="$source_dir/systemd/20-corehomed-userdb.conf"

fail() {
        echo "FAIL: $*"
        exit 1
}
ok() { echo "ok: $*"; }

[ -f "$conf" ] || fail "no sshd drop-in in the tree ($conf)"
sysconfdir=$(meson introspect --buildoptions "$BUILD_DIR" |
        python3 -c 'import json, sys; o = {x["name"]: x["value"] for x in json.load(sys.stdin)}; print(o["prefix"] + "/" + o["sysconfdir"] if not o["sysconfdir"].startswith("/") else o["sysconfdir"])')
dest=$(meson introspect --installed "$BUILD_DIR" |
        python3 -c 'import json, sys; print("\n".join(v for k, v in json.load(sys.stdin).items() if k.endswith("/20-corehomed-userdb.conf")))')
[ "$dest" = "$sysconfdir/ssh/sshd_config.d/20-corehomed-userdb.conf" ] ||
        fail "meson installs the drop-in to \"$dest\", want $sysconfdir/ssh/sshd_config.d/20-corehomed-userdb.conf"
ok "meson installs it to $dest"

settings=$(grep -v '^#' "$conf" | grep .)
[ "$settings" = "AuthorizedKeysCommand /usr/bin/userdbctl ssh-authorized-keys %u
AuthorizedKeysCommandUser root" ] || fail "the drop-in says: $settings"
ok "AuthorizedKeysCommand /usr/bin/userdbctl ssh-authorized-keys %u, as root (userdb serves keys only to root and the user)"

sshd=$(command -v sshd || echo /usr/sbin/sshd)
if [ -x "$sshd" ]; then
        scratch=$(mktemp -d)
        trap 'rm -rf "$scratch"' EXIT
        ssh-keygen -q -t ed25519 -N '' -f "$scratch/host" >/dev/null
        printf 'Include %s\nHostKey %s/host\n' "$conf" "$scratch" >"$scratch/sshd_config"
        effective=$("$sshd" -T -f "$scratch/sshd_config")
        grep -qx 'authorizedkeyscommand /usr/bin/userdbctl ssh-authorized-keys %u' <<<"$effective" ||
                fail "sshd -T: $(grep -i authorizedkeyscommand <<<"$effective")"
        grep -qx 'authorizedkeyscommanduser root' <<<"$effective" || fail "sshd -T: no authorizedkeyscommanduser root"
        ok "sshd -T reads it: $(grep -i '^authorizedkeyscommand ' <<<"$effective")"
else
        echo "note: no sshd on this machine; its reading of the file is proven in the VM only"
fi
