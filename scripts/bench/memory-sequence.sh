#!/usr/bin/env bash
# bench.sh's SQLite sequence (fill to FILL, proofs, conditional proofs, single
# appends at c=1, 16 and 64, bulk appends at c=4; DURATION s of wrk each),
# with the server's memory sampled every second: RSS, anonymous memory (and
# how much of it is transparent huge pages), VmHWM, its thread count and the
# WAL's size, one line per second in MEMLOG
# (default target/bench/memory.log) under the phase's name; wrk's JSON line
# per phase on stdout. What found the blocking pool's cost (BENCHMARKS.md,
# "What measuring changed"); compare settings by the environment, e.g.
#   PROOFDESK_BLOCKING_THREADS=64 scripts/bench/memory-sequence.sh
# Knobs: FILL (default 250000), DURATION (10), SKIP_PROOFS=1, SKIP_SINGLE=1,
# SERVE_ARGS (more flags for serve), PROOFDESK_BIN, AFTER (s sampled after
# the bulk phase, 5). Needs a release build (`cargo build --release --bin
# proofdesk --example loadgen`). Nothing is asserted.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
"$root/scripts/bench/install-wrk.sh"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
bin="${PROOFDESK_BIN:-$target_dir/release/proofdesk}"
loadgen="$target_dir/release/examples/loadgen"
mkdir -p "$target_dir/bench"
fill="${FILL:-250000}"
d="${DURATION:-10}"
work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
. "$root/scripts/bench/local-log.sh"
# SERVE_ARGS unquoted: more flags, split on spaces.
# shellcheck disable=SC2086
start_local_log ${SERVE_ARGS:-}
( while kill -0 $server 2>/dev/null; do
    printf '%s %s %s\n' "$(date +%s)" "$(cat $work/phase 2>/dev/null)" "$(awk '/^Rss|^Anonymous|^AnonHugePages/ {printf "%s=%d ", $1, $2/1024}' /proc/$server/smaps_rollup) hwm=$(awk '/VmHWM/{print int($2/1024)}' /proc/$server/status) thr=$(ls /proc/$server/task | wc -l) wal=$(( $(stat -c %s $work/m.db-wal 2>/dev/null || echo 0) / 1048576 ))"
    sleep 1; done ) > "${MEMLOG:-$target_dir/bench/memory.log}" &
pids+=($!)
ph() { echo "$1" > $work/phase; echo "== $1 $(date +%T)" >&2; }
ph tickets
"$loadgen" tickets --url "$url" --key "$key" --count 1000 --out "$work/tickets"
ph fill
"$loadgen" fill --url "$url" --key "$key" --until "$fill" --out "$work/filled" >/dev/null
ph catchup
for _ in $(seq 300); do
  done_="$(curl -sf "$url/v1/log" | python3 -c 'import json,sys
l = json.load(sys.stdin); print(int(l["sealed"] == l["log_size"] and l["final_batches"] == l["batches"]))')"
  [ "$done_" = 1 ] && break; sleep 1; done
w() { PD_MODE="$1" PD_KEY="$key" PD_TICKETS="$2" PD_BULK=1000 wrk -t$([ "$3" -lt 2 ] && echo 1 || echo 2) -c"$3" -d"${d}s" --timeout 10s -s "$root/scripts/bench/wrk.lua" "$url" | tail -1; }
if [ "${SKIP_PROOFS:-0}" != 1 ]; then
ph proof; w proof "$work/filled" 16
"$root/scripts/bench/etags.sh" "$url" "$work/filled" "$work/etags"
ph proof_if; w proof_if "$work/etags" 16
fi
if [ "${SKIP_SINGLE:-0}" != 1 ]; then
for c in 1 16 64; do ph single$c; w append "$work/tickets" $c; done
fi
ph bulk; w bulk "$work/tickets" 4
ph after; sleep "${AFTER:-5}"
