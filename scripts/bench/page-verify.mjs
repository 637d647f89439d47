// Times the verifier page on one bundle in headless Chromium (Debian's, via
// playwright-core; tests/browser/verify-page.mjs launches it): the saved page
// opened from disk, the RPC and contract typed, the bundle file chosen,
// "Check" pressed; the clock runs until the page says it is done. Also times
// the page's verify() alone under Node, to tell checking from rendering.
//
//   node scripts/bench/page-verify.mjs BUNDLE.json RPC_URL CONTRACT
// Prints one JSON line.
import { readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { launch } from "../../tests/browser/verify-page.mjs";
import { verify } from "../../web/src/verify.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const [bundlePath, rpc, contract] = process.argv.slice(2);
const bytes = statSync(bundlePath).size;

// verify() under Node: the checks and the chain reads, no DOM.
const text = readFileSync(bundlePath, "utf8");
let t = performance.now();
const report = await verify({ bundleText: text, contract: { value: contract, source: "typed" }, rpcs: [{ url: rpc, source: "typed" }] });
const nodeSeconds = (performance.now() - t) / 1000;
console.error(`page-verify: verify() under Node: ${nodeSeconds.toFixed(2)} s`);
if (report.verdict !== "valid") throw new Error(`node verdict ${report.verdict}: ${JSON.stringify(report.all_findings.slice(0, 3))}`);

const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1000, height: 900 } });
const page = await context.newPage();
await page.goto(`file://${join(root, "web/dist/verify.html")}`);
await page.waitForFunction(() => document.body.dataset.state === "ready");
await page.fill("#rpc", rpc);
await page.fill("#contract", contract);
await page.setInputFiles("#file", bundlePath);
await page.waitForFunction(() => /bundle:/.test(document.getElementById("files").textContent), null, { timeout: 120000 });
t = performance.now();
// Pressed from inside the page: the check keeps the page busy, and a
// driver's click would wait for it to settle.
await page.evaluate(() => setTimeout(() => document.getElementById("go").click(), 0));
await page.waitForFunction(() => document.body.dataset.state === "done", null, { timeout: 600000, polling: 100 });
const pageSeconds = (performance.now() - t) / 1000;
const verdict = await page.evaluate(() => document.getElementById("verdict").dataset.verdict);
const timing = await page.evaluate(() => window.proofdesk.timing());
const events = await page.evaluate(() => document.querySelectorAll("#timeline li.event").length
  + [...document.querySelectorAll("#timeline li.gap")].reduce((n, g) => n + Number(g.dataset.hidden), 0));
await browser.close();
if (verdict !== "valid") throw new Error(`page verdict ${verdict}`);
console.log(JSON.stringify({
  measure: "page_verify", events, batches: report.events.length ? new Set(report.events.map((e) => e.batch)).size : 0,
  bundle_bytes: bytes, page_seconds: +pageSeconds.toFixed(2),
  page_verify_seconds: +(timing.verifyMs / 1000).toFixed(2), page_render_seconds: +(timing.renderMs / 1000).toFixed(2),
  node_verify_seconds: +nodeSeconds.toFixed(2), verdict,
}));
