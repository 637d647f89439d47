#!/usr/bin/env bash
# The "verify a large bundle" row of BENCHMARKS.md (issue 25): one ticket of
# BENCH_VERIFY_EVENTS events (default 100,000: ticket.created, then
# message.added) appended to a running server through POST /v1/events/bulk
# (5,000 per request: a 10,000-event body is past the 2 MB axum lets through),
# left to seal and anchor, then checked by the release `proofdesk verify`:
# from the server's URL (download, parse, offline checks, chain reads,
# report) and from a saved file, three runs each (the median time, the
# largest peak RSS). Prints one JSON line; scripts/bench/report.py sets it
# beside criterion's bundle/check_offline (the offline half alone, per
# event).
#
#   verify-bundle.sh BIN URL KEY RPC CONTRACT
#
# bench.sh runs it on its SQLite server; it runs alone against any server
# whose key has the ingest scope.
set -euo pipefail
bin="$1" url="$2" key="$3" rpc="$4" contract="$5"
events="${BENCH_VERIFY_EVENTS:-100000}"
timeout_s="${BENCH_CATCHUP_TIMEOUT:-900}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log() { echo "verify-bundle: $*" >&2; }

handle="$(curl -sf -X POST "$url/v1/tickets" -H "authorization: Bearer $key" \
    -H 'content-type: application/json' -d "{\"external_id\":\"bench-verify-$$-$(date +%s)\"}" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["ticket"])')"
log "ticket $handle: appending $events events in bulk requests of 5,000"
python3 - "$url" "$key" "$handle" "$events" <<'PY'
import datetime, json, sys, urllib.request
url, key, handle, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
def event(kind, data):
    return {"type": kind, "data": data, "actor": {"role": "customer", "ref": "cust-1"},
            "channel": "web", "occurred_at": now}
first = event("ticket.created", {"category": "withdrawal", "priority": "high", "complaint": True, "labels": {}})
rest = event("message.added", {"direction": "inbound", "visibility": "public"})
for start in range(0, n, 5000):
    items = [{"ticket": handle, "event": first if i == 0 else rest} for i in range(start, min(n, start + 5000))]
    req = urllib.request.Request(url + "/v1/events/bulk", data=json.dumps({"events": items}).encode(),
                                 method="POST", headers={"authorization": "Bearer " + key,
                                                         "content-type": "application/json"})
    urllib.request.urlopen(req, timeout=600).read()
PY

log "waiting until every event is sealed and every batch final"
t0="$(date +%s)"
until curl -sf "$url/v1/log" | python3 -c 'import json,sys
l = json.load(sys.stdin)
sys.exit(0 if l["sealed"] == l["log_size"] and l["final_batches"] == l["batches"] else 1)'; do
    if [ $(( $(date +%s) - t0 )) -ge "$timeout_s" ]; then log "not anchored within $timeout_s s"; exit 1; fi
    sleep 2
done

bundle_url="$url/v1/tickets/$handle/proof"
curl -sf "$bundle_url" >"$work/bundle.json"
bytes="$(stat -c %s "$work/bundle.json")"
batches="$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["batches"]))' "$work/bundle.json")"
cap=$(( bytes * 2 ))
# verify_once SOURCE: "seconds peak_kib" of one run, the report printed as
# a person reads it; exit 0 (valid) is required.
verify_once() {
    if ! /usr/bin/time -f '%e %M' -o "$work/time" "$bin" verify "$1" --rpc "$rpc" --contract "$contract" \
        --max-bundle-bytes "$cap" >"$work/report.txt" 2>"$work/stderr"; then
        log "not valid:"; tail -20 "$work/report.txt" >&2; cat "$work/stderr" >&2; exit 1
    fi
    cat "$work/time"
}
# median_of SOURCE: three runs, "median-seconds largest-peak-kib" (the
# machine may be shared: one run can be noisy).
median_of() {
    for _ in 1 2 3; do verify_once "$1"; echo; done | python3 -c 'import sys
runs = [tuple(map(float, l.split())) for l in sys.stdin if l.strip()]
print(sorted(r[0] for r in runs)[1], int(max(r[1] for r in runs)))'
}
read -r url_s url_kib <<<"$(median_of "$bundle_url")"
read -r file_s file_kib <<<"$(median_of "$work/bundle.json")"
echo "{\"measure\":\"verify_bundle\",\"events\":$events,\"bundle_bytes\":$bytes,\"batches\":$batches,\"url_seconds\":$url_s,\"url_peak_rss_kib\":$url_kib,\"file_seconds\":$file_s,\"file_peak_rss_kib\":$file_kib}"
