#!/usr/bin/env bash
# Rebuilds the contracts and fails if the fresh artifact differs from the committed
# contracts/artifacts/SupportAnchor.json (after the same stripping).
set -euo pipefail
script_dir="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$script_dir/.." && pwd)"
committed="$root/contracts/artifacts/SupportAnchor.json"
"$script_dir/install-toolchain.sh" >/dev/null
cd "$root/contracts"
"$root/.tools/bin/forge" build || { echo "check-artifact: forge build failed" >&2; exit 1; }
[ -f "$committed" ] || { echo "check-artifact: $committed is missing; run scripts/update-artifact.sh" >&2; exit 1; }
fresh="$(mktemp)"
trap 'rm -f "$fresh"' EXIT
python3 "$script_dir/strip-artifact.py" out/SupportAnchor.sol/SupportAnchor.json "$fresh"
if ! diff -u "$committed" "$fresh" > "$fresh.diff"; then
    head -n 40 "$fresh.diff" >&2
    rm -f "$fresh.diff"
    echo "check-artifact: FAILED: contracts/artifacts/SupportAnchor.json is stale (differs from a fresh" >&2
    echo "check-artifact: forge build of contracts/src). Run scripts/update-artifact.sh and commit the result." >&2
    exit 1
fi
rm -f "$fresh.diff"
echo "check-artifact: contracts/artifacts/SupportAnchor.json matches a fresh build"
