// Drives the verifier page in headless Chromium (Debian's, via playwright-core
// from .tools/) and prints what a person would see, as JSON, for each case.
// Reusable: tests/verifier_page.rs runs its cases through it, and the attack
// table (SPEC of issue 25 §7) can run its cases through it too: a case is
// the URL the operator hands out (with its fragment), what the user fills
// in, and the page's verdict class read from `data-verdict`.
//
//   node tests/browser/verify-page.mjs CASES.json
//
// CASES.json is a list of cases:
//   {name, url,
//    lang?       "en" | "zh": pressed on the page; null: leave the page's own choice (?lang=)
//    viewport?   {width, height} (default 1000 × 900)
//    storage?    {key: value} put in the page's localStorage before it loads
//                (e.g. {"proofdesk.rpc": url}: an RPC typed on an earlier visit)
//    ticket?, rpc?, contract?, deployment? (a list entry's "chain/contract" id),
//    trustBundle?, receipts?: [compact or "q=…"], files?: [paths], mmd?, ackDays?,
//    conformance?, screenshot?, readBody? (also return the page's whole text)}
// With any of ticket/rpc/contract/deployment/trustBundle/receipts/files/mmd
// given, the page's own check (if it started one) is awaited, the form is
// filled and "Check" is pressed; otherwise the page is expected to check by
// itself (a /verify/{handle} link, or a saved page opened with #ticket=).
// Each case gets a fresh browser context: nothing carries over between cases.
// Output: a JSON list of {name, verdict, verdictText, marks, problems,
// problemKeys, warnings, warningKeys, notes, noteKeys, sources, status,
// resolution, kind, clock, completeness, limits, receipts, ..., errors}.
import { createRequire } from "node:module";
import { existsSync, readFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(join(root, ".tools/package.json"));
const { chromium } = require("playwright-core");

const FILL_KEYS = ["ticket", "rpc", "contract", "deployment", "trustBundle", "receipts", "files", "mmd", "ackDays"];

export async function launch() {
  const executablePath = process.env.PROOFDESK_CHROMIUM || which("chromium");
  return chromium.launch({
    executablePath,
    headless: true,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--allow-file-access-from-files",
    ],
  });
}

/// Runs one case in its own context; returns what the page shows.
export async function runCase(browser, c, { timeoutMs = 60000 } = {}) {
  const context = await browser.newContext({
    viewport: c.viewport || { width: 1000, height: 900 },
    locale: "en-GB",
    timezoneId: "Europe/London",
  });
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error" && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
  const result = { name: c.name, errors };
  try {
    if (c.storage) {
      await page.addInitScript((entries) => {
        for (const [k, v] of Object.entries(entries)) localStorage.setItem(k, v);
      }, c.storage);
    }
    await page.goto(c.url);
    await page.waitForFunction(() => document.body.dataset.state && document.body.dataset.state !== "loading", null, { timeout: 10000 });
    // Let the page's own check (if any) finish before anything is filled.
    await page.waitForFunction(() => document.body.dataset.auto !== "pending", null, { timeout: timeoutMs });
    if (c.lang !== null) await page.click(`#langs button[data-lang="${c.lang || "en"}"]`);
    if (c.conformance) {
      await page.click("#run-conformance");
      await page.waitForFunction(() => document.body.dataset.conformance, null, { timeout: 30000 });
      result.conformance = {
        state: await page.evaluate(() => document.body.dataset.conformance),
        text: await page.textContent("#conformance"),
      };
    }
    const fill = FILL_KEYS.some((k) => c[k] !== undefined);
    if (fill) {
      if (c.ticket !== undefined) await page.fill("#ticket", c.ticket);
      if (c.rpc !== undefined) await page.fill("#rpc", c.rpc);
      if (c.deployment !== undefined) await page.selectOption("#deployment", c.deployment);
      if (c.contract !== undefined) await page.fill("#contract", c.contract);
      if (c.trustBundle) await page.check("#trust-bundle");
      if (c.receipts) await page.fill("#receipts", c.receipts.join("\n"));
      if (c.files) await page.setInputFiles("#file", c.files);
      if (c.mmd !== undefined || c.ackDays !== undefined) await page.click("#form details summary");
      if (c.mmd !== undefined) await page.fill("#mmd", String(c.mmd));
      if (c.ackDays !== undefined) await page.fill("#ack-days", String(c.ackDays));
      await page.evaluate(() => { document.body.dataset.state = "filled"; });
      await page.click("#go");
    }
    if (fill || !c.conformance) {
      await page.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: timeoutMs });
      Object.assign(result, await page.evaluate(read));
      // The whole text only when asked for: it makes failures unreadable.
      if (c.readBody) result.body = await page.evaluate(() => document.body.innerText);
    }
    if (c.screenshot) {
      mkdirSync(dirname(c.screenshot), { recursive: true });
      await page.screenshot({ path: c.screenshot, fullPage: !c.viewport });
    }
  } catch (e) {
    result.failure = e.message;
  }
  await context.close();
  return result;
}

/// What a person sees, read from the page (runs in the browser).
function read() {
  const texts = (sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent.trim());
  const one = (sel) => document.querySelector(sel)?.textContent.trim() ?? null;
  const keys = (sel) => [...document.querySelectorAll(sel)].map((e) => e.dataset.key);
  const v = document.querySelector("#verdict");
  const rect = v ? v.getBoundingClientRect() : null;
  const judged = (sel) => {
    const el = document.querySelector(sel);
    return el ? { judged: el.dataset.judged, text: el.textContent.trim() } : null;
  };
  return {
    verdict: v?.dataset.verdict ?? null,
    verdictText: one("#verdict"),
    // Where the verdict is after the check: in the viewport, and how far down the page.
    verdictTop: rect ? rect.top : null,
    verdictPageY: rect ? rect.top + window.scrollY : null,
    viewportHeight: window.innerHeight,
    title: one("#title"),
    marks: [...document.querySelectorAll("#timeline li.event")].map((e) => ({
      seq: Number(e.dataset.seq), mark: e.dataset.mark, text: e.querySelector(".body").textContent.trim(),
    })),
    problems: texts("#problems > li"),
    problemKeys: keys("#problems > li"),
    warnings: texts("#warnings > li"),
    warningKeys: keys("#warnings > li"),
    notes: texts("#notes > li"),
    noteKeys: keys("#notes > li"),
    bring: texts("#bring li"),
    sources: [...document.querySelectorAll("#sources li")].map((e) => ({
      input: e.dataset.input, source: e.dataset.source, text: e.textContent.trim(),
    })),
    offers: texts(".offers li"),
    kind: one("#outcome .kind"),
    status: one("#outcome .status"),
    resolution: one("#outcome .resolution"),
    outcome: one("#outcome"),
    clock: one("#clock"),
    clockAck: judged("#clock-ack"),
    clockFinal: judged("#clock-final"),
    completeness: one("#completeness"),
    mmdBound: document.querySelector("#mmd-bound")?.dataset.source ?? null,
    limits: texts("#limits > li"),
    receipts: [...document.querySelectorAll("#receipt-list > li")].map((e) => ({ ok: e.dataset.ok === "true", text: e.textContent.trim() })),
    receiptsTrouble: one("#receipts-trouble"),
    disclosures: texts("#disclosure-list > li"),
    mmdError: one("#mmd-error"),
    footer: one("footer"),
    lang: document.documentElement.lang,
  };
}

function which(name) {
  for (const dir of (process.env.PATH || "").split(":")) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return name;
}

// As a script: run every case of CASES.json, print the results.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
  const browser = await launch();
  const out = [];
  for (const c of cases) out.push(await runCase(browser, c));
  await browser.close();
  console.log(JSON.stringify(out, null, 2));
}
