#!/usr/bin/env bash
# Installs the pinned Solidity toolchain into <repo>/.tools (gitignored):
#   Foundry (anvil, forge, cast) from the npm registry and solcjs (npm "solc"),
# and exposes native binaries at .tools/bin/{anvil,forge,cast}.
# forge compiles through scripts/solc-shim (see contracts/foundry.toml); nothing
# is downloaded at build/test time. Idempotent: a second run is a no-op when the
# pinned versions are already installed.
set -euo pipefail

FOUNDRY_VERSION="1.7.1"
SOLC_VERSION="0.8.30"

die() { echo "install-toolchain: ERROR: $*" >&2; exit 1; }

script_dir="$(cd "$(dirname "$0")" && pwd)"
mkdir -p "$script_dir/../.tools"
TOOLS="$(cd "$script_dir/../.tools" && pwd)"
BIN="$TOOLS/bin"

command -v node >/dev/null 2>&1 || die "node is required (not found in PATH)"
command -v npm  >/dev/null 2>&1 || die "npm is required (not found in PATH)"

case "$(uname -s)" in
    Linux)  os=linux ;;
    Darwin) os=darwin ;;
    *) die "unsupported OS $(uname -s)" ;;
esac
case "$(uname -m)" in
    x86_64|amd64)  arch=amd64 ;;
    aarch64|arm64) arch=arm64 ;;
    *) die "unsupported architecture $(uname -m)" ;;
esac

# Prints the "version" field of an installed package, or nothing.
pkg_version() {
    local pj="$TOOLS/node_modules/$1/package.json"
    [ -f "$pj" ] && node -e 'process.stdout.write(require(process.argv[1]).version)' "$pj" 2>/dev/null || true
}

installed_ok() {
    local t
    for t in anvil forge cast; do
        [ "$(pkg_version "@foundry-rs/$t-$os-$arch")" = "$FOUNDRY_VERSION" ] || return 1
        [ -x "$TOOLS/node_modules/@foundry-rs/$t-$os-$arch/bin/$t" ] || return 1
    done
    [ "$(pkg_version solc)" = "$SOLC_VERSION" ] || return 1
    [ -f "$TOOLS/node_modules/solc/solc.js" ] || return 1
}

if installed_ok; then
    echo "install-toolchain: pinned versions already installed (foundry $FOUNDRY_VERSION, solc $SOLC_VERSION)"
else
    echo "install-toolchain: installing foundry $FOUNDRY_VERSION ($os-$arch) and solc $SOLC_VERSION into $TOOLS"
    # The @foundry-rs/<tool> wrappers pull the native binary via an optional
    # dependency; their postinstall (a network fallback) is not needed.
    npm install --prefix "$TOOLS" --ignore-scripts --no-audit --no-fund --save-exact \
        "@foundry-rs/anvil@$FOUNDRY_VERSION" \
        "@foundry-rs/forge@$FOUNDRY_VERSION" \
        "@foundry-rs/cast@$FOUNDRY_VERSION" \
        "@foundry-rs/anvil-$os-$arch@$FOUNDRY_VERSION" \
        "@foundry-rs/forge-$os-$arch@$FOUNDRY_VERSION" \
        "@foundry-rs/cast-$os-$arch@$FOUNDRY_VERSION" \
        "solc@$SOLC_VERSION" \
        || die "npm install failed (is the npm registry reachable?)"
    installed_ok || die "packages installed but pinned binaries are missing under $TOOLS/node_modules"
fi

mkdir -p "$BIN"
for t in anvil forge cast; do
    target="../node_modules/@foundry-rs/$t-$os-$arch/bin/$t"
    if [ "$(readlink "$BIN/$t" 2>/dev/null || true)" != "$target" ]; then
        ln -sfn "$target" "$BIN/$t"
    fi
    out="$("$BIN/$t" --version 2>&1 | head -n1)" || die "$BIN/$t does not run: $out"
    case "$out" in
        *"$FOUNDRY_VERSION"*) ;;
        *) die "$BIN/$t reports '$out', expected version $FOUNDRY_VERSION" ;;
    esac
done

shim="$script_dir/solc-shim"
[ -x "$shim" ] || die "$shim missing or not executable"
shim_out="$("$shim" --version 2>&1)" || die "solc shim failed: $shim_out"
case "$shim_out" in
    *"Version: $SOLC_VERSION"*) ;;
    *) die "solc shim reports '$shim_out', expected $SOLC_VERSION" ;;
esac

echo "install-toolchain: anvil -> $BIN/anvil"
echo "install-toolchain: forge -> $BIN/forge"
echo "install-toolchain: cast  -> $BIN/cast"
echo "install-toolchain: solc  -> $shim (solcjs $SOLC_VERSION at $TOOLS/node_modules/solc/solc.js)"
