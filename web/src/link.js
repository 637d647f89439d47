// The compact verifier link for QR codes (docs/VERIFIER.md, "QR form"):
//   /verify/{handle}#q=<base64url of the bytes below>
// One ticket's v1 receipts share the ticket, chain and contract, and their
// timestamps are close together, so the link carries those once and each
// receipt as its numbers, leaf and signature. Every receipt is rebuilt
// exactly (its canonical bytes are what was signed) and checked like any
// other. 11 receipts take about 1,600 characters, inside one QR code
// (version 40 holds 2,331 bytes at error correction level M).
//
// Bytes (varint: unsigned LEB128; zvarint: zigzag, then varint):
//   1                        format version
//   varint chain_id
//   20 bytes                 contract
//   16 bytes                 the ticket handle's 32 hex digits
//   varint count
//   per receipt, in the order given:
//     varint seq
//     zvarint index          minus the previous receipt's index (first: minus 0)
//     zvarint recorded_at    in ms, minus the previous receipt's (first: minus 0)
//     zvarint anchor_deadline − recorded_at, in ms
//     32 bytes leaf
//     65 bytes signature (r ‖ s ‖ v)

import { fromHex, toHex } from "./hash.js";
import { isHandle, isAddress, timestampMillis } from "./protocol.js";

export class LinkError extends Error {}

const FORMAT = 1;
/// Largest ms timestamp the protocol spells (9999-12-31T23:59:59.999Z).
const MAX_TS_MS = 253402300799999;

function pushVarint(out, n) {
  if (!Number.isSafeInteger(n) || n < 0) throw new LinkError(`${n} is not a non-negative safe integer`);
  do {
    let b = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
}

const zig = (n) => (n >= 0 ? n * 2 : -n * 2 - 1);
const unzig = (n) => (n % 2 === 0 ? n / 2 : -(n + 1) / 2);

function pushZ(out, n) {
  if (!Number.isSafeInteger(n) || !Number.isSafeInteger(zig(n))) throw new LinkError(`${n} is out of range`);
  pushVarint(out, zig(n));
}

function b64url(bytes) {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function unb64url(s) {
  if (!/^[A-Za-z0-9_-]*$/.test(s) || s.length % 4 === 1) throw new LinkError("the q= part is not base64url");
  const bin = atob(s.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((s.length + 3) % 4));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/// The q= value for a ticket's v1 receipts [{receipt, signature}].
export function encodeQr(signed) {
  if (!signed.length) throw new LinkError("no receipts to put in the link");
  const first = signed[0].receipt;
  const out = [FORMAT];
  pushVarint(out, first.chain_id);
  out.push(...fromHex(first.contract.toLowerCase()));
  out.push(...fromHex("0x" + first.ticket.slice(3)));
  pushVarint(out, signed.length);
  let prevIndex = 0;
  let prevRecorded = 0;
  for (const { receipt: r, signature } of signed) {
    if (r.v !== 1) throw new LinkError("the QR form carries v1 receipts only");
    if (r.ticket !== first.ticket || r.chain_id !== first.chain_id || r.contract.toLowerCase() !== first.contract.toLowerCase()) {
      throw new LinkError("the receipts of one link share one ticket, chain and contract");
    }
    const recorded = timestampMillis(r.recorded_at);
    const deadline = timestampMillis(r.anchor_deadline);
    if (recorded === null || deadline === null) throw new LinkError("a receipt's timestamps are not in the protocol's form");
    pushVarint(out, r.seq);
    pushZ(out, r.index - prevIndex);
    pushZ(out, recorded - prevRecorded);
    pushZ(out, deadline - recorded);
    out.push(...fromHex(r.leaf));
    const sig = fromHex(signature);
    if (sig.length !== 65) throw new LinkError("a signature is 65 bytes");
    out.push(...sig);
    prevIndex = r.index;
    prevRecorded = recorded;
  }
  return b64url(out);
}

/// The receipts [{receipt, signature}] a q= value carries. Refuses anything
/// but exactly the encoding above (no trailing bytes, no overlong varints).
export function decodeQr(text) {
  const bytes = unb64url(text.trim());
  let i = 0;
  const need = (n) => {
    if (i + n > bytes.length) throw new LinkError("the q= part ends early");
  };
  const take = (n) => {
    need(n);
    const s = bytes.slice(i, i + n);
    i += n;
    return s;
  };
  const varint = () => {
    let n = 0;
    let scale = 1;
    for (let k = 0; ; k++) {
      need(1);
      const b = bytes[i++];
      if (k > 0 && b === 0) throw new LinkError("an overlong number in the q= part");
      n += (b & 0x7f) * scale;
      if (!Number.isSafeInteger(n)) throw new LinkError("a number in the q= part is too large");
      if ((b & 0x80) === 0) return n;
      scale *= 128;
    }
  };
  if (take(1)[0] !== FORMAT) throw new LinkError(`q= format ${bytes[0]} is not ${FORMAT}`);
  const chainId = varint();
  const contract = toHex(take(20));
  const ticket = "tk_" + toHex(take(16)).slice(2);
  if (!isAddress(contract) || !isHandle(ticket)) throw new LinkError("the q= part's contract or ticket is malformed");
  const count = varint();
  if (count === 0 || count > 10000) throw new LinkError(`the q= part claims ${count} receipts`);
  const out = [];
  let prevIndex = 0;
  let prevRecorded = 0;
  for (let k = 0; k < count; k++) {
    const seq = varint();
    const index = prevIndex + unzig(varint());
    const recorded = prevRecorded + unzig(varint());
    const deadline = recorded + unzig(varint());
    for (const [what, v] of [["index", index], ["recorded_at", recorded], ["anchor_deadline", deadline]]) {
      if (!Number.isSafeInteger(v) || v < 0 || (what !== "index" && v > MAX_TS_MS)) throw new LinkError(`receipt ${k + 1}'s ${what} is out of range`);
    }
    const leaf = toHex(take(32));
    const signature = toHex(take(65));
    out.push({
      receipt: {
        anchor_deadline: new Date(deadline).toISOString(),
        chain_id: chainId,
        contract,
        index,
        leaf,
        recorded_at: new Date(recorded).toISOString(),
        seq,
        ticket,
        v: 1,
      },
      signature,
    });
    prevIndex = index;
    prevRecorded = recorded;
  }
  if (i !== bytes.length) throw new LinkError("trailing bytes after the receipts in the q= part");
  return out;
}
