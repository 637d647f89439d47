#!/usr/bin/env bash
# The verifier page on a large bundle (BENCHMARKS.md's page row): a local
# anvil (instant blocks), a bundle of BENCH_PAGE_EVENTS events (default
# 100,000) in batches of 1,024 anchored on a fresh SupportAnchor
# (scripts/bench/make-bundle.mjs), then the saved page, opened from disk in
# headless Chromium, verifying it (scripts/bench/page-verify.mjs).
# Prints one JSON line, like the rows of scripts/bench.sh:
#   {"measure":"page_verify","events":…,"batches":…,"bundle_bytes":…,
#    "page_seconds":…,"page_verify_seconds":…,"page_render_seconds":…,
#    "node_verify_seconds":…,"verdict":"valid"}
# page_seconds runs from pressing Check to the report on screen; of it,
# page_verify_seconds is verify.js (checks and chain reads) and
# page_render_seconds the report's DOM; node_verify_seconds is verify.js
# alone under Node.
# Needs scripts/install-toolchain.sh (anvil), scripts/install-browser.sh and
# scripts/build-page.sh (web/node_modules).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
events="${BENCH_PAGE_EVENTS:-100000}"
work="$(mktemp -d)"
anvil_pid=""
cleanup() {
    [ -n "$anvil_pid" ] && kill "$anvil_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
"$root/.tools/bin/anvil" --port "$port" --silent --gas-limit 100000000 &
anvil_pid=$!
rpc="http://127.0.0.1:$port"
for _ in $(seq 50); do curl -sf -X POST -H 'content-type: application/json' \
    --data '{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}' "$rpc" >/dev/null && break; sleep 0.2; done
made="$(node "$root/scripts/bench/make-bundle.mjs" "$rpc" "$events" "$work/bundle.json")"
contract="$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["contract"])' "$made")"
echo "page-verify: $made" >&2
node "$root/scripts/bench/page-verify.mjs" "$work/bundle.json" "$rpc" "$contract"
