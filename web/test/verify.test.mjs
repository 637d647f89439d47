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
