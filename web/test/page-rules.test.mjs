// The page's rules from issue 25 that need no browser (node --test web/test):
// the deployment list, the QR link form, the append answer as a receipt,
// the user's maximum merge delay, the verdict classes and where inputs come
// from (against a JSON-RPC answered in-process), and the deadline rule.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { readDeployments } from "../src/deployments.js";
import { decodeQr, encodeQr } from "../src/link.js";
import { readSignedReceipt, receiptSigner, toCompact } from "../src/receipt.js";
import { readUserMmd, MAX_USER_MMD_S, verify, splitRpcs } from "../src/verify.js";
import { parseStrict } from "../src/json.js";
import { say, t, langFromQuery, code, allKeys } from "../src/i18n.js";
import { leafHash } from "../src/hash.js";
import { canonicalBytes } from "../src/canonical.js";
import { asV2 } from "./support/bundle-v2.mjs";
import { anchoredBundle, byUrl, CONTRACT, fakeChain } from "./support/chain.mjs";

const read = (p) => readFileSync(new URL(p, import.meta.url), "utf8");
const rv = JSON.parse(read("../../tests/vectors/receipts.json"));

test("every entry of the deployment list is well formed; the dev chain's is a development deployment", () => {
  const list = readDeployments(read("../../deployments/deployments.json"));
  assert.ok(list.length >= 1);
  const dev = list.find((d) => d.chain_id === 31337);
  assert.equal(dev.kind, "development");
  assert.equal(dev.contract, "0x5fbdb2315678afecb367f032d93f642f64180aa3");
  const bad = (mutate) => {
    const v = JSON.parse(read("../../deployments/deployments.json"));
    mutate(v);
    return () => readDeployments(JSON.stringify(v));
  };
  assert.throws(bad((v) => { v.deployments[0].contract = "0x5FbDB2315678afecb367f032d93F642f64180aa3"; }), /lowercase/);
  assert.throws(bad((v) => { v.deployments[0].kind = "official"; }), /kind/);
  assert.throws(bad((v) => { v.deployments[0].extra = 1; }), /exactly/);
  assert.throws(bad((v) => { v.deployments.push(v.deployments[0]); }), /twice/);
  assert.throws(bad((v) => { v.deployments[0].published_at = " "; }), /published_at/);
});

test("the QR link form round-trips real signed receipts, which still recover their signer", () => {
  const one = rv.v1[0].signed;
  // The same receipt twice over (one ticket): enough to exercise the deltas.
  const two = structuredClone(one);
  two.receipt.seq = 1;
  two.receipt.index = one.receipt.index + 5;
  const q = encodeQr([one, two]);
  const back = decodeQr(q);
  assert.deepEqual(JSON.parse(JSON.stringify(back[0])), JSON.parse(JSON.stringify(one)));
  assert.equal(back[1].receipt.index, one.receipt.index + 5);
  const s = readSignedReceipt(back[0]);
  assert.equal(receiptSigner(s.receipt, s.signature), rv.signer);
  // Exactly one spelling: trailing bytes, a cut and another format are refused.
  assert.throws(() => decodeQr(q + "AA"), /trailing|base64url/);
  assert.throws(() => decodeQr(q.slice(0, -8)), /early|base64url/);
  assert.throws(() => decodeQr("Ag" + q.slice(2)), /format/);
});

test("11 receipts in the QR form fit one QR code; the r= form does not", () => {
  const base = rv.v1[0].signed;
  const start = Date.parse("2026-01-01T00:00:00.000Z");
  const receipts = Array.from({ length: 11 }, (_, k) => {
    const r = structuredClone(base);
    r.receipt.seq = k;
    r.receipt.index = 1_000_000 + k * 7;
    r.receipt.recorded_at = new Date(start + k * 5 * 86400000 + 12345).toISOString();
    r.receipt.anchor_deadline = new Date(start + k * 5 * 86400000 + 12345 + 86400000).toISOString();
    return r;
  });
  const host = "https://complaints-verifier.example-exchange.com";
  const qr = `${host}/verify/${base.receipt.ticket}#q=${encodeQr(receipts)}`;
  const long = `${host}/verify/${base.receipt.ticket}#r=${receipts.map(toCompact).join(",")}`;
  // QR version 40 holds 2,331 bytes at error correction level M.
  assert.ok(qr.length <= 2331, `${qr.length} characters`);
  assert.ok(long.length > 2953, `the r= form is ${long.length}: over even level L`);
  assert.equal(decodeQr(qr.split("#q=")[1]).length, 11);
});

test("the append answer, as saved from POST …/events, is a receipt; a record that is not its receipt's is refused", () => {
  // A v2 receipt as the append API returns it, with the record and `replayed`.
  const signed = rv.v2.signed[0];
  const s = readSignedReceipt(signed);
  assert.equal(receiptSigner(s.receipt, s.signature, s.v2), rv.signer);
  // A record other than the one the receipt names is refused.
  const all = JSON.parse(read("../../tests/vectors/protocol-v1.json")).records.map((x) => x.record);
  const other = all.find((x) => leafHash(canonicalBytes(x)) !== signed.receipt.leaf);
  assert.throws(() => readSignedReceipt({ ...signed, record: other, replayed: false }), /not the one its receipt names/);
  const rec = all[0];
  // With the record the receipt names, the answer reads as the receipt.
  const leaf = leafHash(canonicalBytes(rec));
  const matching = structuredClone(signed);
  Object.assign(matching.receipt, { leaf, ticket: rec.ticket, seq: rec.seq, index: rec.index });
  const ok = readSignedReceipt({ ...matching, record: rec, replayed: true });
  assert.equal(ok.receipt.leaf, leaf);
  assert.throws(() => readSignedReceipt({ ...matching, record: rec, replayed: "no" }), /replayed/);
});

test("a maximum merge delay whose deadline cannot be computed exactly is refused with the reason", () => {
  assert.deepEqual(readUserMmd("60"), { ms: 60000 });
  assert.ok(readUserMmd(String(MAX_USER_MMD_S)).ms);
  assert.match(readUserMmd(String(MAX_USER_MMD_S + 1)).error, /at most/);
  assert.match(readUserMmd("9007199254740991").error, /at most/);
  assert.match(readUserMmd("-1").error, /whole number/);
  assert.match(readUserMmd("1.5").error, /whole number/);
});

test("language by URL, codes in Chinese, people count from 1", () => {
  assert.equal(langFromQuery("zh-CN"), "zh");
  assert.equal(langFromQuery("zh"), "zh");
  assert.equal(langFromQuery("en-GB"), "en");
  assert.equal(langFromQuery("fr"), null);
  assert.equal(code("zh", "upheld"), "投诉成立（upheld）");
  assert.equal(code("zh", "made_up_code"), "made_up_code");
  assert.equal(say("en", { key: "leaf_mismatch", p: { seq: 0 } }), "Event 1 was changed: its record no longer matches its fingerprint.");
  assert.match(say("zh", { key: "flag_pending", p: { seq: 0 } }), /第 1 个事件尚未锚定/);
  const k = allKeys();
  assert.deepEqual(k.zh.sort(), k.en.sort(), "every finding is said in both languages");
  assert.deepEqual(k.zhTop.sort(), k.enTop.sort(), "every sentence is said in both languages");
});

test("the RPC field takes several URLs, one per line or comma-separated", () => {
  assert.deepEqual(splitRpcs(" http://a:1\nhttp://b:2, http://c:3 ,http://a:1 "), ["http://a:1", "http://b:2", "http://c:3"]);
});

// ---- verdict classes, against a chain answered in-process (support/chain.mjs) ----

async function run(bundle, opts) {
  return verify({ bundleText: JSON.stringify(bundle), ...opts });
}

test("valid needs a contract the user typed or picked from the list, and an RPC of the user's", async () => {
  const b = anchoredBundle();
  const fetchImpl = fakeChain(b);
  const you = { url: "http://rpc.mine", source: "typed" };
  let r = await run(b, { contract: { value: CONTRACT, source: "typed" }, rpcs: [you], fetchImpl });
  assert.equal(r.verdict, "valid", JSON.stringify(r.all_findings));
  for (const source of ["log", "link", "bundle"]) {
    r = await run(b, { contract: { value: source === "bundle" ? "" : CONTRACT, source }, rpcs: [you], fetchImpl });
    assert.equal(r.verdict, "consistent", source);
    assert.deepEqual(r.untrusted, ["contract"]);
  }
  for (const source of ["log", "link"]) {
    r = await run(b, { contract: { value: CONTRACT, source: "typed" }, rpcs: [{ url: "http://rpc.theirs", source }], fetchImpl });
    assert.equal(r.verdict, "consistent", source);
    assert.deepEqual(r.untrusted, ["rpc"]);
  }
  r = await run(b, { contract: { value: CONTRACT, source: "typed" }, rpcs: [{ url: "http://rpc.mine", source: "stored" }], fetchImpl });
  assert.equal(r.verdict, "valid", "an RPC typed on an earlier visit is the user's");
  const list = readDeployments(read("../../deployments/deployments.json"));
  r = await run(b, { contract: { value: CONTRACT, source: "list", entry: list[0] }, rpcs: [you], fetchImpl, deployments: list });
  assert.equal(r.verdict, "valid");
  r = await run(b, { contract: { value: CONTRACT, source: "typed" }, rpcs: [you], fetchImpl, deployments: list });
  assert.equal(r.sources.contract.list.kind, "development", "a typed contract on the list says so");
  r = await run(b, { contract: { value: CONTRACT, source: "list", entry: { ...list[0], chain_id: 1 } }, rpcs: [you], fetchImpl, deployments: list });
  assert.equal(r.verdict, "invalid");
  assert.ok(r.problems.some((p) => p.key === "list_chain"));
});

test("several RPCs are read at one common block and any disagreement fails, naming both", async () => {
  const b = anchoredBundle();
  const mine = { url: "http://a", source: "typed" };
  const other = { url: "http://b", source: "typed" };
  const contract = { value: CONTRACT, source: "typed" };
  // One lags behind: no disagreement.
  let r = await run(b, { contract, rpcs: [mine, other], fetchImpl: byUrl({ "http://a": fakeChain(b), "http://b": fakeChain(b, { height: 400 }) }) });
  assert.equal(r.verdict, "valid", JSON.stringify(r.all_findings));
  assert.equal(r.common_block, 400);
  for (const tweak of [{ anchorer: "0x" + "99".repeat(20) }, { nextIndex: 5 }, { heads: { 2: "0x" + "00".repeat(32) } }, { chainId: 1 }]) {
    r = await run(b, { contract, rpcs: [mine, other], fetchImpl: byUrl({ "http://a": fakeChain(b), "http://b": fakeChain(b, tweak) }) });
    assert.equal(r.verdict, "invalid", JSON.stringify(tweak));
    const d = r.problems.find((p) => p.key === "rpc_disagree");
    assert.ok(d, JSON.stringify(r.problems));
    assert.match(say("en", d), /http:\/\/a answers .* http:\/\/b answers/);
  }
});

test("a claimed block off by a few is a note; a bundle's own MMD is shown and never judges; another chain is invalid", async () => {
  const moved = anchoredBundle({ claim: (id) => 15 + id, mmd: Number.MAX_SAFE_INTEGER });
  const you = [{ url: "http://a", source: "typed" }];
  const contract = { value: CONTRACT, source: "typed" };
  let r = await run(moved, { contract, rpcs: you, fetchImpl: fakeChain(moved) });
  assert.equal(r.verdict, "valid", JSON.stringify(r.all_findings));
  assert.ok(r.notes.length > 0 && r.notes.every((n) => n.key === "block_moved"));
  assert.equal(say("en", r.notes[0]), "Batch 0: the log claimed block 15; anchored in block 10.");
  assert.equal(r.mmd.source, "nobody");
  assert.equal(r.broken_promises, 0);
  r = await run(moved, { contract, rpcs: you, fetchImpl: fakeChain(moved, { chainId: 1 }) });
  assert.equal(r.verdict, "invalid");
  assert.equal(say("en", r.problems.find((p) => p.key === "chain_mismatch")), "The bundle says chain 31337; your RPC serves chain 1.");
  r = await run(moved, { contract, rpcs: you, fetchImpl: fakeChain(moved), maxMergeDelaySeconds: "9007199254740991" });
  assert.equal(r.verdict, "error");
  assert.equal(r.error.key, "mmd_refused");
});

test("a bad receipt is a problem of that receipt; the anchorer's receipt of an event shown is found", async () => {
  const b = anchoredBundle();
  const contract = { value: CONTRACT, source: "typed" };
  const you = [{ url: "http://a", source: "typed" }];
  const r = await run(b, { contract, rpcs: you, fetchImpl: fakeChain(b), receipts: [{ unreadable: "garbled" }, rv.v1[1].signed] });
  assert.equal(r.verdict, "valid", JSON.stringify(r.all_findings));
  assert.equal(r.receipts.filter((x) => !x.ok).length, 2);
  assert.ok(r.receipt_findings.length >= 2);
  // rv.v1[0] is the anchorer's receipt for this ticket's event 1: found.
  const w = await run(b, { contract, rpcs: you, fetchImpl: fakeChain(b), receipts: [rv.v1[0].signed] });
  assert.equal(w.verdict, "valid");
  assert.equal(w.receipts[0].ok, true);
  // A receipt whose event the record withholds is evidence (invalid): the
  // browser test "withheld" covers it against a real node.
});

test("pending: nothing anchored and nothing wrong is 'not yet anchored' in both languages", async () => {
  const b = anchoredBundle();
  for (const e of b.events) {
    e.batch = null;
  }
  b.batches = [];
  const r = await run(b, { contract: { value: CONTRACT, source: "typed" }, rpcs: [{ url: "http://a", source: "typed" }], fetchImpl: fakeChain(b, { nextIndex: 0 }) });
  assert.equal(r.verdict, "pending", JSON.stringify(r.all_findings));
  assert.equal(say("zh", { key: "flag_pending", p: { seq: 0 } }), "第 1 个事件尚未锚定。");
});

test("strict JSON is still strict for the deployment list", () => {
  assert.throws(() => parseStrict('{"a":1,"a":2}'), /duplicate/);
});

// ---- bundle v2 on chain: complete as of batch B (PROTOCOL §15.4) ----

test("bundle v2: anchored, its map proof makes the history complete as of B; a later batch on chain is said", async () => {
  const b = asV2(anchoredBundle());
  const last = b.batches.length - 1;
  const opts = { contract: { value: CONTRACT, source: "typed" }, rpcs: [{ url: "http://a", source: "typed" }] };
  let r = await run(b, { ...opts, fetchImpl: fakeChain(b) });
  assert.equal(r.verdict, "valid", JSON.stringify(r.all_findings));
  assert.equal(r.batch_count, b.batches.length);
  assert.equal(r.complete_through, last);
  assert.deepEqual(r.complete_as_of, { batch: last, tip_seq: last, block: 10 + last, time: r.events[last].blockTime, later_batch: null });
  // The chain has anchored past B since the log served the bundle.
  r = await run(b, { ...opts, fetchImpl: fakeChain(b, { batchCount: b.batches.length + 3 }) });
  assert.equal(r.verdict, "valid");
  assert.equal(r.complete_as_of.later_batch, last + 3);
  // Every RPC is asked for batchCount(), and must agree.
  r = await run(b, { ...opts, rpcs: [opts.rpcs[0], { url: "http://b", source: "typed" }],
    fetchImpl: byUrl({ "http://a": fakeChain(b), "http://b": fakeChain(b, { batchCount: 2 }) }) });
  assert.equal(r.verdict, "invalid");
  assert.match(say("en", r.problems.find((p) => p.key === "rpc_disagree")), /batchCount\(\)/);
  assert.equal(r.complete_as_of, null, "nothing is complete in a record that failed");
});

test("bundle v2: a head v2 batch is confirmed by its anchored root, not its log root", async () => {
  const b = asV2(anchoredBundle());
  const r = await run(b, { contract: { value: CONTRACT, source: "typed" }, rpcs: [{ url: "http://a", source: "typed" }], fetchImpl: fakeChain(b, { logRoots: true }) });
  assert.equal(r.verdict, "invalid");
  assert.ok(r.all_findings.every((p) => p.key === "batch_no_log"), JSON.stringify(r.all_findings));
});

test("bundle v2: B not on chain yet establishes nothing; B's head differing on chain is a failure, even with no event in B", async () => {
  const b = asV2(anchoredBundle(), { trailing: 1 });
  const B = b.batches.length - 1;
  const opts = { contract: { value: CONTRACT, source: "typed" }, rpcs: [{ url: "http://a", source: "typed" }] };
  let r = await run(b, { ...opts, fetchImpl: fakeChain(b) });
  assert.equal(r.verdict, "valid", JSON.stringify(r.all_findings));
  assert.deepEqual(r.complete_as_of, { batch: B, tip_seq: B - 1, block: 10 + B, time: r.complete_as_of.time, later_batch: null });
  r = await run(b, { ...opts, fetchImpl: fakeChain(b, { heads: { [B]: "0x" + "00".repeat(32) }, batchCount: B }) });
  assert.equal(r.verdict, "valid", JSON.stringify(r.all_findings));
  assert.equal(r.complete_as_of, null);
  assert.equal(r.map_batch, B, "the page says the map proof's batch is not anchored yet");
  r = await run(b, { ...opts, fetchImpl: fakeChain(b, { heads: { [B]: "0x" + "ee".repeat(32) } }) });
  assert.equal(r.verdict, "invalid");
  assert.deepEqual(r.problems.map((p) => p.key), ["batch_head_differs"]);
  assert.equal(r.complete_as_of, null);
});

test("every sentence of complete as of batch B is said in both languages", () => {
  for (const lang of ["en", "zh"]) {
    for (const key of ["complete_as_of", "map_tip_last", "map_tip_seq", "map_tip_none", "map_later", "map_honesty", "map_absent",
      "equivocation_map", "complete_no_map", "complete_map_not_anchored"]) {
      const text = t(lang, key, { k: 3, b: 7, block: 40, time: "then", t: 3, l: 9 });
      assert.ok(text && !text.includes("?") && !text.includes("{"), `${lang} ${key}: ${text}`);
    }
  }
  assert.match(t("en", "map_honesty"), /proofdesk audit/);
  assert.match(t("zh", "map_honesty"), /proofdesk audit/);
});
