// Bundle v2 for the tests (PROTOCOL §15.4): a bundle whose batches carry
// head v2 over a ticket map, with the ticket's map proof at a batch. The
// roots come from web/src/map.js's reference (mapRootOf); the proofs from a
// prover written here from §15.2, checked against the vectors in
// map.test.mjs. Not a test file itself (node --test runs it, finding none).
import { batchHead } from "../../src/hash.js";
import { EMPTY_MAP_ROOT, headV2, mapKey, mapLeaf, mapNode, mapRootOf } from "../../src/map.js";

const bit = (key, depth) => (parseInt(key.slice(2 + (depth >> 2), 3 + (depth >> 2)), 16) >> (3 - (depth & 3))) & 1;

// The subtree at `depth` over entries sharing their first `depth` bits
// (mapRootOf starts at depth 0, so it gives only the whole map's root).
function subtree(entries, depth) {
  if (entries.length === 0) return EMPTY_MAP_ROOT;
  if (entries.length === 1) return entries[0][1];
  const side = (s) => entries.filter(([k]) => bit(k, depth) === s);
  return mapNode(subtree(side(0), depth + 1), subtree(side(1), depth + 1));
}

/// The proof for `key` over (key, leaf) entries, with `tips` (key → tip)
/// for the terminal: walk down the key's path while its side holds two
/// entries or more (a node); each sibling is the other side's subtree (null
/// when empty). The last node split two entries or more, so the lowest
/// sibling is never null: the one canonical form.
export function proveKey(entries, tips, key) {
  let here = entries;
  const siblings = [];
  let depth = 0;
  while (here.length > 1) {
    const mine = here.filter(([k]) => bit(k, depth) === bit(key, depth));
    const other = here.filter(([k]) => bit(k, depth) !== bit(key, depth));
    const s = subtree(other, depth + 1);
    siblings.unshift(s === EMPTY_MAP_ROOT ? null : s);
    here = mine;
    depth++;
  }
  let terminal;
  if (here.length === 0) terminal = { kind: "empty" };
  else if (here[0][0] === key) terminal = { kind: "tip", tip: tips.get(key) };
  else terminal = { kind: "other", key: here[0][0], tip: tips.get(here[0][0]) };
  return { siblings, terminal };
}

/// Other tickets in the map, so that the proof has siblings.
export const OTHERS = Array.from({ length: 7 }, (_, i) => "tk_" + (0xabc0 + i).toString(16).padStart(32, "0"));
const otherTip = (i, batch, index) => ({ seq: batch, leaf: "0x" + (i + 1).toString(16).padStart(2, "0").repeat(32), index, batch });

/// One batch per event (a one-leaf tree: root = leaf, path empty), v1 heads.
export function anchorEach(b) {
  b.batches = b.events.map((e, i) => {
    const index = e.record.index;
    return { id: i, first_index: index, count: 1, root: e.leaf, head: batchHead(i, index, 1, e.leaf), status: "final", block: 10 + i, tx: null };
  });
  b.events.forEach((e, i) => { e.batch = i; e.path = []; });
  return b;
}

/// Makes `b` (anchorEach's shape) a bundle v2: batches from `v2From` on get
/// the map root after them and a head v2, and `trailing` batches follow the
/// ticket's, each moving another ticket's tip. The map proof is at batch
/// `mapAt` (the last batch by default). Returns `b`, with `maps`: batch id →
/// {entries, tips}, for proofs at other batches.
export function asV2(b, { v2From = 0, mapAt = null, trailing = 0 } = {}) {
  const tips = new Map(OTHERS.map((h, i) => [mapKey(h), otherTip(i, 0, 1_000_000 + i)]));
  const ticket = mapKey(b.ticket);
  for (let k = 0; k < trailing; k++) {
    const id = b.batches.length;
    const leaf = "0x" + (0x40 + k).toString(16).repeat(32);
    b.batches.push({ id, first_index: 2_000_000 + k, count: 1, root: leaf, head: null, status: "final", block: 10 + id, tx: null });
  }
  const maps = new Map();
  for (const x of b.batches) {
    const mine = b.events.findIndex((e) => e.batch === x.id);
    if (mine >= 0) tips.set(ticket, { seq: mine, leaf: b.events[mine].leaf, index: b.events[mine].record.index, batch: x.id });
    else {
      const i = x.id % OTHERS.length;
      tips.set(mapKey(OTHERS[i]), otherTip(i, x.id, x.first_index));
    }
    const entries = [...tips].map(([k, tip]) => [k, mapLeaf(k, tip)]);
    maps.set(x.id, { entries, tips: new Map(tips) });
    if (x.id >= v2From) {
      x.map_root = mapRootOf(entries);
      x.head = headV2(x.id, x.first_index, x.count, x.root, x.map_root);
    } else {
      delete x.map_root;
      x.head = batchHead(x.id, x.first_index, x.count, x.root);
    }
  }
  b.version = 2;
  const at = mapAt ?? b.batches.at(-1).id;
  b.map = mapProofAt(maps, b.ticket, at);
  Object.defineProperty(b, "maps", { value: maps, enumerable: false });
  return b;
}

/// The ticket's map member at batch `at`, as a bundle carries it: an
/// inclusion's terminal repeats nothing.
export function mapProofAt(maps, ticket, at) {
  const m = maps.get(at);
  const p = proveKey(m.entries, m.tips, mapKey(ticket));
  return { batch: at, siblings: p.siblings, terminal: p.terminal.kind === "tip" ? { kind: "tip" } : p.terminal };
}

/// An absence bundle (PROTOCOL §15.4): what the log serves for
/// `base.ticket`, a handle it never created (`base` gives the chain, policy
/// and MMD), once batch B (the last of `batches` batches, each moving
/// another ticket's tip) is final: version 2, no events, B's entry alone,
/// and the map proof of the handle's absence at B. `b.maps` as asV2 gives it.
export function absenceBundle(base, { batches = 3 } = {}) {
  const b = asV2({ ...base, version: 2, batches: [], events: [] }, { trailing: batches });
  b.batches = b.batches.slice(-1);
  return b;
}
