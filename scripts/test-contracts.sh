#!/usr/bin/env bash
# Installs the pinned toolchain, runs the Foundry test suite of contracts/ (fixed fuzz
# seed from foundry.toml), checks the gas snapshot and the committed artifact.
set -euo pipefail
script_dir="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$script_dir/.." && pwd)"
forge="$root/.tools/bin/forge"

"$script_dir/install-toolchain.sh" || { echo "test-contracts: toolchain installation failed" >&2; exit 1; }

cd "$root/contracts"
echo "test-contracts: forge test"
"$forge" test || { echo "test-contracts: FAILED: forge test" >&2; exit 1; }

# Gas regression check against the committed contracts/.gas-snapshot (2% tolerance).
echo "test-contracts: forge snapshot --check"
"$forge" snapshot --check --tolerance 2 --match-contract GasTest \
    || { echo "test-contracts: FAILED: gas differs from contracts/.gas-snapshot (update with: cd contracts && forge snapshot --match-contract GasTest)" >&2; exit 1; }

# Real per-transaction gas of a steady-state anchor() on a throwaway anvil (budget 55000).
"$script_dir/measure-anchor-gas.sh" || { echo "test-contracts: FAILED: anchor() gas measurement" >&2; exit 1; }

"$script_dir/check-artifact.sh" || exit 1
echo "test-contracts: OK"
