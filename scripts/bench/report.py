#!/usr/bin/env python3
"""Turns scripts/bench.sh's results.jsonl and criterion's estimates into the
Markdown tables of BENCHMARKS.md, with the goals of issue 13 checked:
single appends at c=64 (SQLite >= 10,000/s with p99 < 20 ms, PostgreSQL
>= 5,000/s with p99 < 30 ms), bulk ingest (SQLite >= 50,000/s and >= 0.5 x
the raw multi-row insert, PostgreSQL >= 30,000/s), proof bundles at >= 1M
events on both backends (p99 < 5 ms and within 1.3 x the p99 at ~250k, both
measured once sealing and anchoring have caught up), and append to final
within the maximum merge delay for every sample."""
import glob
import json
import os
import sys

results_path, criterion_dir = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(results_path) if l.strip()]


def micro():
    out = {}
    for bench in glob.glob(os.path.join(criterion_dir, "**", "new", "benchmark.json"), recursive=True):
        meta = json.load(open(bench))
        est = json.load(open(os.path.join(os.path.dirname(bench), "estimates.json")))
        out[meta["full_id"]] = est["mean"]["point_estimate"]  # ns
    return out


def fmt_ns(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.1f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.1f} µs"
    return f"{ns:.0f} ns"


def rate(r):
    return r["requests"] / (r["duration_us"] / 1e6)


def ms(us):
    return f"{us / 1000:.2f}"


# Single appends at c=64: (events/s at least, p99 below this many ms).
SINGLE_GOAL = {"sqlite": (10000, 20), "postgres": (5000, 30)}


def verdict(ok):
    return "met" if ok else "**missed**"


print("## Machine\n")
for r in rows:
    if r["measure"] == "machine":
        print(f"{r['cpu']}; Linux {r['kernel']}\n")

m = micro()
goals = []
if m:
    print("## Micro-benchmarks (criterion, mean)\n")
    print("| Benchmark | Time | Note |\n|---|---|---|")
    for k in sorted(m):
        note = ""
        if k.startswith("tree/build/"):
            n = k.split("/")[-1]
            limit = m.get(f"tree/sha256_limit/{n}")
            if limit:
                ratio = m[k] / limit
                note = f"{ratio:.2f} × the raw SHA-256 limit"
        print(f"| `{k}` | {fmt_ns(m[k])} | {note} |")
    print()

for r in rows:
    if r["measure"] == "anchor_gas":
        print(f"anchor() in steady state, total gas of the transaction on anvil: {r['gas']:,}\n")

for backend in ["sqlite", "postgres"]:
    mine = [r for r in rows if r.get("backend") == backend]
    if not mine:
        continue
    print(f"## {backend}\n")
    # The goal's limit is the plain insert (every row on one ticket); the
    # spread one ("tickets" > 1) lays rows out as the bulk requests do.
    raw = {r["per_tx"]: r for r in mine if r["measure"] == "raw_insert" and r.get("tickets", 1) == 1}
    spread = next((r for r in mine if r["measure"] == "raw_insert" and r.get("tickets", 1) > 1), None)
    print("| Measure | Throughput | p50 ms | p90 ms | p99 ms | p99.9 ms | non-2xx | Limit | Ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in mine:
        if r["measure"] == "single_append":
            lim = raw.get(1)
            ratio = f"{rate(r) / lim['rows_per_s']:.2f}" if lim else ""
            limtxt = f"{lim['rows_per_s']:,.0f} rows/s (1 row per commit)" if lim else ""
            print(f"| single append, c={r['connections']} | {rate(r):,.0f} events/s | {ms(r['p50_us'])} | {ms(r['p90_us'])} | {ms(r['p99_us'])} | {ms(r['p999_us'])} | {r['non_2xx']} | {limtxt} | {ratio} |")
            if r["connections"] == 64:
                min_rate, max_p99_ms = SINGLE_GOAL[backend]
                ok = rate(r) >= min_rate and r["p99_us"] < max_p99_ms * 1000 and r["non_2xx"] == 0
                goals.append((f"Single appends, c=64, {backend}", f"≥ {min_rate:,}/s, p99 < {max_p99_ms} ms", f"{rate(r):,.0f}/s, p99 {ms(r['p99_us'])} ms", ok))
        elif r["measure"] == "bulk_append":
            ev = rate(r) * r["events_per_request"]
            lim = raw.get(1000)
            ratio = ev / lim["rows_per_s"] if lim else 0
            print(f"| bulk append ({r['events_per_request']}/request, compact answer), c={r['connections']} | {ev:,.0f} events/s | {ms(r['p50_us'])} | {ms(r['p90_us'])} | {ms(r['p99_us'])} | {ms(r['p999_us'])} | {r['non_2xx']} | {lim['rows_per_s']:,.0f} rows/s (1000 rows per commit) | {ratio:.2f} |")
            if spread:
                print(f"| bulk append, against the spread limit | | | | | | | {spread['rows_per_s']:,.0f} rows/s (1000 rows per commit, spread) | {ev / spread['rows_per_s']:.2f} |")
            if backend == "sqlite":
                goals.append(("Bulk ingest, durable, SQLite", "≥ 50,000/s and ≥ 0.5 × raw", f"{ev:,.0f}/s, {ratio:.2f} × raw", ev >= 50000 and ratio >= 0.5 and r["non_2xx"] == 0))
            else:
                goals.append(("Bulk ingest, durable, PostgreSQL", "≥ 30,000/s", f"{ev:,.0f}/s, {ratio:.2f} × raw", ev >= 30000 and r["non_2xx"] == 0))
    for r in mine:
        if r["measure"] == "raw_insert":
            how = f", spread: 10 rows for each of {r['per_tx'] // 10} random tickets of {r['tickets']:,}, tips updated" if r.get("tickets", 1) > 1 else ""
            print(f"| limit: raw insert, {r['per_tx']} per commit, {r['writers']} writer(s){how} | {r['rows_per_s']:,.0f} rows/s | | | | | | | |")
    # "proof": measured once sealing and anchoring have caught up, nothing
    # else running. "proof_under_ingest": the same fetches while loadgen
    # appends at a fixed rate.
    proofs = [r for r in mine if r["measure"] == "proof"]
    for r in proofs:
        print(f"| proof bundle, log of {r['log_size']:,} events, caught up, c={r['connections']} | {rate(r):,.0f} bundles/s | {ms(r['p50_us'])} | {ms(r['p90_us'])} | {ms(r['p99_us'])} | {ms(r['p999_us'])} | {r['non_2xx']} | | |")
    # Conditional reads (If-None-Match with the current ETag: 304), each
    # against the full reads of the same log size.
    for r in mine:
        if r["measure"] != "proof_conditional":
            continue
        full = next((p for p in proofs if p["log_size"] == r["log_size"]), None)
        floor = next((f for f in mine if f["measure"] == "http_floor" and f["log_size"] == r["log_size"]), None)
        ratio = rate(r) / rate(full) if full else 0
        print(f"| conditional bundle read (If-None-Match, unchanged, 304), log of {r['log_size']:,} events, c={r['connections']} | {rate(r):,.0f} reads/s | {ms(r['p50_us'])} | {ms(r['p90_us'])} | {ms(r['p99_us'])} | {ms(r['p999_us'])} | {r['non_2xx']} | {rate(full):,.0f} full reads/s | {ratio:.2f} |" if full else f"| conditional bundle read, log of {r['log_size']:,} events | {rate(r):,.0f} reads/s | | | | | | | |")
        if floor and full:
            print(f"| the HTTP floor: GET /healthz (no work), log of {floor['log_size']:,} events, c={floor['connections']} | {rate(floor):,.0f} requests/s | {ms(floor['p50_us'])} | {ms(floor['p90_us'])} | {ms(floor['p99_us'])} | {ms(floor['p999_us'])} | {floor['non_2xx']} | 304s at {rate(r) / rate(floor):.2f} × it; 3 × the full reads is {3 * rate(full) / rate(floor):.2f} × it | |")
        if full:
            against = f"; the HTTP floor {rate(floor):,.0f}/s, 3 × the full reads {3 * rate(full) / rate(floor):.2f} × it" if floor else ""
            goals.append((f"Conditional bundle read, {backend}, {r['log_size']:,} events", ">= 3 x the full-bundle rate", f"{ratio:.2f} x ({rate(r):,.0f}/s against {rate(full):,.0f}/s{against})", ratio >= 3))
    for r in mine:
        if r["measure"] == "proof_under_ingest":
            i = r["ingest"]
            how = "single appends" if i["per_request"] == 1 else f"{i['per_request']} per request"
            p99 = f", append p99 {i['append_p99_ms']:.1f} ms" if i.get("append_p99_ms") is not None else ""
            print(f"| proof bundle, log of {r['log_size']:,} events, c={r['connections']}, while appending {i['target_events_per_s']:,} events/s ({how}; achieved {i['events_per_s']:,.0f}/s, {i['errors']} errors{p99}) | {rate(r):,.0f} bundles/s | {ms(r['p50_us'])} | {ms(r['p90_us'])} | {ms(r['p99_us'])} | {ms(r['p999_us'])} | {r['non_2xx']} | | |")
    for r in mine:
        if r["measure"] == "fill":
            print(f"| fill to {r['until']:,} (tickets created one by one, lifecycles in bulk) | {r['events_per_s']:,.0f} events/s | | | | | | | |")
    print()
    for r in mine:
        if r["measure"] == "catch_up":
            state = "caught up" if r["caught_up"] else "**had not caught up** (timed out)"
            print(f"Before the proofs at {r['log_size']:,} events: sealing and anchoring {state} after {r['seconds']:.0f} s ({r['sealed']:,} sealed, {r['final_batches']:,} of {r['batches']:,} batches final).\n")
    if proofs:
        big = max(proofs, key=lambda r: r["log_size"])
        small = min(proofs, key=lambda r: r["log_size"])
        # Flat needs a small log to compare with: one measure alone, or two
        # at nearly the same size, shows nothing.
        compared = small["log_size"] <= 400_000
        flat = compared and big["p99_us"] <= 1.3 * small["p99_us"]
        versus = f"vs {ms(small['p99_us'])} ms at {small['log_size']:,}" if compared else "no measure at ~250k to compare with"
        goals.append((f"Proof bundle at {big['log_size']:,} events, {backend}", "≥ 1M events, p99 < 5 ms, ≤ 1.3 × the p99 at ~250k", f"p99 {ms(big['p99_us'])} ms ({versus})", big["log_size"] >= 1_000_000 and big["p99_us"] < 5000 and flat and big["non_2xx"] == 0))
    for r in mine:
        if r["measure"] == "append_to_final":
            print(f"Append to final anchor ({r['samples']} samples, anvil 1 s blocks, 3 confirmations): median {r['median_s']:.1f} s, max {r['max_s']:.1f} s; the maximum merge delay is {r['max_merge_delay_s']:.0f} s.\n")
            goals.append((f"Append to final, {backend}", "every sample within the maximum merge delay", f"max {r['max_s']:.1f} s of {r['max_merge_delay_s']:.0f} s ({r['samples']} samples)", r["max_s"] <= r["max_merge_delay_s"]))
        if r["measure"] == "server_peak_rss":
            print(f"Server peak memory (VmHWM) over the whole {backend} run: {r['kib'] / 1024:.0f} MiB.\n")
    for r in mine:
        if r["measure"] == "monitor_map_replay":
            per_batch = r["seconds"] * 65536 / r["records"] if r["records"] else float("nan")
            print(f"`proofdesk monitor --key` over the same {r['records']:,} records in {r['batches']} batches (records read, their root checked, the ticket map replayed against every head v2's map root): {r['seconds']:.1f} s (exit {r['exit']}), {per_batch:.2f} s per 65,536 records.\n")
            goals.append((f"Monitor: a 65,536-event batch's map update, {backend}", "≤ 2 s", f"{per_batch:.2f} s (the whole log's pass, scaled per 65,536 records)", r["exit"] == 0 and per_batch <= 2))
        if r["measure"] == "catch_up_from_nothing":
            ratio = r["mirror_seconds"] / r["audit_seconds"] if r["audit_seconds"] else float("nan")
            print(f"Catching up from nothing on {r['records']:,} anchored records: `proofdesk audit` {r['audit_seconds']:.1f} s (exit {r['audit_exit']}), a one-pass `proofdesk mirror` into a fresh SQLite file {r['mirror_seconds']:.1f} s (exit {r['mirror_exit']}): the mirror takes {ratio:.2f} × the audit's time.\n")
    phases = [r for r in mine if r["measure"] == "server_peak_rss_phase"]
    if phases:
        print("| Phase | server peak memory (VmHWM) | RSS at its end |")
        print("|---|---|---|")
        for r in phases:
            print(f"| {r['phase']} | {r['kib'] / 1024:.0f} MiB | {r['rss_kib'] / 1024:.0f} MiB |")
        print()
        top = max(phases, key=lambda r: r["kib"])
        goals.append((f"Server peak memory, {backend}", "≤ 256 MiB in every phase", f"{top['kib'] / 1024:.0f} MiB ({top['phase']})", top["kib"] <= 256 * 1024))

def per_element_ns(full_id):
    """Mean ns per element of a criterion benchmark with a throughput."""
    for bench in glob.glob(os.path.join(criterion_dir, "**", "new", "benchmark.json"), recursive=True):
        meta = json.load(open(bench))
        if meta["full_id"] != full_id:
            continue
        n = (meta.get("throughput") or {}).get("Elements")
        if n:
            est = json.load(open(os.path.join(os.path.dirname(bench), "estimates.json")))
            return est["mean"]["point_estimate"] / n
    return None


# The release verifier on one large ticket (scripts/bench/verify-bundle.sh),
# beside the offline half alone (criterion's bundle/check_offline, per event).
for r in rows:
    if r["measure"] == "verify_bundle":
        print("## Verifying a large bundle (proofdesk verify, release)\n")
        print(f"One ticket of {r['events']:,} events in {r['batches']} batches, a bundle of {r['bundle_bytes'] / 1048576:.0f} MiB, against anvil:\n")
        print("| Run | Time | Peak memory |\n|---|---|---|")
        print(f"| from the server's URL (download, parse, checks, chain reads) | {r['url_seconds']:.2f} s | {r['url_peak_rss_kib'] / 1024:.0f} MiB |")
        print(f"| from a file | {r['file_seconds']:.2f} s | {r['file_peak_rss_kib'] / 1024:.0f} MiB |")
        offline = per_element_ns("bundle/check_offline")
        parse = per_element_ns("bundle/parse_and_check_offline")
        if offline:
            print(f"| the offline checks alone (criterion bundle/check_offline, {fmt_ns(offline)} per event) | {offline * r['events'] / 1e9:.2f} s | |")
        if parse:
            print(f"| parse and offline checks (criterion bundle/parse_and_check_offline, {fmt_ns(parse)} per event) | {parse * r['events'] / 1e9:.2f} s | |")
        print()

# Sealing with the ticket map (issue 26): a 65,536-event batch against a
# map of 2^20 tickets, as a ratio to the same batch against an empty map.
for backend in ("sqlite", "postgres"):
    for spread, how in (("", "10,000 tickets"), ("65536_tickets_", "65,536 tickets, one event each")):
        big = m.get(f"seal/{backend}/65536_events_{spread}map_1048576_tickets")
        empty = m.get(f"seal/{backend}/65536_events_{spread}empty_map")
        if big and empty:
            goals.append((f"Sealing a 65,536-event batch ({how}) over a map of 2^20 tickets, {backend}", "≤ 1.5 × the same batch over an empty map", f"{fmt_ns(big)} against {fmt_ns(empty)}: {big / empty:.2f} ×", big / empty <= 1.5))

# The ticket map proof in a bundle at 2^20 tickets (issue 26: <= 1.5 KB).
for r in rows:
    if r["measure"] == "map_proof_bytes":
        goals.append((f"Ticket map proof in a bundle (the `map` member) at {r['tickets']:,} tickets, {r['proofs']:,} proofs", "≤ 1.5 KB (1,536 B)", f"p50 {r['p50']:,} B, p99 {r['p99']:,} B, max {r['max']:,} B (depth p50 {r['depth_p50']})", r["p99"] <= 1536))

print("## Goals\n")
print("| Measure | Goal | Measured | |\n|---|---|---|---|")
for name, goal, got, ok in goals:
    print(f"| {name} | {goal} | {got} | {verdict(ok)} |")
