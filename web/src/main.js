// The page: inputs, fetching the bundle (from the log, or a dropped file),
// and rendering the report of verify.js for a person. Every text from a
// bundle, receipt or disclosure goes into the DOM as text, never as HTML.
//
// The page trusts only what the complainant brings (docs/VERIFIER.md): the
// contract and RPC fields hold what the user typed (or, for the RPC, typed
// on an earlier visit), or a deployment picked from the list built into the
// page. What the log (/v1/log) or a link's fragment (#contract=, #rpc=,
// #ticket=) suggests is never written into those fields: it is shown apart,
// used only when the user brought nothing, named by its source, and never
// enough for "Verified" (verify.js: the `consistent` verdict).

import { parseStrict } from "./json.js";
import { verify, splitRpcs, readUserMmd } from "./verify.js";
import { fromCompact } from "./receipt.js";
import { decodeQr } from "./link.js";
import { runConformance } from "./conformance.js";
import { vectorsText, DEPLOYMENTS, DEPLOYMENTS_ERROR } from "./builtin.js";
import { LANGS, t, say, describeEvent, table, duration, code, sourceWords, langFromQuery } from "./i18n.js";

const EXPLORERS = {
  1: "https://etherscan.io",
  11155111: "https://sepolia.etherscan.io",
  137: "https://polygonscan.com",
  8453: "https://basescan.org",
  10: "https://optimistic.etherscan.io",
  42161: "https://arbiscan.io",
};
const DAY = 86400000;
const RPC_KEY = "proofdesk.rpc";
const HANDLE = /^tk_[0-9a-f]{32}$/;
/// Timelines longer than this show their head and tail (and every step
/// with a problem or flag) until the user asks for all.
const TIMELINE_FULL = 2000;
const TIMELINE_HEAD = 1000;
const TIMELINE_TAIL = 500;

const $ = (id) => document.getElementById(id);

function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const ui = {
  lang: "en",
  files: { bundle: null, bundleName: null, receipts: [], disclosures: [] },
  logBase: null, // origin (and prefix) of the log that served this page, if any
  handle: null, // the ticket in the page's URL path: the one this page verifies
  link: { contract: null, rpcs: [], ticket: null, refusedTicket: null }, // from the URL fragment
  log: { base: null, contract: null, rpc: null }, // suggested by the log (/v1/log)
  ticketSet: { value: "", source: null }, // what the page put in the ticket field
  storedRpc: "", // the RPC field as kept from an earlier visit
  listPick: null, // the deployment picked from the list
  lastReport: null,
  lastConformance: null,
  showAll: false, // a long timeline shown in full
  timing: null, // {verifyMs, renderMs} of the last check (scripts/bench/page-verify.mjs reads it)
};

function pickLang() {
  const q = langFromQuery(new URLSearchParams(location.search).get("lang"));
  if (q) return q;
  const saved = safeStorage("get", "proofdesk.lang");
  if (saved && LANGS[saved]) return saved;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

function safeStorage(op, key, value) {
  try {
    if (op === "get") return localStorage.getItem(key);
    localStorage.setItem(key, value);
  } catch {
    return null; // storage disabled (private mode, file:// in some browsers)
  }
  return null;
}

// One formatter per language: building one per timestamp dominated the
// rendering of a large timeline.
const formatters = new Map();
function fmtTime(ms) {
  if (ms === null || ms === undefined) return "?";
  if (!formatters.has(ui.lang)) {
    const locale = ui.lang === "zh" ? "zh-CN" : (navigator.language || "en-GB").startsWith("en") ? navigator.language : "en-GB";
    formatters.set(ui.lang, new Intl.DateTimeFormat(locale, {
      year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
    }));
  }
  return formatters.get(ui.lang).format(new Date(ms));
}

function applyLang() {
  document.documentElement.lang = ui.lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(ui.lang, el.dataset.t);
  for (const b of document.querySelectorAll("#langs button")) b.setAttribute("aria-pressed", String(b.dataset.lang === ui.lang));
  setTitle();
  renderOffers();
  fillDeployments();
  if (ui.lastReport) render(ui.lastReport);
  if (ui.lastConformance) renderConformance(ui.lastConformance);
}

/// A complaint is titled a complaint; a support request never is.
function setTitle() {
  const r = ui.lastReport;
  const key = r && r.events && r.events[0] && r.events[0].record ? (r.complaint ? "title_complaint" : "title_request") : "title";
  $("title").textContent = t(ui.lang, key);
  document.title = t(ui.lang, key) + " · Proofdesk";
}

/// Percent-decodes one path segment as the server does (axum's Path), so
/// /verify/%74k_… binds the same handle the server answers for.
function segment(s) {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/// The handle and log base a typed value or a link points at.
function locate(input) {
  const v = (input || "").trim();
  if (HANDLE.test(v)) return { handle: v, base: ui.logBase };
  try {
    const u = new URL(v);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    const parts = u.pathname.split("/");
    const proof = parts[parts.length - 1] === "proof";
    const at = proof ? parts.length - 2 : parts[parts.length - 1] === "" ? parts.length - 2 : parts.length - 1;
    const handle = segment(parts[at] || "");
    if (!handle || !HANDLE.test(handle)) return null;
    const prefix = parts.slice(0, at).join("/").replace(/\/(verify|v1\/tickets)$/, "");
    return { handle, base: u.origin + prefix, explicitProof: proof ? u.href : null };
  } catch {
    return null;
  }
}

async function fetchText(url) {
  const resp = await fetch(url, { credentials: "omit", cache: "no-store" });
  const buf = await resp.arrayBuffer();
  const text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(buf);
  if (!resp.ok) {
    let detail = `HTTP ${resp.status}`;
    try {
      detail += ": " + JSON.parse(text).detail;
    } catch {
      /* not problem+json */
    }
    throw new Error(detail);
  }
  return text;
}

/// What the log suggests (GET /v1/log): kept apart, never put in a field.
async function loadSuggestions(base) {
  if (!base || ui.log.base === base) return;
  ui.log = { base, contract: null, rpc: null };
  try {
    const info = JSON.parse(await fetchText(`${base}/v1/log`));
    if (info.chain && typeof info.chain.contract === "string") ui.log.contract = info.chain.contract.toLowerCase();
    if (typeof info.public_rpc === "string" && info.public_rpc) ui.log.rpc = info.public_rpc;
  } catch {
    /* no suggestion: the user brings everything */
  }
  renderOffers();
}

/// The suggestions next to the fields, each with its source, and a note
/// when a link tried to name another ticket than the page's.
function renderOffers() {
  const L = ui.lang;
  const line = (value, source) => h("li", { "data-source": source }, t(L, "offer", { value, source: sourceWords(L, source) }));
  const c = [];
  if (ui.link.contract) c.push(line(ui.link.contract, "link"));
  if (ui.log.contract) c.push(line(ui.log.contract, "log"));
  $("contract-offers").replaceChildren(...c);
  const r = [];
  for (const u of ui.link.rpcs) r.push(line(u, "link"));
  if (ui.log.rpc) r.push(line(ui.log.rpc, "log"));
  $("rpc-offers").replaceChildren(...r);
  $("ticket-offers").replaceChildren(
    ...(ui.link.refusedTicket
      ? [h("li", { "data-source": "link", class: "refused" }, t(L, "link_refused", { got: ui.link.refusedTicket, handle: ui.handle }))]
      : []),
  );
}

function fillDeployments() {
  const sel = $("deployment");
  const keep = sel.value;
  const opts = [h("option", { value: "" }, t(ui.lang, "deployment_none"))];
  for (const d of DEPLOYMENTS) {
    const kind = t(ui.lang, `kind_${d.kind}`);
    opts.push(h("option", { value: d.id }, `${d.platform} · chain ${d.chain_id} · ${d.contract} (${kind})`));
  }
  sel.replaceChildren(...opts);
  sel.value = keep;
  if (DEPLOYMENTS_ERROR) $("deployment-help").textContent = DEPLOYMENTS_ERROR;
}

function classify(value) {
  if (value && typeof value === "object" && "events" in value && "version" in value) return "bundle";
  if (value && typeof value === "object" && "receipt" in value && "signature" in value) return "receipt";
  if (value && typeof value === "object" && "salt" in value && "content" in value) return "disclosure";
  return null;
}

async function takeFiles(fileList) {
  for (const file of fileList) {
    const text = new TextDecoder("utf-8", { fatal: false }).decode(await file.arrayBuffer());
    let kind = null;
    let value = null;
    try {
      value = parseStrict(text);
      kind = classify(value);
    } catch {
      kind = /"events"/.test(text) ? "bundle" : /"receipt"/.test(text) ? "receipt-text" : null;
    }
    if (kind === "bundle") {
      ui.files.bundle = text;
      ui.files.bundleName = file.name;
    } else if (kind === "receipt") ui.files.receipts.push(value);
    else if (kind === "receipt-text") ui.files.receipts.push({ unreadable: `${file.name}: not strict JSON` });
    else if (kind === "disclosure") ui.files.disclosures.push(value);
    else if (Array.isArray(value)) {
      for (const x of value) {
        if (classify(x) === "receipt") ui.files.receipts.push(x);
        if (classify(x) === "disclosure") ui.files.disclosures.push(x);
      }
    } else {
      // Still hand it over as a bundle, so the report names the reason.
      ui.files.bundle = text;
      ui.files.bundleName = file.name;
    }
  }
  showFiles();
}

function showFiles() {
  const parts = [];
  if (ui.files.bundleName) parts.push(`bundle: ${ui.files.bundleName}`);
  if (ui.files.receipts.length) parts.push(`receipts: ${ui.files.receipts.length}`);
  if (ui.files.disclosures.length) parts.push(`disclosures: ${ui.files.disclosures.length}`);
  $("files").textContent = parts.join(" · ");
}

/// Receipts typed or pasted: compact receipts, one per line, or a QR link's q= part.
function typedReceipts() {
  const out = [];
  for (const line of $("receipts").value.split(/[\s,]+/)) {
    if (!line) continue;
    try {
      if (line.startsWith("q=")) out.push(...decodeQr(line.slice(2)));
      else out.push(fromCompact(line));
    } catch (e) {
      // Kept, unreadable: the report names it as a receipt problem.
      out.push({ unreadable: `${line.slice(0, 24)}…: ${e.message}` });
    }
  }
  return out;
}

/// Every input with its source (SPEC §1). Fields hold only what the user
/// brought; the log's and the link's suggestions fill in only when a field
/// is empty, and say so.
function gatherInputs() {
  const typedContract = $("contract").value.trim();
  let contract = null;
  if (typedContract) {
    const pick = ui.listPick;
    contract = pick && typedContract.toLowerCase() === pick.contract
      ? { value: typedContract, source: "list", entry: pick }
      : { value: typedContract, source: "typed" };
  } else if ($("trust-bundle").checked) contract = { value: "", source: "bundle" };
  else if (ui.link.contract) contract = { value: ui.link.contract, source: "link" };
  else if (ui.log.contract) contract = { value: ui.log.contract, source: "log" };

  const rpcText = $("rpc").value.trim();
  let rpcs;
  if (rpcText) {
    const source = ui.storedRpc && rpcText === ui.storedRpc ? "stored" : "typed";
    rpcs = splitRpcs(rpcText).map((url) => ({ url, source }));
  } else if (ui.link.rpcs.length) rpcs = ui.link.rpcs.map((url) => ({ url, source: "link" }));
  else if (ui.log.rpc) rpcs = [{ url: ui.log.rpc, source: "log" }];
  else rpcs = [];

  const ticketText = $("ticket").value.trim();
  const ticketSource = ticketText && ticketText === ui.ticketSet.value ? ui.ticketSet.source : "typed";
  return { contract, rpcs, rpcText, ticketText, ticketSource };
}

async function check() {
  const out = $("result");
  document.body.dataset.state = "running";
  out.replaceChildren(h("p", { class: "busy" }, t(ui.lang, "checking")));
  const inputs = gatherInputs();
  ui.showAll = false;
  const mmdText = $("mmd").value.trim();
  const mmd = mmdText === "" ? null : readUserMmd(mmdText);
  $("mmd").setAttribute("aria-invalid", String(!!(mmd && mmd.error)));
  $("mmd-error").textContent = mmd && mmd.error ? say(ui.lang, { key: "mmd_refused", p: { value: mmdText, detail: mmd.error } }) : "";
  let bundleText = ui.files.bundle;
  let expectedTicket = null;
  let ticketSource = ui.files.bundle ? "file" : inputs.ticketSource;
  const where = locate(inputs.ticketText);
  try {
    if (where && where.base) {
      expectedTicket = where.handle;
      await loadSuggestions(where.base);
      if (!bundleText || inputs.ticketSource !== "path") {
        const url = where.explicitProof || `${where.base}/v1/tickets/${where.handle}/proof`;
        out.replaceChildren(h("p", { class: "busy" }, t(ui.lang, "fetching", { url })));
        bundleText = await fetchText(url);
        ticketSource = inputs.ticketSource;
      }
    } else if (where && where.handle && !bundleText) {
      throw new Error("type the log's full link (https://…/verify/tk_…), or drop the bundle file");
    }
    // A page for one ticket checks that ticket, whatever file or link is given.
    if (ui.handle && ticketSource !== "typed") {
      expectedTicket = ui.handle;
      if (ticketSource === "file") ticketSource = "path";
    }
    if (!bundleText) throw new Error("no bundle: type the ticket link or drop the bundle file");
  } catch (e) {
    finishCheck({ fetchError: e.message });
    return;
  }
  const redo = gatherInputs(); // the log's suggestions may have arrived meanwhile
  const started = performance.now();
  const report = await verify({
    bundleText,
    expectedTicket,
    ticketSource,
    contract: redo.contract,
    rpcs: redo.rpcs,
    deployments: DEPLOYMENTS,
    receipts: [...ui.files.receipts, ...typedReceipts()],
    disclosures: ui.files.disclosures,
    maxMergeDelaySeconds: mmdText === "" ? null : mmdText,
    onProgress: (done, total) => out.replaceChildren(h("p", { class: "busy" }, t(ui.lang, "progress", { done, total }))),
  }).catch((e) => ({ crashed: e.message }));
  ui.timing = { verifyMs: Math.round(performance.now() - started) };
  // The user's own RPC is remembered; never one from the log or a link.
  if (redo.rpcText && redo.rpcs[0] && redo.rpcs[0].source === "typed") {
    safeStorage("set", RPC_KEY, redo.rpcText);
    ui.storedRpc = redo.rpcText;
  }
  finishCheck(report);
}

function finishCheck(report) {
  ui.lastReport = report;
  const started = performance.now();
  render(report);
  if (ui.timing) ui.timing.renderMs = Math.round(performance.now() - started);
  setTitle();
  document.body.dataset.state = "done";
  // After a check the verdict comes first (on a phone the form is long).
  const v = $("verdict");
  if (v && v.scrollIntoView) v.scrollIntoView({ block: "start" });
}

function mark(kind) {
  const sym = { ok: "✓", bad: "✗", pending: "…", consistent: "○", unchecked: "?" }[kind];
  const word = t(ui.lang, `mark_${kind}`);
  return h("span", { class: `mark ${kind}`, title: word, "aria-label": word }, sym);
}

function explorerLink(chainId, block) {
  const base = EXPLORERS[chainId];
  if (!base) return null;
  return h("a", { href: `${base}/block/${block}`, target: "_blank", rel: "noopener noreferrer" }, t(ui.lang, "explorer"));
}

const TRUST_KEYS = new Set([
  "contract_mismatch", "no_trusted_contract", "trusted_not_address", "chain_mismatch",
  "anchorer_mismatch", "rpc_disagree", "list_chain", "no_code", "wrong_ticket",
]);

/// An event's mark: ✓ only when its own checks and the record's passed on
/// a chain read through a contract and RPC the user brought.
function markOf(r, e) {
  if (!e.ok) return "bad";
  if (e.status === "pending") return "pending";
  if (r.problems.length) return "bad";
  if (!r.ran || e.block === null) return "unchecked";
  if (r.verdict === "consistent") return "consistent";
  return "ok";
}

function verdictText(L, r) {
  switch (r.verdict) {
    case "valid":
      return r.pending ? t(L, "verdict_valid_pending", { n: r.pending }) : t(L, "verdict_valid");
    case "consistent": {
      const what = r.untrusted.length === 2 ? "what_both" : r.untrusted[0] === "contract" ? "what_contract" : "what_rpc";
      // An absence bundle has no steps: what the log claims is the absence.
      if (r.absence && r.complete_as_of) return t(L, "verdict_consistent_absent", { what: t(L, what), b: r.complete_as_of.batch });
      return t(L, "verdict_consistent", { what: t(L, what) });
    }
    case "absent": {
      const c = r.complete_as_of;
      return t(L, "verdict_absent", { b: c.batch, block: c.block, time: fmtTime(c.time * 1000) });
    }
    case "pending":
      return r.absence ? t(L, "verdict_pending_absent", { b: r.map_batch }) : t(L, "verdict_pending");
    case "error":
      return t(L, "verdict_error", { reason: r.error ? say(L, r.error) : "?" });
    default:
      return t(L, "verdict_invalid");
  }
}

function render(r) {
  const L = ui.lang;
  const out = $("result");
  out.replaceChildren();
  if (r.fetchError || r.crashed) {
    out.append(
      h("div", { class: "verdict error", id: "verdict", "data-verdict": "error" }, t(L, "verdict_error", { reason: r.fetchError || r.crashed })),
    );
    return;
  }
  out.append(h("div", { class: `verdict ${r.verdict}`, id: "verdict", "data-verdict": r.verdict }, verdictText(L, r)));
  if (r.verdict === "consistent") {
    out.append(h("div", { class: "bring", id: "bring" }, h("p", {}, t(L, "bring_h") + ":"),
      h("ul", {}, r.untrusted.map((w) => h("li", { "data-bring": w }, t(L, `bring_${w}`))))));
  }
  if (r.receipt_findings && r.receipt_findings.length) {
    const n = r.receipts.filter((x) => x.problems.length).length;
    out.append(h("p", { class: "receipts-trouble", id: "receipts-trouble" }, t(L, "receipts_trouble", { n })));
  }

  if (r.all_findings.length) {
    out.append(
      h("h2", {}, t(L, "problems_h")),
      h("ul", { class: "problems", id: "problems" }, r.all_findings.map((x) => h("li", { "data-key": x.key }, say(L, x)))),
    );
  }
  if (r.all_flags.length) {
    out.append(
      h("h2", {}, t(L, "warnings_h")),
      h("ul", { class: "warnings", id: "warnings" }, r.all_flags.map((x) => h("li", { "data-key": x.key }, say(L, x)))),
    );
  }
  if (r.notes.length) {
    out.append(
      h("h2", {}, t(L, "notes_h")),
      h("ul", { class: "notes", id: "notes" }, r.notes.map((x) => h("li", { "data-key": x.key }, say(L, x)))),
    );
  }

  out.append(renderSources(r));

  // Outcome: from anchored events only; never from a record that failed.
  const outcome = h("section", { id: "outcome" }, h("h2", {}, t(L, "outcome_h")));
  const first = r.events[0] && r.events[0].record;
  if (first) outcome.append(h("p", { class: "kind" }, t(L, r.complaint ? "kind_complaint" : "kind_request")));
  if (!r.state && r.absence && r.complete_as_of) {
    // An absence bundle that passed: no status, as the log has no record.
    if (r.verdict === "consistent") outcome.append(h("p", { class: "claimed" }, t(L, "outcome_claimed")));
    outcome.append(h("p", { class: "status" }, t(L, "status_absent")));
  } else if (!r.state) {
    const key = r.verdict === "pending" ? "status_pending" : r.verdict === "error" ? "status_error" : "status_not_established";
    outcome.append(h("p", { class: "status" }, t(L, key)));
  } else {
    const s = r.state;
    if (r.verdict === "consistent") outcome.append(h("p", { class: "claimed" }, t(L, "outcome_claimed")));
    outcome.append(h("p", { class: "status" }, t(L, "status_line", { status: table(L, "status")[s.status] || s.status })));
    if (s.resolution) outcome.append(h("p", { class: "resolution" }, t(L, "resolution_line", { resolution: code(L, s.resolution) })));
    if (s.final_response) outcome.append(h("p", {}, t(L, "final_line", { outcome: code(L, s.final_response) })));
    if (s.escalation_level) outcome.append(h("p", {}, t(L, "escalation_line", { level: s.escalation_level })));
  }
  const pend = r.events.filter((e) => e.status === "pending" && e.ok);
  if (pend.length && r.state) {
    const ctx = { complaint: r.complaint };
    outcome.append(h("p", { class: "pending-apart" }, t(L, "pending_apart", {
      list: pend.map((e) => `${t(L, "event_n", { ev: e.seq + 1 })} ${e.record ? describeEvent(L, e.record, ctx) : "?"}`).join("; "),
    })));
  }
  out.append(outcome);

  if (r.complaint && r.state) out.append(renderClock(r));

  // Timeline.
  const start = r.events[0] && r.events[0].occurredMs;
  const ctx = { complaint: r.complaint };
  const list = h("ol", { class: "timeline", id: "timeline" });
  const trustBroken = r.problems.some((p) => TRUST_KEYS.has(p.key));
  // A very long ticket shows its first and last steps and every step with a
  // problem or a flag; the rest are checked the same, and shown on request
  // (a browser lays out 100,000 steps slowly, and nobody reads them).
  const long = r.events.length > TIMELINE_FULL && !ui.showAll;
  let last = -1;
  for (const e of r.events) {
    if (long && e.seq >= TIMELINE_HEAD && e.seq < r.events.length - TIMELINE_TAIL && e.ok && !e.flags.length) continue;
    if (long && e.seq > last + 1) {
      const more = h("button", { type: "button", class: "show-all" }, t(L, "show_all", { n: r.events.length }));
      more.addEventListener("click", () => {
        ui.showAll = true;
        render(r);
      });
      list.append(h("li", { class: "gap", "data-hidden": e.seq - last - 1 }, t(L, "hidden_steps", { n: e.seq - last - 1 }), " ", more));
    }
    last = e.seq;
    const kind = markOf(r, e);
    const what = e.record ? describeEvent(L, e.record, ctx) : t(L, "event_n", { ev: e.seq + 1 });
    const who = e.record ? t(L, "by", { who: table(L, "role")[e.record.actor.role] + (e.record.actor.role === "customer" ? "" : ` (${e.record.actor.ref})`) }) : null;
    const stepWord = e.record && table(L, "step")[e.type];
    const since = stepWord && start !== null && e.seq > 0 ? t(L, "after_you_wrote", { what: stepWord, dur: duration(L, e.occurredMs - start) }) : null;
    let anchor;
    if (e.status === "pending") anchor = t(L, "pending_text");
    else if (kind === "bad" && e.ok) anchor = t(L, trustBroken ? "anchored_untrusted" : "anchored_in_bad");
    else if (kind === "unchecked") anchor = t(L, "anchored_unchecked");
    else if (e.block !== null) {
      anchor = [t(L, "anchored_in", { block: e.block, time: fmtTime(e.blockTime * 1000) }),
        e.lagS !== null && e.lagS >= 0 ? ` · ${t(L, "lag", { dur: duration(L, e.lagS * 1000) })}` : "", " ", explorerLink(r.chain_id, e.block)];
    } else anchor = t(L, "anchored_in_bad");
    list.append(
      h("li", { class: `event ${kind}`, "data-seq": e.seq, "data-mark": kind },
        mark(kind),
        h("div", { class: "body" },
          h("div", { class: "line1" }, h("span", { class: "n" }, `${e.seq + 1}.`), " ", h("time", {}, fmtTime(e.occurredMs)), " ", h("strong", {}, what)),
          h("div", { class: "line2" }, [who, since].filter(Boolean).join(" · ")),
          h("div", { class: "line3" }, anchor),
          e.problems.length ? h("ul", { class: "problems" }, e.problems.map((x) => h("li", { "data-key": x.key }, say(L, x)))) : null,
          e.flags.length ? h("ul", { class: "warnings" }, e.flags.map((x) => h("li", { "data-key": x.key }, say(L, x)))) : null,
        ),
      ),
    );
  }
  // An event a receipt proves but the record lacks gets its own ✗ line.
  for (const rc of r.receipts) {
    if (!rc.receipt || !rc.evidence.length) continue;
    list.append(
      h("li", { class: "event bad withheld", "data-seq": rc.receipt.seq, "data-mark": "withheld" },
        mark("bad"),
        h("div", { class: "body" },
          h("div", { class: "line1" }, h("time", {}, fmtTime(rc.recordedMs)), " ", h("strong", {}, t(L, "withheld_line", { ev: rc.receipt.seq + 1 }))),
          h("ul", { class: "problems" }, rc.evidence.map((x) => h("li", { "data-key": x.key }, say(L, x)))),
        ),
      ),
    );
  }
  if (!list.childElementCount) list.append(h("li", { class: "none" }, t(L, "timeline_none")));
  out.append(h("h2", {}, t(L, "timeline_h")), list);

  // Completeness and the caveats, always (as `proofdesk verify` states them).
  const comp = h("section", { id: "completeness" });
  const asOf = completeness(L, r);
  if (asOf) comp.append(asOf);
  const c = r.complete_as_of;
  // An absence bundle shows no event, so no other version of one to rule out.
  if (!r.absence) comp.append(h("p", { class: "equivocation", id: "equivocation" }, c && c.tip_seq !== null && c.tip_seq !== undefined ? t(L, "equivocation_map", { b: c.batch }) : t(L, "equivocation")));
  if (r.receipts_through !== null) comp.append(h("p", {}, t(L, "receipts_found", { r: r.receipts_through + 1 })));
  if (r.mmd) comp.append(h("p", { class: "mmd", id: "mmd-bound", "data-source": r.mmd.source }, mmdSentence(L, r.mmd)));
  out.append(comp);

  if (r.receipts.length) {
    out.append(
      h("h2", {}, t(L, "receipts_h")),
      h("ul", { id: "receipt-list" }, r.receipts.map((rc) =>
        h("li", { class: rc.ok ? "ok" : "bad", "data-ok": String(rc.ok) }, mark(rc.ok ? "ok" : "bad"), " ",
          rc.ok ? t(L, "receipt_ok", { n: rc.n, ev: rc.receipt.seq + 1 }) : [...rc.problems, ...rc.evidence].map((x) => say(L, x)).join(" ")),
      )),
    );
  }
  if (r.disclosures.length) {
    out.append(
      h("h2", {}, t(L, "disclosures_h")),
      h("ul", { id: "disclosure-list" }, r.disclosures.map((d) =>
        h("li", { class: d.ok ? "ok" : "bad" }, mark(d.ok ? "ok" : "bad"), " ",
          d.ok ? [t(L, "disclosure_ok", { ev: d.seq + 1, time: fmtTime(d.occurredMs) }), h("blockquote", {}, d.content)] : d.problems.map((x) => say(L, x)).join(" ")),
      )),
    );
  }

  out.append(h("h2", {}, t(L, "limits_h")), h("ul", { class: "limits", id: "limits" },
    [...table(L, "limits"), r.mmd ? mmdSentence(L, r.mmd) : null].filter(Boolean).map((x) => h("li", {}, x))));

  const src = r.sources || {};
  out.append(
    h("details", { class: "tech" },
      h("summary", {}, t(L, "details_h")),
      h("dl", {},
        h("dt", {}, "ticket"), h("dd", {}, r.ticket || "?"),
        h("dt", {}, "chain"), h("dd", {}, String(r.chain_id)),
        h("dt", {}, "contract"), h("dd", {}, `${r.contract} (${r.contract_source || "none"})`),
        h("dt", {}, "anchorer"), h("dd", {}, r.anchorer || "?"),
        h("dt", {}, "nextIndex()"), h("dd", {}, r.next_index === undefined ? "?" : String(r.next_index)),
        h("dt", {}, "batchCount()"), h("dd", {}, r.batch_count === null ? "?" : String(r.batch_count)),
        h("dt", {}, "ticket map"), h("dd", {}, r.map_batch === null ? "none" : `batch ${r.map_batch}${r.map ? `, tip seq ${r.map.tip_seq ?? "none"}` : ""}`),
        h("dt", {}, "RPCs"), h("dd", {}, (src.rpcs || []).map((x) => `${x.url} (${x.source})`).join(", ") || "?"),
        h("dt", {}, "common block"), h("dd", {}, r.latest_block ? `${r.latest_block.number} (${fmtTime(r.latest_block.time * 1000)})` : "?"),
        h("dt", {}, "events"), h("dd", {}, r.events.slice(0, TIMELINE_HEAD).map((e) => `${e.seq + 1}: seq ${e.seq}, index ${e.index ?? "?"}${e.batch !== null ? `, batch ${e.batch}` : ""}`).join("; ") + (r.events.length > TIMELINE_HEAD ? "; …" : "")),
      ),
    ),
  );
}

/// How far the history is complete (verify/src/caveats.rs): as of batch B
/// when the bundle's map proof holds and B is anchored, with what that rests
/// on; else the anchored prefix, and why later events are not ruled out.
/// Nothing when the record failed.
function completeness(L, r) {
  const c = r.complete_as_of;
  if (r.complete_through === null) {
    // No event anchored (an absence bundle has none); the map can still
    // prove the ticket absent at B: one statement, with what it rests on.
    if (!c || c.tip_seq !== null) return null;
    const words = [
      t(L, "map_absent", { b: c.batch, block: c.block, time: fmtTime(c.time * 1000) }),
      c.later_batch !== null ? t(L, "map_later", { l: c.later_batch, b: c.batch }) : null,
      t(L, "map_honesty"),
    ];
    return h("p", { class: "complete", id: "map-absent", "data-batch": c.batch }, words.filter(Boolean).join(L === "zh" ? "" : " "));
  }
  const k = r.complete_through + 1;
  if (!c) {
    const why = r.map_batch === null ? t(L, "complete_no_map") : t(L, "complete_map_not_anchored", { b: r.map_batch });
    return h("p", { class: "complete" }, [t(L, "complete", { k }), why].join(L === "zh" ? "" : " "));
  }
  const tip = c.tip_seq === null
    ? t(L, "map_tip_none", { b: c.batch })
    : t(L, c.tip_seq === r.complete_through ? "map_tip_last" : "map_tip_seq", { b: c.batch, t: c.tip_seq + 1 });
  const words = [
    t(L, "complete_as_of", { k, b: c.batch, block: c.block, time: fmtTime(c.time * 1000) }),
    tip,
    c.later_batch !== null ? t(L, "map_later", { l: c.later_batch, b: c.batch }) : null,
    t(L, "map_honesty"),
  ];
  return h("p", { class: "complete", id: "complete-as-of", "data-batch": c.batch }, words.filter(Boolean).join(L === "zh" ? "" : " "));
}

function mmdSentence(L, mmd) {
  if (mmd.source === "nobody") return t(L, "mmd_nobody", { secs: Math.floor(mmd.claimed / 1000) });
  return t(L, `mmd_${mmd.source}`, { secs: Math.floor(mmd.ms / 1000) });
}

/// Each input and where it came from, in words.
function renderSources(r) {
  const L = ui.lang;
  const s = r.sources || { rpcs: [] };
  const items = [];
  if (s.contract) {
    items.push(h("li", { "data-input": "contract", "data-source": s.contract.source },
      t(L, "src_contract", { value: s.contract.value, source: sourceWords(L, s.contract.source, s.contract.entry || s.contract.list) })));
  } else items.push(h("li", { "data-input": "contract", "data-source": "none" }, t(L, "src_none_contract")));
  for (const x of s.rpcs) items.push(h("li", { "data-input": "rpc", "data-source": x.source }, t(L, "src_rpc", { value: x.url, source: sourceWords(L, x.source) })));
  if (s.ticket) items.push(h("li", { "data-input": "ticket", "data-source": s.ticket.source }, t(L, "src_ticket", { value: s.ticket.value, source: sourceWords(L, s.ticket.source) })));
  if (ui.link.refusedTicket) items.push(h("li", { "data-input": "ticket", "data-source": "link", class: "refused" }, t(L, "link_refused", { got: ui.link.refusedTicket, handle: ui.handle })));
  if (s.list_hint) {
    items.push(h("li", { "data-input": "list-hint" }, t(L, "list_hint", { contract: s.list_hint.contract, platform: s.list_hint.platform, kind: t(L, `kind_${s.list_hint.kind}`) })));
  }
  return h("section", { id: "sources" }, h("h2", {}, t(L, "sources_h")), h("ul", {}, items));
}

function addMonthsUTC(ms, months) {
  const d = new Date(ms);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return Date.UTC(target.getUTCFullYear(), target.getUTCMonth(), Math.min(d.getUTCDate(), lastDay),
    d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

/// Handling deadlines (SPEC §4): met only when the step is reported within
/// the limit AND its anchoring block is at or before the deadline; reported
/// in time but anchored later is "reported met, recorded late".
export function judgeStep(events, type, deadline, now) {
  const step = events.find((e) => e.type === type && e.ok);
  if (step) {
    if (step.occurredMs > deadline) return { cls: "missed", key: "missed_late", p: { when: step.occurredMs } };
    if (step.status === "pending" || step.blockTime === null) return { cls: "reported", key: "met_pending", p: { occurred: step.occurredMs } };
    if (step.blockTime * 1000 <= deadline) return { cls: "met", key: "met", p: { occurred: step.occurredMs, anchored: step.blockTime * 1000 } };
    return { cls: "late", key: "met_late", p: { occurred: step.occurredMs, anchored: step.blockTime * 1000 } };
  }
  if (now > deadline) return { cls: "missed", key: "missed", p: {} };
  return { cls: "open", key: "open_left", p: { days: Math.ceil((deadline - now) / DAY) } };
}

function renderClock(r) {
  const L = ui.lang;
  const start = r.events[0].occurredMs;
  const ackDays = Math.max(0, Number($("ack-days").value) || 0);
  const rule = $("final-rule").value;
  const finalDeadline =
    rule === "mica" ? addMonthsUTC(start, 2) : rule === "custom" ? start + Math.max(0, Number($("final-days").value) || 0) * DAY : start + 56 * DAY;
  const now = Date.now();
  const words = (j) => {
    const p = { ...j.p };
    for (const k of ["when", "occurred", "anchored"]) if (k in p) p[k] = fmtTime(p[k]);
    return t(L, j.key, p);
  };
  const ack = judgeStep(r.events, "ticket.acknowledged", start + ackDays * DAY, now);
  const fin = judgeStep(r.events, "final_response.issued", finalDeadline, now);
  // Judged from the log's claims alone when the contract or RPC is the log's.
  const claimed = r.verdict === "consistent";
  if (claimed) {
    for (const j of [ack, fin]) if (j.cls === "met") j.cls = "reported";
  }
  return h("section", { id: "clock" },
    h("h2", {}, t(L, "clock_h")),
    claimed ? h("p", { class: "claimed" }, t(L, "outcome_claimed")) : null,
    h("p", {}, t(L, "clock_start", { time: fmtTime(start) })),
    h("p", { class: `clock ${ack.cls}`, id: "clock-ack", "data-judged": ack.key }, t(L, "clock_ack", { deadline: fmtTime(start + ackDays * DAY), verdict: words(ack) })),
    h("p", { class: `clock ${fin.cls}`, id: "clock-final", "data-judged": fin.key }, t(L, "clock_final", { deadline: fmtTime(finalDeadline), verdict: words(fin) })),
    h("p", { class: "note" }, t(L, "clock_note")),
  );
}

function conformance() {
  const res = runConformance(vectorsText);
  ui.lastConformance = res;
  renderConformance(res);
  document.body.dataset.conformance = res.ok ? "pass" : "fail";
  return res;
}

function renderConformance(res) {
  const L = ui.lang;
  $("conformance").replaceChildren(
    ...[h("p", { class: res.ok ? "verdict valid" : "verdict invalid", id: "conformance-verdict" },
      res.ok ? t(L, "conformance_ok", { n: res.total }) : t(L, "conformance_bad", { bad: res.failed.length, n: res.total })),
    res.failed.length ? h("ul", { class: "problems" }, res.failed.map((x) => h("li", {}, `${x.name}: ${x.detail}`))) : null].filter(Boolean),
  );
}

/// Reads the fragment: receipts (#r= compact, #q= the QR form), and the
/// link's contract, RPCs and ticket, kept apart as "from the link".
function readFragment() {
  const frag = new URLSearchParams(location.hash.replace(/^#/, ""));
  const lines = [];
  if (frag.get("r")) lines.push(...frag.get("r").split(","));
  if (frag.get("q")) lines.push("q=" + frag.get("q"));
  if (lines.length) $("receipts").value = lines.join("\n");
  if (frag.get("contract")) ui.link.contract = frag.get("contract").trim().toLowerCase();
  if (frag.get("rpc")) ui.link.rpcs = splitRpcs(frag.get("rpc"));
  const ticket = frag.get("ticket");
  if (ticket) {
    if (ui.handle) {
      // This page is for the ticket in its URL; a link cannot swap in another.
      const named = locate(ticket);
      if (!named || named.handle !== ui.handle) ui.link.refusedTicket = named ? named.handle : ticket.slice(0, 120);
    } else {
      ui.link.ticket = ticket;
    }
  }
  return frag;
}

function init() {
  ui.lang = pickLang();
  const langs = $("langs");
  for (const [code, name] of Object.entries(LANGS)) {
    const b = h("button", { type: "button", "data-lang": code }, name);
    b.addEventListener("click", () => {
      ui.lang = code;
      safeStorage("set", "proofdesk.lang", code);
      applyLang();
    });
    langs.append(b);
  }
  const web = location.protocol === "http:" || location.protocol === "https:";
  if (web) {
    const m = /^(.*)\/verify(?:\/([^/]+))?\/?$/.exec(location.pathname);
    ui.logBase = location.origin + (m ? m[1] : "");
    const handle = m && m[2] ? segment(m[2]) : null;
    if (handle && HANDLE.test(handle)) ui.handle = handle;
  }
  const frag = readFragment();
  if (ui.handle) ui.ticketSet = { value: `${ui.logBase}/verify/${ui.handle}`, source: "path" };
  else if (ui.link.ticket) ui.ticketSet = { value: ui.link.ticket, source: "link" };
  $("ticket").value = ui.ticketSet.value;
  ui.storedRpc = safeStorage("get", RPC_KEY) || "";
  $("rpc").value = ui.storedRpc;

  const drop = $("drop");
  drop.addEventListener("dragover", (e) => {
    e.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    takeFiles(e.dataTransfer.files);
  });
  $("file").addEventListener("change", (e) => takeFiles(e.target.files));
  $("deployment").addEventListener("change", () => {
    const d = DEPLOYMENTS.find((x) => x.id === $("deployment").value) || null;
    ui.listPick = d;
    if (d) $("contract").value = d.contract;
  });
  $("form").addEventListener("submit", (e) => {
    e.preventDefault();
    check();
  });
  $("run-conformance").addEventListener("click", conformance);
  $("final-rule").addEventListener("change", () => ui.lastReport && render(ui.lastReport));
  $("ack-days").addEventListener("change", () => ui.lastReport && render(ui.lastReport));
  applyLang();
  document.body.dataset.state = "ready";
  window.proofdesk = { check, conformance, takeFiles, report: () => ui.lastReport, timing: () => ui.timing };

  if (frag.has("conformance")) conformance();
  // A link to one ticket checks it at once (with whatever the user and,
  // failing that, the log or the link brought: the verdict says which).
  const ticketKnown = !!ui.ticketSet.value;
  document.body.dataset.auto = ticketKnown ? "pending" : "none";
  const suggestions = web ? loadSuggestions(ui.logBase) : Promise.resolve();
  suggestions.then(async () => {
    if (ticketKnown) await check();
    document.body.dataset.auto = "done";
  });
}

init();
