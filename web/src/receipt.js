// Signed receipts (docs/PROTOCOL.md §12) and their compact form
// (docs/VERIFIER.md): base64url(canonical receipt bytes) "." base64url(65-byte
// signature), short enough for a URL fragment or a QR code.

import { secp256k1 } from "@noble/curves/secp256k1.js";
import { canonicalBytes, canonicalText } from "./canonical.js";
import { isObject, isUint, parseStrict } from "./json.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { concat, eip191Digest, fromHex, isHash, keccak, toHex } from "./hash.js";
import { acceptRecord, isAddress, isHandle, rootFromPath, timestampMillis } from "./protocol.js";

const RECEIPT_KEYS = ["anchor_deadline", "chain_id", "contract", "index", "leaf", "recorded_at", "seq", "ticket", "v"];

export class ReceiptError extends Error {}

const GROUP_KEYS = ["chain_id", "contract", "root", "size", "v"];

/// Checks a signed receipt's shape: v1 {receipt, signature}, or v2 {receipt,
/// group, position, path, signature} (PROTOCOL.md §12), or the append API's
/// whole answer as saved from POST …/events (the v2 receipt plus "record"
/// and "replayed"; the record must then be the one the receipt names).
/// Returns a normalised copy; `v2` holds {group, position, path} for a v2
/// receipt.
export function readSignedReceipt(input) {
  if (!isObject(input)) throw new ReceiptError("a receipt file holds {\"receipt\": …, \"signature\": …}");
  let v = input;
  let appendedRecord = null;
  if ("record" in input) {
    // The append answer: the receipt's members, the record, `replayed`.
    const { record, replayed, ...rest } = input;
    if (replayed !== undefined && typeof replayed !== "boolean") throw new ReceiptError("the append answer's replayed is not true or false");
    appendedRecord = record;
    v = rest;
  }
  const keys = Object.keys(v).sort();
  const v1Shape = keys.join() === "receipt,signature";
  const v2Shape = keys.join() === "group,path,position,receipt,signature";
  if (!v1Shape && !v2Shape) {
    throw new ReceiptError("a receipt holds exactly {receipt, signature} (v1) or {receipt, group, position, path, signature} (v2)");
  }
  const r = v.receipt;
  if (!isObject(r)) throw new ReceiptError("receipt is not an object");
  const rk = Object.keys(r);
  for (const k of rk) if (!RECEIPT_KEYS.includes(k)) throw new ReceiptError(`receipt has an unknown member ${JSON.stringify(k)}`);
  for (const k of RECEIPT_KEYS) if (!rk.includes(k)) throw new ReceiptError(`receipt is missing ${JSON.stringify(k)}`);
  if (r.v !== (v1Shape ? 1 : 2)) throw new ReceiptError(v1Shape ? "a receipt without a group must be version 1" : "a receipt with a group must be version 2");
  if (!isHandle(r.ticket)) throw new ReceiptError("receipt ticket is not a handle");
  for (const k of ["index", "seq", "chain_id"]) if (!isUint(r[k])) throw new ReceiptError(`receipt ${k} is not a non-negative integer`);
  if (!isHash(r.leaf)) throw new ReceiptError("receipt leaf is not a 32-byte hash");
  const recordedMs = timestampMillis(r.recorded_at);
  const deadlineMs = timestampMillis(r.anchor_deadline);
  if (recordedMs === null || deadlineMs === null) throw new ReceiptError("receipt timestamps are not in the protocol's form");
  if (typeof r.contract !== "string" || !isAddress(r.contract)) throw new ReceiptError("receipt contract is not an address");
  if (typeof v.signature !== "string" || !/^0x[0-9a-fA-F]{130}$/.test(v.signature)) {
    throw new ReceiptError("signature is not 0x followed by 130 hex digits");
  }
  let v2 = null;
  if (v2Shape) {
    const g = v.group;
    if (!isObject(g) || Object.keys(g).sort().join() !== GROUP_KEYS.join()) {
      throw new ReceiptError("the group holds exactly {v, root, size, chain_id, contract}");
    }
    if (g.v !== 2 || !isHash(g.root) || !isUint(g.size) || g.size < 1 || !isUint(g.chain_id)) {
      throw new ReceiptError("the group is not a v2 group");
    }
    if (g.chain_id !== r.chain_id || g.contract !== r.contract) {
      throw new ReceiptError("the receipt's chain or contract differs from its group's");
    }
    if (!isUint(v.position) || !Array.isArray(v.path) || !v.path.every(isHash)) {
      throw new ReceiptError("position must be an integer and path a list of 32-byte hashes");
    }
    v2 = { group: g, position: v.position, path: v.path };
  }
  if (appendedRecord !== null) {
    let leaf;
    try {
      leaf = acceptRecord(appendedRecord).leaf;
    } catch (e) {
      throw new ReceiptError(`the append answer's record is not a valid record: ${e.message}`);
    }
    const a = appendedRecord;
    if (leaf !== r.leaf || a.ticket !== r.ticket || a.seq !== r.seq || a.index !== r.index) {
      throw new ReceiptError("the append answer's record is not the one its receipt names");
    }
  }
  return { receipt: r, signature: v.signature.toLowerCase(), recordedMs, deadlineMs, v2 };
}

/// The address (0x + 40 lowercase hex) whose key signed the receipt
/// (EIP-191). For v2 the receipt must first lead to its group's signed root:
/// receipt leaf = SHA-256(0x03 ‖ canonical receipt), path as in §9.
export function receiptSigner(receipt, signature, v2 = null) {
  let message = canonicalBytes(receipt);
  if (v2) {
    const leaf = toHex(sha256(concat([3], message)));
    let root;
    try {
      root = rootFromPath(leaf, v2.position, v2.group.size, v2.path);
    } catch (e) {
      throw new ReceiptError(`the receipt is not in its group: ${e.message}`);
    }
    if (root !== v2.group.root) throw new ReceiptError("the receipt is not in its group: its path leads to another root");
    message = canonicalBytes(v2.group);
  }
  const sig = fromHex(signature);
  let v = sig[64];
  if (v >= 27) v -= 27;
  if (v !== 0 && v !== 1) throw new ReceiptError(`signature recovery id ${sig[64]} is not 27 or 28`);
  const digest = eip191Digest(message);
  const recovered = new Uint8Array(65);
  recovered[0] = v;
  recovered.set(sig.slice(0, 64), 1);
  let point;
  try {
    point = secp256k1.Signature.fromBytes(recovered, "recovered").recoverPublicKey(digest);
  } catch (e) {
    throw new ReceiptError(`no signer can be recovered from this signature (${e.message})`);
  }
  const pub = point.toBytes(false); // 0x04 ‖ X ‖ Y
  return toHex(keccak(pub.slice(1)).slice(12));
}

function b64urlEncode(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function b64urlDecode(s) {
  if (!/^[A-Za-z0-9_-]*$/.test(s)) throw new ReceiptError("not base64url");
  const b64 = s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/// Compact form of a v1 {receipt, signature} (v2 receipts carry a path and
/// are handed over as files; the log re-issues any receipt as v1 for links).
export function toCompact(signed) {
  return b64urlEncode(canonicalBytes(signed.receipt)) + "." + b64urlEncode(fromHex(signed.signature));
}

/// Parses a compact receipt back into {receipt, signature}. The receipt part
/// must be the canonical bytes themselves (one spelling only).
export function fromCompact(s) {
  const parts = s.trim().split(".");
  if (parts.length !== 2) throw new ReceiptError("a compact receipt is <receipt>.<signature> in base64url");
  const bytes = b64urlDecode(parts[0]);
  const sig = b64urlDecode(parts[1]);
  if (sig.length !== 65) throw new ReceiptError(`the signature part is ${sig.length} bytes, not 65`);
  let text;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new ReceiptError("the receipt part is not UTF-8");
  }
  const receipt = parseStrict(text);
  if (canonicalText(receipt) !== text) throw new ReceiptError("the receipt part is not in canonical form");
  return { receipt, signature: toHex(sig) };
}
