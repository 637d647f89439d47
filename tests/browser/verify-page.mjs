// Drives the verifier page in headless Chromium (Debian's, via playwright-core
// from .tools/) and prints what a person would see, as JSON, for each case.
//
//   node tests/browser/verify-page.mjs CASES.json
//
// CASES.json is a list of cases: {name, url, rpc?, contract?, trustBundle?,
// files?: [paths], receipts?: [compact], lang?, conformance?, screenshot?}.
// With rpc/contract/files given, the page's form is filled and "Check" is
// pressed; otherwise the page is expected to check by itself (a /verify/{handle}
// link with the log's defaults). Output: a JSON list of
// {name, verdict, marks, problems, warnings, status, resolution, clock, conformance, errors}.
import { createRequire } from "node:module";
import { existsSync, readFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const require = createRequire(join(root, ".tools/package.json"));
const { chromium } = require("playwright-core");

const cases = JSON.parse(readFileSync(process.argv[2], "utf8"));
const executablePath = process.env.PROOFDESK_CHROMIUM || which("chromium");
const userDataDir = join(process.env.TMPDIR || "/tmp", `pd-chromium-${process.pid}`);
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath,
  headless: true,
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--allow-file-access-from-files",
  ],
  viewport: { width: 1000, height: 900 },
  locale: "en-GB",
  timezoneId: "Europe/London",
});

const out = [];
for (const c of cases) {
  const page = await context.newPage();
  const errors = [];
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`console: ${m.text()}`);
  });
  const result = { name: c.name, errors };
  try {
    await page.goto(c.url);
    await page.waitForFunction(() => document.body.dataset.state && document.body.dataset.state !== "loading", null, { timeout: 10000 });
    // The language choice persists in localStorage: set it for every case.
    await page.click(`#langs button[data-lang="${c.lang || "en"}"]`);
    if (c.conformance) {
      await page.click("#run-conformance");
      await page.waitForFunction(() => document.body.dataset.conformance, null, { timeout: 30000 });
      result.conformance = {
        state: await page.evaluate(() => document.body.dataset.conformance),
        text: await page.textContent("#conformance"),
      };
    }
    const fill = c.rpc !== undefined || c.contract !== undefined || c.files || c.receipts || c.ticket !== undefined;
    if (fill) {
      // Wait for the page's own prefill and auto-check to settle first.
      await page.waitForTimeout(0);
      await page.waitForFunction(() => document.body.dataset.state !== "running", null, { timeout: 30000 });
      if (c.ticket !== undefined) await page.fill("#ticket", c.ticket);
      if (c.rpc !== undefined) await page.fill("#rpc", c.rpc);
      if (c.contract !== undefined) await page.fill("#contract", c.contract);
      if (c.trustBundle) await page.check("#trust-bundle");
      if (c.receipts) await page.fill("#receipts", c.receipts.join("\n"));
      if (c.files) await page.setInputFiles("#file", c.files);
      await page.evaluate(() => { document.body.dataset.state = "filled"; });
      await page.click("#go");
    }
    if (fill || !c.conformance) {
      await page.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: 60000 });
      Object.assign(result, await page.evaluate(() => {
        const texts = (sel) => [...document.querySelectorAll(sel)].map((e) => e.textContent.trim());
        const one = (sel) => document.querySelector(sel)?.textContent.trim() ?? null;
        return {
          verdict: document.querySelector("#verdict")?.dataset.verdict ?? null,
          verdictText: one("#verdict"),
          marks: [...document.querySelectorAll("#timeline li.event")].map((e) => ({
            seq: Number(e.dataset.seq), mark: e.dataset.mark, text: e.querySelector(".body").textContent.trim(),
          })),
          problems: texts("#problems > li"),
          problemKeys: [...document.querySelectorAll("#problems > li")].map((e) => e.dataset.key),
          warnings: texts("#warnings > li"),
          status: one("#outcome .status"),
          resolution: one("#outcome .resolution"),
          clock: one("#clock"),
          completeness: one("#completeness"),
          receipts: texts("#receipt-list > li"),
          disclosures: texts("#disclosure-list > li"),
        };
      }));
    }
    if (c.screenshot) {
      mkdirSync(dirname(c.screenshot), { recursive: true });
      await page.screenshot({ path: c.screenshot, fullPage: true });
    }
  } catch (e) {
    result.failure = e.message;
  }
  out.push(result);
  await page.close();
}
await context.close();
console.log(JSON.stringify(out, null, 2));

function which(name) {
  for (const dir of (process.env.PATH || "").split(":")) {
    const p = join(dir, name);
    if (existsSync(p)) return p;
  }
  return name;
}
