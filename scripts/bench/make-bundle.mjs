// Builds a large proof bundle anchored on a local anvil, for the verifier
// benchmarks (scripts/bench/page-verify.sh; `proofdesk verify` can read the
// same file): one ticket of N events (ticket.created, then message.added),
// sealed into batches of 1,024 (RFC 6962 trees; the last one partial),
// each anchored on a fresh SupportAnchor deployed by anvil's first dev
// account (its anchorer). The records follow PROTOCOL v1 (built with the
// page's own canonical form and hashes, web/src).
//
//   node scripts/bench/make-bundle.mjs RPC_URL EVENTS OUT.json
// Prints one JSON line: {contract, events, batches, bytes}.
import { writeFileSync } from "node:fs";
import { readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { canonicalBytes } from "../../web/src/canonical.js";
import { batchHead, leafHash, nodeHash, ZERO_HASH } from "../../web/src/hash.js";
import { auditPath, merkleRoot } from "../../web/src/protocol.js";
import { word } from "../../web/src/chain.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const [rpc, eventsArg, out] = process.argv.slice(2);
const N = Number(eventsArg || 100000);
const BATCH = 1024;
const DEV = "0xf39fd6e51aad88f6f4ce6ab8827279cfffb92266"; // anvil's first dev account

let id = 0;
async function call(method, params) {
  const resp = await fetch(rpc, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: ++id, method, params }) });
  const body = await resp.json();
  if (body.error) throw new Error(`${method}: ${JSON.stringify(body.error)}`);
  return body.result;
}

async function send(data, to) {
  const hash = await call("eth_sendTransaction", [{ from: DEV, data, ...(to ? { to } : {}), gas: "0x1000000" }]);
  for (;;) {
    const r = await call("eth_getTransactionReceipt", [hash]);
    if (r) {
      if (r.status !== "0x1") throw new Error(`transaction ${hash} reverted`);
      return r;
    }
    await new Promise((ok) => setTimeout(ok, 50));
  }
}

// Deploy SupportAnchor(anchorer = DEV).
const artifact = JSON.parse(readFileSync(join(root, "contracts/artifacts/SupportAnchor.json"), "utf8"));
const deployed = await send(artifact.bytecode.object + DEV.slice(2).padStart(64, "0"));
const contract = deployed.contractAddress.toLowerCase();
const chainId = Number(BigInt(await call("eth_chainId", [])));

// The records: one ticket, seq = index (a log of this ticket alone).
const ticket = "tk_" + "be".repeat(16);
const t0 = Date.parse("2026-01-01T00:00:00.000Z");
const ts = (ms) => new Date(ms).toISOString();
const records = [];
const leaves = [];
let prev = ZERO_HASH;
for (let i = 0; i < N; i++) {
  const r = {
    v: 1, index: i, seq: i, ticket, prev,
    type: i === 0 ? "ticket.created" : "message.added",
    data: i === 0
      ? { category: "withdrawal_delay", priority: "normal", complaint: true, labels: {} }
      : { direction: i % 2 ? "inbound" : "outbound", visibility: "public" },
    actor: i % 2 || i === 0 ? { role: "customer", ref: "customer-1" } : { role: "agent", ref: "agent-7" },
    channel: "web",
    occurred_at: ts(t0 + i * 10),
    recorded_at: ts(t0 + i * 10 + 5),
    content: null,
  };
  const leaf = leafHash(canonicalBytes(r));
  records.push(r);
  leaves.push(leaf);
  prev = leaf;
}

/// Audit paths of a perfect tree (size a power of two): siblings per level.
function perfectPaths(ls) {
  const levels = [ls];
  while (levels[levels.length - 1].length > 1) {
    const l = levels[levels.length - 1];
    const next = [];
    for (let i = 0; i < l.length; i += 2) next.push(nodeHash(l[i], l[i + 1]));
    levels.push(next);
  }
  const paths = ls.map((_, m) => levels.slice(0, -1).map((l, d) => l[(m >> d) ^ 1]));
  return { root: levels[levels.length - 1][0], paths };
}

const sel = "0x" + artifact.methodIdentifiers["anchor(uint64,uint64,uint64,bytes32)"];
const batches = [];
const events = [];
for (let b = 0, first = 0; first < N; b++, first += BATCH) {
  const ls = leaves.slice(first, first + BATCH);
  let root;
  let paths;
  if (ls.length === BATCH) ({ root, paths } = perfectPaths(ls));
  else {
    root = merkleRoot(ls);
    paths = ls.map((_, m) => auditPath(m, ls));
  }
  const receipt = await send(sel + word(b) + word(first) + word(ls.length) + root.slice(2), contract);
  batches.push({
    id: b, first_index: first, count: ls.length, root, head: batchHead(b, first, ls.length, root),
    status: "final", tx: receipt.transactionHash, block: Number(BigInt(receipt.blockNumber)),
  });
  ls.forEach((leaf, m) => events.push({ record: records[first + m], leaf, batch: b, path: paths[m] }));
}
const bundle = {
  version: 1, ticket,
  chain: { chain_id: chainId, contract, anchorer: DEV },
  max_merge_delay_ms: 86400000, policy: { reopen_closed: false }, batches, events,
};
const text = JSON.stringify(bundle);
writeFileSync(out, text);
console.log(JSON.stringify({ contract, events: N, batches: batches.length, bytes: text.length }));
