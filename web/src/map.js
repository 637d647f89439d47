// The ticket map of head v2 (docs/PROTOCOL.md §15), written from the text
// independently of protocol/src/map.rs: the map's hashes, its reference
// root, head v2, and the check of a map proof. Pure functions, no I/O.
// verify.js uses it for bundle v2: a batch's head v2 and anchored root, and
// the ticket's map proof at batch B, whose tip must be the bundle's last
// anchored record for the history to be complete as of B (§15.4).
//
// Hashes are 0x-hex strings at the edges, as everywhere in web/src; a proof
// is walked in bytes and converted to hex once at the end.

import { sha256 } from "@noble/hashes/sha2.js";
import { batchHead, concat, fromHex, isHash, toHex, ZERO_HASH } from "./hash.js";
import { isObject, isUint } from "./json.js";
import { isHandle } from "./protocol.js";

const MAP_LEAF = 0x04;
const MAP_NODE = 0x05;
const HEAD_V2_ROOT = 0x06;

/// The root of an empty subtree and of the empty map (§15.2).
export const EMPTY_MAP_ROOT = ZERO_HASH;
const EMPTY = new Uint8Array(32);

/// Keys have 256 bits, so no path is longer.
export const MAX_MAP_DEPTH = 256;

/// A refused proof or input. `reason` is a stable code (the Rust
/// reference's MapError variants, in snake case), so a caller can turn it
/// into a finding the way verify.js names its findings; `message` says why.
export class MapError extends Error {
  constructor(reason, message) {
    super(message);
    this.reason = reason;
  }
}

const refuse = (reason, message) => {
  throw new MapError(reason, message);
};

const U64_MAX = (1n << 64n) - 1n;

// u64be as hash.js writes it, but refusing what setBigUint64 would wrap:
// a negative or too large value must not encode as some other tip.
function u64be(n, what) {
  const ok = isUint(n) || (typeof n === "bigint" && n >= 0n && n <= U64_MAX);
  if (!ok) refuse("malformed", `${what} is not a u64`);
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

function hashArg(h, what) {
  if (!isHash(h)) refuse("malformed", `${what} is not 0x followed by 64 lowercase hex digits`);
  return fromHex(h);
}

/// Bit `depth` of a key: bit 0 is the most significant bit of byte 0.
const keyBit = (key, depth) => (key[depth >> 3] >> (7 - (depth & 7))) & 1;

function keyBytes(handle) {
  if (!isHandle(handle)) refuse("malformed", "the ticket is not a handle (tk_ + 32 lowercase hex digits)");
  // A handle is ASCII, so its UTF-8 bytes are its ASCII bytes.
  return sha256(new TextEncoder().encode(handle));
}

/// key = H(ASCII(handle))
export const mapKey = (handle) => toHex(keyBytes(handle));

/// u64be(seq) ‖ leaf ‖ u64be(index) ‖ u64be(batch): 56 bytes.
export function tipBytes(tip) {
  if (!isObject(tip)) refuse("malformed", "the tip is not an object");
  return concat(u64be(tip.seq, "the tip's seq"), hashArg(tip.leaf, "the tip's leaf"),
    u64be(tip.index, "the tip's index"), u64be(tip.batch, "the tip's batch"));
}

const leafBytes = (key, tip) => sha256(concat([MAP_LEAF], key, tipBytes(tip)));

// One buffer for every node of a walk: a proof hashes up to 256 of them.
const nodeBuf = new Uint8Array(65);
function nodeBytes(left, right) {
  nodeBuf[0] = MAP_NODE;
  nodeBuf.set(left, 1);
  nodeBuf.set(right, 33);
  return sha256(nodeBuf);
}

/// map leaf = H(0x04 ‖ key ‖ tip encoding)
export const mapLeaf = (key, tip) => toHex(leafBytes(hashArg(key, "the key"), tip));

/// map node = H(0x05 ‖ left ‖ right); either child may be Empty.
export const mapNode = (left, right) => toHex(nodeBytes(hashArg(left, "the left child"), hashArg(right, "the right child")));

/// anchored root = H(0x06 ‖ log root ‖ map root): what a head v2 anchors in
/// place of the log root, so the contract's anchor() does not change (§15.3).
export const anchoredRootV2 = (logRoot, mapRoot) =>
  toHex(sha256(concat([HEAD_V2_ROOT], hashArg(logRoot, "the log root"), hashArg(mapRoot, "the map root"))));

/// head v2 = the v1 head (§6) over the anchored root.
export const headV2 = (batchId, firstIndex, count, logRoot, mapRoot) =>
  batchHead(batchId, firstIndex, count, anchoredRootV2(logRoot, mapRoot));

// The subtree at `depth` over entries sharing their first `depth` bits:
// Empty for none, the entry's own leaf for one (single entries are not
// extended down to depth 256), else the node over both halves.
function subtreeRoot(entries, depth) {
  if (entries.length === 0) return EMPTY;
  if (entries.length === 1) return entries[0].leaf;
  const left = entries.filter((e) => keyBit(e.key, depth) === 0);
  const right = entries.filter((e) => keyBit(e.key, depth) === 1);
  return nodeBytes(subtreeRoot(left, depth + 1), subtreeRoot(right, depth + 1));
}

/// The reference map root over (key, leaf) pairs, in any order (§15.2): the
/// shape depends only on the set of keys. For replays and tests; a verifier
/// of one ticket checks a proof instead.
export function mapRootOf(entries) {
  const seen = new Set();
  const list = [];
  for (const [key, leaf] of entries) {
    // Two entries with one key never part: the split would not end.
    if (seen.has(key)) refuse("malformed", `the key ${key} is given twice`);
    seen.add(key);
    list.push({ key: hashArg(key, "an entry's key"), leaf: hashArg(leaf, "an entry's leaf") });
  }
  return toHex(subtreeRoot(list, 0));
}

// Exactly these members, as readBundle reads a bundle: a proof has one
// spelling, and a member this verifier ignores could be one another reads.
function exact(obj, members, what) {
  if (!isObject(obj)) refuse("malformed", `${what} is not an object`);
  for (const k of Object.keys(obj)) {
    if (!members.includes(k)) refuse("malformed", `${what} has an unknown member ${JSON.stringify(k)}`);
  }
  for (const k of members) if (!(k in obj)) refuse("malformed", `${what} is missing ${JSON.stringify(k)}`);
}

function readTip(tip, what) {
  exact(tip, ["seq", "leaf", "index", "batch"], what);
  for (const k of ["seq", "index", "batch"]) {
    if (!isUint(tip[k])) refuse("malformed", `${what}'s ${k} is not a non-negative integer`);
  }
  if (!isHash(tip.leaf)) refuse("malformed", `${what}'s leaf is not a 32-byte hash`);
  return { seq: tip.seq, leaf: tip.leaf, index: tip.index, batch: tip.batch };
}

// Step 1 of §15.4: the length and the one canonical form. The length is
// checked before any sibling is read, so an oversized proof costs nothing.
function readSiblings(siblings) {
  if (!Array.isArray(siblings)) refuse("malformed", "the proof's siblings are not a list");
  const n = siblings.length;
  if (n > MAX_MAP_DEPTH) refuse("too_deep", `the proof is ${n} levels deep; keys have 256 bits`);
  siblings.forEach((s, i) => {
    if (s !== null && !isHash(s)) refuse("malformed", `sibling ${i} is neither null nor a 32-byte hash`);
  });
  // A leaf or an Empty subtree alone under its parent stands in the
  // parent's place, so a real lowest sibling is never Empty.
  if (n > 0 && siblings[0] === null) {
    refuse("not_canonical", "the proof is not in its one canonical form: an entry or an empty subtree alone under its parent stands in the parent's place, so the lowest sibling cannot be empty");
  }
  return siblings.map((s) => (s === null ? EMPTY : fromHex(s)));
}

const sharesPrefix = (a, b, bits) => {
  for (let d = 0; d < bits; d++) if (keyBit(a, d) !== keyBit(b, d)) return false;
  return true;
};

// Step 2 of §15.4: the hash where the key's path ends, and what it proves.
function readTerminal(t, key, n) {
  if (!isObject(t)) refuse("malformed", "the proof's terminal is not an object");
  if (t.kind === "tip") {
    exact(t, ["kind", "tip"], "the tip terminal");
    const tip = readTip(t.tip, "the terminal's tip");
    return { h: leafBytes(key, tip), result: { tip } };
  }
  if (t.kind === "empty") {
    exact(t, ["kind"], "the empty terminal");
    return { h: EMPTY, result: { absent: true } };
  }
  if (t.kind === "other") {
    exact(t, ["kind", "key", "tip"], "the other terminal");
    const other = hashArg(t.key, "the other entry's key");
    const tip = readTip(t.tip, "the other entry's tip");
    if (t.key === toHex(key)) {
      refuse("other_is_the_key", "the other entry has the proven key itself; that is an inclusion, not an absence");
    }
    // Off the path, its leaf would prove nothing about this key: the
    // key's own entry could sit elsewhere under the same root.
    if (!sharesPrefix(other, key, n)) {
      refuse("other_off_path", `the other entry's key does not share the first ${n} bits of the proven key, so it does not sit on its path`);
    }
    return { h: leafBytes(other, tip), result: { absent: true } };
  }
  refuse("unknown_terminal", `the terminal's kind ${JSON.stringify(t.kind)} is not tip, empty or other`);
}

/// Checks a map proof {siblings, terminal} for `handle` against the map
/// root `root` (§15.4). Returns {tip} when the map holds the handle's tip,
/// {absent: true} when it proves the handle absent; throws a MapError with
/// the reason otherwise.
export function verifyMapProof(root, handle, proof) {
  hashArg(root, "the map root");
  const key = keyBytes(handle);
  exact(proof, ["siblings", "terminal"], "the map proof");
  const siblings = readSiblings(proof.siblings);
  const n = siblings.length;
  const end = readTerminal(proof.terminal, key, n);
  let h = end.h;
  // Step 3: siblings[i] sits at level n − 1 − i, on the side the key's bit
  // at that level does not take.
  for (let i = 0; i < n; i++) {
    const s = siblings[i];
    h = keyBit(key, n - 1 - i) === 1 ? nodeBytes(s, h) : nodeBytes(h, s);
  }
  const computed = toHex(h);
  if (computed !== root) {
    refuse("root_mismatch", `the proof leads to root ${computed}, not to the map root ${root}`);
  }
  return end.result;
}
