#!/usr/bin/env bash
# Runs every libFuzzer target of a -Dfuzzing=true build for SECONDS each, starting from its seed corpus
# (copied, so the repository's corpus only grows by deliberate commits). Crashes land in build/fuzz-artifacts.
set -uo pipefail
builddir=${1:?usage: run-fuzz.sh BUILDDIR [SECONDS]}
seconds=${2:-30}
src=$(cd "$(dirname "$0")" && pwd)
status=0
mkdir -p "$builddir/fuzz-artifacts" "$builddir/fuzz-work"
for exe in "$builddir"/test/fuzz/fuzz-*; do
        [ -f "$exe" ] && [ -x "$exe" ] || continue
        name=$(basename "$exe")
        work="$builddir/fuzz-work/$name"
        mkdir -p "$work"
        cp -n "$src/corpus/$name"/* "$work/" 2>/dev/null || true
        echo "== $name: ${seconds}s"
        if ! "$exe" -max_total_time="$seconds" -max_len=1048576 -timeout=10 -rss_limit_mb=2048 \
                -artifact_prefix="$builddir/fuzz-artifacts/$name-" "$work" 2>"$builddir/fuzz-work/$name.log"; then
                echo "FAIL: $name (see $builddir/fuzz-work/$name.log and $builddir/fuzz-artifacts)"
                status=1
        fi
        grep -E '^(#[0-9]+.*(DONE|pulse)|Done)' "$builddir/fuzz-work/$name.log" | tail -1
done
exit $status
