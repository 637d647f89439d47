#!/usr/bin/env bash
# wrk, the HTTP load generator of bench.sh and profile-server.sh, from
# Debian's package (idempotent; a new machine does not have it).
set -euo pipefail
if ! command -v wrk >/dev/null; then
    echo "installing wrk (Debian package)" >&2
    apt-get install -y wrk >/dev/null
fi
