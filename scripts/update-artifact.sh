#!/usr/bin/env bash
# Rebuilds the contracts and regenerates the committed artifact
# contracts/artifacts/SupportAnchor.json (read by the Rust side via alloy's sol!).
set -euo pipefail
script_dir="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$script_dir/.." && pwd)"
"$script_dir/install-toolchain.sh" >/dev/null
cd "$root/contracts"
"$root/.tools/bin/forge" build || { echo "update-artifact: forge build failed" >&2; exit 1; }
mkdir -p artifacts
python3 "$script_dir/strip-artifact.py" out/SupportAnchor.sol/SupportAnchor.json artifacts/SupportAnchor.json
echo "update-artifact: wrote contracts/artifacts/SupportAnchor.json"
