#!/usr/bin/env bash
# A mirror's catch-up from nothing, alone: a SQLite log filled to FILL
# events (default 100000) and anchored on a local anvil, then `proofdesk
# audit` and a one-pass `proofdesk mirror` into a fresh SQLite file, each
# timed; with PERF=1 the mirror runs under `perf record -e cpu-clock -g`
# (target/bench/mirror.perf; PERF_ARGS replaces -g, e.g.
# PERF_ARGS="-F 500 --call-graph dwarf"). What bench.sh's "catching up from nothing"
# row measures over 1M events, in a minute or two. BULK_S=N adds N s of
# bulk appends (wrk, c=4, 1,000 events a request) to 1,000 tickets after the
# fill, as bench.sh's append phases do: tickets of hundreds of events. Needs a release build
# (`cargo build --release --bin proofdesk --example loadgen`). Nothing is
# asserted.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
bin="${PROOFDESK_BIN:-$target_dir/release/proofdesk}"
loadgen="$target_dir/release/examples/loadgen"
mkdir -p "$target_dir/bench"
fill="${FILL:-100000}"
work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
. "$root/scripts/bench/local-log.sh"
start_local_log
audit_key="$("$bin" keys create --database "$db" --scopes audit --label m-audit 2>/dev/null)"
"$loadgen" fill --url "$url" --key "$key" --until "$fill" --out "$work/filled" >/dev/null
if [ "${BULK_S:-0}" != 0 ]; then
  "$root/scripts/bench/install-wrk.sh"
  "$loadgen" tickets --url "$url" --key "$key" --count 1000 --out "$work/tickets"
  PD_MODE=bulk PD_KEY="$key" PD_TICKETS="$work/tickets" PD_BULK=1000 wrk -t2 -c4 -d"${BULK_S}s" \
    --timeout 10s -s "$root/scripts/bench/wrk.lua" "$url" | tail -1
fi
for _ in $(seq 300); do
  done_="$(curl -sf "$url/v1/log" | python3 -c 'import json,sys
l = json.load(sys.stdin); print(int(l["sealed"] == l["log_size"] and l["final_batches"] == l["batches"]))')"
  [ "$done_" = 1 ] && break; sleep 1; done
curl -sf "$url/v1/log" | python3 -c 'import json,sys; l = json.load(sys.stdin); print("log:", l["log_size"], "records in", l["batches"], "batches")'
t0="$(date +%s%N)"
"$bin" audit --log "$url" --key "$audit_key" --rpc "$rpc" --contract "$contract" --json >"$work/audit.json" 2>"$work/audit.log"
echo "audit: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
mirror=("$bin" mirror --log "$url" --key "$audit_key" --rpc "$rpc" --contract "$contract" \
    --database "sqlite://$work/mirror.db" --evidence-dir "$work/mirror-evidence")
t0="$(date +%s%N)"
if [ "${PERF:-0}" = 1 ]; then
  perf record -e cpu-clock ${PERF_ARGS:--g} -o "$target_dir/bench/mirror.perf" -- "${mirror[@]}" >"$work/mirror.log" 2>&1
else
  "${mirror[@]}" >"$work/mirror.log" 2>&1
fi
echo "mirror: $(( ($(date +%s%N) - t0) / 1000000 )) ms"
tail -3 "$work/mirror.log"
