#!/usr/bin/env bash
# Runs Proofdesk locally: installs the pinned toolchain (anvil), builds a
# release binary, and starts `proofdesk dev` (local anvil, embedded SQLite,
# a dev API key and demo tickets). Extra arguments go to `proofdesk dev`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
"$root/scripts/install-toolchain.sh"
cargo build --release --locked
exec "$root/target/release/proofdesk" dev "$@"
