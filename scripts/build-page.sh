#!/usr/bin/env bash
# Builds the browser verifier page web/dist/verify.html (and web/dist/verify.csp)
# from web/src with the pinned esbuild and libraries of web/package-lock.json,
# installed from the npm registry into web/node_modules (gitignored).
#   scripts/build-page.sh           rebuild web/dist in place
#   scripts/build-page.sh --check   rebuild into a temporary folder and fail if the
#                                   committed web/dist differs (the test command runs this)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
web="$root/web"
stamp="$web/node_modules/.lock-sha256"
want="$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    echo "build-page: installing the pinned packages of web/package-lock.json"
    npm ci --prefix "$web" --no-audit --no-fund >/dev/null
    echo "$want" > "$stamp"
fi
if [ "${1:-}" = "--check" ]; then
    fresh="$(mktemp -d)"
    trap 'rm -rf "$fresh"' EXIT
    node "$web/build.mjs" "$fresh" >/dev/null
    for f in verify.html verify.csp; do
        if ! cmp -s "$web/dist/$f" "$fresh/$f"; then
            diff -u "$web/dist/$f" "$fresh/$f" | head -n 30 >&2 || true
            echo "build-page: FAILED: web/dist/$f differs from a fresh build of web/src." >&2
            echo "build-page: run scripts/build-page.sh and commit web/dist." >&2
            exit 1
        fi
    done
    echo "build-page: web/dist matches a fresh build of web/src"
else
    node "$web/build.mjs"
fi
