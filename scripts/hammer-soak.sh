#!/usr/bin/env bash
# Runs `proofdesk hammer` against a fresh `proofdesk dev` stack (anvil, the
# contract, SQLite) on free ports for a set time, and prints its report.
# Usage: scripts/hammer-soak.sh [SECONDS] [extra hammer flags…]
# Example (the BENCHMARKS.md soak): scripts/hammer-soak.sh 600 --write-rate 20
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
secs="${1:-600}"
shift || true
"$root/scripts/install-toolchain.sh" >/dev/null
# PROOFDESK_BIN: an already built binary (e.g. the one `cargo test` built).
bin="${PROOFDESK_BIN:-}"
if [ -z "$bin" ]; then
    cargo build --locked --quiet --bin proofdesk
    bin="${CARGO_TARGET_DIR:-$root/target}/debug/proofdesk"
fi
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api_port="$(free_port)"
anvil_port="$(free_port)"
data="$(mktemp -d)"
out="$data/dev.out"
# Its own session: stopping the dev stack must not signal this script.
setsid "$bin" dev --listen "127.0.0.1:$api_port" --anvil-port "$anvil_port" --data-dir "$data" --no-demo >"$out" 2>"$data/dev.err" &
dev=$!
# Keep the hammer's exit status: stopping the dev stack must not replace it.
trap 'status=$?; kill "$dev" 2>/dev/null; wait "$dev" 2>/dev/null || true; rm -rf "$data"; exit $status' EXIT
for _ in $(seq 1 300); do
    grep -q "API key" "$out" 2>/dev/null && break
    kill -0 "$dev" 2>/dev/null || { cat "$data/dev.err"; exit 1; }
    sleep 0.2
done
key="$(awk '/API key/ {print $3}' "$out")"
contract="$(awk '/contract/ {print $2; exit}' "$out")"
echo "hammer-soak: proofdesk dev on 127.0.0.1:$api_port, anvil on $anvil_port, contract $contract; hammering for $secs s" >&2
PROOFDESK_API_KEY="$key" "$bin" hammer --log "http://127.0.0.1:$api_port" \
    --rpc "http://127.0.0.1:$anvil_port" --contract "$contract" --duration "$secs" "$@"
