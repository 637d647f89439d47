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
operator_key="0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
work="$(mktemp -d)"; pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ap="$(free_port)"; "$root/.tools/bin/anvil" --port "$ap" --block-time 1 --silent & pids+=($!)
rpc="http://127.0.0.1:$ap"
for _ in $(seq 50); do curl -sf -X POST -H 'content-type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$rpc" >/dev/null && break; sleep 0.2; done
db="sqlite://$work/m.db"
contract="$(PROOFDESK_OPERATOR_KEY="$operator_key" "$bin" deploy --rpc "$rpc" 2>/dev/null)"
key="$("$bin" keys create --database "$db" --new-database --scopes ingest --label m 2>/dev/null)"
audit_key="$("$bin" keys create --database "$db" --scopes audit --label m-audit 2>/dev/null)"
port="$(free_port)"; url="http://127.0.0.1:$port"
PROOFDESK_OPERATOR_KEY="$operator_key" RUST_LOG=warn "$bin" serve --database "$db" --listen "127.0.0.1:$port" --rpc "$rpc" --contract "$contract" --confirmations 3 --ip-rate 1000000 --ip-burst 2000000 --key-rate 1000000 --key-burst 2000000 2>"$work/server.log" &
pids+=($!)
for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.2; done
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
