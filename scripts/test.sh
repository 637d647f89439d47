#!/usr/bin/env bash
# Runs every test: the independent Python check of the protocol vectors, the
# Foundry suite (forge tests, gas snapshot, real anchor() gas on anvil, the
# committed-artifact check), then all Rust tests on SQLite and, when
# PostgreSQL answers on 127.0.0.1:5432 (or PROOFDESK_TEST_PG is set), on
# PostgreSQL too. Installs the pinned toolchain first (idempotent).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

"$root/scripts/install-toolchain.sh"
# Headless Chromium (Debian) and playwright-core (npm) for the browser tests.
PROOFDESK_CHROMIUM="$("$root/scripts/install-browser.sh" | tail -n 1)"
export PROOFDESK_CHROMIUM

if [ -z "${PROOFDESK_TEST_PG:-}" ]; then
    if (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null; then
        export PROOFDESK_TEST_PG="postgres://postgres@127.0.0.1:5432/test"
        echo "test: PostgreSQL found; backend tests run on SQLite and PostgreSQL ($PROOFDESK_TEST_PG)"
    else
        echo "test: PostgreSQL not reachable on 127.0.0.1:5432; PostgreSQL variants are SKIPPED (set PROOFDESK_TEST_PG to run them)"
    fi
else
    echo "test: backend tests run on SQLite and PostgreSQL ($PROOFDESK_TEST_PG)"
fi

echo "test: protocol vectors, independent implementation"
python3 "$root/scripts/check-vectors.py"

# The committed verifier page must be exactly a fresh build of web/src
# (pinned esbuild and libraries); tests/verifier_page.rs drives it in Chromium.
echo "test: verifier page is a fresh build"
"$root/scripts/build-page.sh" --check
node --test "$root/web/test/"

"$root/scripts/test-contracts.sh"

# Both packages in one build (the typed client crate, workspace member
# client/, has its own end-to-end tests): built apart, their dependencies'
# features unify differently and half the dependency tree compiles twice.
# The pipeline's crates stand alone: a verifier or a platform's client
# pulls in no database, web framework or server allocator.
echo "test: the protocol, verifier and client crates need no server"
for crate in proofdesk-protocol proofdesk-verify proofdesk-client; do
    if cargo tree --locked -p "$crate" -e normal --prefix none | grep -E '^(sqlx|axum|rusqlite|mimalloc|proofdesk) '; then
        echo "test: $crate depends on the server stack (above)" >&2
        exit 1
    fi
done
if cargo tree --locked -p proofdesk-protocol -e normal --prefix none | grep -E '^(tokio|reqwest|alloy|futures) '; then
    echo "test: proofdesk-protocol is meant to be pure: no I/O, no async (above)" >&2
    exit 1
fi

echo "test: cargo test"
cargo test --locked --workspace --tests

# The API against its own OpenAPI document: schemathesis (PyPI, installed
# into .tools/venv) on a live `proofdesk dev`, every check, 0 failures.
echo "test: schemathesis against a live dev server"
SCHEMATHESIS_EXAMPLES="${SCHEMATHESIS_EXAMPLES:-300}" "$root/scripts/schemathesis.sh"

# The benchmarks and the load generator are not run here (scripts/bench.sh
# does that), but they must keep compiling: built with the tests' profile,
# so only they compile (`cargo check` would check every dependency again).
echo "test: benches and examples compile"
cargo test --locked --workspace --no-run --benches --examples
