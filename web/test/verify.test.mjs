// Offline checks of the page's verifier (node --test web/test): what the
// vectors cannot carry. The on-chain half runs against anvil in
// tests/verifier_page.rs.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { verify } from "../src/verify.js";
import { parseStrict } from "../src/json.js";
import { fromCompact, readSignedReceipt, receiptSigner, toCompact } from "../src/receipt.js";
import { runConformance } from "../src/conformance.js";
import { batchHead } from "../src/hash.js";
import { headV2, mapKey, mapLeaf, mapRootOf } from "../src/map.js";
import { say, t } from "../src/i18n.js";
import { absenceBundle, anchorEach, asV2, mapProofAt, proveKey } from "./support/bundle-v2.mjs";
import { anchoredBundle, CONTRACT, fakeChain } from "./support/chain.mjs";

const vectors = readFileSync(new URL("../../tests/vectors/protocol-v1.json", import.meta.url), "utf8");
const records = JSON.parse(vectors).records.filter((r) => r.record.ticket.startsWith("tk_1111"));

// A bundle of the vectors' first ticket, all pending (no chain needed for
// the offline findings; with no RPC the result is "could not run").
function bundle(mutate = (b) => b) {
  const b = {
    version: 1,
    ticket: records[0].record.ticket,
    chain: { chain_id: 31337, contract: "0x" + "11".repeat(20), anchorer: "0x" + "22".repeat(20) },
    max_merge_delay_ms: 60000,
    policy: { reopen_closed: true },
    batches: [],
    events: records.map((r) => ({ record: structuredClone(r.record), leaf: r.leaf, batch: null, path: [] })),
  };
  return mutate(b) || b;
}

const run = (text) => verify({ bundleText: text, rpcUrl: "", trustedContract: "0x" + "11".repeat(20) });
const keys = (r) => r.all_findings.map((f) => f.key);

test("the vectors conform", () => {
  const r = runConformance(vectors);
  assert.equal(r.ok, true, JSON.stringify(r.failed));
});

test("an honest bundle has no offline finding, but without an RPC it is not valid", async () => {
  const r = await run(JSON.stringify(bundle()));
  assert.deepEqual(keys(r), ["rpc_failed"]);
  assert.equal(r.valid, false);
  assert.equal(r.ran, false);
  assert.equal(r.state, null, "no status from an unverified bundle");
});

test("a duplicate member anywhere makes the bundle unreadable", async () => {
  const text = JSON.stringify(bundle()).replace('"channel":"web"', '"channel":"web","channel":"web"');
  assert.notEqual(text, JSON.stringify(bundle()));
  const r = await run(text);
  assert.deepEqual(keys(r), ["bundle_unreadable"]);
  assert.match(r.problems[0].p.detail, /duplicate member/);
});

test("records are refused for floats, arrays as data, extra members and bad spellings", async () => {
  const cases = [
    (b) => { b.events[1].record.index = 1.5; },
    (b) => { b.events[1].record.data = []; },
    (b) => { b.events[1].record.extra = 1; },
    (b) => { b.events[1].record.occurred_at = "2025-03-01T09:31:01Z"; },
    (b) => { b.events[1].record.actor.ref = "jane@example.com"; },
  ];
  for (const mutate of cases) {
    const r = await run(JSON.stringify(bundle(mutate)));
    assert.ok(keys(r).includes("record_invalid"), `${mutate}: ${keys(r)}`);
  }
});

test("a changed record, a dropped event and a broken state are named", async () => {
  let r = await run(JSON.stringify(bundle((b) => { b.events[2].record.channel = "email"; })));
  assert.ok(keys(r).includes("leaf_mismatch"));
  r = await run(JSON.stringify(bundle((b) => { b.events.splice(1, 1); })));
  assert.ok(keys(r).includes("seq_gap") && keys(r).includes("prev_broken"));
  r = await run(JSON.stringify(bundle((b) => { b.ticket = "tk_" + "ab".repeat(16); })));
  assert.ok(keys(r).includes("other_ticket"));
});

test("the expected ticket and a missing trusted contract are failures", async () => {
  const text = JSON.stringify(bundle());
  let r = await verify({ bundleText: text, rpcUrl: "", expectedTicket: "tk_" + "cd".repeat(16), trustedContract: "0x" + "11".repeat(20) });
  assert.ok(keys(r).includes("wrong_ticket"));
  r = await verify({ bundleText: text, rpcUrl: "" });
  assert.ok(keys(r).includes("no_trusted_contract"));
  r = await verify({ bundleText: text, rpcUrl: "", trustBundleContract: true });
  assert.ok(!keys(r).includes("no_trusted_contract"));
  assert.equal(r.warnings[0].key, "contract_from_bundle");
});

test("an anchored event after a pending one is a failure", async () => {
  const r = await run(JSON.stringify(bundle((b) => {
    b.batches = [{ id: 0, first_index: 2, count: 1, root: b.events[2].leaf, head: "0x" + "00".repeat(32), tx: null, block: 1, status: "final" }];
    b.events[2].batch = 0;
  })));
  assert.ok(keys(r).includes("anchored_after_pending"), keys(r).join());
  assert.ok(keys(r).includes("batch_head_bad"), keys(r).join());
});

test("compact receipts round-trip and refuse non-canonical text", () => {
  const signed = {
    receipt: parseStrict(JSON.stringify({ v: 1, ticket: "tk_" + "ab".repeat(16), index: 3, seq: 2, leaf: "0x" + "cd".repeat(32),
      recorded_at: "2025-03-01T09:30:00.250Z", anchor_deadline: "2025-03-01T09:31:00.250Z", chain_id: 31337, contract: "0x" + "ef".repeat(20) })),
    signature: "0x" + "12".repeat(64) + "1b",
  };
  const compact = toCompact(signed);
  assert.match(compact, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  assert.deepEqual(JSON.parse(JSON.stringify(fromCompact(compact))), JSON.parse(JSON.stringify(signed)));
  const spaced = Buffer.from('{ "v": 1 }').toString("base64url");
  assert.throws(() => fromCompact(`${spaced}.${compact.split(".")[1]}`), /canonical/);
});

test("receipt vectors: v1 and v2 recover their signer, rejected ones do not", () => {
  const rv = JSON.parse(readFileSync(new URL("../../tests/vectors/receipts.json", import.meta.url), "utf8"));
  const all = [...rv.v1.map((c) => c.signed), ...rv.v2.signed];
  assert.equal(all.length, 7);
  for (const raw of all) {
    const s = readSignedReceipt(raw);
    assert.equal(receiptSigner(s.receipt, s.signature, s.v2), rv.signer);
  }
  for (const c of rv.rejected) {
    let signer = null;
    try {
      const s = readSignedReceipt(c.signed);
      signer = receiptSigner(s.receipt, s.signature, s.v2);
    } catch {
      signer = null;
    }
    assert.notEqual(signer, rv.signer, c.reason);
  }
});

// Protocol v2 records (PROTOCOL §4.1): the page's own implementation takes
// every v2 vector to its canonical bytes and leaf, and refuses the rejected.
test("protocol v2 vectors: ratings that name their survey", async () => {
  const { acceptRecord } = await import("../src/protocol.js");
  const v2 = JSON.parse(readFileSync(new URL("../../tests/vectors/protocol-v2.json", import.meta.url), "utf8"));
  for (const c of v2.records) {
    const r = acceptRecord(c.record);
    assert.equal(new TextDecoder().decode(r.canonical), c.canonical);
    assert.equal(await r.leaf, c.leaf);
  }
  assert.ok(v2.records.some((c) => c.record.v === 2), "an NPS answer is a v2 record");
  for (const c of v2.rejected_records) {
    assert.throws(() => acceptRecord(c.record), undefined, c.reason);
  }
});

// ---- bundle v2: head v2 and the ticket map proof (PROTOCOL §15.4) ----
// One batch per event, head v2 over a map of this ticket and a few others
// (web/test/support/bundle-v2.mjs); without an RPC only the offline half runs.

const v2 = (opts, mutate = () => {}) => bundle((b) => {
  asV2(anchorEach(b), opts);
  mutate(b);
});
const last = records.length - 1;

test("bundle v2: an honest bundle has no offline finding, and its map proof names the last event as the tip", async () => {
  const b = v2();
  assert.equal(b.map.batch, last);
  assert.ok(b.map.siblings.length >= 2, "other tickets sit beside it");
  const r = await run(JSON.stringify(b));
  assert.deepEqual(keys(r), ["rpc_failed"]);
  assert.deepEqual(r.map, { batch: last, tip_seq: last });
  assert.equal(r.complete_as_of, null, "complete as of B needs B on chain");
  // Switching to head v2 at a later batch is the one allowed switch.
  const later = await run(JSON.stringify(v2({ v2From: 5 })));
  assert.deepEqual(keys(later), ["rpc_failed"]);
  // A map member spelled null is no map (as serde reads an Option).
  const none = await run(JSON.stringify(v2({}, (x) => { x.map = null; })));
  assert.deepEqual(keys(none), ["rpc_failed"]);
  assert.equal(none.map, null);
});

test("bundle v2: the last event dropped, with the map proof of the full history, is withheld", async () => {
  const r = await run(JSON.stringify(v2({}, (b) => { b.events.pop(); })));
  assert.deepEqual(keys(r), ["rpc_failed", "map_withheld"]);
  assert.deepEqual(r.problems[0].p, { id: last, seq: last - 1, index: records[last - 1].record.index, batch: last - 1 });
  assert.match(say("en", r.problems[0]), /does not hold event 15 .* withheld/);
  assert.match(say("zh", r.problems[0]), /隐瞒/);
  // Its batch dropped too: the proof is at a batch the bundle does not have.
  const gone = await run(JSON.stringify(v2({}, (b) => { b.events.pop(); b.batches.pop(); })));
  assert.deepEqual(keys(gone), ["rpc_failed", "map_batch_missing"]);
  // The map at the batch before it is honest about the shorter history.
  const older = await run(JSON.stringify(v2({}, (b) => {
    b.events.pop();
    b.batches.pop();
    b.map = mapProofAt(b.maps, b.ticket, last - 1);
  })));
  assert.deepEqual(keys(older), ["rpc_failed"]);
  assert.deepEqual(older.map, { batch: last - 1, tip_seq: last - 1 });
});

test("bundle v2: a map proof at a v1 batch is refused", async () => {
  let r = await run(JSON.stringify(v2({ v2From: records.length })));
  assert.deepEqual(keys(r), ["rpc_failed", "map_batch_v1"]);
  r = await run(JSON.stringify(v2({ v2From: 5 }, (b) => { b.map = mapProofAt(b.maps, b.ticket, 3); })));
  assert.deepEqual(keys(r), ["rpc_failed", "map_batch_v1"]);
  assert.equal(say("en", r.problems[0]), "The ticket map proof is at batch 3, whose head is v1 and commits no ticket map.");
});

test("bundle v2: a v1 batch after a v2 batch is refused", async () => {
  const r = await run(JSON.stringify(v2({}, (b) => {
    const x = b.batches[7];
    delete x.map_root;
    x.head = batchHead(x.id, x.first_index, x.count, x.root);
  })));
  assert.deepEqual(keys(r), ["rpc_failed", "head_version_order"]);
  assert.deepEqual(r.problems[0].p, { id: 7, first: 0 });
});

test("bundle v1 cannot carry a map or a map root; other versions are refused", async () => {
  let r = await run(JSON.stringify(v2({}, (b) => { b.version = 1; })));
  assert.deepEqual(keys(r), ["rpc_failed", "v1_map"]);
  r = await run(JSON.stringify(v2({}, (b) => { b.version = 1; delete b.map; })));
  assert.deepEqual(keys(r), ["rpc_failed", "v1_map_root"]);
  r = await run(JSON.stringify(v2({}, (b) => { b.version = 3; })));
  assert.deepEqual(keys(r), ["rpc_failed", "bundle_version"]);
});

test("bundle v2: a wrong map root, an absence that skips anchored events, and a tip with nothing anchored are refused", async () => {
  let r = await run(JSON.stringify(v2({}, (b) => { b.batches[4].map_root = b.batches[5].map_root; })));
  assert.deepEqual(keys(r), ["rpc_failed", "batch_head_v2_bad"]);
  // The map at B without this ticket: a valid proof of absence against it.
  r = await run(JSON.stringify(v2({}, (b) => {
    const m = b.maps.get(last);
    const key = mapKey(b.ticket);
    const entries = m.entries.filter(([k]) => k !== key);
    const p = proveKey(entries, m.tips, key);
    const x = b.batches[last];
    x.map_root = mapRootOf(entries);
    x.head = headV2(x.id, x.first_index, x.count, x.root, x.map_root);
    b.map = { batch: last, ...p };
  })));
  assert.deepEqual(keys(r), ["rpc_failed", "map_skipped"]);
  assert.match(say("en", r.problems[0]), /proves this ticket absent, but the bundle shows event 16 anchored in batch 15/);
  // Nothing anchored: an inclusion has no tip to name, an absence holds.
  r = await run(JSON.stringify(v2({ trailing: 1 }, (b) => {
    b.events.forEach((e) => { e.batch = null; });
    b.batches = b.batches.slice(-1);
  })));
  assert.deepEqual(keys(r), ["rpc_failed", "map_tip_unanchored"]);
  r = await run(JSON.stringify(v2({ trailing: 1 }, (b) => {
    b.events.forEach((e) => { e.batch = null; });
    b.batches = b.batches.slice(-1);
    const m = b.maps.get(b.batches[0].id);
    const entries = [...m.tips].filter(([k]) => k !== mapKey(b.ticket)).map(([k, tip]) => [k, mapLeaf(k, tip)]);
    b.batches[0].map_root = mapRootOf(entries);
    b.batches[0].head = headV2(b.batches[0].id, b.batches[0].first_index, 1, b.batches[0].root, b.batches[0].map_root);
    b.map = { batch: b.batches[0].id, ...proveKey(entries, m.tips, mapKey(b.ticket)) };
  })));
  assert.deepEqual(keys(r), ["rpc_failed"]);
  assert.deepEqual(r.map, { batch: records.length, tip_seq: null });
});

// Stricter than serde on one point: it ignores members beside the kind of
// a unit terminal ({"kind": "tip", "tip": …}); the page refuses them.
test("bundle v2: the map member and map roots are read strictly", async () => {
  const cases = [
    (b) => { b.map.extra = 1; },
    (b) => { b.map.terminal.tip = { seq: 0, leaf: b.events[0].leaf, index: 0, batch: 0 }; },
    (b) => { b.map.terminal = { kind: "node" }; },
    (b) => { b.map.siblings[0] = b.map.siblings[0].toUpperCase(); },
    (b) => { b.batches[0].map_root = "0x1234"; },
    (b) => { b.batches[0].map_roots = b.batches[0].map_root; },
  ];
  for (const mutate of cases) {
    const r = await run(JSON.stringify(v2({}, mutate)));
    assert.deepEqual(keys(r), ["bundle_unreadable"], String(mutate));
  }
});

// ---- absence bundles (PROTOCOL §15.4): the log's answer for a handle it
// never created, once it has a final head v2 batch B: version 2, no events,
// B's entry alone and the handle's map proof of absence at B. On a chain
// answered in-process (support/chain.mjs), each batch anchored in block 10 + id.

const receiptVectors = JSON.parse(readFileSync(new URL("../../tests/vectors/receipts.json", import.meta.url), "utf8"));
const yours = { contract: { value: CONTRACT, source: "typed" }, rpcs: [{ url: "http://rpc.mine", source: "typed" }] };
const onChain = (b, opts = {}, tweak = {}) => verify({ bundleText: JSON.stringify(b), ...yours, fetchImpl: fakeChain(b, tweak), ...opts });
const absence = (ticket = records[0].record.ticket) => absenceBundle({ ...anchoredBundle(), ticket });
const blockTime = (n) => Math.floor(Date.parse(records[last].record.recorded_at) / 1000) + 60 + n;

test("absence bundle: on the user's contract and RPC, with B anchored, the verdict is absent, complete as of B with no tip", async () => {
  const kinds = new Set();
  // tk_1111…'s path ends at another ticket's entry, tk_3333…'s at an empty subtree.
  for (const ticket of [records[0].record.ticket, "tk_" + "3".repeat(32)]) {
    const b = absence(ticket);
    const B = b.batches[0].id;
    kinds.add(b.map.terminal.kind);
    const r = await onChain(b, { expectedTicket: ticket, ticketSource: "path" });
    assert.equal(r.verdict, "absent", JSON.stringify(r.all_findings));
    assert.deepEqual(keys(r), []);
    assert.equal(r.absence, true);
    assert.equal(r.checks_pass, true);
    assert.equal(r.unproven, false);
    assert.equal(r.valid, false, "absent is not a verified history");
    assert.deepEqual(r.map, { batch: B, tip_seq: null });
    assert.deepEqual(r.complete_as_of, { batch: B, tip_seq: null, block: 10 + B, time: blockTime(10 + B), later_batch: null });
    assert.equal(r.complete_through, null);
    assert.equal(r.state, null);
    assert.deepEqual(r.events, []);
  }
  assert.deepEqual([...kinds].sort(), ["empty", "other"]);
  // The chain has anchored past B since: still absent as of B, and said.
  const b = absence();
  const B = b.batches[0].id;
  const r = await onChain(b, {}, { batchCount: B + 4 });
  assert.equal(r.verdict, "absent", JSON.stringify(r.all_findings));
  assert.equal(r.complete_as_of.later_batch, B + 3);
  // The sentences, in both languages.
  const p = { b: B, block: 10 + B, time: "then", l: B + 3 };
  assert.match(t("en", "verdict_absent", p), /^Not in the log: the log's ticket map holds no record of this handle as of batch 2 \(anchored in block 12 at then\)\. .*receipt.*broken promise/);
  for (const lang of ["en", "zh"]) {
    for (const key of ["verdict_absent", "verdict_consistent_absent", "verdict_pending_absent", "status_absent", "timeline_none", "map_absent"]) {
      const text = t(lang, key, { ...p, what: t(lang, "what_rpc") });
      assert.ok(text && !text.includes("?") && !text.includes("{"), `${lang} ${key}: ${text}`);
    }
  }
  assert.match(t("zh", "verdict_absent", p), /不在日志中.*批次 2.*区块 12/);
});

test("absence bundle: a contract or RPC only from the log or a link makes it consistent, not absent", async () => {
  const b = absence();
  const B = b.batches[0].id;
  let r = await onChain(b, { rpcs: [{ url: "http://rpc.theirs", source: "log" }] });
  assert.equal(r.verdict, "consistent", JSON.stringify(r.all_findings));
  assert.deepEqual(r.untrusted, ["rpc"]);
  assert.equal(r.checks_pass, true);
  assert.equal(r.complete_as_of.tip_seq, null, "what the log claims: absent as of B");
  assert.equal(r.complete_as_of.batch, B);
  r = await onChain(b, { contract: { value: CONTRACT, source: "link" }, rpcs: [{ url: "http://rpc.theirs", source: "link" }] });
  assert.equal(r.verdict, "consistent", JSON.stringify(r.all_findings));
  assert.deepEqual(r.untrusted, ["contract", "rpc"]);
  assert.match(t("en", "verdict_consistent_absent", { b: B, what: t("en", "what_both") }), /NOT independently checked: the log says .* no record of this handle as of batch 2, but the contract address and the RPC came only from the log/);
});

test("absence bundle: B not anchored on chain yet is pending, nothing established", async () => {
  const b = absence();
  const B = b.batches[0].id;
  const r = await onChain(b, {}, { heads: { [B]: "0x" + "00".repeat(32) }, batchCount: B });
  assert.equal(r.verdict, "pending", JSON.stringify(r.all_findings));
  assert.deepEqual(keys(r), []);
  assert.equal(r.unproven, true);
  assert.equal(r.complete_as_of, null);
  assert.equal(r.map_batch, B);
  // B's head differing on chain is a failure of the bundle (no event carries it).
  const w = await onChain(b, {}, { heads: { [B]: "0x" + "ee".repeat(32) } });
  assert.equal(w.verdict, "invalid");
  assert.deepEqual(keys(w), ["batch_head_differs"]);
});

test("no events without a proof of absence is refused: v2 without a map, v1, and a map naming a tip", async () => {
  // The control: the same bundle with its proof of absence is absent.
  const ok = await onChain(absence());
  assert.equal(ok.verdict, "absent", JSON.stringify(ok.all_findings));
  let r = await onChain(Object.assign(absence(), { map: null }));
  assert.equal(r.verdict, "invalid");
  assert.deepEqual(keys(r), ["no_events"]);
  assert.equal(r.absence, false);
  assert.equal(r.complete_as_of, null);
  r = await onChain(Object.assign(absence(), { version: 1 }));
  assert.equal(r.verdict, "invalid");
  assert.deepEqual(keys(r), ["v1_map", "no_events"]);
  r = await onChain(Object.assign(absence(), { version: 1, map: null, batches: [] }));
  assert.equal(r.verdict, "invalid");
  assert.deepEqual(keys(r), ["no_events"]);
  const tip = absence();
  tip.map.terminal = { kind: "tip" };
  r = await onChain(tip);
  assert.equal(r.verdict, "invalid");
  assert.deepEqual(keys(r), ["no_events", "map_tip_unanchored"]);
  assert.equal(r.complete_as_of, null);
});

test("absence bundle: a doctored proof of absence (a sibling changed) is invalid", async () => {
  const b = absence();
  const B = b.batches[0].id;
  assert.ok(b.map.siblings[1], "a sibling to change");
  b.map.siblings[1] = "0x" + "ab".repeat(32);
  const r = await onChain(b);
  assert.equal(r.verdict, "invalid");
  assert.deepEqual(keys(r), ["map_proof_fails"]);
  assert.equal(r.problems[0].p.id, B);
  assert.match(say("en", r.problems[0]), /map proof at batch 2 fails: the proof leads to root 0x[0-9a-f]{64}, not to the map root/);
  assert.equal(r.map, null);
  assert.equal(r.complete_as_of, null);
});

test("absence bundle: the anchorer's receipt for the handle is evidence, and the verdict invalid", async () => {
  const b = absence();
  const held = receiptVectors.v1[0].signed;
  assert.equal(held.receipt.ticket, b.ticket);
  const r = await onChain(b, { receipts: [held] });
  assert.equal(r.verdict, "invalid", JSON.stringify(r.all_findings));
  assert.deepEqual(keys(r), ["receipt_withheld"]);
  assert.deepEqual(r.receipts[0].problems, [], "the receipt itself is authentic");
  assert.equal(r.receipts[0].checked, true);
  assert.equal(r.receipts[0].ok, false);
  assert.deepEqual(r.receipts[0].evidence, [{ key: "receipt_withheld", p: { n: 1, seq: 0, index: held.receipt.index } }]);
  assert.match(say("en", r.receipts[0].evidence[0]), /Receipt 1 proves the log accepted event 1 .* evidence against the operator/);
  assert.match(say("zh", r.receipts[0].evidence[0]), /证据/);
  assert.equal(r.complete_as_of, null, "nothing is established by a record that failed");
});
