#!/usr/bin/env bash
# Measures the TOTAL gas (gasUsed of the receipt, incl. 21000 intrinsic + calldata)
# of a steady-state SupportAnchor.anchor() transaction on a throwaway local anvil:
# deploys, anchors batch 0, then anchors batch 1 and reports its gasUsed.
# Fails if it exceeds the budget (default 55000, override with GAS_BUDGET).
set -euo pipefail
script_dir="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$script_dir/.." && pwd)"
T="$root/.tools/bin"
BUDGET="${GAS_BUDGET:-55000}"
PORT="${ANVIL_PORT:-$((20000 + RANDOM % 20000))}"
RPC="http://127.0.0.1:$PORT"
# anvil's first well-known dev account (test mnemonic), only valid on a local devnet.
PK=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80

[ -x "$T/anvil" ] || { echo "measure-anchor-gas: run scripts/install-toolchain.sh first" >&2; exit 1; }

log="$(mktemp)"
"$T/anvil" --port "$PORT" >"$log" 2>&1 &
anvil_pid=$!
trap 'kill "$anvil_pid" 2>/dev/null || true; rm -f "$log"' EXIT
# A loaded machine can take a while to bring anvil up; wait up to 60 s, and
# say why if it never answers (a taken port shows in its log).
ready=""
for _ in $(seq 300); do
  if "$T/cast" chain-id --rpc-url "$RPC" >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$anvil_pid" 2>/dev/null || break
  sleep 0.2
done
[ -n "$ready" ] || { echo "measure-anchor-gas: anvil on port $PORT never answered:" >&2; tail -5 "$log" >&2; exit 1; }

me="$("$T/cast" wallet address --private-key "$PK")"
cd "$root/contracts"
# Not in a pipeline: under pipefail a failing forge would end the script
# silently inside the command substitution; keep its output to show instead.
deploy_out="$("$T/forge" create src/SupportAnchor.sol:SupportAnchor --rpc-url "$RPC" --private-key "$PK" \
        --broadcast --constructor-args "$me" 2>&1)" || true
addr="$(printf '%s\n' "$deploy_out" | sed -n 's/^Deployed to: //p')"
[ -n "$addr" ] || { echo "measure-anchor-gas: deployment failed:" >&2; printf '%s\n' "$deploy_out" | tail -10 >&2; exit 1; }

gas_of() { python3 -c 'import json,sys; d=json.load(sys.stdin); assert int(d["status"],16)==1, "tx failed"; print(int(d["gasUsed"],16))'; }
r1=0x9f2c4b1e7a3d5f6081b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718
r2=0x1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f607189f2c4b1e7a3d5f608
g1="$("$T/cast" send "$addr" "anchor(uint64,uint64,uint64,bytes32)" 0 0 1000 "$r1" --rpc-url "$RPC" --private-key "$PK" --json | gas_of)"
g2="$("$T/cast" send "$addr" "anchor(uint64,uint64,uint64,bytes32)" 1 1000 1000 "$r2" --rpc-url "$RPC" --private-key "$PK" --json | gas_of)"
echo "anchor() batch 0 (first, slot 0 counters 0 -> nonzero): gasUsed = $g1"
echo "anchor() batch 1 (steady state):                        gasUsed = $g2 (budget $BUDGET)"
[ "$g2" -le "$BUDGET" ] || { echo "measure-anchor-gas: steady-state anchor() gas $g2 exceeds budget $BUDGET" >&2; exit 1; }
