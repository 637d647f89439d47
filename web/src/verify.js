// The whole verification of a proof bundle (docs/PROTOCOL.md §13 and the
// rules `proofdesk verify` follows, docs/VERIFIER.md): offline checks, then
// the chain through the user's own RPC, then receipts and disclosures.
// No DOM here: the page renders the report this returns, and the tests read
// it as JSON.
//
// Every finding is {key, p} (a message key and its parameters), so the page
// can say it in English or Chinese; `say()` in i18n.js renders it.
//
// Bundle v2 (§15.4) adds the ticket's map proof at a batch B: once it holds
// and B is anchored with the bundle's head v2, the history is complete as
// of B (protocol/src/bundle_map.rs, verify/src/assemble.rs).
//
// An absence bundle is a bundle v2 with no events whose map proof shows
// the ticket absent at a batch B (terminal `empty` or `other`): the log's
// answer for a handle it never created. Once B is anchored with its head
// v2, the ticket map holds no record of the handle as of B: the verdict
// `absent`.

import { parseStrict, isObject, isUint, JsonError } from "./json.js";
import { batchHead, contentCommitment, isHash, ZERO_HASH } from "./hash.js";
import { acceptRecord, applyEvent, isAddress, isHandle, rootFromPath, startState } from "./protocol.js";
import { anchoredRootV2, headV2, MapError, verifyMapProof } from "./map.js";
import { BATCH_ANCHORED_TOPIC, hexQty, Rpc, RpcError, word } from "./chain.js";
import { readSignedReceipt, receiptSigner } from "./receipt.js";
import { entriesFor } from "./deployments.js";

/// How far around a batch's claimed block the BatchAnchored log is searched
/// (each eth_getLogs range at most this wide: public RPCs refuse wide ones).
export const LOG_WINDOW = 1000;
/// Pauses before asking again for a batch whose head is on chain but whose
/// BatchAnchored event the node did not return: a node can answer at its
/// tip from two states (anvil answers eth_call from the block it is mining;
/// a provider's backends can index logs behind their state). As
/// verify/src/onchain.rs.
const LOG_INDEX_PAUSES_MS = [200, 500, 1000];

const f = (key, p = {}) => ({ key, p });

class ShapeError extends Error {}

function exact(obj, required, optional, what) {
  if (!isObject(obj)) throw new ShapeError(`${what} is not an object`);
  for (const k of Object.keys(obj)) {
    if (!required.includes(k) && !optional.includes(k)) throw new ShapeError(`${what} has an unknown member ${JSON.stringify(k)}`);
  }
  for (const k of required) if (!(k in obj)) throw new ShapeError(`${what} is missing ${JSON.stringify(k)}`);
}

function need(ok, what) {
  if (!ok) throw new ShapeError(what);
}

/// The bundle's structure (§13, §15.4), as strictly as the CLI reads it.
/// `map` and a batch's `map_root` are absent or null when the bundle has
/// none (as serde reads an Option); both come back as null.
export function readBundle(text) {
  const b = parseStrict(text);
  exact(b, ["version", "ticket", "chain", "max_merge_delay_ms", "policy", "batches", "events"], ["map"], "the bundle");
  need(isUint(b.version), "version is not an integer");
  need(isHandle(b.ticket), "ticket is not a handle (tk_ + 32 lowercase hex digits)");
  exact(b.chain, ["chain_id", "contract", "anchorer"], [], "chain");
  need(isUint(b.chain.chain_id), "chain.chain_id is not an integer");
  need(isAddress(b.chain.contract), "chain.contract is not an address");
  need(isAddress(b.chain.anchorer), "chain.anchorer is not an address");
  need(isUint(b.max_merge_delay_ms), "max_merge_delay_ms is not an integer");
  exact(b.policy, ["reopen_closed"], [], "policy");
  need(typeof b.policy.reopen_closed === "boolean", "policy.reopen_closed is not a boolean");
  need(Array.isArray(b.batches), "batches is not a list");
  b.batches.forEach((x, i) => {
    exact(x, ["id", "first_index", "count", "root", "head", "status"], ["tx", "block", "map_root"], `batches[${i}]`);
    for (const k of ["id", "first_index", "count"]) need(isUint(x[k]), `batches[${i}].${k} is not an integer`);
    need(isHash(x.root) && isHash(x.head), `batches[${i}] root/head are not 32-byte hashes`);
    need(x.map_root === undefined || x.map_root === null || isHash(x.map_root), `batches[${i}].map_root is not a 32-byte hash`);
    if (x.map_root === undefined) x.map_root = null;
    need(x.tx === undefined || x.tx === null || isHash(x.tx), `batches[${i}].tx is not a hash`);
    need(x.block === undefined || x.block === null || isUint(x.block), `batches[${i}].block is not an integer`);
    need(typeof x.status === "string", `batches[${i}].status is not a string`);
  });
  need(Array.isArray(b.events), "events is not a list");
  b.events.forEach((e, i) => {
    exact(e, ["record", "leaf", "path"], ["batch"], `events[${i}]`);
    need(isHash(e.leaf), `events[${i}].leaf is not a 32-byte hash`);
    need(e.batch === undefined || e.batch === null || isUint(e.batch), `events[${i}].batch is not an integer`);
    need(Array.isArray(e.path) && e.path.every(isHash), `events[${i}].path is not a list of hashes`);
    if (e.batch === undefined) e.batch = null;
  });
  if (b.map === undefined) b.map = null;
  if (b.map !== null) readMap(b.map);
  return b;
}

// The map member {batch, siblings, terminal} (protocol/src/bundle_map.rs).
// An inclusion's terminal repeats nothing: its tip is the bundle's own last
// anchored record, so {"kind": "tip"} has no other member.
function readMap(m) {
  exact(m, ["batch", "siblings", "terminal"], [], "map");
  need(isUint(m.batch), "map.batch is not an integer");
  need(Array.isArray(m.siblings) && m.siblings.every((s) => s === null || isHash(s)), "map.siblings is not a list of hashes and nulls");
  const t = m.terminal;
  need(isObject(t), "map.terminal is not an object");
  if (t.kind === "tip" || t.kind === "empty") {
    exact(t, ["kind"], [], `map.terminal (${t.kind})`);
  } else if (t.kind === "other") {
    exact(t, ["kind", "key", "tip"], [], "map.terminal (other)");
    need(isHash(t.key), "map.terminal.key is not a 32-byte hash");
    exact(t.tip, ["seq", "leaf", "index", "batch"], [], "map.terminal.tip");
    for (const k of ["seq", "index", "batch"]) need(isUint(t.tip[k]), `map.terminal.tip.${k} is not an integer`);
    need(isHash(t.tip.leaf), "map.terminal.tip.leaf is not a 32-byte hash");
  } else {
    throw new ShapeError(`map.terminal.kind ${JSON.stringify(t.kind)} is not tip, empty or other`);
  }
}

/// The head a batch's fields give: head v2 when it carries a map root (§15.3).
const headOf = (x) =>
  x.map_root === null ? batchHead(x.id, x.first_index, x.count, x.root) : headV2(x.id, x.first_index, x.count, x.root, x.map_root);

/// The root its anchor() call carried and its BatchAnchored event gives
/// back: the log root (v1), or H(0x06 ‖ log root ‖ map root) (v2).
const anchoredRoot = (x) => (x.map_root === null ? x.root : anchoredRootV2(x.root, x.map_root));

/// Findings on the bundle's version and its batches' head versions: v1
/// carries no ticket map, v2 may (§15.4); a log switches to head v2 once,
/// so no v1 batch follows a v2 one (bundle.rs, bundle_map.rs).
function versionFindings(b) {
  const out = [];
  if (b.version === 1) {
    const withRoot = b.batches.find((x) => x.map_root !== null);
    if (b.map !== null) out.push(f("v1_map"));
    else if (withRoot) out.push(f("v1_map_root", { id: withRoot.id }));
  } else if (b.version !== 2) {
    out.push(f("bundle_version", { v: b.version }));
  }
  // Lowest ids by a loop, not Math.min(...): a bundle can list 100,000 batches.
  const lowest = (keep) => b.batches.reduce((m, x) => (keep(x) && (m === null || x.id < m) ? x.id : m), null);
  const firstV2 = lowest((x) => x.map_root !== null);
  const lateV1 = firstV2 === null ? null : lowest((x) => x.map_root === null && x.id > firstV2);
  if (lateV1 !== null) out.push(f("head_version_order", { id: lateV1, first: firstV2 }));
  return out;
}

/// Whether the bundle is an absence bundle (see the top of this file): v2,
/// no events, and a map member whose terminal proves absence. Only then is
/// a bundle with no events read further than `no_events`; the proof itself
/// is checked by checkMap like any other.
const isAbsenceBundle = (b) =>
  b.version === 2 && b.events.length === 0 && b.map !== null &&
  (b.map.terminal.kind === "empty" || b.map.terminal.kind === "other");

/// Checks bundle v2's map proof against batch B's map root, offline
/// (bundle_map.rs check_map): {batch, tip_seq} once it holds (tip_seq null:
/// the map proves the ticket absent at B), else null with the finding in
/// `problems`. `events` are the report's events (their index, if readable).
function checkMap(b, batches, events, problems) {
  const id = b.map.batch;
  const bt = batches.get(id);
  if (!bt) return fail(problems, f("map_batch_missing", { id }));
  if (bt.map_root === null) return fail(problems, f("map_batch_v1", { id }));
  // The last event anchored at or before B: batched events are a prefix in
  // index order (checked per event), so it is the last with batch ≤ B.
  let last = -1;
  for (let i = b.events.length - 1; i >= 0 && last < 0; i--) {
    if (b.events[i].batch !== null && b.events[i].batch <= id) last = i;
  }
  let terminal = b.map.terminal;
  let tip = null;
  if (terminal.kind === "tip") {
    if (last < 0) return fail(problems, f("map_tip_unanchored", { id }));
    if (events[last].index === null) return fail(problems, f("map_tip_unreadable", { seq: last }));
    tip = { seq: last, leaf: b.events[last].leaf, index: events[last].index, batch: b.events[last].batch };
    terminal = { kind: "tip", tip };
  }
  let found;
  try {
    found = verifyMapProof(bt.map_root, b.ticket, { siblings: b.map.siblings, terminal });
  } catch (err) {
    if (!(err instanceof MapError)) throw err;
    // A well-formed proof of the bundle's last record that leads elsewhere:
    // the map's tip is another record (a later one, or another version).
    if (tip && err.reason === "root_mismatch") {
      return fail(problems, f("map_withheld", { id, seq: tip.seq, index: tip.index, batch: tip.batch }));
    }
    return fail(problems, f("map_proof_fails", { id, detail: err.message }));
  }
  if (found.tip) return { batch: id, tip_seq: found.tip.seq };
  if (last < 0) return { batch: id, tip_seq: null };
  return fail(problems, f("map_skipped", { id, seq: last, batch: b.events[last].batch }));
}

function fail(problems, finding) {
  problems.push(finding);
  return null;
}

/// Reads a disclosure {ticket, index, seq, salt, content}.
export function readDisclosure(v) {
  exact(v, ["ticket", "index", "seq", "salt", "content"], [], "the disclosure");
  need(isHandle(v.ticket), "the disclosure's ticket is not a handle");
  need(isUint(v.index) && isUint(v.seq), "the disclosure's index/seq are not integers");
  need(isHash(v.salt), "the disclosure's salt is not 0x + 64 lowercase hex digits");
  need(typeof v.content === "string", "the disclosure's content is not text");
  return v;
}

/// Where an input came from (docs/PROTOCOL.md §13, SPEC of issue 25 §1).
/// Only a contract the user typed or picked from the deployment list, and
/// an RPC the user typed (now or on an earlier visit), can earn "valid".
export const CONTRACT_SOURCES = ["typed", "list", "bundle", "link", "log"];
export const RPC_SOURCES = ["typed", "stored", "link", "log"];
const TRUSTED_CONTRACT = new Set(["typed", "list"]);
const USER_RPC = new Set(["typed", "stored"]);

/// Findings that mean the chain was not read through a contract, chain and
/// RPCs the user can rely on: no event is then shown as confirmed (✓).
export const TRUST_KEYS = new Set([
  "contract_mismatch", "no_trusted_contract", "trusted_not_address", "chain_mismatch",
  "anchorer_mismatch", "rpc_disagree", "list_chain", "no_code",
]);

/// The largest timestamp the protocol can spell (9999-12-31T23:59:59.999Z).
const MAX_TS_MS = 253402300799999;
/// The largest maximum merge delay a user may set, in seconds: any deadline
/// recorded_at + MMD stays an exact integer of milliseconds.
export const MAX_USER_MMD_S = Math.floor((Number.MAX_SAFE_INTEGER - 999 - MAX_TS_MS) / 1000);

/// A maximum merge delay the user typed (seconds): {ms} or {error: reason}.
export function readUserMmd(value) {
  const v = String(value).trim();
  if (!/^[0-9]+$/.test(v)) return { error: "it must be a whole number of seconds, 0 or more" };
  const s = Number(v);
  if (!Number.isSafeInteger(s) || s > MAX_USER_MMD_S) {
    return { error: `it must be at most ${MAX_USER_MMD_S} seconds, or a deadline cannot be computed exactly` };
  }
  return { ms: s * 1000 };
}

/// Splits the RPC field: one URL per line, or comma-separated.
export function splitRpcs(text) {
  return [...new Set((text || "").split(/[\s,]+/).map((x) => x.trim()).filter(Boolean))];
}

function resolveContract(opts) {
  if (opts.contract && (opts.contract.value || opts.contract.source === "bundle")) {
    return { value: (opts.contract.value || "").trim(), source: opts.contract.source, entry: opts.contract.entry || null };
  }
  const typed = (opts.trustedContract || "").trim();
  if (typed) return { value: typed, source: "typed", entry: null };
  if (opts.trustBundleContract) return { value: "", source: "bundle", entry: null };
  return null;
}

function resolveRpcs(opts) {
  const list = opts.rpcs ? opts.rpcs.filter((r) => r && r.url) : opts.rpcUrl ? splitRpcs(opts.rpcUrl).map((url) => ({ url, source: "typed" })) : [];
  const seen = new Set();
  return list.filter((r) => (seen.has(r.url) ? false : (seen.add(r.url), true)));
}

/**
 * Verifies a bundle. Options:
 *   bundleText      the bundle as text (parsed strictly here)
 *   expectedTicket  the handle the user asked for (page URL, typed link), or null
 *   ticketSource    where that handle came from: path | typed | link | file
 *   contract        {value, source, entry?}: source typed | list | bundle | link | log
 *                   (entry: the deployment picked from the list)
 *   rpcs            [{url, source}]: source typed | stored | link | log
 *   (trustedContract, trustBundleContract, rpcUrl: the older spelling of the same)
 *   deployments     the deployment list (the page passes the one built into it)
 *   receipts        [{receipt, signature}] (or the saved append answer) as parsed JSON
 *   disclosures     [{ticket, index, seq, salt, content}] as parsed JSON values
 *   maxMergeDelaySeconds  the user's own MMD, or null
 *   fetchImpl       optional fetch for the RPC
 *   onProgress      optional (done, total) while events are checked
 * The report's `verdict` is one of
 *   valid       every check passed on a contract and RPC the user brought;
 *   consistent  every check passed, but the contract or every RPC came only
 *               from the log or a link (`untrusted` names which);
 *   absent      an absence bundle (`absence`) passed every check on a contract
 *               and RPC the user brought, and its batch B is anchored: the
 *               ticket map holds no record of the handle as of B
 *               (`complete_as_of`, with tip_seq null);
 *   pending     every check passed, nothing is anchored yet (no event, or for
 *               an absence bundle its batch B): nothing is established;
 *   invalid     a check failed, or a receipt is evidence against the log;
 *   error       the check could not run (no contract, no RPC, RPC failure…).
 */
export async function verify(opts) {
  const report = {
    verdict: null,
    valid: false,
    checks_pass: false,
    ran: true,
    error: null,
    ticket: null,
    chain_id: null,
    contract: null,
    contract_source: null,
    anchorer: null,
    sources: { contract: null, rpcs: [], ticket: null, list_hint: null },
    problems: [],
    warnings: [],
    notes: [],
    events: [],
    receipts: [],
    disclosures: [],
    mmd: null,
    state: null,
    pending: 0,
    broken_promises: 0,
    backdated: 0,
    complete_through: null,
    // An absence bundle: v2, no events, a map proof of absence (offline shape).
    absence: false,
    // Bundle v2 (§15.4): whether it carries a map proof, at which batch;
    // what the proof showed offline; complete as of B once B is anchored.
    map_batch: null,
    map: null,
    map_anchored: null,
    complete_as_of: null,
    batch_count: null,
    receipts_through: null,
    latest_block: null,
    common_block: null,
    complaint: false,
  };
  const deployments = opts.deployments || [];
  const rpcs = resolveRpcs(opts);
  report.sources.rpcs = rpcs.map((r) => ({ url: r.url, source: r.source }));
  if (opts.expectedTicket) report.sources.ticket = { value: opts.expectedTicket, source: opts.ticketSource || "typed" };
  // A user MMD that cannot be used is refused before anything is fetched.
  let userMmd = null;
  if (opts.maxMergeDelaySeconds !== null && opts.maxMergeDelaySeconds !== undefined && String(opts.maxMergeDelaySeconds).trim() !== "") {
    userMmd = readUserMmd(opts.maxMergeDelaySeconds);
    if (userMmd.error) {
      report.ran = false;
      report.error = f("mmd_refused", { value: String(opts.maxMergeDelaySeconds), detail: userMmd.error });
      return finish(report);
    }
  }
  let b;
  try {
    b = readBundle(opts.bundleText);
  } catch (e) {
    report.problems.push(f("bundle_unreadable", { detail: e.message }));
    return finish(report);
  }
  report.ticket = b.ticket;
  report.chain_id = b.chain.chain_id;
  report.contract = b.chain.contract.toLowerCase();
  report.policy = b.policy;
  report.bundle_mmd_ms = b.max_merge_delay_ms;
  const P = report.problems;

  // (a) version, and the batches' head versions; the ticket the user asked for.
  P.push(...versionFindings(b));
  // No events: only an absence bundle says anything (its map proof is
  // checked below); any other is refused, a map naming a tip included.
  report.absence = isAbsenceBundle(b);
  if (b.events.length === 0 && !report.absence) P.push(f("no_events"));
  if (opts.expectedTicket && opts.expectedTicket !== b.ticket) {
    P.push(f("wrong_ticket", { got: b.ticket, expected: opts.expectedTicket }));
  }

  // Batches as listed: unique, non-empty, head = H(0x02 ‖ id ‖ first ‖ count ‖ root),
  // over H(0x06 ‖ root ‖ map root) for a head v2.
  const batches = new Map();
  for (const x of b.batches) {
    if (batches.has(x.id)) P.push(f("batch_twice", { id: x.id }));
    batches.set(x.id, x);
    if (x.count === 0) P.push(f("batch_empty", { id: x.id }));
    else if (headOf(x) !== x.head) P.push(f(x.map_root === null ? "batch_head_bad" : "batch_head_v2_bad", { id: x.id }));
  }

  // (b)–(d) per event, in order.
  let prevLeaf = ZERO_HASH;
  let prevIndex = null;
  let state = null;
  let stateBroken = false;
  let seenPending = false;
  const used = [];
  const usedSet = new Set();
  const byBatch = new Map(); // batch id → its events, so per-batch findings stay linear
  for (let i = 0; i < b.events.length; i++) {
    // A large bundle takes a while: let the page breathe (and say how far).
    if (i > 0 && i % 2000 === 0) {
      if (opts.onProgress) opts.onProgress(i, b.events.length);
      await new Promise((ok) => setTimeout(ok, 0));
    }
    checkEvent(b.events[i], i);
  }
  function checkEvent(ev, i) {
    const e = {
      seq: i, index: null, type: null, record: null, occurredMs: null, recordedMs: null,
      batch: ev.batch, status: ev.batch === null ? "pending" : "anchored",
      block: null, blockTime: null, lagS: null, ok: true, problems: [], flags: [], mmd: null,
    };
    report.events.push(e);
    if (ev.batch !== null) {
      if (!byBatch.has(ev.batch)) byBatch.set(ev.batch, []);
      byBatch.get(ev.batch).push(e);
    }
    let acc;
    try {
      acc = acceptRecord(ev.record);
    } catch (err) {
      e.problems.push(f("record_invalid", { seq: i, detail: err.message }));
      stateBroken = true;
      prevLeaf = ev.leaf;
      return;
    }
    const r = acc.record;
    Object.assign(e, { index: r.index, type: r.type, record: r, occurredMs: acc.occurredMs, recordedMs: acc.recordedMs });
    if (acc.leaf !== ev.leaf) e.problems.push(f("leaf_mismatch", { seq: i }));
    if (r.ticket !== b.ticket) e.problems.push(f("other_ticket", { seq: i, ticket: r.ticket }));
    if (r.seq !== i) e.problems.push(f("seq_gap", { seq: i, got: r.seq }));
    if (r.prev !== prevLeaf) e.problems.push(f("prev_broken", { seq: i }));
    if (prevIndex !== null && r.index <= prevIndex) e.problems.push(f("index_order", { seq: i, index: r.index, prev: prevIndex }));
    prevIndex = r.index;
    prevLeaf = acc.leaf;
    if (!stateBroken) {
      try {
        state = state === null ? startState(r) : applyEvent(state, r, b.policy);
        e.stateAfter = state;
      } catch (err) {
        e.problems.push(f("state_rejects", { seq: i, detail: err.message }));
        stateBroken = true;
      }
    }
    if (ev.batch === null) {
      seenPending = true;
      if (ev.path.length) e.problems.push(f("pending_with_path", { seq: i }));
      return;
    }
    if (seenPending) e.problems.push(f("anchored_after_pending", { seq: i }));
    const bt = batches.get(ev.batch);
    if (!bt) {
      e.problems.push(f("batch_not_listed", { seq: i, id: ev.batch }));
      return;
    }
    if (!usedSet.has(ev.batch)) {
      usedSet.add(ev.batch);
      used.push(ev.batch);
    }
    if (r.index < bt.first_index || r.index - bt.first_index >= bt.count) {
      e.problems.push(f("outside_batch", { seq: i, index: r.index, id: bt.id }));
      return;
    }
    try {
      const root = rootFromPath(acc.leaf, r.index - bt.first_index, bt.count, ev.path);
      if (root !== bt.root) e.problems.push(f("path_fails", { seq: i, id: bt.id, detail: "the path leads to another root" }));
    } catch (err) {
      e.problems.push(f("path_fails", { seq: i, id: bt.id, detail: err.message }));
    }
  }
  // Bundle v2's map proof at batch B (§15.4), offline; B is read on chain
  // with the events' batches.
  if (b.map !== null) {
    report.map_batch = b.map.batch;
    report.map = checkMap(b, batches, report.events, P);
    if (batches.has(b.map.batch) && !usedSet.has(b.map.batch)) {
      usedSet.add(b.map.batch);
      used.push(b.map.batch);
    }
  }
  const firstEvent = report.events[0];
  report.complaint = !!(firstEvent && firstEvent.record && firstEvent.record.type === "ticket.created" && firstEvent.record.data.complaint);

  // Receipts and disclosures: shapes first (they need no chain).
  const receipts = (opts.receipts || []).map((raw, n) => {
    const out = { n: n + 1, ok: true, problems: [], evidence: [], flags: [], receipt: null, signer: null };
    try {
      if (raw && typeof raw.unreadable === "string") throw new Error(raw.unreadable);
      const s = readSignedReceipt(raw);
      out.receipt = s.receipt;
      out.signature = s.signature;
      out.recordedMs = s.recordedMs;
      out.deadlineMs = s.deadlineMs;
      out.v2 = s.v2;
    } catch (err) {
      out.problems.push(f("receipt_unreadable", { n: n + 1, detail: err.message }));
    }
    return out;
  });
  report.receipts = receipts;

  // The contract, and where it came from. Without one the user typed or
  // picked, the bundle's own contract counts when the list built into the
  // verifier has it for the bundle's chain (§13.2): the list vouches for it,
  // not the log.
  let chosen = resolveContract(opts);
  if (!chosen || !TRUSTED_CONTRACT.has(chosen.source)) {
    const listed = entriesFor(deployments, report.contract).find((d) => d.chain_id === b.chain.chain_id);
    if (listed) chosen = { value: report.contract, source: "list", entry: listed };
  }
  let contract = null; // the contract the chain is read for, once it is an address
  if (chosen) {
    const value = chosen.source === "bundle" ? report.contract : chosen.value.toLowerCase();
    report.contract_source = chosen.source;
    report.sources.contract = { value, source: chosen.source, entry: chosen.entry, list: null };
    if (!isAddress(value)) P.push(f("trusted_not_address", { got: chosen.value }));
    else {
      contract = value;
      if (value !== report.contract) P.push(f("contract_mismatch", { bundle: report.contract, trusted: value, source: chosen.source }));
    }
    if (chosen.source === "bundle") report.warnings.push(f("contract_from_bundle", { contract: report.contract }));
  } else {
    // No contract from anywhere: nothing to verify against (§13.1 `error`).
    report.ran = false;
    report.error = f("no_trusted_contract");
    return finish(report);
  }
  // Not chosen from the list, but on it: a hint of what to pick.
  if (!chosen || !TRUSTED_CONTRACT.has(chosen.source)) {
    const hint = entriesFor(deployments, report.contract).find((d) => d.chain_id === b.chain.chain_id);
    if (hint) report.sources.list_hint = hint;
  }

  if (rpcs.length === 0) {
    report.ran = false;
    report.error = f("rpc_failed", { detail: "no RPC URL was given" });
    return finish(report);
  }
  const clients = rpcs.map((r) => new Rpc(r.url, { fetchImpl: opts.fetchImpl, timeoutMs: opts.timeoutMs || 20000 }));
  const primary = clients[0];
  const anchoredAt = new Map(); // batch id → {block, time}
  let latest = null;
  // Every RPC answers the same question; any two that differ fail the check.
  const agree = (what, answers) => {
    for (let i = 1; i < answers.length; i++) {
      if (answers[i] !== answers[0]) {
        P.push(f("rpc_disagree", { what, a: String(answers[0]), rpcA: rpcs[0].url, b: String(answers[i]), rpcB: rpcs[i].url }));
        return false;
      }
    }
    return true;
  };
  const all = (fn) => Promise.all(clients.map(fn));
  try {
    const chainIds = await all((c) => c.chainId());
    const chainId = chainIds[0];
    report.rpc_chain_id = chainId;
    const sameChain = agree("eth_chainId", chainIds);
    if (chainId !== b.chain.chain_id) P.push(f("chain_mismatch", { rpc: chainId, bundle: b.chain.chain_id }));
    const entry = report.sources.contract && report.sources.contract.entry;
    if (entry && entry.chain_id !== chainId) {
      P.push(f("list_chain", { platform: entry.platform, list: entry.chain_id, rpc: chainId }));
    }
    if (report.sources.contract && report.contract_source === "typed") {
      report.sources.contract.list = entriesFor(deployments, report.sources.contract.value).find((d) => d.chain_id === chainId) || null;
    }
    if (sameChain && chainId === b.chain.chain_id) {
      // One common block: the lowest any RPC has, so lag is no disagreement.
      const heights = await all((c) => c.blockNumber());
      const at = Math.min(...heights);
      report.common_block = at;
      const target = report.contract; // the bundle's; the trust check is above
      const codes = await all((c) => c.code(target, at));
      if (codes[0] === "0x") {
        P.push(f("no_code", { contract: target }));
        throw new NoContract();
      }
      const anchorers = await all((c) => c.anchorer(target, at));
      const anchorer = anchorers[0];
      report.anchorer = anchorer;
      agree("anchorer()", anchorers);
      if (anchorer !== b.chain.anchorer.toLowerCase()) P.push(f("anchorer_mismatch", { chain: anchorer, bundle: b.chain.anchorer.toLowerCase() }));
      const nextIndexes = await all((c) => c.nextIndex(target, at));
      let nextIndex = nextIndexes[0];
      report.next_index = nextIndex;
      agree("nextIndex()", nextIndexes);
      // The latest batch on chain (batchCount() − 1), read with nextIndex():
      // a map proof at an earlier batch rules nothing out after it.
      const counts = await all((c) => c.batchCount(target, at));
      report.batch_count = counts[0];
      agree("batchCount()", counts);
      latest = await primary.block(at);
      report.latest_block = latest;
      for (const id of used) {
        const bt = batches.get(id);
        const heads = await all((c) => c.batchHead(target, id, at));
        if (!agree(`batchHead(${id})`, heads)) continue;
        const head = heads[0];
        // Sealed by the log, not anchored yet: its events are pending.
        const markPending = () => {
          for (const e of byBatch.get(id) || []) {
            e.batch = null;
            e.status = "pending";
            e.sealedBatch = id;
          }
        };
        if (head === ZERO_HASH) {
          markPending();
          continue;
        }
        if (head !== bt.head) {
          batchProblem(byBatch, id, f("batch_head_differs", { id }), P);
          continue;
        }
        let found = await findAnchoring(primary, target, bt, at);
        let settled = head;
        for (const pause of LOG_INDEX_PAUSES_MS) {
          if (found) break;
          await new Promise((ok) => setTimeout(ok, pause));
          // The head and nextIndex() again too: a node can answer at its tip
          // from the state of the block it is mining (anvil does), so a head
          // may show at `at` before its event's block is `at` or earlier.
          settled = await primary.batchHead(target, id, at);
          nextIndex = await primary.nextIndex(target, at);
          report.next_index = nextIndex;
          report.batch_count = await primary.batchCount(target, at);
          if (settled !== head) break;
          found = await findAnchoring(primary, target, bt, at);
        }
        if (settled === ZERO_HASH) {
          markPending();
          continue;
        }
        if (settled !== bt.head) {
          batchProblem(byBatch, id, f("batch_head_differs", { id }), P);
          continue;
        }
        if (!found) {
          batchProblem(byBatch, id, f("batch_no_log", { id, claimed: bt.block ?? null, window: LOG_WINDOW }), P);
          continue;
        }
        if (bt.block !== null && bt.block !== undefined && found.block !== bt.block) {
          // The bundle's block is a search hint (a reorg moves blocks honestly).
          report.notes.push(f("block_moved", { id, claimed: bt.block, block: found.block }));
        }
        anchoredAt.set(id, found);
      }
      // Complete as of B once B is anchored with the bundle's head v2; B
      // not on chain yet establishes nothing (assemble.rs map_completeness).
      const mapAt = report.map && anchoredAt.get(report.map.batch);
      if (mapAt) {
        const latestBatch = report.batch_count - 1;
        report.map_anchored = {
          ...report.map, block: mapAt.block, time: mapAt.time,
          later_batch: latestBatch > report.map.batch ? latestBatch : null,
        };
      }
      // Pending means not anchored on chain; below nextIndex() nothing is.
      let pendingSeen = false;
      for (const e of report.events) {
        if (e.status === "pending") {
          pendingSeen = true;
          if (e.index !== null && e.index < nextIndex) {
            e.problems.push(f("pending_but_anchored", { seq: e.seq, index: e.index, next: nextIndex }));
          }
        } else if (pendingSeen) {
          e.problems.push(f("anchored_after_pending", { seq: e.seq }));
        }
      }
      // Receipts: signer = anchorer(), on this chain and the contract in use, for this ticket.
      for (const rc of receipts) {
        if (!rc.receipt) continue;
        const r = rc.receipt;
        try {
          rc.signer = receiptSigner(r, rc.signature, rc.v2);
          if (rc.signer !== anchorer) rc.problems.push(f("receipt_signer", { n: rc.n, signer: rc.signer, anchorer }));
          rc.checked = true;
        } catch (err) {
          rc.problems.push(f("receipt_unreadable", { n: rc.n, detail: err.message }));
        }
        if (r.chain_id !== chainId) rc.problems.push(f("receipt_chain", { n: rc.n, got: r.chain_id, chain: chainId }));
        if (!contract || r.contract.toLowerCase() !== contract) rc.problems.push(f("receipt_contract", { n: rc.n, got: r.contract.toLowerCase() }));
        if (r.ticket !== b.ticket) rc.problems.push(f("receipt_ticket", { n: rc.n, got: r.ticket }));
      }
    }
  } catch (err) {
    if (err instanceof NoContract) {
      // Said above as a problem; nothing more can be read.
    } else {
      if (!(err instanceof RpcError)) throw err;
      report.ran = false;
      report.error = f("rpc_failed", { detail: err.message });
    }
  }

  // Receipts against the bundle's events (needs no chain). Only a receipt
  // the log's anchorer signed is evidence; any other is a problem of that
  // receipt alone and leaves the ticket's verdict as it is.
  for (const rc of receipts) {
    if (!rc.receipt) continue;
    // A signer that was never compared with anchorer() proves nothing.
    if (!rc.checked && !rc.problems.length) rc.problems.push(f("receipt_unchecked", { n: rc.n }));
    const r = rc.receipt;
    const e = report.events[r.seq];
    rc.event = e && e.record && e.index === r.index && b.events[r.seq].leaf === r.leaf ? e : null;
    if (!rc.event && rc.problems.length === 0) rc.evidence.push(f("receipt_withheld", { n: rc.n, seq: r.seq, index: r.index }));
  }

  // (f) the maximum merge delay that judges anchors timely, and who bounds
  // it: the user, the signed receipts, or nobody (the bundle's own figure is
  // the operator's unsigned claim: shown, never used).
  const usable = receipts.filter((rc) => rc.receipt && rc.problems.length === 0 && rc.checked);
  let mmdFor = () => null;
  if (userMmd) {
    report.mmd = { ms: userMmd.ms, source: "user" };
    mmdFor = () => userMmd.ms;
  } else if (usable.length) {
    const per = new Map(usable.map((rc) => [rc.receipt.seq, rc.deadlineMs - rc.recordedMs]));
    const largest = Math.max(...per.values());
    if (largest < 0) P.push(f("mmd_overflow", { value: String(largest) }));
    report.mmd = { ms: largest, source: "receipts" };
    mmdFor = (seq) => (per.has(seq) ? per.get(seq) : largest);
  } else {
    report.mmd = { ms: null, source: "nobody", claimed: b.max_merge_delay_ms };
  }

  // Flags, per event: pending, backdated, anchored late, pending past its promise.
  for (const e of report.events) {
    if (e.batch !== null) {
      const at = anchoredAt.get(e.batch);
      if (at) {
        e.block = at.block;
        e.blockTime = at.time;
      }
      if (at && e.recordedMs !== null) {
        e.lagS = at.time - Math.floor(e.recordedMs / 1000);
        if (e.lagS < 0) {
          report.backdated++;
          e.flags.push(f("flag_backdated", { seq: e.seq }));
        }
        const mmd = mmdFor(e.seq);
        if (mmd !== null) {
          const limit = e.recordedMs + mmd + 999;
          if (!Number.isSafeInteger(limit)) e.problems.push(f("mmd_overflow", { value: String(mmd) }));
          else if (at.time * 1000 > limit) {
            report.broken_promises++;
            e.flags.push(f("flag_late", { seq: e.seq, secs: Math.floor((at.time * 1000 - e.recordedMs) / 1000), mmd: Math.floor(mmd / 1000) }));
          }
        }
      }
    } else {
      report.pending++;
      e.flags.push(f("flag_pending", { seq: e.seq }));
      const mmd = mmdFor(e.seq);
      if (latest && e.recordedMs !== null && mmd !== null) {
        const limit = e.recordedMs + mmd + 999;
        if (!Number.isSafeInteger(limit)) e.problems.push(f("mmd_overflow", { value: String(mmd) }));
        else if (latest.time * 1000 > limit) {
          report.broken_promises++;
          e.flags.push(f("flag_pending_overdue", { seq: e.seq, mmd: Math.floor(mmd / 1000) }));
        }
      }
    }
  }
  for (const rc of receipts) {
    if (!rc.event || rc.problems.length) continue;
    const e = rc.event;
    if (e.blockTime !== null) {
      if (e.blockTime * 1000 > rc.deadlineMs + 999) rc.flags.push(f("receipt_late", { n: rc.n, seq: e.seq }));
    } else if (e.batch === null && latest && latest.time * 1000 > rc.deadlineMs + 999) {
      rc.flags.push(f("receipt_pending_overdue", { n: rc.n, seq: e.seq }));
    }
  }

  // (h) disclosures.
  report.disclosures = (opts.disclosures || []).map((raw, n) => {
    const out = { n: n + 1, ok: false, problems: [], seq: null, content: null, occurredMs: null };
    try {
      const d = readDisclosure(raw);
      out.seq = d.seq;
      out.content = d.content;
      const e = report.events[d.seq];
      if (d.ticket !== b.ticket) out.problems.push(f("disclosure_ticket", { n: n + 1, got: d.ticket }));
      else if (!e || !e.record || e.index !== d.index) out.problems.push(f("disclosure_no_event", { n: n + 1, seq: d.seq, index: d.index }));
      else if (e.record.content === null) out.problems.push(f("disclosure_no_content", { n: n + 1, seq: d.seq }));
      else if (contentCommitment(d.salt, d.content) !== e.record.content) out.problems.push(f("disclosure_mismatch", { n: n + 1, seq: d.seq }));
      else {
        out.ok = true;
        out.occurredMs = e.occurredMs;
        out.type = e.type;
        out.direction = e.record.data.direction || null;
      }
    } catch (err) {
      if (!(err instanceof ShapeError || err instanceof JsonError)) throw err;
      out.problems.push(f("disclosure_unreadable", { n: n + 1, detail: err.message }));
    }
    return out;
  });

  return finish(report, b);
}

class NoContract extends Error {}

/// Where batch `bt` was anchored: the contract's BatchAnchored log for it,
/// searched at the bundle's claimed block, then within LOG_WINDOW blocks
/// before it, then after it (the claim is only a hint), never past block
/// `at`; with no claim, the last LOG_WINDOW blocks. {block, time} or null.
async function findAnchoring(rpc, contract, bt, at) {
  const claimed = bt.block === null || bt.block === undefined ? null : bt.block;
  const ranges = claimed !== null
    ? [[claimed, claimed], [Math.max(0, claimed - LOG_WINDOW), claimed - 1], [claimed + 1, claimed + LOG_WINDOW]]
    : [[Math.max(0, at - LOG_WINDOW + 1), at]];
  const want = "0x" + word(bt.first_index) + word(bt.count) + anchoredRoot(bt).slice(2);
  for (const [from, rawTo] of ranges) {
    const to = Math.min(rawTo, at);
    if (from > to) continue;
    const logs = await rpc.logs({
      address: contract,
      topics: [BATCH_ANCHORED_TOPIC, "0x" + word(bt.id)],
      fromBlock: hexQty(from),
      toBlock: hexQty(to),
    });
    const log = logs.filter(
      (l) => !l.removed && typeof l.address === "string" && l.address.toLowerCase() === contract &&
        Array.isArray(l.topics) && (l.topics[0] || "").toLowerCase() === BATCH_ANCHORED_TOPIC &&
        (l.topics[1] || "").toLowerCase() === "0x" + word(bt.id) && (l.data || "").toLowerCase() === want,
    ).pop();
    if (!log) continue;
    const number = Number(BigInt(log.blockNumber));
    const blk = await rpc.block(number);
    if (!blk) return null;
    return { block: blk.number, time: blk.time };
  }
  return null;
}

// A batch's events carry its problem. A batch read on chain with none of
// them is the ticket map's own batch B: its problem is the bundle's, or it
// would be said nowhere (assemble.rs map_completeness).
function batchProblem(byBatch, id, finding, problems) {
  const events = byBatch.get(id) || [];
  for (const e of events) e.problems.push(finding);
  if (events.length === 0) problems.push(finding);
}

function finish(report) {
  for (const e of report.events) e.ok = e.problems.length === 0;
  // A receipt is good only once its signer was compared with anchorer().
  for (const r of report.receipts) r.ok = r.problems.length === 0 && r.checked === true && r.evidence.length === 0;
  const eventsOk = report.events.every((e) => e.ok);
  // Completeness: the anchored prefix, and how far the user's receipts reach.
  let k = -1;
  for (const e of report.events) {
    if (e.batch !== null && e.ok) k = e.seq;
    else break;
  }
  // An absence bundle whose proof held offline (the map's terminal is no tip).
  const absent = report.absence && report.events.length === 0 && report.map !== null && report.map.tip_seq === null;
  // No event anchored yet: nothing is proven (not valid, not evidence
  // either); for an absence bundle, nothing until its batch B is anchored.
  report.unproven = absent ? !report.map_anchored : k < 0;
  const evidence = report.receipts.flatMap((r) => r.evidence);
  const failed =
    report.problems.length > 0 || !eventsOk || evidence.length > 0 || report.disclosures.some((d) => !d.ok);
  report.checks_pass = report.ran && !failed && (report.events.length > 0 || absent);
  report.trust_failed = report.problems.some((p) => TRUST_KEYS.has(p.key)) || !report.ran;
  const trustedContract = report.sources.contract !== null && TRUSTED_CONTRACT.has(report.sources.contract.source);
  const userRpc = report.sources.rpcs.some((r) => USER_RPC.has(r.source));
  report.untrusted = [];
  if (!trustedContract) report.untrusted.push("contract");
  if (!userRpc) report.untrusted.push("rpc");
  report.verdict = failed
    ? "invalid"
    : !report.ran
      ? "error"
      : !report.checks_pass
        ? "invalid" // no events and no proof of absence (said as no_events)
        : report.unproven
          ? "pending"
          : report.untrusted.length
            ? "consistent"
            : absent
              ? "absent"
              : "valid";
  report.valid = report.verdict === "valid";
  report.complete_through = report.checks_pass && k >= 0 ? k : null;
  // Only a bundle that passed every check is complete as of its map's batch.
  report.complete_as_of = report.checks_pass && report.map_anchored ? report.map_anchored : null;
  const held = report.receipts.filter((r) => r.ok && r.receipt).map((r) => r.receipt.seq);
  report.receipts_through = report.checks_pass && held.length ? Math.max(...held) : null;
  // Status from the anchored events only; never from a bundle that failed.
  report.state = null;
  if (report.checks_pass && k >= 0) report.state = report.events[k].stateAfter || null;
  report.all_findings = [
    ...(report.error ? [report.error] : []),
    ...report.problems,
    ...report.events.flatMap((e) => e.problems),
    ...evidence,
    ...report.disclosures.flatMap((d) => d.problems),
  ];
  // A receipt's own problems (unreadable, another signer…): shown with the
  // receipt, never turning the ticket red.
  report.receipt_findings = report.receipts.flatMap((r) => r.problems);
  report.all_flags = [
    ...report.warnings,
    ...report.events.flatMap((e) => e.flags),
    ...report.receipts.flatMap((r) => r.flags),
  ];
  return report;
}
