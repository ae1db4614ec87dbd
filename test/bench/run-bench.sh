#!/usr/bin/env bash
# Runs every benchmark program of a release build; each prints "NAME: VALUE UNIT" lines.
set -uo pipefail
builddir=${1:?usage: run-bench.sh BUILDDIR}
export FIXTURES_DIR="$(cd "$(dirname "$0")/../fixtures" && pwd)"
export INTEROP_DIR="$FIXTURES_DIR/interop"
export BUILD_DIR="$builddir"
status=0
for exe in "$builddir"/test/bench/bench-*; do
        [ -x "$exe" ] && [ -f "$exe" ] || continue
        "$exe" || { echo "FAIL: $(basename "$exe")" >&2; status=1; }
done
for script in "$(dirname "$0")"/bench-*.sh; do
        [ -f "$script" ] || continue
        bash "$script" "$builddir" || { echo "FAIL: $(basename "$script")" >&2; status=1; }
done
exit $status
