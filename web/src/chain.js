// Plain JSON-RPC over fetch to the user's own RPC endpoint: the only chain
// access the page has. Selectors and the event topic are computed here from
// their Solidity signatures (contracts/artifacts/SupportAnchor.json), not
// copied as magic numbers.

import { keccak, toHex } from "./hash.js";

const enc = new TextEncoder();
const selector = (sig) => toHex(keccak(enc.encode(sig)).slice(0, 4));

export const SEL = {
  batchHead: selector("batchHead(uint64)"),
  anchorer: selector("anchorer()"),
  nextIndex: selector("nextIndex()"),
  batchCount: selector("batchCount()"),
};
export const BATCH_ANCHORED_TOPIC = toHex(keccak(enc.encode("BatchAnchored(uint64,uint64,uint64,bytes32)")));

/// A 32-byte ABI word for an unsigned integer (a safe JS integer).
export function word(n) {
  return BigInt(n).toString(16).padStart(64, "0");
}

export const hexQty = (n) => "0x" + BigInt(n).toString(16);

function qty(s, what) {
  if (typeof s !== "string" || !/^0x[0-9a-fA-F]+$/.test(s)) throw new RpcError(`${what}: the RPC answered ${JSON.stringify(s)}, not a quantity`);
  const v = BigInt(s);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RpcError(`${what}: ${s} is too large`);
  return Number(v);
}

export class RpcError extends Error {}

export class Rpc {
  constructor(url, { timeoutMs = 20000, fetchImpl } = {}) {
    this.url = url;
    this.timeoutMs = timeoutMs;
    this.fetch = fetchImpl || globalThis.fetch.bind(globalThis);
    this.id = 0;
  }

  async call(method, params) {
    const ctrl = new AbortController();
    const timer = setTimeout(() => ctrl.abort(), this.timeoutMs);
    let resp;
    try {
      resp = await this.fetch(this.url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: ++this.id, method, params }),
        signal: ctrl.signal,
        credentials: "omit",
      });
    } catch (e) {
      throw new RpcError(ctrl.signal.aborted ? `${method} timed out after ${this.timeoutMs / 1000} s` : `${method}: cannot reach ${this.url} (${e.message})`);
    } finally {
      clearTimeout(timer);
    }
    if (!resp.ok) throw new RpcError(`${method}: HTTP ${resp.status} from ${this.url}`);
    let body;
    try {
      body = await resp.json();
    } catch {
      throw new RpcError(`${method}: the RPC did not answer JSON`);
    }
    if (body.error) throw new RpcError(`${method}: ${body.error.message || JSON.stringify(body.error)}`);
    return body.result;
  }

  async chainId() {
    return qty(await this.call("eth_chainId", []), "eth_chainId");
  }

  async blockNumber() {
    return qty(await this.call("eth_blockNumber", []), "eth_blockNumber");
  }

  /// {number, time} of a block, or null if the chain has no such block.
  async block(tag) {
    const b = await this.call("eth_getBlockByNumber", [typeof tag === "number" ? hexQty(tag) : tag, false]);
    if (!b) return null;
    return { number: qty(b.number, "block number"), time: qty(b.timestamp, "block timestamp"), hash: b.hash };
  }

  /// eth_call at a block (a number, or "latest"): several RPCs are read
  /// at one common block so that one lagging behind is no disagreement.
  async ethCall(to, data, at = "latest") {
    const r = await this.call("eth_call", [{ to, data }, typeof at === "number" ? hexQty(at) : at]);
    if (typeof r !== "string" || !/^0x([0-9a-fA-F]{64})+$/.test(r)) {
      throw new RpcError(`eth_call to ${to}: unexpected answer ${JSON.stringify(r).slice(0, 80)} (is there a SupportAnchor contract at this address?)`);
    }
    return r.toLowerCase();
  }

  /// The code at an address ("0x": none, so no contract to ask).
  async code(address, at = "latest") {
    const r = await this.call("eth_getCode", [address, typeof at === "number" ? hexQty(at) : at]);
    if (typeof r !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(r)) throw new RpcError(`eth_getCode: unexpected answer ${JSON.stringify(r).slice(0, 80)}`);
    return r.toLowerCase();
  }

  async anchorer(contract, at) {
    const r = await this.ethCall(contract, SEL.anchorer, at);
    return "0x" + r.slice(2 + 24, 2 + 64);
  }

  async nextIndex(contract, at) {
    const r = await this.ethCall(contract, SEL.nextIndex, at);
    return qty("0x" + r.slice(2, 66), "nextIndex()");
  }

  /// The batches anchored at block `at`: the latest is batchCount() − 1.
  async batchCount(contract, at) {
    const r = await this.ethCall(contract, SEL.batchCount, at);
    return qty("0x" + r.slice(2, 66), "batchCount()");
  }

  async batchHead(contract, id, at) {
    const r = await this.ethCall(contract, SEL.batchHead + word(id), at);
    return "0x" + r.slice(2, 66);
  }

  async logs(filter) {
    const r = await this.call("eth_getLogs", [filter]);
    if (!Array.isArray(r)) throw new RpcError("eth_getLogs: the RPC did not answer a list");
    return r;
  }
}
