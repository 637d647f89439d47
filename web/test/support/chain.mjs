// A chain answered in-process for the tests (node --test web/test): an
// anchored bundle of the vectors' first ticket, and a JSON-RPC endpoint
// over a bundle's batches as fetchImpl. Not a test file itself (node --test
// runs it, finding none).
import { readFileSync } from "node:fs";
import { batchHead } from "../../src/hash.js";
import { BATCH_ANCHORED_TOPIC, SEL, word } from "../../src/chain.js";
import { anchoredRootV2 } from "../../src/map.js";

const read = (p) => readFileSync(new URL(p, import.meta.url), "utf8");

/// The vectors' first ticket (tk_1111…): its records, in seq order.
export const records = JSON.parse(read("../../../tests/vectors/protocol-v1.json")).records.filter((r) => r.record.ticket.startsWith("tk_1111"));
/// The development deployment and its anchorer (the receipts' signer).
export const CONTRACT = "0x5fbdb2315678afecb367f032d93f642f64180aa3";
export const ANCHORER = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266";

/// One batch per event (a one-leaf tree: root = leaf, path empty), anchored
/// in block 10 + id; the bundle claims `claim(id)`.
export function anchoredBundle({ claim = (id) => 10 + id, mmd = 60000 } = {}) {
  const events = records.map((r, i) => ({ record: structuredClone(r.record), leaf: r.leaf, batch: i, path: [] }));
  const batches = records.map((r, i) => {
    const index = r.record.index;
    return { id: i, first_index: index, count: 1, root: r.leaf, head: batchHead(i, index, 1, r.leaf), status: "final", block: claim(i), tx: null };
  });
  return {
    version: 1, ticket: records[0].record.ticket,
    chain: { chain_id: 31337, contract: CONTRACT, anchorer: ANCHORER },
    max_merge_delay_ms: mmd, policy: { reopen_closed: true }, batches, events,
  };
}

/// A JSON-RPC endpoint over `bundle`'s batches, each anchored in block
/// 10 + id (batchCount() is the highest id + 1); `tweak` changes answers.
/// A head v2 batch's event carries its anchored root, as anchor() was
/// called with it.
export function fakeChain(bundle, tweak = {}) {
  const height = tweak.height ?? 500;
  const byId = new Map(bundle.batches.map((x) => [x.id, x]));
  const count = bundle.batches.reduce((m, x) => Math.max(m, x.id + 1), 0);
  const blockTime = (n) => Math.floor(Date.parse(records[records.length - 1].record.recorded_at) / 1000) + 60 + n;
  const answer = (method, params) => {
    switch (method) {
      case "eth_chainId": return "0x" + (tweak.chainId ?? 31337).toString(16);
      case "eth_blockNumber": return "0x" + height.toString(16);
      case "eth_getCode": return "0x6080";
      case "eth_call": {
        const data = params[0].data;
        if (data === SEL.anchorer) return "0x" + (tweak.anchorer ?? ANCHORER).slice(2).padStart(64, "0");
        if (data === SEL.nextIndex) return "0x" + word(tweak.nextIndex ?? 1_000_000);
        if (data === SEL.batchCount) return "0x" + word(tweak.batchCount ?? count);
        const id = Number(BigInt("0x" + data.slice(10)));
        const b = byId.get(id);
        return tweak.heads && id in tweak.heads ? tweak.heads[id] : b ? b.head : "0x" + "0".repeat(64);
      }
      case "eth_getLogs": {
        const f = params[0];
        const id = Number(BigInt(f.topics[1]));
        const b = byId.get(id);
        const at = 10 + id;
        if (!b || at < Number(BigInt(f.fromBlock)) || at > Number(BigInt(f.toBlock))) return [];
        const root = b.map_root && !tweak.logRoots ? anchoredRootV2(b.root, b.map_root) : b.root;
        return [{
          address: CONTRACT, topics: [BATCH_ANCHORED_TOPIC, "0x" + word(id)], removed: false,
          data: "0x" + word(b.first_index) + word(b.count) + root.slice(2), blockNumber: "0x" + at.toString(16),
        }];
      }
      case "eth_getBlockByNumber": {
        const n = Number(BigInt(params[0]));
        return { number: "0x" + n.toString(16), timestamp: "0x" + blockTime(n).toString(16), hash: "0x" + "77".repeat(32) };
      }
      default: throw new Error(method);
    }
  };
  return async (_url, init) => {
    const req = JSON.parse(init.body);
    return new Response(JSON.stringify({ jsonrpc: "2.0", id: req.id, result: answer(req.method, req.params) }), { status: 200 });
  };
}

/// Several fake RPCs by URL.
export const byUrl = (map) => (url, init) => map[url](url, init);
