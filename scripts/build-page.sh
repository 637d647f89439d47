#!/usr/bin/env bash
# Builds the browser verifier page web/dist/verify.html (and web/dist/verify.csp)
# from web/src with the pinned esbuild and libraries of web/package-lock.json,
# installed from the npm registry into web/node_modules (gitignored).
#   scripts/build-page.sh           rebuild web/dist in place
#   scripts/build-page.sh --check   rebuild into a temporary folder and fail if the
#                                   committed web/dist differs, or if the README does not
#                                   publish the page's sha256 (the test command runs this)
# The page's sha256 goes to web/dist/verify.html.sha256 (sha256sum -c format)
# and to the README's "Page sha256:" line: the page cannot carry its own hash
# (docs/VERIFIER.md, "Is this the published page?").
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
    (cd "$fresh" && sha256sum verify.html > verify.html.sha256)
    for f in verify.html verify.csp verify.html.sha256; do
        if ! cmp -s "$web/dist/$f" "$fresh/$f"; then
            diff -u "$web/dist/$f" "$fresh/$f" | head -n 30 >&2 || true
            echo "build-page: FAILED: web/dist/$f differs from a fresh build of web/src." >&2
            echo "build-page: run scripts/build-page.sh and commit web/dist." >&2
            exit 1
        fi
    done
    want_hash="$(cut -d' ' -f1 "$fresh/verify.html.sha256")"
    if ! grep -q "^Page sha256: \`$want_hash\`" "$root/README.md"; then
        echo "build-page: FAILED: README.md does not publish the page's sha256 ($want_hash)." >&2
        echo "build-page: run scripts/build-page.sh (it updates the README's 'Page sha256:' line)." >&2
        exit 1
    fi
    echo "build-page: web/dist matches a fresh build of web/src; the README publishes its sha256"
else
    node "$web/build.mjs"
    (cd "$web/dist" && sha256sum verify.html > verify.html.sha256)
    hash="$(cut -d' ' -f1 "$web/dist/verify.html.sha256")"
    if grep -q '^Page sha256: `' "$root/README.md"; then
        sed -i "s/^Page sha256: \`[0-9a-f]*\`/Page sha256: \`$hash\`/" "$root/README.md"
    else
        echo "build-page: add the line 'Page sha256: \`$hash\`' to README.md's verifier page section" >&2
    fi
    echo "build-page: sha256 $hash"
fi
