#!/usr/bin/env bash
# Installs what the browser tests need, idempotently:
#   - headless Chromium from Debian's package (never a browser build of a tool's own),
#     and a CJK font for the page's Chinese;
#   - playwright-core from the npm registry into .tools/ (it drives the system Chromium;
#     PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD keeps it from fetching a browser).
# Prints the Chromium path on its last line.
set -euo pipefail
PLAYWRIGHT_VERSION="1.65.1"

root="$(cd "$(dirname "$0")/.." && pwd)"
TOOLS="$root/.tools"
mkdir -p "$TOOLS"

die() { echo "install-browser: ERROR: $*" >&2; exit 1; }

chromium_bin="$(command -v chromium || true)"
if [ -z "$chromium_bin" ]; then
    [ "$(id -u)" = 0 ] || die "chromium is missing; install the Debian package 'chromium' (needs root)"
    echo "install-browser: installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || die "apt-get update failed"
    apt-get install -y -qq chromium >/dev/null || die "apt-get install chromium failed"
    chromium_bin="$(command -v chromium)" || die "chromium not on PATH after install"
fi

# A CJK font, so the page's Simplified Chinese renders in headless screenshots.
if ! ls /usr/share/fonts/truetype/wqy/wqy-microhei.ttc >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        echo "install-browser: installing fonts-wqy-microhei"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null \
            || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-wqy-microhei >/dev/null; } \
            || echo "install-browser: fonts-wqy-microhei not installed (Chinese text renders as boxes in screenshots)" >&2
    fi
fi

have="$(node -e 'try{process.stdout.write(require(process.argv[1]).version)}catch(e){}' \
        "$TOOLS/node_modules/playwright-core/package.json" 2>/dev/null || true)"
if [ "$have" != "$PLAYWRIGHT_VERSION" ]; then
    echo "install-browser: installing playwright-core $PLAYWRIGHT_VERSION into $TOOLS"
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm install --prefix "$TOOLS" --ignore-scripts \
        --no-audit --no-fund --save-exact "playwright-core@$PLAYWRIGHT_VERSION" >/dev/null \
        || die "npm install playwright-core failed"
fi
"$chromium_bin" --version >/dev/null 2>&1 || die "$chromium_bin does not run"
echo "$chromium_bin"
