// Conformance: this page's protocol code against the whole
// tests/vectors/protocol-v1.json (docs/PROTOCOL.md §14), as the Python and
// Rust checks do, plus the strict-parsing rules of §5.3 that vectors cannot
// express. Runs in the browser ("Check this page" / #conformance).

import { parseStrict } from "./json.js";
import { canonicalText } from "./canonical.js";
import { batchHead, contentCommitment, leafHash, sha256Hex, ZERO_HASH } from "./hash.js";
import { acceptRecord, applyEvent, auditPath, merkleRoot, rootFromPath, startState } from "./protocol.js";

export function runConformance(vectorsText) {
  const results = [];
  const check = (section, name, fn) => {
    try {
      const ok = fn();
      results.push({ section, name, ok: ok !== false, detail: ok === false ? "mismatch" : "" });
    } catch (e) {
      results.push({ section, name, ok: false, detail: e.message });
    }
  };
  const d = parseStrict(vectorsText);
  check("file", "protocol", () => d.protocol === "proofdesk/v1");
  d.canonical.forEach((c, i) => check("canonical", `canonical[${i}]`, () => canonicalText(c.json) === c.canonical));
  d.commitments.forEach((c, i) =>
    check("commitments", `commitments[${i}]`, () => contentCommitment(c.salt, c.content) === c.commitment),
  );
  const tips = new Map();
  let state = new Map();
  const policy = { reopen_closed: true };
  d.records.forEach((c, i) =>
    check("records", `records[${i}]`, () => {
      const acc = acceptRecord(c.record);
      const text = new TextDecoder().decode(acc.canonical);
      if (text !== c.canonical) throw new Error("canonical form differs");
      if (acc.leaf !== c.leaf) throw new Error("leaf differs");
      if (c.record.index !== i) throw new Error("index is not its position");
      const [seq, prev] = tips.get(c.record.ticket) || [0, ZERO_HASH];
      if (c.record.seq !== seq || c.record.prev !== prev) throw new Error("seq/prev chain broken");
      tips.set(c.record.ticket, [seq + 1, acc.leaf]);
      const s = state.get(c.record.ticket);
      state.set(c.record.ticket, s ? applyEvent(s, c.record, policy) : startState(c.record));
      return true;
    }),
  );
  d.trees.forEach((t, i) =>
    check("trees", `trees[${i}] (${t.leaves.length} leaves)`, () => {
      if (i < 17) {
        const enc = new TextEncoder();
        t.leaves.forEach((l, j) => {
          if (leafHash(enc.encode(`leaf ${j}`)) !== l) throw new Error(`leaf ${j} differs`);
        });
      }
      if (merkleRoot(t.leaves) !== t.root) throw new Error("root differs");
      for (const p of t.proofs) {
        const path = auditPath(p.index, t.leaves);
        if (JSON.stringify(path) !== JSON.stringify(p.path)) throw new Error(`path ${p.index} differs`);
        if (rootFromPath(t.leaves[p.index], p.index, t.leaves.length, p.path) !== t.root) throw new Error(`path ${p.index} does not verify`);
        if (t.leaves.length > 1) {
          // A shortened or lengthened path must not verify.
          for (const bad of [p.path.slice(0, -1), [...p.path, t.leaves[0]]]) {
            let r = null;
            try {
              r = rootFromPath(t.leaves[p.index], p.index, t.leaves.length, bad);
            } catch {
              r = null;
            }
            if (r === t.root) throw new Error(`a tampered path ${p.index} verifies`);
          }
        }
      }
      return true;
    }),
  );
  check("trees", "RFC 6962 reference root", () =>
    d.trees[17].root === "0x5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
  );
  d.heads.forEach((h, i) =>
    check("heads", `heads[${i}]`, () => batchHead(h.batch_id, h.first_index, h.count, h.root) === h.head),
  );
  check("hash", "SHA-256 of the empty string", () =>
    sha256Hex(new Uint8Array()) === "0xe3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  // §5.3 strict parsing, which no vector can carry.
  const refuses = (name, text) =>
    check("strict parsing", name, () => {
      try {
        parseStrict(text);
      } catch {
        return true;
      }
      throw new Error("accepted");
    });
  refuses("duplicate member", '{"a":1,"a":2}');
  refuses("nested duplicate member", '{"a":{"b":1,"b":1}}');
  refuses("trailing text", '{"a":1} x');
  refuses("lone surrogate", '"\\ud800"');
  refuses("raw control character", '"a\u0001"');
  check("strict parsing", "non-integers have no canonical form", () => {
    for (const t of ["1.0", "1e2", "-0", "9007199254740992"]) {
      let threw = false;
      try {
        canonicalText(parseStrict(t));
      } catch {
        threw = true;
      }
      if (!threw) throw new Error(`${t} was canonicalised`);
    }
    return canonicalText(parseStrict("9007199254740991")) === "9007199254740991";
  });
  const failed = results.filter((r) => !r.ok);
  return { passed: results.length - failed.length, total: results.length, failed, ok: failed.length === 0 };
}
