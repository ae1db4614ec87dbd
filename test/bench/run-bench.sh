#!/usr/bin/env bash
# Runs every benchmark program of a release build; each prints "NAME: VALUE UNIT" lines.
# Each starts with nothing dirty in the page cache: fleet-publish writes and removes ~750 MiB, and a
# benchmark after it that syncs (create-user's commit) waited for that writeback (grants-applied 266-432/s
# right after it, 715-813/s alone, on one machine).
set -uo pipefail
builddir=${1:?usage: run-bench.sh BUILDDIR}
export FIXTURES_DIR="$(cd "$(dirname "$0")/../fixtures" && pwd)"
export INTEROP_DIR="$FIXTURES_DIR/interop"
export BUILD_DIR="$builddir"
status=0
for exe in "$builddir"/test/bench/bench-*; do
        [ -x "$exe" ] && [ -f "$exe" ] || continue
        sync
        "$exe" || { echo "FAIL: $(basename "$exe")" >&2; status=1; }
done
for script in "$(dirname "$0")"/bench-*.sh; do
        [ -f "$script" ] || continue
        sync
        bash "$script" "$builddir" || { echo "FAIL: $(basename "$script")" >&2; status=1; }
done
exit $status
