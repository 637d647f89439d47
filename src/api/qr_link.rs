//! The compact verifier link for QR codes: `/verify/{handle}#q=…`
//! (docs/VERIFIER.md, "QR form"; the page's decoder is web/src/link.js).
//! A ticket's v1 receipts share the ticket, chain and contract, and their
//! timestamps are close, so the link carries those once and each receipt as
//! its numbers, leaf and signature: 11 receipts fit one QR code, where the
//! `#r=` form of the same receipts needs about 5,500 characters.

use crate::protocol::receipt::SignedReceipt;

/// The format's first byte.
const FORMAT: u8 = 1;

fn varint(out: &mut Vec<u8>, mut n: u64) {
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

/// Zigzag: small negative and positive differences both stay short.
fn zvarint(out: &mut Vec<u8>, n: i64) {
    varint(out, ((n << 1) ^ (n >> 63)) as u64);
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    hex::decode(s.strip_prefix("0x").unwrap_or(s)).ok()
}

/// The `q=` value for a ticket's v1 receipts, in the order given; None when
/// there are none, or they are not one ticket's v1 receipts on one contract.
pub fn encode(receipts: &[SignedReceipt]) -> Option<String> {
    let first = &receipts.first()?.receipt;
    let mut out = vec![FORMAT];
    varint(&mut out, first.chain_id);
    let contract = hex_bytes(&first.contract).filter(|c| c.len() == 20)?;
    out.extend_from_slice(&contract);
    let ticket = hex_bytes(first.ticket.as_str().strip_prefix("tk_")?).filter(|t| t.len() == 16)?;
    out.extend_from_slice(&ticket);
    varint(&mut out, receipts.len() as u64);
    let (mut prev_index, mut prev_recorded) = (0i64, 0i64);
    for signed in receipts {
        let r = &signed.receipt;
        if r.v != 1
            || signed.group.is_some()
            || r.ticket != first.ticket
            || r.chain_id != first.chain_id
            || !r.contract.eq_ignore_ascii_case(&first.contract)
        {
            return None;
        }
        let index = i64::try_from(r.index).ok()?;
        let recorded = r.recorded_at.millis();
        let deadline = r.anchor_deadline.millis();
        varint(&mut out, r.seq);
        zvarint(&mut out, index.checked_sub(prev_index)?);
        zvarint(&mut out, recorded.checked_sub(prev_recorded)?);
        zvarint(&mut out, deadline.checked_sub(recorded)?);
        out.extend_from_slice(&r.leaf.0);
        let sig = hex_bytes(&signed.signature).filter(|s| s.len() == 65)?;
        out.extend_from_slice(&sig);
        (prev_index, prev_recorded) = (index, recorded);
    }
    Some(super::links::base64url(&out))
}

/// `/verify/{handle}#q=…`, or the plain page link when there are no receipts.
pub fn link(handle: &str, receipts: &[SignedReceipt]) -> String {
    match encode(receipts) {
        Some(q) => format!("/verify/{handle}#q={q}"),
        None => format!("/verify/{handle}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::fields::{TicketHandle, Timestamp};
    use crate::protocol::hash32::Hash32;
    use crate::protocol::receipt::Receipt;

    fn receipt(seq: u64, recorded_ms: i64) -> SignedReceipt {
        SignedReceipt {
            receipt: Receipt {
                v: 1,
                ticket: TicketHandle::parse("tk_0123456789abcdef0123456789abcdef").unwrap(),
                index: 1_000_000 + seq * 7,
                seq,
                leaf: Hash32([0xab; 32]),
                recorded_at: Timestamp::from_millis(recorded_ms).unwrap(),
                anchor_deadline: Timestamp::from_millis(recorded_ms + 86_400_000).unwrap(),
                chain_id: 8453,
                contract: "0x5fbdb2315678afecb367f032d93f642f64180aa3".into(),
            },
            group: None,
            position: None,
            path: None,
            signature: format!("0x{}1b", "cd".repeat(64)),
        }
    }

    /// 11 receipts spread over eight weeks, behind a long host name: one QR
    /// code at error correction level M (version 40: 2,331 bytes), where
    /// the `#r=` form of the same receipts is over twice that.
    #[test]
    fn eleven_receipts_fit_one_qr_code() {
        let start = 1_767_225_600_000; // 2026-01-01
        let receipts: Vec<_> = (0..11)
            .map(|seq| receipt(seq, start + seq as i64 * 5 * 86_400_000 + 12_345))
            .collect();
        let url = format!(
            "https://complaints-verifier.example-exchange.com{}",
            link("tk_0123456789abcdef0123456789abcdef", &receipts)
        );
        assert!(url.len() <= 2_331, "{} bytes", url.len());
        let long: usize = receipts
            .iter()
            .map(|r| super::super::links::compact(r).unwrap().len() + 1)
            .sum();
        assert!(long > 2 * url.len(), "#r= is {long}, #q= {}", url.len());
    }

    #[test]
    fn refuses_what_it_cannot_carry() {
        assert_eq!(encode(&[]), None);
        let mut v2 = receipt(0, 1_767_225_600_000);
        v2.receipt.v = 2;
        assert_eq!(encode(&[v2]), None);
        let a = receipt(0, 1_767_225_600_000);
        let mut b = receipt(1, 1_767_225_600_000);
        b.receipt.chain_id = 1;
        assert_eq!(encode(&[a, b]), None);
    }

    #[test]
    fn encodes_numbers_as_the_page_reads_them() {
        let mut out = Vec::new();
        varint(&mut out, 300);
        zvarint(&mut out, -1);
        zvarint(&mut out, 1);
        assert_eq!(out, vec![0xac, 0x02, 0x01, 0x02]);
    }
}
