#!/usr/bin/env bash
# The current ETag of each of the first 2,000 tickets' bundles, as
# "handle<TAB>etag" lines: what wrk.lua's proof_if mode sends in
# If-None-Match (bench.sh's conditional reads, profile-server.sh proof_if).
#   etags.sh URL TICKETS_FILE OUT_FILE
set -euo pipefail
url="$1" tickets="$2" out="$3"
: >"$out"
head -n 2000 "$tickets" | while read -r h; do
    tag="$(curl -sfI "$url/v1/tickets/$h/proof" | tr -d '\r' | awk -F': ' 'tolower($1)=="etag"{print $2}')"
    [ -n "$tag" ] && printf '%s\t%s\n' "$h" "$tag" >>"$out"
done
