// The hash constructions of docs/PROTOCOL.md §6 and §12, on @noble/hashes.

import { sha256 } from "@noble/hashes/sha2.js";
import { keccak_256 } from "@noble/hashes/sha3.js";

export const ZERO_HASH = "0x" + "0".repeat(64);
const HASH_RE = /^0x[0-9a-f]{64}$/;

export function isHash(s) {
  return typeof s === "string" && HASH_RE.test(s);
}

// Table-driven: a 100,000-event bundle converts a few million hashes.
const BYTE_HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
const NIBBLE = new Int8Array(128).fill(-1);
for (let c = 0; c < 10; c++) NIBBLE[48 + c] = c;
for (let c = 0; c < 6; c++) {
  NIBBLE[97 + c] = 10 + c;
  NIBBLE[65 + c] = 10 + c;
}

export function toHex(bytes) {
  let s = "0x";
  for (let i = 0; i < bytes.length; i++) s += BYTE_HEX[bytes[i]];
  return s;
}

export function fromHex(s) {
  const start = s.startsWith("0x") ? 2 : 0;
  const n = s.length - start;
  if (n % 2 !== 0) throw new Error(`not hex: ${s.slice(0, 80)}`);
  const out = new Uint8Array(n / 2);
  for (let i = 0; i < out.length; i++) {
    const a = s.charCodeAt(start + 2 * i);
    const b = s.charCodeAt(start + 2 * i + 1);
    const hi = a < 128 ? NIBBLE[a] : -1;
    const lo = b < 128 ? NIBBLE[b] : -1;
    if (hi < 0 || lo < 0) throw new Error(`not hex: ${s.slice(0, 80)}`);
    out[i] = hi * 16 + lo;
  }
  return out;
}

function concat(...parts) {
  const len = parts.reduce((a, p) => a + p.length, 0);
  const out = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

function u64be(n) {
  // n is a safe integer (≤ 2^53 − 1), so BigInt conversion is exact.
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

export const sha256Hex = (bytes) => toHex(sha256(bytes));

/// leaf = H(0x00 ‖ canonical record bytes)
export const leafHash = (canonical) => toHex(sha256(concat([0], canonical)));

/// node = H(0x01 ‖ left ‖ right)
export const nodeHash = (left, right) => toHex(sha256(concat([1], fromHex(left), fromHex(right))));

/// node = H(0x01 ‖ left ‖ right) on 32-byte arrays: an audit path is
/// walked in bytes, converted to hex once at the end.
const nodeBuf = new Uint8Array(65);
export function nodeHashBytes(left, right) {
  nodeBuf[0] = 1;
  nodeBuf.set(left, 1);
  nodeBuf.set(right, 33);
  return sha256(nodeBuf);
}

/// head = H(0x02 ‖ u64be(id) ‖ u64be(first_index) ‖ u64be(count) ‖ root)
export const batchHead = (id, firstIndex, count, root) =>
  toHex(sha256(concat([2], u64be(id), u64be(firstIndex), u64be(count), fromHex(root))));

/// content commitment = H(salt ‖ UTF-8 content)
export const contentCommitment = (salt, content) =>
  toHex(sha256(concat(fromHex(salt), new TextEncoder().encode(content))));

export const keccak = (bytes) => keccak_256(bytes);

/// EIP-191 personal_sign digest of a message.
export function eip191Digest(message) {
  const prefix = new TextEncoder().encode(`\x19Ethereum Signed Message:\n${message.length}`);
  return keccak_256(concat(prefix, message));
}

export { concat };
