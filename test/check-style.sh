#!/usr/bin/env bash
# Fails when any tracked C file differs from .clang-format's layout.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "SKIP: clang-format not installed"; exit 77; }
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null; git ls-files --others --exclude-standard '*.c' '*.h' 2>/dev/null)
[ "${#files[@]}" -gt 0 ] || { echo "no C files found"; exit 1; }
bad=0
for f in "${files[@]}"; do
        [ -f "$f" ] || continue
        if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
                echo "style: $f differs from .clang-format (run: make format)"
                bad=1
        fi
done
exit $bad
