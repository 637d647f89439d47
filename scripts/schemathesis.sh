#!/usr/bin/env bash
# Runs schemathesis (PyPI, installed idempotently into .tools/venv) against a
# live `proofdesk dev` server (SQLite, a spawned anvil, a dev admin key),
# with every check and 0 failures allowed: no 5xx, every response matches
# the OpenAPI document, no schema-valid request rejected, no invalid one
# accepted. Bounded to a few minutes by --max-examples. The key revoke and
# rotate routes are left out (they would revoke the key the run uses); the
# access-control tests cover them. The webhook routes are not left out: they
# are authenticated by the vendor's signature, which no generated case
# carries, so they answer 404 (unknown integration) or 401 (unsigned), and
# the run checks those answers and the refusals' schema; signed deliveries
# are tests/integrations_webhooks.rs's job.
#
#   scripts/schemathesis.sh [--max-examples N]      (default 40 per operation)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

version="4.32.5"
venv="$root/.tools/venv"
if ! "$venv/bin/schemathesis" --version 2>/dev/null | grep -q "$version"; then
    echo "schemathesis: installing $version into .tools/venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet "schemathesis==$version"
fi

examples="${SCHEMATHESIS_EXAMPLES:-40}"
if [ "${1:-}" = "--max-examples" ]; then examples="$2"; fi

"$root/scripts/install-toolchain.sh" >/dev/null
export PATH="$root/.tools/bin:$PATH"
bin="${PROOFDESK_BIN:-}"
if [ -z "$bin" ]; then
    cargo build --locked --bin proofdesk --quiet
    bin="${CARGO_TARGET_DIR:-$root/target}/debug/proofdesk"
fi

work="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
api_port="$(free_port)"
anvil_port="$(free_port)"
"$bin" dev --listen "127.0.0.1:$api_port" --anvil-port "$anvil_port" --data-dir "$work" \
    >"$work/dev.out" 2>"$work/dev.err" &
dev_pid=$!
cleanup() {
    kill -INT "$dev_pid" 2>/dev/null || true
    wait "$dev_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

key=""
for _ in $(seq 1 120); do
    key="$(sed -n 's/^  API key *\(pdk_[0-9a-f_]*\).*/\1/p' "$work/dev.out" | head -n 1)"
    [ -n "$key" ] && break
    if ! kill -0 "$dev_pid" 2>/dev/null; then
        cat "$work/dev.err" >&2
        echo "schemathesis: proofdesk dev exited early" >&2
        exit 1
    fi
    sleep 0.5
done
[ -n "$key" ] || { echo "schemathesis: no API key from proofdesk dev" >&2; cat "$work/dev.err" >&2; exit 1; }
PD_HANDLE="$(grep -o 'tk_[0-9a-f]\{32\}' "$work/dev.out" | head -n 1)"
export PD_HANDLE

echo "schemathesis: all checks, $examples examples per operation, against http://127.0.0.1:$api_port"
SCHEMATHESIS_HOOKS=schemathesis_hooks PYTHONPATH="$root/scripts" \
"$venv/bin/schemathesis" --config-file "$root/scripts/schemathesis.toml" run "http://127.0.0.1:$api_port/openapi.json" \
    --checks all \
    --exclude-path-regex '^/v1/keys/' \
    --header "Authorization: Bearer $key" \
    --max-examples "$examples" \
    --workers 1 \
    --seed "${SCHEMATHESIS_SEED:-20261124}" \
    --generation-database none \
    --no-color \
    --report junit --report-dir "$work/report" \
    "${@:3}" | tee "$work/run.log"
status=${PIPESTATUS[0]}
grep -E "test cases|passed|failed" "$work/run.log" | tail -n 3 || true
exit "$status"
