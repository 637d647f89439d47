#!/usr/bin/env python3
"""What a spread bulk commit costs SQLite, by schema (issue 29, SQLite bulk).

bench.sh's limits insert the same rows into a fresh database through the
store's own connection: "raw" puts every row on one ticket; "spread" puts a
commit's 1,000 rows on 100 random tickets of 1,000 (10 each) and updates
their tips, as a bulk request does. The server's bulk ingest runs at about
the spread limit, so only a schema that makes a spread commit cheaper can
lift it. This script replays both with Python's sqlite3 on the schema of
migrations/sqlite (WAL, synchronous FULL, a 64 MiB page cache, as the store
opens it) and on variants of it:

  raw            every row on one ticket, no tips
  spread         the bench's spread commit
  spread-notips  the same without the tips' UPDATE
  spread-int     events.ticket an integer (the ticket's id), so the
                 UNIQUE (ticket, seq) index holds 8-byte keys, not 36-char handles
  spread-intidx  the handle kept in events, the unique index on (ticket_id, seq)

For each it prints rows/s with SQLite's default checkpointing, and the WAL
written per commit with checkpointing off (what a commit has to sync).
Nothing is asserted; compare runs of one sitting. Usage:

  scripts/bench/sqlite-spread.py [ROUNDS] [VARIANT ...]
"""
import glob
import os
import random
import sqlite3
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MIGRATIONS = sorted(glob.glob(os.path.join(ROOT, "migrations", "sqlite", "*.sql")))
ROWS, PER_TX, TICKETS = 200_000, 1_000, 1_000
# About the bench's rows: a message.added record, its tip's state JSON.
RECORD = '{"kind":"message.added",' + '"x":"' + "x" * 514 + '"}'
STATE = '{"status":"open",' + '"y":"' + "y" * 254 + '"}'
BODY = "Hello, my withdrawal of 0.5 BTC has been pending for three days."
INT_EVENTS = """
DROP TABLE content; DROP TABLE event_paths; DROP TABLE events;
CREATE TABLE events (idx INTEGER PRIMARY KEY, ticket {ticket}, {extra} seq INTEGER NOT NULL,
    record TEXT NOT NULL, leaf BLOB NOT NULL, recorded_at_ms INTEGER NOT NULL);
CREATE UNIQUE INDEX events_by_ticket ON events ({key}, seq);
CREATE INDEX events_recorded_at ON events (recorded_at_ms);
CREATE TABLE content (idx INTEGER PRIMARY KEY REFERENCES events(idx), salt BLOB, body TEXT,
    erased_at TEXT, erased_by TEXT);
"""


def run(variant, directory, checkpoints):
    path = os.path.join(directory, f"{variant}.db")
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("PRAGMA synchronous=FULL")
    c.execute("PRAGMA cache_size=-65536")
    if not checkpoints:
        c.execute("PRAGMA wal_autocheckpoint=0")
    for m in MIGRATIONS:
        c.executescript(open(m).read())
    if variant == "spread-int":
        c.executescript(INT_EVENTS.format(ticket="INTEGER NOT NULL", extra="", key="ticket"))
    elif variant == "spread-intidx":
        c.executescript(
            INT_EVENTS.format(ticket="TEXT NOT NULL", extra="ticket_id INTEGER NOT NULL,", key="ticket_id")
        )
    n = 1 if variant == "raw" else TICKETS
    handles = ["pdt_" + os.urandom(16).hex() for _ in range(n)]
    for i, h in enumerate(handles):
        c.execute(
            "INSERT INTO tickets (handle, external_id, created_at, next_seq, last_leaf, state) "
            "VALUES (?, ?, 'now', 0, ?, ?)",
            (h, f"raw-{i}", b"\0" * 32, STATE),
        )
    next_seq = [0] * n
    idx = 0
    started = time.perf_counter()
    for _ in range(ROWS // PER_TX):
        if n == 1:
            places, picked = [(0, idx + k) for k in range(PER_TX)], []
        else:
            picked = random.sample(range(n), PER_TX // 10)
            places = []
            for p in picked:
                for _ in range(10):
                    places.append((p, next_seq[p]))
                    next_seq[p] += 1
        leaves = [os.urandom(32) for _ in range(PER_TX)]
        c.execute("BEGIN IMMEDIATE")
        if variant == "spread-int":
            c.executemany(
                "INSERT INTO events (idx, ticket, seq, record, leaf, recorded_at_ms) VALUES (?,?,?,?,?,?)",
                [(idx + k, p, s, RECORD, leaves[k], 1_700_000_000_000) for k, (p, s) in enumerate(places)],
            )
        elif variant == "spread-intidx":
            c.executemany(
                "INSERT INTO events (idx, ticket, ticket_id, seq, record, leaf, recorded_at_ms) "
                "VALUES (?,?,?,?,?,?,?)",
                [
                    (idx + k, handles[p], p, s, RECORD, leaves[k], 1_700_000_000_000)
                    for k, (p, s) in enumerate(places)
                ],
            )
        else:
            c.executemany(
                "INSERT INTO events (idx, ticket, seq, record, leaf, recorded_at_ms) VALUES (?,?,?,?,?,?)",
                [
                    (idx + k, handles[p], s, RECORD, leaves[k], 1_700_000_000_000)
                    for k, (p, s) in enumerate(places)
                ],
            )
        c.executemany(
            "INSERT INTO content (idx, salt, body) VALUES (?,?,?)",
            [(idx + k, b"\7" * 32, BODY) for k in range(PER_TX)],
        )
        if picked and variant != "spread-notips":
            c.executemany(
                "UPDATE tickets SET next_seq = ?, last_leaf = ?, state = ? WHERE handle = ?",
                [(next_seq[p], os.urandom(32), STATE, handles[p]) for p in picked],
            )
        c.execute("COMMIT")
        idx += PER_TX
    seconds = time.perf_counter() - started
    wal = os.path.getsize(path + "-wal") if os.path.exists(path + "-wal") else 0
    c.close()
    return ROWS / seconds, wal / (ROWS // PER_TX)


def main():
    args = sys.argv[1:]
    rounds = int(args.pop(0)) if args and args[0].isdigit() else 3
    variants = args or ["raw", "spread", "spread-notips", "spread-int", "spread-intidx"]
    rates = {v: [] for v in variants}
    wal = {}
    with tempfile.TemporaryDirectory(dir=os.path.join(ROOT, "target")) as directory:
        for v in variants:
            wal[v] = run(v, directory, checkpoints=False)[1]
        for r in range(rounds):
            # Rotated, so that no variant always runs first or last.
            for v in variants[r % len(variants):] + variants[: r % len(variants)]:
                rates[v].append(run(v, directory, checkpoints=True)[0])
    print(f"{'variant':15} {'rows/s (each round)':40} {'mean':>9} {'WAL per commit':>15}")
    for v in variants:
        each = ", ".join(f"{x:,.0f}" for x in rates[v])
        mean = sum(rates[v]) / len(rates[v])
        print(f"{v:15} {each:40} {mean:9,.0f} {wal[v] / 2**20:11.2f} MiB")


if __name__ == "__main__":
    main()
