// Strict JSON (docs/PROTOCOL.md §5.3): a repeated member name at any depth,
// trailing text, a lone surrogate, or a raw control character in a string is
// an error, never "last one wins". JSON.parse cannot be used for anything
// that is hashed: it silently keeps the last duplicate.
//
// Numbers: integers within ±(2^53 − 1) become JS numbers. Anything else (a
// fraction, an exponent, -0, a bigger integer) becomes a `BadNumber`, which
// has no canonical form (§2.3), so a record carrying one is refused where it
// is hashed, like the Rust verifier does.

export const MAX_SAFE = Number.MAX_SAFE_INTEGER;

export class BadNumber {
  constructor(text) {
    this.text = text;
  }
}

export class JsonError extends Error {}

export function parseStrict(text) {
  let i = 0;
  const n = text.length;
  const fail = (what) => {
    throw new JsonError(`invalid JSON at character ${i}: ${what}`);
  };
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else break;
    }
  };
  const hex4 = () => {
    const h = text.slice(i, i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) fail("bad \\u escape");
    i += 4;
    return parseInt(h, 16);
  };
  const str = () => {
    i++; // opening quote
    let out = "";
    for (;;) {
      // A run of plain characters is taken as one slice: building strings a
      // character at a time made a large bundle's parse mostly garbage.
      const start = i;
      while (i < n) {
        const d = text.charCodeAt(i);
        if (d === 0x22 || d === 0x5c || d < 0x20 || (d >= 0xd800 && d <= 0xdfff)) break;
        i++;
      }
      if (i > start) out += text.slice(start, i);
      if (i >= n) fail("unterminated string");
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return out;
      }
      if (c < 0x20) fail("control character in a string");
      if (c === 0x5c) {
        const e = text[i + 1];
        i += 2;
        switch (e) {
          case '"': out += '"'; break;
          case "\\": out += "\\"; break;
          case "/": out += "/"; break;
          case "b": out += "\b"; break;
          case "f": out += "\f"; break;
          case "n": out += "\n"; break;
          case "r": out += "\r"; break;
          case "t": out += "\t"; break;
          case "u": {
            const u = hex4();
            if (u >= 0xd800 && u <= 0xdbff) {
              if (text[i] !== "\\" || text[i + 1] !== "u") fail("lone surrogate");
              i += 2;
              const lo = hex4();
              if (lo < 0xdc00 || lo > 0xdfff) fail("lone surrogate");
              out += String.fromCharCode(u, lo);
            } else if (u >= 0xdc00 && u <= 0xdfff) {
              fail("lone surrogate");
            } else {
              out += String.fromCharCode(u);
            }
            break;
          }
          default:
            fail("bad escape");
        }
        continue;
      }
      if (c >= 0xd800 && c <= 0xdbff) {
        const lo = text.charCodeAt(i + 1);
        if (!(lo >= 0xdc00 && lo <= 0xdfff)) fail("lone surrogate");
        out += text[i] + text[i + 1];
        i += 2;
        continue;
      }
      fail("lone surrogate"); // a low surrogate alone
    }
  };
  const num = () => {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(text.slice(i, i + 400));
    if (!m || m[0] === "-") fail("bad number");
    i += m[0].length;
    const t = m[0];
    if (m[2] || m[3] || t === "-0") return new BadNumber(t);
    const digits = t.replace("-", "");
    if (digits.length > 16 || Number(digits) > MAX_SAFE) return new BadNumber(t);
    return Number(t);
  };
  const value = (depth) => {
    if (depth > 512) fail("nested too deeply");
    ws();
    if (i >= n) fail("unexpected end");
    const c = text[i];
    if (c === "{") {
      i++;
      const obj = Object.create(null);
      ws();
      if (text[i] === "}") {
        i++;
        return obj;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("expected a member name");
        const k = str();
        if (Object.prototype.hasOwnProperty.call(obj, k)) {
          throw new JsonError(`duplicate member name ${JSON.stringify(k)}`);
        }
        ws();
        if (text[i] !== ":") fail("expected ':'");
        i++;
        obj[k] = value(depth + 1);
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "}") { i++; return obj; }
        fail("expected ',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      const arr = [];
      ws();
      if (text[i] === "]") { i++; return arr; }
      for (;;) {
        arr.push(value(depth + 1));
        ws();
        if (text[i] === ",") { i++; continue; }
        if (text[i] === "]") { i++; return arr; }
        fail("expected ',' or ']'");
      }
    }
    if (c === '"') return str();
    if (c === "-" || (c >= "0" && c <= "9")) return num();
    for (const [lit, v] of [["true", true], ["false", false], ["null", null]]) {
      if (text.startsWith(lit, i)) {
        i += lit.length;
        return v;
      }
    }
    fail("unexpected character");
  };
  const v = value(0);
  ws();
  if (i !== n) fail("trailing text after the value");
  return v;
}

/// Plain objects only (objects from parseStrict have no prototype).
export function isObject(v) {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof BadNumber);
}

export function isUint(v) {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}
