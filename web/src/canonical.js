// Canonical JSON (docs/PROTOCOL.md §5): RFC 8785 restricted to integers.
// Member names sort by UTF-16 code units, which is what JavaScript's default
// string comparison does (§5.4); strings are escaped exactly as
// JSON.stringify escapes them (§5.1), lone surrogates having been refused
// when parsing.

import { BadNumber, MAX_SAFE } from "./json.js";

export class CanonicalError extends Error {}

function write(v, path) {
  if (v === null) return "null";
  if (v === true) return "true";
  if (v === false) return "false";
  if (v instanceof BadNumber) {
    throw new CanonicalError(`number ${v.text} at ${path} is not an integer within ±(2^53 − 1)`);
  }
  if (typeof v === "number") {
    if (!Number.isInteger(v) || Math.abs(v) > MAX_SAFE || Object.is(v, -0)) {
      throw new CanonicalError(`number ${v} at ${path} has no canonical form`);
    }
    return String(v);
  }
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return "[" + v.map((x, i) => write(x, `${path}[${i}]`)).join(",") + "]";
  if (typeof v === "object") {
    const keys = Object.keys(v).sort();
    return "{" + keys.map((k) => JSON.stringify(k) + ":" + write(v[k], `${path}.${k}`)).join(",") + "}";
  }
  throw new CanonicalError(`value at ${path} is not JSON`);
}

/// The canonical text of a parsed JSON value.
export function canonicalText(v) {
  return write(v, "$");
}

/// The canonical bytes (UTF-8) of a parsed JSON value.
export function canonicalBytes(v) {
  return new TextEncoder().encode(canonicalText(v));
}
