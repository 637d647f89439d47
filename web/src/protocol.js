// Protocol v1 (docs/PROTOCOL.md §2–§4, §7, §9, §10), written independently
// of the Rust code: record acceptance, the ticket state machine, and
// RFC 9162 inclusion proofs. Pure functions, no I/O.

import { canonicalBytes } from "./canonical.js";
import { isObject, isUint } from "./json.js";
import { fromHex, isHash, leafHash, nodeHash, nodeHashBytes, toHex, ZERO_HASH } from "./hash.js";

export const ROLES = ["customer", "agent", "system", "bot", "integration"];
export const CHANNELS = ["email", "web", "chat", "phone", "sms", "social", "api"];
export const PRIORITIES = ["low", "normal", "high", "urgent"];
export const STATUSES = ["new", "open", "pending", "on_hold", "solved", "closed"];
export const EVENT_TYPES = [
  "ticket.created", "ticket.acknowledged", "message.added", "ticket.assigned",
  "priority.changed", "status.changed", "ticket.escalated", "ticket.resolved",
  "ticket.reopened", "ticket.closed", "satisfaction.rated", "final_response.issued",
];
const RECORD_KEYS = ["actor", "channel", "content", "data", "index", "occurred_at", "prev", "recorded_at", "seq", "ticket", "type", "v"];

export class RecordError extends Error {}

export const isHandle = (s) => typeof s === "string" && /^tk_[0-9a-f]{32}$/.test(s);
export const isAddress = (s) => typeof s === "string" && /^0x[0-9a-fA-F]{40}$/.test(s);

/// Milliseconds since the epoch of a timestamp in its one spelling (§2.2), or null.
export function timestampMillis(s) {
  if (typeof s !== "string" || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/.test(s)) return null;
  const ms = Date.parse(s);
  if (!Number.isFinite(ms) || ms < 0) return null;
  // Rolled-over dates (Feb 30, :60 seconds) do not print back the same.
  if (new Date(ms).toISOString() !== s) return null;
  return ms;
}

const isRef = (s) => typeof s === "string" && s.length >= 1 && s.length <= 128 && /^[\x21-\x3f\x41-\x7e]+$/.test(s);
const isCode = (s) => typeof s === "string" && s.length >= 1 && s.length <= 64 && /^[a-z0-9][a-z0-9_.:-]*$/.test(s);
const isU8 = (v) => isUint(v) && v <= 255;
const oneOf = (list) => (v) => typeof v === "string" && list.includes(v);
const nullOr = (f) => (v) => v === null || f(v);
const isBool = (v) => typeof v === "boolean";

function checkLabels(v) {
  if (!isObject(v)) return "labels must be an object";
  const names = Object.keys(v);
  if (names.length > 16) return `at most 16 labels, got ${names.length}`;
  for (const k of names) {
    if (!isCode(k)) return `label name ${JSON.stringify(k)} is not a code`;
    const val = v[k];
    if (typeof val !== "string") return `label ${JSON.stringify(k)} must be a string`;
    const chars = [...val].length;
    if (chars < 1 || chars > 200) return `label ${JSON.stringify(k)} must be 1 to 200 characters, got ${chars}`;
  }
  return null;
}

// Every member a type's data carries, with its check (§4).
const DATA = {
  "ticket.created": { category: isCode, priority: oneOf(PRIORITIES), complaint: isBool, labels: () => true },
  "ticket.acknowledged": {},
  "message.added": { direction: oneOf(["inbound", "outbound"]), visibility: oneOf(["public", "internal"]) },
  "ticket.assigned": { assignee: isRef, group: nullOr(isCode) },
  "priority.changed": { from: oneOf(PRIORITIES), to: oneOf(PRIORITIES) },
  "status.changed": { from: oneOf(STATUSES), to: oneOf(STATUSES) },
  "ticket.escalated": { level: isU8, reason: isCode },
  "ticket.resolved": { resolution: isCode },
  "ticket.reopened": { reason: nullOr(isCode) },
  "ticket.closed": {},
  "satisfaction.rated": { score: isU8, scale: isU8 },
  "final_response.issued": { outcome: isCode, referral_rights: isBool },
};

// Protocol v2 (§4.1): a v2 record is a v1 record, but a rating names the
// survey it answers; an NPS answer is on the 0-10 scale.
const DATA_V2 = {
  ...DATA,
  "satisfaction.rated": { score: isU8, scale: isU8, survey: oneOf(["csat", "nps"]) },
};

function closed(obj, spec, what) {
  if (!isObject(obj)) throw new RecordError(`${what} must be a JSON object`);
  const keys = Object.keys(obj);
  for (const k of keys) if (!(k in spec)) throw new RecordError(`${what} has an unknown member ${JSON.stringify(k)}`);
  for (const k of Object.keys(spec)) {
    if (!keys.includes(k)) throw new RecordError(`${what} is missing member ${JSON.stringify(k)}`);
    if (!spec[k](obj[k])) throw new RecordError(`${what}: member ${JSON.stringify(k)} has an invalid value ${short(obj[k])}`);
  }
}

function short(v) {
  try {
    const s = typeof v === "string" ? JSON.stringify(v) : JSON.stringify(v) ?? String(v);
    return s.length > 80 ? s.slice(0, 80) + "…" : s;
  } catch {
    return "?";
  }
}

/// Accepts a record per §3 or throws a RecordError with the reason.
/// Returns { record, canonical, leaf, recordedMs, occurredMs }.
export function acceptRecord(r) {
  if (!isObject(r)) throw new RecordError("the record is not a JSON object");
  // Canonicalisable first: non-integers and unsafe integers have no leaf.
  let canonical;
  try {
    canonical = canonicalBytes(r);
  } catch (e) {
    throw new RecordError(`the record is not canonicalisable: ${e.message}`);
  }
  const keys = Object.keys(r);
  for (const k of keys) if (!RECORD_KEYS.includes(k)) throw new RecordError(`the record has an unknown member ${JSON.stringify(k)}`);
  for (const k of RECORD_KEYS) if (!keys.includes(k)) throw new RecordError(`the record is missing member ${JSON.stringify(k)}`);
  for (const k of ["v", "index", "seq"]) if (!isUint(r[k])) throw new RecordError(`${k} must be a non-negative integer`);
  if (r.v !== 1 && r.v !== 2) throw new RecordError(`record version ${r.v} is not supported (this verifier knows v1 and v2)`);
  if (!isHandle(r.ticket)) throw new RecordError("ticket must be tk_ followed by 32 lowercase hex digits");
  if (!isHash(r.prev)) throw new RecordError("prev must be 0x followed by 64 lowercase hex digits");
  if (!EVENT_TYPES.includes(r.type)) throw new RecordError(`unknown event type ${short(r.type)}`);
  closed(r.actor, { role: oneOf(ROLES), ref: isRef }, "actor");
  if (!CHANNELS.includes(r.channel)) throw new RecordError(`unknown channel ${short(r.channel)}`);
  const occurredMs = timestampMillis(r.occurred_at);
  const recordedMs = timestampMillis(r.recorded_at);
  if (occurredMs === null) throw new RecordError("occurred_at is not a timestamp like 2025-03-01T09:30:00.000Z");
  if (recordedMs === null) throw new RecordError("recorded_at is not a timestamp like 2025-03-01T09:30:00.000Z");
  if (r.content !== null && !isHash(r.content)) throw new RecordError("content must be null or a 32-byte commitment");
  if (r.seq > r.index) throw new RecordError(`seq ${r.seq} is above its global index ${r.index}`);
  if ((r.seq === 0) !== (r.prev === ZERO_HASH)) {
    throw new RecordError(`seq ${r.seq} with prev ${r.prev}: seq 0 has the zero prev and no other seq does`);
  }
  closed(r.data, (r.v === 2 ? DATA_V2 : DATA)[r.type], `data of ${r.type}`);
  if (r.type === "ticket.created") {
    const bad = checkLabels(r.data.labels);
    if (bad) throw new RecordError(`data of ticket.created: ${bad}`);
  }
  if (r.type === "ticket.escalated" && r.data.level === 0) throw new RecordError("data of ticket.escalated: level starts at 1");
  if (r.type === "satisfaction.rated") {
    if (r.data.scale === 0 || r.data.scale > 100) throw new RecordError(`data of satisfaction.rated: scale must be 1 to 100, got ${r.data.scale}`);
    if (r.data.score > r.data.scale) throw new RecordError(`data of satisfaction.rated: score ${r.data.score} is above the scale ${r.data.scale}`);
    if (r.data.survey === "nps" && r.data.scale !== 10) throw new RecordError(`data of satisfaction.rated: an NPS answer is on the 0-10 scale: scale must be 10, got ${r.data.scale}`);
  }
  return { record: r, canonical, leaf: leafHash(canonical), recordedMs, occurredMs };
}

/// The state machine (§10). Returns the next state or throws an Error with the reason.
export function startState(r) {
  if (r.type !== "ticket.created") throw new Error(`the first event of a ticket must be ticket.created, not ${r.type}`);
  return {
    status: "new", priority: r.data.priority, complaint: r.data.complaint, acknowledged: false,
    escalation_level: 0, resolution: null, final_response: null,
  };
}

export function applyEvent(s, r, policy) {
  const d = r.data;
  const st = s.status;
  if (st === "closed" && r.type !== "ticket.reopened" && r.type !== "satisfaction.rated") {
    throw new Error(`${r.type} is not accepted on a closed ticket`);
  }
  const n = { ...s };
  switch (r.type) {
    case "ticket.created":
      throw new Error("ticket.created can only be a ticket's first event");
    case "ticket.acknowledged":
      if (s.acknowledged) throw new Error("the ticket was already acknowledged");
      n.acknowledged = true;
      break;
    case "message.added":
    case "ticket.assigned":
      break;
    case "final_response.issued":
      n.final_response = d.outcome;
      break;
    case "priority.changed":
      if (d.from !== s.priority) throw new Error(`priority.changed claims from=${d.from} but the ticket's priority is ${s.priority}`);
      if (d.to === d.from) throw new Error(`priority.changed from ${d.to} to ${d.to} changes nothing`);
      n.priority = d.to;
      break;
    case "status.changed":
      if (d.from !== st) throw new Error(`status.changed claims from=${d.from} but the ticket is ${st}`);
      if (d.to === "solved") throw new Error("status.changed cannot move to solved: use ticket.resolved");
      if (d.to === "closed") throw new Error("status.changed cannot move to closed: use ticket.closed");
      if (st === "solved") throw new Error("status.changed cannot leave solved: a solved ticket is reopened with ticket.reopened");
      if (d.to === "new" && st !== "new") throw new Error(`status.changed cannot move a ticket back to new (it is ${st})`);
      if (d.to === st) throw new Error(`status.changed from ${st} to ${st} changes nothing`);
      n.status = d.to;
      break;
    case "ticket.escalated":
      if (d.level <= s.escalation_level) throw new Error(`escalation level ${d.level} is not above the current level ${s.escalation_level}`);
      n.escalation_level = d.level;
      break;
    case "ticket.resolved":
      if (st === "solved" || st === "closed") throw new Error(`ticket.resolved needs an unresolved ticket, but it is ${st}`);
      n.status = "solved";
      n.resolution = d.resolution;
      break;
    case "ticket.reopened":
      if (st === "closed" && !policy.reopen_closed) throw new Error("this ticket is closed and the policy does not allow reopening closed tickets");
      if (st !== "solved" && st !== "closed") throw new Error(`ticket.reopened needs a solved or closed ticket, but it is ${st}`);
      n.status = "open";
      n.resolution = null;
      break;
    case "ticket.closed":
      if (st !== "solved") throw new Error(`ticket.closed needs a solved ticket (resolve it first), but it is ${st}`);
      n.status = "closed";
      break;
    case "satisfaction.rated":
      if (st !== "solved" && st !== "closed") throw new Error(`satisfaction.rated needs a solved or closed ticket, but it is ${st}`);
      break;
    default:
      throw new Error(`unknown event type ${r.type}`);
  }
  return n;
}

/// RFC 9162 §2.1.3.2 (§9): the root a leaf and its path lead to, or throws.
export function rootFromPath(leaf, position, size, path) {
  if (size === 0) throw new Error("tree size is 0");
  if (position >= size) throw new Error(`position ${position} is outside a tree of ${size} leaves`);
  if (path.length > 32) throw new Error(`audit path has ${path.length} hashes, more than a tree can need`);
  // BigInt: positions and sizes may exceed 32 bits, where JS bit operators wrap.
  let fn = BigInt(position);
  let sn = BigInt(size) - 1n;
  let r = fromHex(leaf);
  for (const hex of path) {
    if (sn === 0n) throw new Error(`audit path has ${path.length} hashes, more than a tree of ${size} leaves can need`);
    const p = fromHex(hex);
    if ((fn & 1n) === 1n || fn === sn) {
      r = nodeHashBytes(p, r);
      if ((fn & 1n) === 0n) {
        while ((fn & 1n) === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = nodeHashBytes(r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  if (sn !== 0n) throw new Error(`audit path has ${path.length} hashes, fewer than position ${position} in a tree of ${size} leaves needs`);
  return toHex(r);
}

/// RFC 6962 Merkle tree hash of a list of leaf hashes (for the conformance run).
export function merkleRoot(leaves) {
  let level = leaves.slice();
  if (level.length === 0) throw new Error("empty tree");
  while (level.length > 1) {
    const next = [];
    for (let i = 0; i < level.length; i += 2) next.push(i + 1 < level.length ? nodeHash(level[i], level[i + 1]) : level[i]);
    level = next;
  }
  return level[0];
}

/// RFC 6962 §2.1.1 audit path (for the conformance run).
export function auditPath(m, leaves) {
  const n = leaves.length;
  if (n <= 1) return [];
  let k = 1;
  while (k * 2 < n) k *= 2;
  return m < k
    ? [...auditPath(m, leaves.slice(0, k)), merkleRoot(leaves.slice(k))]
    : [...auditPath(m - k, leaves.slice(k)), merkleRoot(leaves.slice(0, k))];
}
