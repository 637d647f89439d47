// The page: inputs, fetching the bundle (from the log, or a dropped file),
// and rendering the report of verify.js for a person. Every text from a
// bundle, receipt or disclosure goes into the DOM as text, never as HTML.

import vectorsText from "../../tests/vectors/protocol-v1.json";
import { parseStrict } from "./json.js";
import { verify } from "./verify.js";
import { fromCompact } from "./receipt.js";
import { runConformance } from "./conformance.js";
import { LANGS, t, say, describeEvent, table, duration } from "./i18n.js";

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
  logBase: null, // origin of the log the page came from, if any
  lastReport: null,
  lastConformance: null,
};

function pickLang() {
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

function fmtTime(ms) {
  if (ms === null || ms === undefined) return "?";
  const locale = ui.lang === "zh" ? "zh-CN" : (navigator.language || "en-GB").startsWith("en") ? navigator.language : "en-GB";
  return new Intl.DateTimeFormat(locale, {
    year: "numeric", month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short",
  }).format(new Date(ms));
}

function applyLang() {
  document.documentElement.lang = ui.lang === "zh" ? "zh-CN" : "en";
  for (const el of document.querySelectorAll("[data-t]")) el.textContent = t(ui.lang, el.dataset.t);
  for (const b of document.querySelectorAll("#langs button")) b.setAttribute("aria-pressed", String(b.dataset.lang === ui.lang));
  document.title = t(ui.lang, "title") + " · Proofdesk";
  if (ui.lastReport) render(ui.lastReport);
  if (ui.lastConformance) renderConformance(ui.lastConformance);
}

/// The handle and log base a typed value or the page URL points at.
function locate(input) {
  const v = (input || "").trim();
  if (/^tk_[0-9a-f]{32}$/.test(v)) return { handle: v, base: ui.logBase };
  try {
    const u = new URL(v);
    if (u.protocol !== "http:" && u.protocol !== "https:") return null;
    const m = /\/(tk_[0-9a-f]{32})(?:\/proof)?\/?$/.exec(u.pathname);
    if (!m) return null;
    const prefix = u.pathname.slice(0, m.index).replace(/\/(verify|v1\/tickets)$/, "");
    return { handle: m[1], base: u.origin + prefix, explicitProof: /\/proof\/?$/.test(u.pathname) ? u.href : null };
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

/// Prefills RPC and contract from the log's published defaults (GET /v1/log).
async function prefill(base) {
  try {
    const info = JSON.parse(await fetchText(`${base}/v1/log`));
    if (info.chain && info.chain.contract && !$("contract").value) $("contract").value = info.chain.contract;
    if (info.public_rpc && !$("rpc").value) $("rpc").value = info.public_rpc;
    return true;
  } catch {
    return false;
  }
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
      kind = /"events"/.test(text) ? "bundle" : null;
    }
    if (kind === "bundle") {
      ui.files.bundle = text;
      ui.files.bundleName = file.name;
    } else if (kind === "receipt") ui.files.receipts.push(value);
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

function compactReceipts() {
  const out = [];
  for (const line of $("receipts").value.split(/[\s,]+/)) {
    if (!line) continue;
    try {
      out.push(fromCompact(line));
    } catch (e) {
      // Keep it, unreadable: the report names it.
      out.push({ unreadable: `${line.slice(0, 24)}…: ${e.message}` });
    }
  }
  return out;
}

async function check() {
  const out = $("result");
  out.replaceChildren(h("p", { class: "busy" }, t(ui.lang, "checking")));
  document.body.dataset.state = "running";
  const rpcUrl = $("rpc").value.trim();
  if (rpcUrl) safeStorage("set", RPC_KEY, rpcUrl);
  let bundleText = ui.files.bundle;
  let expectedTicket = null;
  const where = locate($("ticket").value);
  try {
    if (where && where.base) {
      expectedTicket = where.handle;
      if (!$("contract").value || !rpcUrl) await prefill(where.base);
      const url = where.explicitProof || `${where.base}/v1/tickets/${where.handle}/proof`;
      out.replaceChildren(h("p", { class: "busy" }, t(ui.lang, "fetching", { url })));
      bundleText = await fetchText(url);
    } else if (where && where.handle && !bundleText) {
      throw new Error("type the log's full link (https://…/verify/tk_…), or drop the bundle file");
    }
    if (!bundleText) throw new Error("no bundle: type the ticket link or drop the bundle file");
  } catch (e) {
    const report = { fetchError: e.message };
    ui.lastReport = report;
    render(report);
    document.body.dataset.state = "done";
    return;
  }
  const report = await verify({
    bundleText,
    expectedTicket,
    rpcUrl: $("rpc").value.trim(),
    trustedContract: $("contract").value.trim(),
    trustBundleContract: $("trust-bundle").checked,
    receipts: [...ui.files.receipts, ...compactReceipts()],
    disclosures: ui.files.disclosures,
    maxMergeDelaySeconds: $("mmd").value.trim() === "" ? null : $("mmd").value.trim(),
  }).catch((e) => ({ crashed: e.message }));
  ui.lastReport = report;
  render(report);
  document.body.dataset.state = "done";
}

function mark(kind) {
  const sym = { ok: "✓", bad: "✗", pending: "…" }[kind];
  const word = t(ui.lang, { ok: "mark_ok", bad: "mark_bad", pending: "mark_pending" }[kind]);
  return h("span", { class: `mark ${kind}`, title: word, "aria-label": word }, sym);
}

function explorerLink(chainId, block) {
  const base = EXPLORERS[chainId];
  if (!base) return null;
  return h("a", { href: `${base}/block/${block}`, target: "_blank", rel: "noopener noreferrer" }, t(ui.lang, "explorer"));
}

function render(r) {
  const L = ui.lang;
  const out = $("result");
  out.replaceChildren();
  if (r.fetchError || r.crashed) {
    out.append(
      h("div", { class: "verdict norun", id: "verdict", "data-verdict": "norun" }, t(L, "verdict_norun")),
      h("ul", { class: "problems" }, h("li", {}, r.fetchError || r.crashed)),
    );
    return;
  }
  // Nothing anchored yet and nothing wrong: too early, not a failure.
  const tooEarly = r.ran && !r.valid && r.unproven && r.all_findings.length === 0;
  const verdictKind = !r.ran ? "norun" : r.valid ? "valid" : tooEarly ? "unproven" : "invalid";
  const verdictText = !r.ran
    ? t(L, "verdict_norun")
    : tooEarly
      ? t(L, "verdict_unproven")
      : !r.valid
        ? t(L, "verdict_invalid")
        : r.pending
          ? t(L, "verdict_valid_pending", { n: r.pending })
          : t(L, "verdict_valid");
  out.append(h("div", { class: `verdict ${verdictKind}`, id: "verdict", "data-verdict": verdictKind }, verdictText));

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

  // Outcome: from anchored events only; never from an invalid record.
  const outcome = h("section", { id: "outcome" }, h("h2", {}, t(L, "outcome_h")));
  if (!r.state) {
    outcome.append(h("p", { class: "status" }, t(L, "status_not_established")));
  } else {
    const s = r.state;
    outcome.append(h("p", { class: "status" }, t(L, "status_line", { status: table(L, "status")[s.status] || s.status })));
    if (s.resolution) outcome.append(h("p", { class: "resolution" }, t(L, "resolution_line", { resolution: s.resolution })));
    if (s.final_response) outcome.append(h("p", {}, t(L, "final_line", { outcome: s.final_response })));
    if (s.escalation_level) outcome.append(h("p", {}, t(L, "escalation_line", { level: s.escalation_level })));
    const pend = r.events.filter((e) => e.status === "pending");
    if (pend.length) {
      outcome.append(h("p", {}, t(L, "pending_apart", { list: pend.map((e) => `#${e.seq} ${e.record ? describeEvent(L, e.record) : "?"}`).join("; ") })));
    }
  }
  out.append(outcome);

  if (r.complaint && r.state) out.append(renderClock(r));

  // Timeline.
  const start = r.events[0] && r.events[0].occurredMs;
  const list = h("ol", { class: "timeline", id: "timeline" });
  for (const e of r.events) {
    const kind = !e.ok || !r.ran ? "bad" : e.status === "pending" ? "pending" : "ok";
    const what = e.record ? describeEvent(L, e.record) : `#${e.seq}`;
    const who = e.record ? t(L, "by", { who: table(L, "role")[e.record.actor.role] + (e.record.actor.role === "customer" ? "" : ` (${e.record.actor.ref})`) }) : null;
    const stepWord = e.record && table(L, "step")[e.type];
    const since = stepWord && start !== null && e.seq > 0 ? t(L, "after_you_wrote", { what: stepWord, dur: duration(L, e.occurredMs - start) }) : null;
    let anchor;
    if (e.status === "pending") anchor = t(L, "pending_text");
    else if (e.block !== null) anchor = [t(L, "anchored_in", { block: e.block, time: fmtTime(e.blockTime * 1000) }), " ", explorerLink(r.chain_id, e.block)];
    else anchor = t(L, "anchored_in_bad");
    list.append(
      h("li", { class: `event ${kind}`, "data-seq": e.seq, "data-mark": kind },
        mark(kind),
        h("div", { class: "body" },
          h("div", { class: "line1" }, h("time", {}, fmtTime(e.occurredMs)), " ", h("strong", {}, what)),
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
    if (!rc.receipt || rc.event || !rc.problems.some((x) => x.key === "receipt_withheld")) continue;
    list.append(
      h("li", { class: "event bad withheld", "data-seq": rc.receipt.seq, "data-mark": "withheld" },
        mark("bad"),
        h("div", { class: "body" },
          h("div", { class: "line1" }, h("time", {}, fmtTime(rc.recordedMs)), " ", h("strong", {}, t(L, "withheld_line", { seq: rc.receipt.seq }))),
          h("ul", { class: "problems" }, rc.problems.map((x) => h("li", { "data-key": x.key }, say(L, x)))),
        ),
      ),
    );
  }
  out.append(h("h2", {}, t(L, "timeline_h")), list);

  // Completeness, always.
  const comp = h("section", { id: "completeness" });
  if (r.complete_through !== null) comp.append(h("p", {}, t(L, "complete", { k: r.complete_through })));
  comp.append(h("p", {}, t(L, "not_ruled_out")));
  if (r.receipts_through !== null) comp.append(h("p", {}, t(L, "receipts_found", { r: r.receipts_through })));
  if (r.mmd) comp.append(h("p", { class: "mmd" }, t(L, "mmd_used", { secs: r.mmd.ms / 1000, source: t(L, `mmd_${r.mmd.source}`) })));
  out.append(comp);

  if (r.receipts.length) {
    out.append(
      h("h2", {}, t(L, "receipts_h")),
      h("ul", { id: "receipt-list" }, r.receipts.map((rc) =>
        h("li", { class: rc.ok ? "ok" : "bad" }, mark(rc.ok ? "ok" : "bad"), " ",
          rc.ok ? t(L, "receipt_ok", { n: rc.n, seq: rc.receipt.seq }) : rc.problems.map((x) => say(L, x)).join(" ")),
      )),
    );
  }
  if (r.disclosures.length) {
    out.append(
      h("h2", {}, t(L, "disclosures_h")),
      h("ul", { id: "disclosure-list" }, r.disclosures.map((d) =>
        h("li", { class: d.ok ? "ok" : "bad" }, mark(d.ok ? "ok" : "bad"), " ",
          d.ok ? [t(L, "disclosure_ok", { seq: d.seq, time: fmtTime(d.occurredMs) }), h("blockquote", {}, d.content)] : d.problems.map((x) => say(L, x)).join(" ")),
      )),
    );
  }

  out.append(h("h2", {}, t(L, "limits_h")), h("ul", { class: "limits" }, table(L, "limits").map((x) => h("li", {}, x))));

  out.append(
    h("details", { class: "tech" },
      h("summary", {}, t(L, "details_h")),
      h("dl", {},
        h("dt", {}, "ticket"), h("dd", {}, r.ticket || "?"),
        h("dt", {}, "chain"), h("dd", {}, String(r.chain_id)),
        h("dt", {}, "contract"), h("dd", {}, `${r.contract} (${r.contract_source || "untrusted"})`),
        h("dt", {}, "anchorer"), h("dd", {}, r.anchorer || "?"),
        h("dt", {}, "nextIndex()"), h("dd", {}, r.next_index === undefined ? "?" : String(r.next_index)),
        h("dt", {}, "latest block"), h("dd", {}, r.latest_block ? `${r.latest_block.number} (${fmtTime(r.latest_block.time * 1000)})` : "?"),
      ),
    ),
  );
}

function addMonthsUTC(ms, months) {
  const d = new Date(ms);
  const target = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  return Date.UTC(target.getUTCFullYear(), target.getUTCMonth(), Math.min(d.getUTCDate(), lastDay),
    d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

function renderClock(r) {
  const L = ui.lang;
  const anchored = r.events.filter((e) => e.status === "anchored" && e.ok);
  const start = r.events[0].occurredMs;
  const ackDays = Math.max(0, Number($("ack-days").value) || 0);
  const rule = $("final-rule").value;
  const finalDeadline =
    rule === "mica" ? addMonthsUTC(start, 2) : rule === "custom" ? start + Math.max(0, Number($("final-days").value) || 0) * DAY : start + 56 * DAY;
  const now = Date.now();
  const judge = (type, deadline) => {
    const done = anchored.find((e) => e.type === type);
    if (done) {
      return done.recordedMs <= deadline
        ? { cls: "met", text: t(L, "met", { when: fmtTime(done.recordedMs) }) }
        : { cls: "missed", text: t(L, "missed_late", { when: fmtTime(done.recordedMs) }) };
    }
    if (now > deadline) return { cls: "missed", text: t(L, "missed") };
    return { cls: "open", text: t(L, "open_left", { days: Math.ceil((deadline - now) / DAY) }) };
  };
  const ack = judge("ticket.acknowledged", start + ackDays * DAY);
  const fin = judge("final_response.issued", finalDeadline);
  return h("section", { id: "clock" },
    h("h2", {}, t(L, "clock_h")),
    h("p", {}, t(L, "clock_start", { time: fmtTime(start) })),
    h("p", { class: `clock ${ack.cls}`, id: "clock-ack" }, t(L, "clock_ack", { deadline: fmtTime(start + ackDays * DAY), verdict: ack.text })),
    h("p", { class: `clock ${fin.cls}`, id: "clock-final" }, t(L, "clock_final", { deadline: fmtTime(finalDeadline), verdict: fin.text })),
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
  let handle = null;
  if (web) {
    const m = /^(.*)\/verify(?:\/(tk_[0-9a-f]{32}))?\/?$/.exec(location.pathname);
    ui.logBase = location.origin + (m ? m[1] : "");
    handle = m && m[2];
    if (handle) $("ticket").value = `${ui.logBase}/verify/${handle}`;
  }
  $("rpc").value = safeStorage("get", RPC_KEY) || "";
  const frag = new URLSearchParams(location.hash.replace(/^#/, ""));
  if (frag.get("r")) $("receipts").value = frag.get("r").split(",").join("\n");
  for (const k of ["rpc", "contract", "ticket"]) if (frag.get(k)) $(k).value = frag.get(k);

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
  $("form").addEventListener("submit", (e) => {
    e.preventDefault();
    check();
  });
  $("run-conformance").addEventListener("click", conformance);
  $("final-rule").addEventListener("change", () => ui.lastReport && render(ui.lastReport));
  $("ack-days").addEventListener("change", () => ui.lastReport && render(ui.lastReport));
  applyLang();
  document.body.dataset.state = "ready";
  window.proofdesk = { check, conformance, takeFiles, report: () => ui.lastReport };

  if (frag.has("conformance")) conformance();
  if (web) {
    prefill(ui.logBase).then(() => {
      if (handle && $("rpc").value && $("contract").value) check();
    });
  }
}

init();
