#!/usr/bin/env bash
# The profiling harness behind the "harness" figures in BENCHMARKS.md ("What
# measuring changed"): a release server on 127.0.0.1 with a local anvil, a
# log filled with 10-event lifecycles, then wrk in one mode while
# `perf record -e cpu-clock -g` samples the server (or, with PERF_ALL=1,
# every process: PostgreSQL's backends included).
#
#   scripts/bench/profile-server.sh sqlite|postgres proof|proof_if|append|bulk
#
# Knobs: FILL (events, default 100000), DURATION (s of wrk, default 20),
# CONNECTIONS (wrk's, default 4 for bulk and 16 otherwise),
# PERF=0 (no profile), PERF_ALL=1, BENCH_PG (as in bench.sh), PROOFDESK_BIN
# (another server binary, to compare builds), WRK_CPUS (a comma list of CPUs
# for wrk, e.g. 1: the load generator on a core of its own, the server and
# PostgreSQL on the rest), SERVER_LOG (where the server's
# stderr goes, to keep it; default a temporary file). Builds with
# `cargo build --release` first. Prints wrk's JSON line; the profile is
# left in $CARGO_TARGET_DIR/bench/perf-BACKEND-MODE.data for `perf report`,
# and the server's peak memory goes to stderr.
# Nothing is asserted: this is for looking, not for the recorded figures.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
backend="${1:?backend: sqlite or postgres}"
mode="${2:?mode: proof, proof_if (conditional reads), append or bulk}"
fill="${FILL:-100000}"
duration="${DURATION:-20}"
pg_base="${BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
operator_key="0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

"$root/scripts/bench/install-wrk.sh"
cargo build --release --locked --bin proofdesk --example loadgen >&2
bin="${PROOFDESK_BIN:-$target_dir/release/proofdesk}"
loadgen="$target_dir/release/examples/loadgen"
mkdir -p "$target_dir/bench"
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    if [ "$backend" = postgres ]; then
        psql "$pg_base" -qc "DROP DATABASE IF EXISTS proofdesk_profile_$$" >/dev/null 2>&1 || true
    fi
    if [ -n "${WRK_CPUS:-}" ]; then
        # PostgreSQL outlives this run: give it every core back.
        all="$(python3 -c "import os; print(','.join(map(str, sorted(os.sched_getaffinity(0)))))")"
        for p in $(pgrep -x postgres || true); do taskset -a -p -c "$all" "$p" >/dev/null 2>&1 || true; done
    fi
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

anvil_port="$(free_port)"
"$root/.tools/bin/anvil" --port "$anvil_port" --block-time 1 --silent &
pids+=($!)
rpc="http://127.0.0.1:$anvil_port"
for _ in $(seq 50); do curl -sf -X POST -H 'content-type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$rpc" >/dev/null && break; sleep 0.2; done

case "$backend" in
sqlite) db="sqlite://$work/profile.db" ;;
postgres)
    psql "$pg_base" -qc "CREATE DATABASE proofdesk_profile_$$" >/dev/null
    db="${pg_base%/*}/proofdesk_profile_$$"
    ;;
*) echo "unknown backend $backend" >&2; exit 2 ;;
esac
contract="$(PROOFDESK_OPERATOR_KEY="$operator_key" "$bin" deploy --rpc "$rpc" 2>/dev/null)"
key="$("$bin" keys create --database "$db" --new-database --scopes ingest --label profile 2>/dev/null)"
port="$(free_port)"
url="http://127.0.0.1:$port"
PROOFDESK_OPERATOR_KEY="$operator_key" RUST_LOG=warn "$bin" serve --database "$db" \
    --listen "127.0.0.1:$port" --rpc "$rpc" --contract "$contract" --confirmations 3 \
    --ip-rate 1000000 --ip-burst 2000000 --key-rate 1000000 --key-burst 2000000 \
    2>"${SERVER_LOG:-$work/server.log}" &
server=$!
pids+=("$server")
for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.2; done
"$loadgen" tickets --url "$url" --key "$key" --count 1000 --out "$work/tickets"
"$loadgen" fill --url "$url" --key "$key" --until "$fill" --out "$work/filled" >/dev/null
# Measure with the sealer and anchorer idle, as bench.sh's "caught up" rows.
for _ in $(seq 120); do
    done_="$(curl -sf "$url/v1/log" | python3 -c 'import json,sys
l = json.load(sys.stdin); print(int(l["sealed"] == l["log_size"] and l["final_batches"] == l["batches"]))')"
    [ "$done_" = 1 ] && break
    sleep 1
done

tickets="$work/tickets"
[ "$mode" = proof ] && tickets="$work/filled"
if [ "$mode" = proof_if ]; then
    # Conditional reads, as bench.sh's: each of 2,000 tickets' current ETag.
    tickets="$work/etags"
    "$root/scripts/bench/etags.sh" "$url" "$work/filled" "$tickets"
fi
pin=()
if [ -n "${WRK_CPUS:-}" ]; then
    pin=(taskset -c "$WRK_CPUS")
    # Everything else off those cores: the server, anvil, PostgreSQL's
    # backends (the postmaster's children inherit nothing, so each is moved).
    others="$(python3 -c "import os; print(','.join(str(c) for c in sorted(os.sched_getaffinity(0) - {int(x) for x in '$WRK_CPUS'.split(',')})))")"
    for p in "$server" $(pgrep -x postgres || true); do taskset -a -p -c "$others" "$p" >/dev/null 2>&1 || true; done
fi
PD_MODE="$mode" PD_KEY="$key" PD_TICKETS="$tickets" PD_BULK=1000 \
    "${pin[@]}" wrk -t2 -c"${CONNECTIONS:-$([ "$mode" = bulk ] && echo 4 || echo 16)}" -d"${duration}s" --timeout 10s \
    -s "$root/scripts/bench/wrk.lua" "$url" >"$work/wrk.txt" &
wrk_pid=$!
if [ "${PERF:-1}" != 0 ]; then
    sleep 2
    scope=(-p "$server")
    [ "${PERF_ALL:-0}" = 1 ] && scope=(-a)
    perf record -e cpu-clock -g "${scope[@]}" -o "$target_dir/bench/perf-$backend-$mode.data" \
        -- sleep "$(( duration > 6 ? duration - 4 : 2 ))" >&2
fi
wait "$wrk_pid"
tail -1 "$work/wrk.txt"
echo "server peak memory (VmHWM): $(awk '/VmHWM/ {print $2, $3}' "/proc/$server/status")" >&2
