#!/usr/bin/env bash
# Long fuzzing run of the stranger-facing parsers (tests/fuzz_parsers.rs):
# the same properties the test command runs, with many more cases.
#
#   scripts/fuzz.sh [CASES]      (default 200000 per property; 6 properties)
#
# (The dev profile: dependencies are optimised, see Cargo.toml.)
# A failure prints the minimal input; save it under tests/fuzz/corpus/ and
# add a named regression test in tests/fuzz_parsers.rs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
cases="${1:-200000}"
echo "fuzz: $cases cases per property, 6 properties = $((cases * 6)) executions"
start=$(date +%s)
PROPTEST_CASES="$cases" cargo test --locked --test fuzz_parsers -- --test-threads 2
echo "fuzz: done in $(( $(date +%s) - start )) s"
