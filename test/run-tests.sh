#!/usr/bin/env bash
# Runs every registered test of a build directory and ends with the closing line "N passed, N failed, N skipped".
set -uo pipefail
builddir=${1:?usage: run-tests.sh BUILDDIR}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
meson test -C "$builddir" --print-errorlogs --num-processes 2 --timeout-multiplier 3
status=$?
python3 - "$builddir/meson-logs/testlog.json" "$status" <<'PY'
import json, sys
passed = failed = skipped = 0
with open(sys.argv[1]) as f:
    for line in f:
        result = json.loads(line)["result"]
        if result in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif result == "SKIP":
            skipped += 1
        else:
            failed += 1
if int(sys.argv[2]) != 0 and failed == 0:
    failed = 1  # meson itself failed (e.g. a build error) without a failed test on record
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
PY
