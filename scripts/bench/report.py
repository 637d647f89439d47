#!/usr/bin/env python3
"""Turns scripts/bench.sh's results.jsonl and criterion's estimates into the
Markdown tables of BENCHMARKS.md, with the goals of issue #6 checked."""
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
                goals.append((f"Tree build, {int(n):,} leaves", "≤ 1.3 × raw SHA-256", f"{ratio:.2f} ×", ratio <= 1.3))
        print(f"| `{k}` | {fmt_ns(m[k])} | {note} |")
    print()

for r in rows:
    if r["measure"] == "anchor_gas":
        print(f"anchor() in steady state, total gas of the transaction on anvil: {r['gas']:,}\n")
        goals.append(("anchor() gas per batch", "≤ 55,000", f"{r['gas']:,}", r["gas"] <= 55000))

for backend in ["sqlite", "postgres"]:
    mine = [r for r in rows if r.get("backend") == backend]
    if not mine:
        continue
    print(f"## {backend}\n")
    raw = {r["per_tx"]: r for r in mine if r["measure"] == "raw_insert"}
    print("| Measure | Throughput | p50 ms | p90 ms | p99 ms | p99.9 ms | non-2xx | Limit | Ratio |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in mine:
        if r["measure"] == "single_append":
            lim = raw.get(1)
            ratio = f"{rate(r) / lim['rows_per_s']:.2f}" if lim else ""
            limtxt = f"{lim['rows_per_s']:,.0f} rows/s (1 row per commit)" if lim else ""
            print(f"| single append, c={r['connections']} | {rate(r):,.0f} events/s | {ms(r['p50_us'])} | {ms(r['p90_us'])} | {ms(r['p99_us'])} | {ms(r['p999_us'])} | {r['non_2xx']} | {limtxt} | {ratio} |")
            if r["connections"] == 64:
                ok = rate(r) >= 10000 and r["p99_us"] < 20000 and r["non_2xx"] == 0
                goals.append((f"Single appends, c=64, {backend}", "≥ 10,000/s, p99 < 20 ms", f"{rate(r):,.0f}/s, p99 {ms(r['p99_us'])} ms", ok))
        elif r["measure"] == "bulk_append":
            ev = rate(r) * r["events_per_request"]
            lim = raw.get(1000)
            ratio = ev / lim["rows_per_s"] if lim else 0
            print(f"| bulk append ({r['events_per_request']}/request), c={r['connections']} | {ev:,.0f} events/s | {ms(r['p50_us'])} | {ms(r['p90_us'])} | {ms(r['p99_us'])} | {ms(r['p999_us'])} | {r['non_2xx']} | {lim['rows_per_s']:,.0f} rows/s (1000 rows per commit) | {ratio:.2f} |")
            if backend == "sqlite":
                goals.append(("Bulk ingest, durable, SQLite", "≥ 50,000/s and ≥ 0.5 × raw", f"{ev:,.0f}/s, {ratio:.2f} × raw", ev >= 50000 and ratio >= 0.5 and r["non_2xx"] == 0))
    for r in mine:
        if r["measure"] == "raw_insert":
            print(f"| limit: raw insert, {r['per_tx']} per commit, {r['writers']} writer(s) | {r['rows_per_s']:,.0f} rows/s | | | | | | | |")
    proofs = [r for r in mine if r["measure"] == "proof"]
    for r in proofs:
        print(f"| proof bundle, log of {r['log_size']:,} events, c={r['connections']} | {rate(r):,.0f} bundles/s | {ms(r['p50_us'])} | {ms(r['p90_us'])} | {ms(r['p99_us'])} | {ms(r['p999_us'])} | {r['non_2xx']} | | |")
    for r in mine:
        if r["measure"] == "fill":
            print(f"| fill to {r['until']:,} (tickets created one by one, lifecycles in bulk) | {r['events_per_s']:,.0f} events/s | | | | | | | |")
    print()
    if proofs:
        big = max(proofs, key=lambda r: r["log_size"])
        small = min(proofs, key=lambda r: r["log_size"])
        flat = big["p99_us"] <= max(2 * small["p99_us"], small["p99_us"] + 1000)
        goals.append((f"Proof bundle at {big['log_size']:,} events, {backend}", "p99 < 5 ms, flat", f"p99 {ms(big['p99_us'])} ms (vs {ms(small['p99_us'])} ms at {small['log_size']:,})", big["log_size"] >= 1_000_000 and big["p99_us"] < 5000 and flat and big["non_2xx"] == 0))
    for r in mine:
        if r["measure"] == "append_to_final":
            print(f"Append to final anchor ({r['samples']} samples, anvil 1 s blocks, 3 confirmations): median {r['median_s']:.1f} s, max {r['max_s']:.1f} s; the maximum merge delay is {r['max_merge_delay_s']:.0f} s.\n")
            goals.append((f"Append to final, {backend}", "within the maximum merge delay", f"max {r['max_s']:.1f} s of {r['max_merge_delay_s']:.0f} s", r["max_s"] <= r["max_merge_delay_s"]))
        if r["measure"] == "server_peak_rss":
            print(f"Server peak memory (VmHWM) over the whole {backend} run: {r['kib'] / 1024:.0f} MiB.\n")

print("## Goals\n")
print("| Measure | Goal | Measured | |\n|---|---|---|---|")
for name, goal, got, ok in goals:
    print(f"| {name} | {goal} | {got} | {verdict(ok)} |")
