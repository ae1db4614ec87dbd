#!/usr/bin/env bash
# Every name in the Makefile's DEB_PACKAGES is a real Debian package that dpkg reports as installed, so a
# second `make deps` has nothing to do. A virtual name (one that only other packages provide) is never
# reported as installed: with one in the list every `make` ran `apt-get update` and an install.
# `make check` runs `make deps` first, so anything missing here is a wrong name, not a missing install.
set -uo pipefail
source_dir=${SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
command -v dpkg-query >/dev/null || { echo "SKIP: not a Debian system (no dpkg-query)"; exit 77; }

# The list as make sees it (continuation lines joined); MAKEFLAGS of an outer make must not leak in.
packages=$(env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory -C "$source_dir" \
	--eval 'print-deb-packages: ; @echo $(DEB_PACKAGES)' print-deb-packages) || {
	echo "FAIL: cannot read DEB_PACKAGES from $source_dir/Makefile"
	exit 1
}
read -r -a names <<<"$packages"
[ "${#names[@]}" -ge 10 ] || {
	echo "FAIL: DEB_PACKAGES has only ${#names[@]} names: '$packages'"
	exit 1
}

status=0
for name in "${names[@]}"; do
	if dpkg-query -W -f='${Status}\n' "$name" 2>/dev/null | grep -q '^install ok installed$'; then
		continue
	fi
	providers=$(apt-cache showpkg "$name" 2>/dev/null | sed -n '/^Reverse Provides:/,$p' | tail -n +2 |
		awk '{ print $1 }' | sort -u | tr '\n' ' ')
	if [ -n "$providers" ]; then
		echo "FAIL: $name is not installed: a virtual package, provided by: $providers"
	else
		echo "FAIL: $name is not installed (run make deps; if it stays missing the name is wrong)"
	fi
	status=1
done
[ $status = 0 ] && echo "${#names[@]} packages of DEB_PACKAGES installed: a second make deps does nothing"
exit $status
