// The ticket map of head v2 (PROTOCOL §15, draft) as the page implements it
// (web/src/map.js), against tests/vectors/head-v2.json: the same vectors
// protocol/tests/vectors.rs and scripts/check-vectors.py check.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { toHex, ZERO_HASH } from "../src/hash.js";
import { merkleRoot } from "../src/protocol.js";
import {
  anchoredRootV2, EMPTY_MAP_ROOT, headV2, MapError, mapKey, mapLeaf, mapNode, mapRootOf, tipBytes, verifyMapProof,
} from "../src/map.js";
import { proveKey } from "./support/bundle-v2.mjs";

const v = JSON.parse(readFileSync(new URL("../../tests/vectors/head-v2.json", import.meta.url), "utf8"));

// The (key, leaf) entries of a map held as handle → tip.
const entriesOf = (tips) => [...tips].map(([handle, tip]) => [mapKey(handle), mapLeaf(mapKey(handle), tip)]);

// Refused with this reason (a MapError), whatever the message.
const refusedFor = (reason, fn) => assert.throws(fn, (e) => e instanceof MapError && e.reason === reason, reason);

test("tips: the encoding, key and leaf reproduce", () => {
  assert.ok(v.tips.length >= 1);
  for (const t of v.tips) {
    assert.equal(toHex(tipBytes(t.tip)), t.encoding);
    assert.equal(tipBytes(t.tip).length, 56);
    assert.equal(mapKey(t.ticket), t.key);
    assert.equal(mapLeaf(t.key, t.tip), t.leaf);
  }
});

test("batches: log root, map root replayed from the records, anchored root and head reproduce", () => {
  assert.equal(v.batches.length, 3);
  const tips = new Map();
  let next = 0;
  for (const b of v.batches) {
    assert.equal(b.first_index, next, `batch ${b.batch_id} follows the previous one`);
    assert.equal(b.records.length, b.count);
    // In index order, the last record of each ticket wins (§15.2).
    for (const r of b.records) {
      const before = tips.get(r.ticket);
      assert.equal(r.seq, before ? before.seq + 1 : 0, `${r.ticket}'s seq only grows`);
      tips.set(r.ticket, { seq: r.seq, leaf: r.leaf, index: r.index, batch: b.batch_id });
    }
    assert.equal(merkleRoot(b.records.map((r) => r.leaf)), b.log_root);
    assert.equal(mapRootOf(entriesOf(tips)), b.map_root);
    assert.equal(tips.size, b.entries);
    assert.equal(anchoredRootV2(b.log_root, b.map_root), b.anchored_root);
    assert.equal(headV2(b.batch_id, b.first_index, b.count, b.log_root, b.map_root), b.head);
    next += b.count;
  }
});

test("proofs: every inclusion verifies to its tip, every absence to absent", () => {
  const kinds = new Set();
  for (const c of v.proofs) {
    assert.equal(mapKey(c.ticket), c.key, c.note);
    const got = verifyMapProof(c.root, c.ticket, c.proof);
    assert.deepEqual(got, c.tip === null ? { absent: true } : { tip: c.tip }, c.note);
    kinds.add(c.proof.terminal.kind);
  }
  assert.deepEqual([...kinds].sort(), ["empty", "other", "tip"]);
});

// The refusal each forged vector must meet, by its reason's words; one the
// table does not name must still be refused for what it claims (a root, a
// path), never for its shape: every vector is well formed.
const REJECTED_FOR = [
  [/not canonical/, "not_canonical"],
  [/own leaf passed off as another's/, "other_is_the_key"],
  [/not on the ticket's path/, "other_off_path"],
  [/older seq|sibling dropped|hidden as an empty subtree|another batch's map root/, "root_mismatch"],
];

test("rejected proofs: every one is refused, for its own reason", () => {
  assert.ok(v.rejected_proofs.length >= 7);
  for (const c of v.rejected_proofs) {
    const want = REJECTED_FOR.find(([words]) => words.test(c.reason));
    assert.throws(() => verifyMapProof(c.root, c.ticket, c.proof),
      (e) => e instanceof MapError && e.message.length > 0 && (want ? e.reason === want[1] : e.reason !== "malformed"), c.reason);
  }
});

// Each refusal of §15.4 by its own reason, built from a good vector proof.
const good = v.proofs.find((c) => c.proof.terminal.kind === "tip" && c.proof.siblings.length >= 3);
const withProof = (mutate) => {
  const p = structuredClone(good.proof);
  mutate(p);
  return () => verifyMapProof(good.root, good.ticket, p);
};

test("a proof of 257 siblings is refused as too deep; 256 is only a wrong root", () => {
  refusedFor("too_deep", withProof((p) => { p.siblings = Array(257).fill("0x" + "11".repeat(32)); }));
  refusedFor("root_mismatch", withProof((p) => { p.siblings = Array(256).fill("0x" + "11".repeat(32)); }));
});

test("each refusal names its reason", () => {
  refusedFor("not_canonical", withProof((p) => { p.siblings.unshift(null); }));
  refusedFor("root_mismatch", withProof((p) => { p.siblings.shift(); }));
  refusedFor("root_mismatch", withProof((p) => { p.terminal.tip.seq += 1; }));
  refusedFor("other_is_the_key", withProof((p) => { p.terminal = { kind: "other", key: good.key, tip: p.terminal.tip }; }));
  // A key that parts from the proven key at bit 0 sits on no path below the root.
  const flipped = (parseInt(good.key.slice(2, 4), 16) ^ 0x80).toString(16).padStart(2, "0");
  const offPath = "0x" + flipped + good.key.slice(4);
  refusedFor("other_off_path", withProof((p) => { p.terminal = { kind: "other", key: offPath, tip: p.terminal.tip }; }));
  refusedFor("unknown_terminal", withProof((p) => { p.terminal = { kind: "node", hash: ZERO_HASH }; }));
  refusedFor("malformed", withProof((p) => { p.terminal.tip.extra = 1; }));
  refusedFor("malformed", withProof((p) => { p.siblings[0] = "0x" + p.siblings[0].slice(2).toUpperCase(); }));
  refusedFor("malformed", withProof((p) => { p.terminal.tip.index = -1; }));
  refusedFor("malformed", () => verifyMapProof(good.root, "tk_XYZ", good.proof));
});

test("the reference root: Empty, one entry is its leaf, two are a node, order does not matter", () => {
  assert.equal(mapRootOf([]), EMPTY_MAP_ROOT);
  assert.equal(EMPTY_MAP_ROOT, ZERO_HASH);
  const tip = v.tips[0].tip;
  const one = (h) => [mapKey(h), mapLeaf(mapKey(h), tip)];
  const handle = (i) => "tk_" + i.toString(16).padStart(32, "0");
  const firstBit = (entry) => parseInt(entry[0].slice(2, 3), 16) >> 3;
  const a = one(handle(0));
  assert.equal(mapRootOf([a]), a[1]);
  // The first handle whose key parts from a's at bit 0: both sit right under the root.
  let i = 1;
  while (firstBit(one(handle(i))) === firstBit(a)) i++;
  const b = one(handle(i));
  const [left, right] = firstBit(a) === 0 ? [a, b] : [b, a];
  assert.equal(mapRootOf([a, b]), mapNode(left[1], right[1]));
  const last = v.batches.at(-1);
  const tips = new Map();
  for (const bt of v.batches) for (const r of bt.records) tips.set(r.ticket, { seq: r.seq, leaf: r.leaf, index: r.index, batch: bt.batch_id });
  assert.equal(mapRootOf(entriesOf(tips).reverse()), last.map_root);
  refusedFor("malformed", () => mapRootOf([a, a]));
});

test("u64 fields encode big-endian as BigInt, and values outside u64 are refused", () => {
  const leaf = "0x" + "ab".repeat(32);
  const max = toHex(tipBytes({ seq: (1n << 64n) - 1n, leaf, index: 1, batch: 2 ** 53 - 1 }));
  assert.equal(max, "0x" + "ff".repeat(8) + "ab".repeat(32) + "0000000000000001" + "001fffffffffffff");
  refusedFor("malformed", () => tipBytes({ seq: 1n << 64n, leaf, index: 0, batch: 0 }));
  refusedFor("malformed", () => tipBytes({ seq: 2 ** 53, leaf, index: 0, batch: 0 }));
});

// The tests' own prover (web/test/support/bundle-v2.mjs, which builds the
// bundle v2 of verify.test.mjs and page-rules.test.mjs) gives every vector
// proof, inclusion and absence, from the map at that proof's batch.
test("the tests' prover reproduces every vector proof", () => {
  const tips = new Map();
  const at = new Map(); // map root → that batch's (key → tip)
  for (const b of v.batches) {
    for (const r of b.records) tips.set(mapKey(r.ticket), { seq: r.seq, leaf: r.leaf, index: r.index, batch: b.batch_id });
    at.set(b.map_root, new Map(tips));
  }
  for (const c of v.proofs) {
    const t = at.get(c.root);
    const entries = [...t].map(([k, tip]) => [k, mapLeaf(k, tip)]);
    assert.deepEqual(proveKey(entries, t, c.key), c.proof, c.note);
  }
});
