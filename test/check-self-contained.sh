#!/usr/bin/env bash
# The tree tests itself: `git clone … && make check` must pass with nothing beside the clone. Checks that
#   - no build or test file reaches out of the tree to the team's shared directory beside it;
#   - the interop vectors the tests read ($INTEROP_DIR) are the ones in test/fixtures/interop/;
#   - every vector there has its origin written in test/fixtures/interop/README.md.
# The fresh-clone run itself is the final proof; this catches a new reference to that directory early.
set -uo pipefail
source_dir=${SOURCE_DIR:-$(cd "$(dirname "$0")/.." && pwd)}
interop=$source_dir/test/fixtures/interop
status=0
fail() {
	echo "FAIL: $*"
	status=1
}

cd "$source_dir" || exit 1
# Every spelling seen so far: a shell or C path, meson's path joining (the parent, then 'shared'), a path
# built from the parent directory with cd and pwd.
if hits=$(grep -rnE "'\.\.' */ *'shared'|\.\./shared|/shared/(interop|reference)" --exclude="$(basename "$0")" \
	meson.build Makefile test); then
	fail "files outside the tree are referenced (copy what a test needs into test/fixtures/):"
	echo "$hits"
fi

if [ -n "${INTEROP_DIR:-}" ]; then
	[ "$(realpath -m "$INTEROP_DIR")" = "$(realpath "$interop")" ] ||
		fail "INTEROP_DIR is $INTEROP_DIR, not $interop"
fi

for sub in snapd systemd; do
	n=$(find "$interop/$sub" -type f 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] || fail "no vectors in $interop/$sub"
done
while read -r file; do
	name=${file#"$interop"/}
	grep -qF "\`${name##*/}\`" "$interop/README.md" || fail "$name: its origin is not in $interop/README.md"
done < <(find "$interop" -mindepth 2 -type f 2>/dev/null | sort)

[ $status = 0 ] && echo "self-contained: nothing read from beside the tree; $(find "$interop" -mindepth 2 -type f | wc -l) interop vectors, each with its origin"
exit $status
