#!/usr/bin/env bash
# Fails when any tracked (or new, not ignored) C file differs from .clang-format's layout.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "SKIP: clang-format not installed"; exit 77; }
mapfile -t files < <({ git ls-files '*.c' '*.h'; git ls-files --others --exclude-standard '*.c' '*.h'; } 2>/dev/null |
        sort -u | while read -r f; do [ -f "$f" ] && echo "$f"; done)
[ "${#files[@]}" -gt 0 ] || { echo "no C files found"; exit 1; }
if ! out=$(clang-format --dry-run --Werror "${files[@]}" 2>&1); then
        grep -o '^[^:]*\.[ch]' <<<"$out" | sort -u | sed 's/^/style: differs from .clang-format (run: make format): /'
        exit 1
fi
echo "${#files[@]} files match .clang-format"
