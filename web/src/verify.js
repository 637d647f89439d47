// The whole verification of a proof bundle (docs/PROTOCOL.md §13 and the
// rules `proofdesk verify` follows, docs/VERIFIER.md): offline checks, then
// the chain through the user's own RPC, then receipts and disclosures.
// No DOM here: the page renders the report this returns, and the tests read
// it as JSON.
//
// Every finding is {key, p} (a message key and its parameters), so the page
// can say it in English or Chinese; `say()` in i18n.js renders it.

import { parseStrict, isObject, isUint, JsonError } from "./json.js";
import { batchHead, contentCommitment, isHash, ZERO_HASH } from "./hash.js";
import { acceptRecord, applyEvent, isAddress, isHandle, rootFromPath, startState } from "./protocol.js";
import { BATCH_ANCHORED_TOPIC, hexQty, Rpc, RpcError, word } from "./chain.js";
import { readSignedReceipt, receiptSigner } from "./receipt.js";

/// How far past a batch's claimed block the BatchAnchored log is searched.
export const LOG_WINDOW = 1000;

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

/// The bundle's structure (§13), as strictly as the CLI reads it.
export function readBundle(text) {
  const b = parseStrict(text);
  exact(b, ["version", "ticket", "chain", "max_merge_delay_ms", "policy", "batches", "events"], [], "the bundle");
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
    exact(x, ["id", "first_index", "count", "root", "head", "status"], ["tx", "block"], `batches[${i}]`);
    for (const k of ["id", "first_index", "count"]) need(isUint(x[k]), `batches[${i}].${k} is not an integer`);
    need(isHash(x.root) && isHash(x.head), `batches[${i}] root/head are not 32-byte hashes`);
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
  return b;
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

/**
 * Verifies a bundle. Options:
 *   bundleText      the bundle as text (parsed strictly here)
 *   expectedTicket  the handle the user expects (from the URL), or null
 *   rpcUrl          the user's RPC
 *   trustedContract the contract the user trusts, or "" / null
 *   trustBundleContract  the user explicitly accepts the bundle's own contract
 *   receipts        [{receipt, signature}] as parsed JSON values
 *   disclosures     [{ticket, index, seq, salt, content}] as parsed JSON values
 *   maxMergeDelaySeconds  the user's own MMD, or null
 *   fetchImpl       optional fetch for the RPC
 */
export async function verify(opts) {
  const report = {
    valid: false,
    ran: true,
    error: null,
    ticket: null,
    chain_id: null,
    contract: null,
    contract_source: null,
    anchorer: null,
    problems: [],
    warnings: [],
    events: [],
    receipts: [],
    disclosures: [],
    mmd: null,
    state: null,
    pending: 0,
    broken_promises: 0,
    backdated: 0,
    complete_through: null,
    receipts_through: null,
    latest_block: null,
    complaint: false,
  };
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
  const P = report.problems;

  // (a) version; the ticket the user expects.
  if (b.version !== 1) P.push(f("bundle_version", { v: b.version }));
  if (b.events.length === 0) P.push(f("no_events"));
  if (opts.expectedTicket && opts.expectedTicket !== b.ticket) {
    P.push(f("wrong_ticket", { got: b.ticket, expected: opts.expectedTicket }));
  }

  // Batches as listed: unique, non-empty, head = H(0x02 ‖ id ‖ first ‖ count ‖ root).
  const batches = new Map();
  for (const x of b.batches) {
    if (batches.has(x.id)) P.push(f("batch_twice", { id: x.id }));
    batches.set(x.id, x);
    if (x.count === 0) P.push(f("batch_empty", { id: x.id }));
    else if (batchHead(x.id, x.first_index, x.count, x.root) !== x.head) P.push(f("batch_head_bad", { id: x.id }));
  }

  // (b)–(d) per event, in order.
  let prevLeaf = ZERO_HASH;
  let prevIndex = null;
  let state = null;
  let stateBroken = false;
  let seenPending = false;
  const used = [];
  b.events.forEach((ev, i) => {
    const e = {
      seq: i, index: null, type: null, record: null, occurredMs: null, recordedMs: null,
      batch: ev.batch, status: ev.batch === null ? "pending" : "anchored",
      block: null, blockTime: null, ok: true, problems: [], flags: [], mmd: null,
    };
    report.events.push(e);
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
    if (!used.includes(ev.batch)) used.push(ev.batch);
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
  });
  const firstEvent = report.events[0];
  report.complaint = !!(firstEvent && firstEvent.record && firstEvent.record.type === "ticket.created" && firstEvent.record.data.complaint);

  // Receipts and disclosures: shapes first (they need no chain).
  const receipts = (opts.receipts || []).map((raw, n) => {
    const out = { n: n + 1, ok: true, problems: [], flags: [], receipt: null, signer: null };
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

  // (e) on chain, through the user's RPC only.
  const trusted = (opts.trustedContract || "").trim().toLowerCase();
  if (trusted) {
    if (!isAddress(trusted)) P.push(f("trusted_not_address", { got: opts.trustedContract }));
    else if (trusted !== report.contract) P.push(f("contract_mismatch", { bundle: report.contract, trusted }));
    report.contract_source = "user";
  } else if (opts.trustBundleContract) {
    report.contract_source = "bundle";
    report.warnings.push(f("contract_from_bundle", { contract: report.contract }));
  } else {
    P.push(f("no_trusted_contract"));
  }
  if (!opts.rpcUrl) {
    report.ran = false;
    report.error = f("rpc_failed", { detail: "no RPC URL was given" });
    return finish(report);
  }
  const rpc = new Rpc(opts.rpcUrl, { fetchImpl: opts.fetchImpl, timeoutMs: opts.timeoutMs || 20000 });
  const anchoredAt = new Map(); // batch id → {block, time}
  let latest = null;
  try {
    const chainId = await rpc.chainId();
    report.rpc_chain_id = chainId;
    if (chainId !== b.chain.chain_id) {
      P.push(f("chain_mismatch", { rpc: chainId, bundle: b.chain.chain_id }));
    } else {
      const contract = report.contract;
      const anchorer = await rpc.anchorer(contract);
      report.anchorer = anchorer;
      if (anchorer !== b.chain.anchorer.toLowerCase()) P.push(f("anchorer_mismatch", { chain: anchorer, bundle: b.chain.anchorer.toLowerCase() }));
      const nextIndex = await rpc.nextIndex(contract);
      report.next_index = nextIndex;
      latest = await rpc.block("latest");
      report.latest_block = latest;
      for (const id of used) {
        const bt = batches.get(id);
        const head = await rpc.batchHead(contract, id);
        if (head === ZERO_HASH) {
          // Sealed by the log, not anchored yet: its events are pending.
          for (const e of report.events) {
            if (e.batch === id) {
              e.batch = null;
              e.status = "pending";
              e.sealedBatch = id;
            }
          }
          continue;
        }
        if (head !== bt.head) {
          batchProblem(report, id, f("batch_head_differs", { id }));
          continue;
        }
        // Searched near the block the bundle claims; a batch the log has
        // just sent names none, so the latest blocks are searched.
        const claimed = bt.block === null || bt.block === undefined ? null : bt.block;
        if (claimed !== null && claimed > latest.number) {
          batchProblem(report, id, f("batch_block_missing", { id, block: claimed }));
          continue;
        }
        const from = claimed !== null ? claimed : Math.max(0, latest.number - LOG_WINDOW + 1);
        const to = claimed !== null ? Math.min(claimed + LOG_WINDOW - 1, latest.number) : latest.number;
        const logs = await rpc.logs({
          address: contract,
          topics: [BATCH_ANCHORED_TOPIC, "0x" + word(id)],
          fromBlock: hexQty(from),
          toBlock: hexQty(to),
        });
        const want = "0x" + word(bt.first_index) + word(bt.count) + bt.root.slice(2);
        const log = logs.find(
          (l) => !l.removed && typeof l.address === "string" && l.address.toLowerCase() === contract &&
            Array.isArray(l.topics) && (l.topics[0] || "").toLowerCase() === BATCH_ANCHORED_TOPIC &&
            (l.topics[1] || "").toLowerCase() === "0x" + word(id) && (l.data || "").toLowerCase() === want,
        );
        if (!log) {
          batchProblem(report, id, f("batch_no_log", { id, from, to }));
          continue;
        }
        const blk = await rpc.block(Number(BigInt(log.blockNumber)));
        if (!blk) {
          batchProblem(report, id, f("batch_block_missing", { id, block: Number(BigInt(log.blockNumber)) }));
          continue;
        }
        anchoredAt.set(id, { block: blk.number, time: blk.time });
      }
      // Pending means not anchored on chain; below nextIndex() nothing is.
      let seenPending = false;
      for (const e of report.events) {
        if (e.status === "pending") {
          seenPending = true;
          if (e.index !== null && e.index < nextIndex) {
            e.problems.push(f("pending_but_anchored", { seq: e.seq, index: e.index, next: nextIndex }));
          }
        } else if (seenPending) {
          e.problems.push(f("anchored_after_pending", { seq: e.seq }));
        }
      }
      // Receipts: signer = anchorer(), on this chain and the trusted contract, for this ticket.
      const receiptContract = trusted || (opts.trustBundleContract ? report.contract : null);
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
        if (!receiptContract || r.contract.toLowerCase() !== receiptContract) rc.problems.push(f("receipt_contract", { n: rc.n, got: r.contract.toLowerCase() }));
        if (r.ticket !== b.ticket) rc.problems.push(f("receipt_ticket", { n: rc.n, got: r.ticket }));
      }
    }
  } catch (err) {
    if (!(err instanceof RpcError)) throw err;
    report.ran = false;
    report.error = f("rpc_failed", { detail: err.message });
  }

  // Receipts against the bundle's events (needs no chain).
  for (const rc of receipts) {
    if (!rc.receipt) continue;
    // A signer that was never compared with anchorer() proves nothing.
    if (!rc.checked && !rc.problems.length) rc.problems.push(f("receipt_unchecked", { n: rc.n }));
    const r = rc.receipt;
    const e = report.events[r.seq];
    rc.event = e && e.record && e.index === r.index && b.events[r.seq].leaf === r.leaf ? e : null;
    if (!rc.event) rc.problems.push(f("receipt_withheld", { n: rc.n, seq: r.seq, index: r.index }));
  }

  // (f) the maximum merge delay used, and its source.
  const sigOk = receipts.filter((rc) => rc.receipt && rc.problems.length === 0);
  let mmdFor = () => null;
  if (opts.maxMergeDelaySeconds !== null && opts.maxMergeDelaySeconds !== undefined && opts.maxMergeDelaySeconds !== "") {
    const s = Number(opts.maxMergeDelaySeconds);
    const ms = s * 1000;
    if (!Number.isSafeInteger(s) || s < 0 || !Number.isSafeInteger(ms)) P.push(f("mmd_overflow", { value: String(opts.maxMergeDelaySeconds) }));
    else {
      report.mmd = { ms, source: "user" };
      mmdFor = () => ms;
    }
  } else if (sigOk.length) {
    const per = new Map(sigOk.map((rc) => [rc.receipt.seq, rc.deadlineMs - rc.recordedMs]));
    const largest = Math.max(...per.values());
    if (largest < 0) P.push(f("mmd_overflow", { value: String(largest) }));
    report.mmd = { ms: largest, source: "receipts" };
    mmdFor = (seq) => (per.has(seq) ? per.get(seq) : largest);
  } else {
    report.mmd = { ms: b.max_merge_delay_ms, source: "bundle" };
    mmdFor = () => b.max_merge_delay_ms;
  }

  // Flags, per event: pending, backdated, anchored late, pending past its promise.
  for (const e of report.events) {
    if (e.batch !== null) {
      const id = e.batch;
      const at = anchoredAt.get(id);
      if (at) {
        e.block = at.block;
        e.blockTime = at.time;
      }
      if (at && e.recordedMs !== null) {
        if (Math.floor(e.recordedMs / 1000) > at.time) {
          report.backdated++;
          e.flags.push(f("flag_backdated", { seq: e.seq }));
        }
        const mmd = mmdFor(e.seq);
        const limit = e.recordedMs + mmd + 999;
        if (mmd !== null) {
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
    if (!rc.event) continue;
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

function batchProblem(report, id, finding) {
  for (const e of report.events) if (e.batch === id) e.problems.push(finding);
}

function finish(report) {
  for (const e of report.events) e.ok = e.problems.length === 0;
  // A receipt is good only once its signer was compared with anchorer().
  for (const r of report.receipts) r.ok = r.problems.length === 0 && r.checked === true;
  const eventsOk = report.events.every((e) => e.ok);
  // Completeness: the anchored prefix, and how far the user's receipts reach.
  let k = -1;
  for (const e of report.events) {
    if (e.batch !== null && e.ok) k = e.seq;
    else break;
  }
  // No event anchored yet: nothing is proven (not valid, not evidence either).
  report.unproven = k < 0;
  report.valid =
    report.ran &&
    report.problems.length === 0 &&
    report.events.length > 0 &&
    eventsOk &&
    !report.unproven &&
    report.receipts.every((r) => r.ok) &&
    report.disclosures.every((d) => d.ok);
  report.complete_through = report.valid && k >= 0 ? k : null;
  const held = report.receipts.filter((r) => r.ok && r.receipt).map((r) => r.receipt.seq);
  report.receipts_through = report.valid && held.length ? Math.max(...held) : null;
  // Status from the anchored events only; never from an invalid bundle.
  report.state = null;
  if (report.valid && k >= 0) report.state = report.events[k].stateAfter || null;
  report.all_findings = [
    ...(report.error ? [report.error] : []),
    ...report.problems,
    ...report.events.flatMap((e) => e.problems),
    ...report.receipts.flatMap((r) => r.problems),
    ...report.disclosures.flatMap((d) => d.problems),
  ];
  report.all_flags = [
    ...report.warnings,
    ...report.events.flatMap((e) => e.flags),
    ...report.receipts.flatMap((r) => r.flags),
  ];
  return report;
}
