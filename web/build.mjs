// Builds web/dist/verify.html: one self-contained page (script and style
// inline, no external resource) and web/dist/verify.csp, the exact
// Content-Security-Policy the server sends with it. Deterministic: pinned
// esbuild and libraries (package-lock.json), no timestamps, no minifier
// randomness. Run through scripts/build-page.sh.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = dirname(fileURLToPath(import.meta.url));
const outDir = process.argv[2] || join(web, "dist");

const result = await build({
  entryPoints: [join(web, "src/main.js")],
  bundle: true,
  write: false,
  format: "iife",
  platform: "browser",
  target: ["es2020"],
  charset: "utf8",
  legalComments: "inline",
  minify: false,
  loader: { ".json": "text" },
  logLevel: "warning",
});
// "</script" inside the script would end the element early.
const script = result.outputFiles[0].text.replace(/<\/(script)/gi, "<\\/$1");
const style = readFileSync(join(web, "src/style.css"), "utf8");
const hash = (s) => `'sha256-${createHash("sha256").update(s, "utf8").digest("base64")}'`;

// Exactly: our own inline script and style (by hash), fetches to our own
// origin (the bundle, /v1/log) and to the RPC the user chooses. The RPC can
// be any http(s) endpoint the user types, so connect-src must allow http:
// and https: in general; nothing else (no CDN, fonts, images, frames,
// forms or plugins) is allowed.
const common = [
  "default-src 'none'",
  `script-src ${hash(script)}`,
  `style-src ${hash(style)}`,
  "connect-src 'self' http: https:",
  "base-uri 'none'",
  "form-action 'none'",
];
const metaCsp = common.join("; ");
// frame-ancestors only works as a header (browsers ignore it in <meta>).
const headerCsp = [...common, "frame-ancestors 'none'"].join("; ");

const template = readFileSync(join(web, "src/page.html"), "utf8");
const html = template
  .replace("%%CSP_META%%", () => metaCsp)
  .replace("%%STYLE%%", () => style)
  .replace("%%SCRIPT%%", () => script);
mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "verify.html"), html);
writeFileSync(join(outDir, "verify.csp"), headerCsp + "\n");
console.log(`build-page: ${join(outDir, "verify.html")} (${html.length} bytes)`);
