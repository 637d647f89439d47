#!/usr/bin/env bash
# Reproduces every figure in BENCHMARKS.md, in one run:
#   1. the criterion micro-benchmarks (cargo bench) and anchor()'s gas;
#   2. for SQLite, then PostgreSQL: a release server on 127.0.0.1 with a
#      local anvil (1 s blocks), driven from other processes by wrk and by
#      examples/loadgen.rs: append to final, single appends at concurrency
#      1/16/64, bulk appends, the raw insert limit of the same rows into the
#      same kind of database, proof bundles as the log grows to
#      BENCH_FILL events (once sealing and anchoring have caught up, and
#      again while loadgen appends at a fixed rate), and the server's peak
#      memory; then (SQLite) the release `proofdesk verify` on one ticket of
#      100,000 events (scripts/bench/verify-bundle.sh).
# Results: $CARGO_TARGET_DIR/bench/results.jsonl and report.md
# (CARGO_TARGET_DIR defaults to target/).
#
# Knobs (environment): BENCH_DURATION (s per wrk run, default 10),
# BENCH_FILL (default 1000000: the second proof measure, after the append
# measures, is at BENCH_FILL or the log's size then if larger),
# BENCH_PROOF_FIRST (default 250000: the first proof measure, before the
# append measures), BENCH_BACKENDS (default "sqlite postgres"),
# BENCH_PG (default postgres://postgres@127.0.0.1:5432/test), BENCH_MICRO=0
# skips the micro-benchmarks, BENCH_INGEST_RATE (events/s appended during
# the proofs-under-ingest measure, default 1000) and BENCH_INGEST_PER_REQUEST
# (events per append request there, default 1: single appends),
# BENCH_CATCHUP_TIMEOUT (s to wait for sealing and anchoring to catch up
# before proofs are measured, default 900), BENCH_VERIFY_EVENTS (the ticket
# `proofdesk verify` is timed on, SQLite run only; default 100000, 0 skips).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

duration="${BENCH_DURATION:-10}"
fill_to="${BENCH_FILL:-1000000}"
proof_first="${BENCH_PROOF_FIRST:-250000}"
backends="${BENCH_BACKENDS:-sqlite postgres}"
pg_base="${BENCH_PG:-postgres://postgres@127.0.0.1:5432/test}"
ingest_rate="${BENCH_INGEST_RATE:-1000}"
ingest_per_request="${BENCH_INGEST_PER_REQUEST:-1}"
catchup_timeout="${BENCH_CATCHUP_TIMEOUT:-900}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
out="$target_dir/bench"
mkdir -p "$out"
results="$out/results.jsonl"
: >"$results"
work="$(mktemp -d)"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

log() { echo "bench: $*" >&2; }
record() { echo "$1" >>"$results"; log "$1"; }

"$root/scripts/install-toolchain.sh"
"$root/scripts/bench/install-wrk.sh"
cargo build --release --locked --bin proofdesk --example loadgen
bin="$target_dir/release/proofdesk"
loadgen="$target_dir/release/examples/loadgen"

machine="$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
record "{\"measure\":\"machine\",\"cpu\":\"$machine\",\"kernel\":\"$(uname -r)\"}"

if [ "${BENCH_MICRO:-1}" != 0 ]; then
    log "micro-benchmarks (criterion)"
    case " $backends " in *" postgres "*) export PROOFDESK_BENCH_PG="$pg_base" ;; esac
    cargo bench --locked --bench protocol --bench store --bench ingest -- --noplot >"$out/micro.txt" 2>&1 \
        || { tail -20 "$out/micro.txt"; exit 1; }
    grep -E 'time:' -B1 "$out/micro.txt" >&2 || true
fi

# The ticket map proof a bundle v2 carries, at 2^20 tickets (issue 26's
# goal: <= 1.5 KB): the `map` member's size over 1,000 proofs, measured by
# protocol/src/map.rs's test.
log "map proof size at 2^20 tickets"
cargo test --release --locked -p proofdesk-protocol --lib map::tests::proofs_at_a_million_tickets_measured \
    -- --nocapture 2>/dev/null | sed -n 's/^BENCH //p' | while read -r line; do record "$line"; done

log "anchor() gas on anvil (scripts/measure-anchor-gas.sh)"
gas="$("$root/scripts/measure-anchor-gas.sh" | sed -n 's/.*steady state.*gasUsed = \([0-9]*\).*/\1/p')"
record "{\"measure\":\"anchor_gas\",\"gas\":$gas}"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
operator_key="0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"

anvil_port="$(free_port)"
"$root/.tools/bin/anvil" --port "$anvil_port" --block-time 1 --silent &
pids+=($!)
rpc="http://127.0.0.1:$anvil_port"
for _ in $(seq 50); do curl -sf -X POST -H 'content-type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$rpc" >/dev/null && break; sleep 0.2; done
log "anvil on $rpc (1 s blocks)"

# wrk_line MODE CONNECTIONS URL: one wrk run; prints its JSON line.
# Proofs are fetched for $proof_tickets (the first fill's lifecycles);
# appends go to $append_tickets (1,000 tickets of their own), so the
# append measures never grow the tickets whose proofs are compared.
wrk_line() {
    local mode="$1" c="$2" url="$3"
    local threads=2 tickets="$append_tickets"
    [ "$c" -lt 2 ] && threads=1
    [ "$mode" = proof ] && tickets="$proof_tickets"
    [ "$mode" = proof_if ] && tickets="$proof_etags"
    PD_MODE="$mode" PD_KEY="$key" PD_TICKETS="$tickets" PD_BULK="${PD_BULK:-1000}" \
        wrk -t"$threads" -c"$c" -d"${duration}s" --timeout 10s -s "$root/scripts/bench/wrk.lua" "$url" | tail -1
}

# wrk_run NAME MODE CONNECTIONS BACKEND URL [extra JSON fields]: one wrk
# run, one JSON line in the results.
wrk_run() {
    local name="$1" mode="$2" c="$3" backend="$4" url="$5" extra="${6:-}"
    local line
    line="$(wrk_line "$mode" "$c" "$url")"
    record "{\"backend\":\"$backend\",\"measure\":\"$name\",\"connections\":$c,$extra${line#\{}"
}

# wait_caught_up BACKEND URL: poll GET /v1/log until every event is sealed
# and every batch is final (or BENCH_CATCHUP_TIMEOUT passes), so proofs are
# measured without the sealer and anchorer working beside them. One JSON
# line says how long that took and where it stood.
wait_caught_up() {
    local backend="$1" url="$2" t0 waited state="" last=0 ok
    t0="$(date +%s%N)"
    while :; do
        waited=$(( ($(date +%s%N) - t0) / 1000000 ))  # ms
        # A busy server may miss a poll; the last answer stands.
        state="$(curl -sf --max-time 10 "$url/v1/log" | python3 -c 'import json,sys
l = json.load(sys.stdin)
done = l["sealed"] == l["log_size"] and l["final_batches"] == l["batches"]
print(int(done), l["log_size"], l["sealed"], l["batches"], l["anchored_batches"], l["final_batches"])')" \
            || state="${state:-0 0 0 0 0 0}"
        # shellcheck disable=SC2086
        set -- $state
        if [ "$1" = 1 ] || [ "$waited" -ge $((catchup_timeout * 1000)) ]; then
            ok=true
            [ "$1" = 1 ] || { ok=false; log "sealing and anchoring had not caught up after $((waited / 1000)) s"; }
            record "{\"backend\":\"$backend\",\"measure\":\"catch_up\",\"caught_up\":$ok,\"seconds\":$(python3 -c "print($waited / 1000)"),\"log_size\":$2,\"sealed\":$3,\"batches\":$4,\"anchored_batches\":$5,\"final_batches\":$6}"
            return 0
        fi
        if [ "$waited" -ge $((last + 10000)) ]; then
            last="$waited"
            log "catching up ($((waited / 1000)) s): sealed $3 of $2 events; batches $4, anchored $5, final $6"
        fi
        sleep 1
    done
}

peak_rss_kib() { awk '/VmHWM/ {print $2}' "/proc/$1/status"; }
# phase_peak BACKEND PHASE: the server's peak RSS since the last phase, then
# the peak is reset (writing 5 to clear_refs resets VmHWM, Linux >= 4.0), so
# each phase's peak is its own.
phase_peak() {
    record "{\"backend\":\"$1\",\"measure\":\"server_peak_rss_phase\",\"phase\":\"$2\",\"kib\":$(peak_rss_kib "$server"),\"rss_kib\":$(awk '/VmRSS/ {print $2}' "/proc/$server/status")}"
    echo 5 >"/proc/$server/clear_refs" 2>/dev/null || true
}

for backend in $backends; do
    log "=== $backend ==="
    case "$backend" in
    sqlite)
        db="sqlite://$work/bench.db"
        raw_db() { echo "sqlite://$work/raw-$1.db"; }
        raw_writers=1
        ;;
    postgres)
        db_name="proofdesk_bench_$$"
        psql "$pg_base" -qc "DROP DATABASE IF EXISTS $db_name" -c "CREATE DATABASE $db_name" >/dev/null
        db="${pg_base%/*}/$db_name"
        raw_db() {
            psql "$pg_base" -qc "DROP DATABASE IF EXISTS ${db_name}_raw_$1" -c "CREATE DATABASE ${db_name}_raw_$1" >/dev/null
            echo "${pg_base%/*}/${db_name}_raw_$1"
        }
        raw_writers=16
        ;;
    *) log "unknown backend $backend"; exit 2 ;;
    esac
    # Each log anchors to its own contract: batch ids start at 0 per log.
    contract="$(PROOFDESK_OPERATOR_KEY="$operator_key" "$bin" deploy --rpc "$rpc" 2>/dev/null)"
    log "contract $contract"
    key="$("$bin" keys create --database "$db" --new-database --scopes ingest --label bench 2>/dev/null)"
    port="$(free_port)"
    url="http://127.0.0.1:$port"
    # Every request comes from one address and one key, so the rate
    # limits are raised far above what the machine can serve: they stay in
    # the request path (their cost is measured) but never answer 429.
    PROOFDESK_OPERATOR_KEY="$operator_key" RUST_LOG=warn "$bin" serve --database "$db" \
        --listen "127.0.0.1:$port" --rpc "$rpc" --contract "$contract" --confirmations 3 \
        --ip-rate 1000000 --ip-burst 2000000 --key-rate 1000000 --key-burst 2000000 \
        2>"$out/server-$backend.log" &
    server=$!
    pids+=("$server")
    for _ in $(seq 100); do curl -sf "$url/readyz" >/dev/null && break; sleep 0.2; done
    curl -sf "$url/readyz" >/dev/null || { log "server did not come up; see $out/server-$backend.log"; exit 1; }
    # The tickets the append measures (and the steady ingest below) write to.
    append_tickets="$work/tickets-$backend"
    "$loadgen" tickets --url "$url" --key "$key" --count 1000 --out "$append_tickets"

    log "append to final anchor (anvil, 1 s blocks, 3 confirmations)"
    line="$("$loadgen" to-final --url "$url" --key "$key" --samples 10)"
    record "{\"backend\":\"$backend\",\"measure\":\"append_to_final\",${line#\{}"

    # Proofs are fetched for the same tickets (10-event lifecycles from the
    # first fill) at each log size, so only the log's size changes: first
    # once sealing and anchoring have caught up (the "proof" rows), then
    # while loadgen appends at a fixed rate to the first 1,000 tickets (the
    # "proof_under_ingest" rows), so reads under writes are a row of their
    # own rather than mixed into the first. The first size is fixed
    # (BENCH_PROOF_FIRST, before the append measures grow the log), so the
    # "flat" comparison always has a small log to compare with.
    log_size() { curl -sf "$url/v1/log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["log_size"])'; }
    proof_tickets="$work/filled-$backend"
    : >"$proof_tickets"
    proofs_at() {
        local target="$1"
        log "filling the log to $target events with 10-event ticket lifecycles"
        # loadgen appends to --out: one file per backend and size.
        fill_out="$work/fill-$backend-$target"
        line="$("$loadgen" fill --url "$url" --key "$key" --until "$target" --out "$fill_out")"
        # Nothing to fill (the log already holds $target events): no row.
        if [ -n "$line" ]; then
            record "{\"backend\":\"$backend\",\"measure\":\"fill\",\"until\":$target,${line#\{}"
            [ -s "$proof_tickets" ] || cp "$fill_out" "$proof_tickets"
        fi
        log "waiting for sealing and anchoring to catch up"
        wait_caught_up "$backend" "$url"
        wrk_run proof proof 16 "$backend" "$url" "\"log_size\":$(log_size),"
        # The same reads, conditional: each ticket's current ETag (2,000
        # tickets), answered 304 while the ticket is unchanged.
        proof_etags="$work/etags-$backend"
        "$root/scripts/bench/etags.sh" "$url" "$proof_tickets" "$proof_etags"
        wrk_run proof_conditional proof_if 16 "$backend" "$url" "\"log_size\":$(log_size),"
        # What no read can beat: the same server answering a route that
        # does no work, on the same cores (the 304s' limit).
        wrk_run http_floor floor 16 "$backend" "$url" "\"log_size\":$(log_size),"
        # The ingest starts 1 s before wrk and ends 1 s after it.
        log "proofs while appending $ingest_rate events/s ($ingest_per_request per request)"
        size_before="$(log_size)"
        "$loadgen" steady --url "$url" --key "$key" --tickets "$append_tickets" \
            --rate "$ingest_rate" --per-request "$ingest_per_request" \
            --duration-s "$((duration + 2))" >"$work/steady.json" &
        steady=$!
        sleep 1
        line="$(wrk_line proof 16 "$url")"
        wait "$steady"
        ingest="$(cat "$work/steady.json")"
        record "{\"backend\":\"$backend\",\"measure\":\"proof_under_ingest\",\"connections\":16,\"log_size\":$size_before,\"ingest\":$ingest,${line#\{}"
    }
    proofs_at "$proof_first"
    phase_peak "$backend" "fill and proofs to $proof_first events"

    for c in 1 16 64; do
        log "single appends, $c connections"
        wrk_run single_append append "$c" "$backend" "$url"
    done
    phase_peak "$backend" "single appends"
    log "bulk appends of 1000 events, 4 connections"
    PD_BULK=1000 wrk_run bulk_append bulk 4 "$backend" "$url" '"events_per_request":1000,'
    phase_peak "$backend" "bulk appends"

    log "limit: raw inserts of the same rows into a fresh $backend database"
    line="$("$loadgen" raw-insert --database "$(raw_db single)" --rows 20000 --per-tx 1 --writers "$raw_writers")"
    record "{\"backend\":\"$backend\",\"measure\":\"raw_insert\",${line#\{}"
    line="$("$loadgen" raw-insert --database "$(raw_db bulk)" --rows 200000 --per-tx 1000)"
    record "{\"backend\":\"$backend\",\"measure\":\"raw_insert\",${line#\{}"
    # The same rows spread as a bulk request spreads them (10 for each of
    # 100 random tickets among 1,000, their tips updated): what the bulk
    # measure's own layout costs the database.
    line="$("$loadgen" raw-insert --database "$(raw_db spread)" --rows 200000 --per-tx 1000 --tickets 1000)"
    record "{\"backend\":\"$backend\",\"measure\":\"raw_insert\",${line#\{}"

    # The second proof measure: at BENCH_FILL, or where the append
    # measures left the log if they took it further (the fill adds nothing
    # then).
    proofs_at "$fill_to"
    phase_peak "$backend" "fill and proofs to $fill_to events"
    # Catching up from nothing on the whole log (issue 31): an auditor
    # re-verifying every anchored record, then a mirror verifying every
    # batch against the chain and copying it into a SQLite file of its own
    # (one pass). The row is the mirror's time as a ratio to the audit's.
    if [ "$backend" = sqlite ] && [ "${BENCH_MIRROR:-1}" != 0 ]; then
        audit_key="$("$bin" keys create --database "$db" --scopes audit --label bench-audit 2>/dev/null)"
        log "audit of the whole log, then a mirror's catch-up over it"
        t0="$(date +%s%N)"
        audit_exit=0
        "$bin" audit --log "$url" --key "$audit_key" --rpc "$rpc" --contract "$contract" --json \
            >"$out/audit-$backend.json" 2>"$out/audit-$backend.log" || audit_exit=$?
        audit_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        records="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["records"])' "$out/audit-$backend.json" 2>/dev/null || echo 0)"
        t0="$(date +%s%N)"
        mirror_exit=0
        "$bin" mirror --log "$url" --key "$audit_key" --rpc "$rpc" --contract "$contract" \
            --database "sqlite://$work/mirror.db" --evidence-dir "$work/mirror-evidence" \
            >"$out/mirror-$backend.log" 2>&1 || mirror_exit=$?
        mirror_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        # The monitor with the audit key over the same log (issue 26): one
        # pass reads every batch's records, checks their root, and replays
        # the ticket map batch by batch against each head v2's map root.
        t0="$(date +%s%N)"
        monitor_exit=0
        "$bin" monitor --log "$url" --key "$audit_key" --rpc "$rpc" --contract "$contract" \
            >"$out/monitor-$backend.log" 2>&1 || monitor_exit=$?
        monitor_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
        batches="$(curl -sf "$url/v1/log" | python3 -c 'import json,sys; print(json.load(sys.stdin)["batches"])' 2>/dev/null || echo 0)"
        record "{\"backend\":\"$backend\",\"measure\":\"monitor_map_replay\",\"records\":$records,\"batches\":$batches,\"seconds\":$(python3 -c "print($monitor_ms / 1000)"),\"exit\":$monitor_exit}"
        record "{\"backend\":\"$backend\",\"measure\":\"catch_up_from_nothing\",\"records\":$records,\"audit_seconds\":$(python3 -c "print($audit_ms / 1000)"),\"audit_exit\":$audit_exit,\"mirror_seconds\":$(python3 -c "print($mirror_ms / 1000)"),\"mirror_exit\":$mirror_exit}"
        phase_peak "$backend" "audit and mirror catch-up (server side)"
    fi
    # The release verifier on one ticket of BENCH_VERIFY_EVENTS events
    # (issue 25), after the server's own measures.
    if [ "$backend" = sqlite ] && [ "${BENCH_VERIFY_EVENTS:-100000}" != 0 ]; then
        log "proofdesk verify on one ticket of ${BENCH_VERIFY_EVENTS:-100000} events"
        record "$("$root/scripts/bench/verify-bundle.sh" "$bin" "$url" "$key" "$rpc" "$contract")"
    fi
    curl -sf "$url/v1/log" >"$out/log-$backend.json" || true
    kill "$server"
    wait "$server" 2>/dev/null || true
    if [ "$backend" = postgres ]; then
        for d in "$db_name" "${db_name}_raw_single" "${db_name}_raw_bulk" "${db_name}_raw_spread"; do
            psql "$pg_base" -qc "DROP DATABASE IF EXISTS $d" >/dev/null || true
        done
    fi
done

python3 "$root/scripts/bench/report.py" "$results" "$target_dir/criterion" | tee "$out/report.md"
