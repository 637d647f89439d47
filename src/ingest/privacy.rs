//! Personal data never enters a public record (PROTOCOL.md §2.8). Records
//! are public and can never change, so every free-text member that ends up
//! in one — the actor's `ref`, and every string and member name of `data`
//! (category, labels, assignee, group, reasons, resolution, outcome) — is
//! refused at ingest when it holds an e-mail address, a phone number, a
//! national ID number, an IBAN or a payment card number, with the same
//! rule and error shape as an actor ref with `@`.
//!
//! This is an ingest rule, not a verifier rule: records already anchored
//! stay valid, and verifiers do not apply it.
//!
//! Detection is by shape plus a check where the number has one (PRC
//! resident ID check digit, IBAN mod 97, Luhn for cards), so ordinary codes,
//! dates, amounts and order numbers pass. Full-width forms (１３８…, ＠) are
//! read as their ASCII equivalents first.

use chrono::NaiveDate;

use crate::protocol::append::Draft;
use crate::protocol::fields::FieldError;

/// What a value was taken for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Email,
    Phone,
    NationalId,
    Iban,
    Card,
}

impl Kind {
    /// The rule as the error states it (same shape as the ref rule).
    pub fn rule(self) -> &'static str {
        match self {
            Kind::Email => {
                "public records hold no personal data, and this holds an e-mail address (use an opaque id)"
            }
            Kind::Phone => {
                "public records hold no personal data, and this holds a phone number (use an opaque id)"
            }
            Kind::NationalId => {
                "public records hold no personal data, and this holds a national ID number (use an opaque id)"
            }
            Kind::Iban => {
                "public records hold no personal data, and this holds an IBAN (use an opaque id)"
            }
            Kind::Card => {
                "public records hold no personal data, and this holds a payment card number (use an opaque id)"
            }
        }
    }
}

/// Full-width ASCII forms and CJK punctuation read as ASCII, one char for
/// one char (positions stay those of the input).
fn normalise(s: &str) -> Vec<char> {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            '\u{2010}'..='\u{2015}' | '\u{2212}' => '-',
            '\u{3002}' => '.',
            _ => c,
        })
        .collect()
}

fn ascii_alnum(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric())
}

/// The first personal datum in `s`: its kind and its char range.
pub fn find(s: &str) -> Option<(Kind, std::ops::Range<usize>)> {
    // Fast path, without allocating (every append passes here): each kind
    // needs an `@` or at least six digits (a UK NI number has six; every
    // other number more).
    let digits = s
        .chars()
        .filter(|c| c.is_ascii_digit() || ('\u{FF10}'..='\u{FF19}').contains(c))
        .count();
    if digits < 6 && !s.contains(['@', '\u{FF20}']) {
        return None;
    }
    let t = normalise(s);
    email(&t)
        .map(|r| (Kind::Email, r))
        .or_else(|| prc_id(&t).map(|r| (Kind::NationalId, r)))
        .or_else(|| iban(&t).map(|r| (Kind::Iban, r)))
        .or_else(|| nino(&t).map(|r| (Kind::NationalId, r)))
        .or_else(|| numbers(&t))
}

/// `local@domain.tld`, the domain with a dot and a final label of two or
/// more letters (Unicode letters and digits count: 张三@例子.中国).
fn email(t: &[char]) -> Option<std::ops::Range<usize>> {
    let local_ok = |c: char| c.is_alphanumeric() || "._%+-'".contains(c);
    let domain_ok = |c: char| c.is_alphanumeric() || c == '.' || c == '-';
    for (at, c) in t.iter().enumerate() {
        if *c != '@' {
            continue;
        }
        let start = (0..at).rev().take_while(|i| local_ok(t[*i])).last()?;
        let end = (at + 1..t.len()).take_while(|i| domain_ok(t[*i])).last()? + 1;
        let domain: String = t[at + 1..end].iter().collect();
        let domain = domain.trim_end_matches('.');
        let labels: Vec<&str> = domain.split('.').collect();
        if start < at
            && labels.len() >= 2
            && labels.iter().all(|l| !l.is_empty())
            && labels
                .last()
                .is_some_and(|tld| tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
        {
            return Some(start..end);
        }
    }
    None
}

/// The 18-character PRC resident identity number (GB 11643): a region code,
/// a valid birth date, a sequence number and an ISO 7064 MOD 11-2 check
/// character (0-9 or X).
fn prc_id(t: &[char]) -> Option<std::ops::Range<usize>> {
    if t.len() < 18 {
        return None;
    }
    for start in 0..=t.len() - 18 {
        let w = &t[start..start + 18];
        if ascii_alnum(start.checked_sub(1).and_then(|i| t.get(i)))
            || ascii_alnum(t.get(start + 18))
        {
            continue;
        }
        if !w[..17].iter().all(char::is_ascii_digit)
            || !(w[17].is_ascii_digit() || w[17] == 'X' || w[17] == 'x')
        {
            continue;
        }
        let d: Vec<u32> = w[..17].iter().filter_map(|c| c.to_digit(10)).collect();
        if d[0] == 0 {
            continue;
        }
        let year = d[6] * 1000 + d[7] * 100 + d[8] * 10 + d[9];
        let month = d[10] * 10 + d[11];
        let day = d[12] * 10 + d[13];
        if !(1900..=2100).contains(&year)
            || NaiveDate::from_ymd_opt(year as i32, month, day).is_none()
        {
            continue;
        }
        const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
        const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
        let sum: u32 = d.iter().zip(WEIGHTS).map(|(a, b)| a * b).sum();
        if CHECK[(sum % 11) as usize] == w[17].to_ascii_uppercase() {
            return Some(start..start + 18);
        }
    }
    None
}

/// IBAN lengths by country (ISO 13616 registry).
const IBAN_LENGTHS: &[(&str, usize)] = &[
    ("AD", 24),
    ("AE", 23),
    ("AL", 28),
    ("AT", 20),
    ("AZ", 28),
    ("BA", 20),
    ("BE", 16),
    ("BG", 22),
    ("BH", 22),
    ("BR", 29),
    ("BY", 28),
    ("CH", 21),
    ("CR", 22),
    ("CY", 28),
    ("CZ", 24),
    ("DE", 22),
    ("DK", 18),
    ("DO", 28),
    ("EE", 20),
    ("EG", 29),
    ("ES", 24),
    ("FI", 18),
    ("FO", 18),
    ("FR", 27),
    ("GB", 22),
    ("GE", 22),
    ("GI", 23),
    ("GL", 18),
    ("GR", 27),
    ("GT", 28),
    ("HR", 21),
    ("HU", 28),
    ("IE", 22),
    ("IL", 23),
    ("IQ", 23),
    ("IS", 26),
    ("IT", 27),
    ("JO", 30),
    ("KW", 30),
    ("KZ", 20),
    ("LB", 28),
    ("LC", 32),
    ("LI", 21),
    ("LT", 20),
    ("LU", 20),
    ("LV", 21),
    ("MC", 27),
    ("MD", 24),
    ("ME", 22),
    ("MK", 19),
    ("MR", 27),
    ("MT", 31),
    ("MU", 30),
    ("NL", 18),
    ("NO", 15),
    ("PK", 24),
    ("PL", 28),
    ("PS", 29),
    ("PT", 25),
    ("QA", 29),
    ("RO", 24),
    ("RS", 22),
    ("SA", 24),
    ("SC", 31),
    ("SE", 24),
    ("SI", 19),
    ("SK", 24),
    ("SM", 27),
    ("ST", 25),
    ("SV", 28),
    ("TL", 23),
    ("TN", 24),
    ("TR", 26),
    ("UA", 29),
    ("VA", 22),
    ("VG", 24),
    ("XK", 20),
];

/// An IBAN of its country's length (any case, groups separated by single
/// spaces) whose mod-97 check holds.
fn iban(t: &[char]) -> Option<std::ops::Range<usize>> {
    for start in 0..t.len() {
        if ascii_alnum(start.checked_sub(1).and_then(|i| t.get(i))) {
            continue;
        }
        let Some(h) = t.get(start..start + 4) else {
            break;
        };
        if !h[..2].iter().all(char::is_ascii_alphabetic) || !h[2..].iter().all(char::is_ascii_digit)
        {
            continue;
        }
        let cc = [
            h[0].to_ascii_uppercase() as u8,
            h[1].to_ascii_uppercase() as u8,
        ];
        let Some(&(_, len)) = IBAN_LENGTHS.iter().find(|(c, _)| c.as_bytes() == cc) else {
            continue;
        };
        let mut chars = Vec::with_capacity(len);
        let mut i = start;
        while i < t.len() && chars.len() < len {
            match t[i] {
                c if c.is_ascii_alphanumeric() => chars.push(c.to_ascii_uppercase()),
                ' ' if i > start && t.get(i + 1).is_some_and(char::is_ascii_alphanumeric) => {}
                _ => break,
            }
            i += 1;
        }
        if chars.len() != len || ascii_alnum(t.get(i)) {
            continue;
        }
        // Move the first four to the end, letters as 10-35, mod 97 = 1.
        let mut rem: u32 = 0;
        for c in chars[4..].iter().chain(&chars[..4]) {
            let v = c.to_digit(36).unwrap_or(0);
            rem = if v >= 10 {
                (rem * 100 + v) % 97
            } else {
                (rem * 10 + v) % 97
            };
        }
        if rem == 1 {
            return Some(start..i);
        }
    }
    None
}

/// A UK National Insurance number: two prefix letters (not D F I Q U V,
/// the second not O, not BG GB KN NK NT TN ZZ), six digits, A-D; any case,
/// pairs optionally separated by spaces.
fn nino(t: &[char]) -> Option<std::ops::Range<usize>> {
    for start in 0..t.len() {
        if ascii_alnum(start.checked_sub(1).and_then(|i| t.get(i))) {
            continue;
        }
        let mut got = Vec::with_capacity(9);
        let mut i = start;
        while i < t.len() && got.len() < 9 {
            match t[i] {
                c if c.is_ascii_alphanumeric() => got.push(c.to_ascii_uppercase()),
                ' ' if !got.is_empty() && got.len().is_multiple_of(2) => {}
                _ => break,
            }
            i += 1;
        }
        if got.len() != 9 || ascii_alnum(t.get(i)) {
            continue;
        }
        let (a, b) = (got[0], got[1]);
        let prefix: String = [a, b].iter().collect();
        let ok = a.is_ascii_uppercase()
            && b.is_ascii_uppercase()
            && !"DFIQUV".contains(a)
            && !"DFIOQUV".contains(b)
            && !["BG", "GB", "KN", "NK", "NT", "TN", "ZZ"].contains(&prefix.as_str())
            && got[2..8].iter().all(char::is_ascii_digit)
            && ('A'..='D').contains(&got[8]);
        if ok {
            return Some(start..i);
        }
    }
    None
}

/// A group of digits and the separators around it.
#[derive(Debug, Clone, Copy)]
struct Group {
    start: usize,
    end: usize,
}

/// Phone numbers, SSNs and card numbers: digit groups joined by short
/// separators (space, - . ( ) /) are read as one number, and every
/// contiguous run of groups is tried, so "2024 13812345678" still finds the
/// mobile number.
fn numbers(t: &[char]) -> Option<(Kind, std::ops::Range<usize>)> {
    let mut groups: Vec<Group> = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if t[i].is_ascii_digit() {
            let start = i;
            while i < t.len() && t[i].is_ascii_digit() {
                i += 1;
            }
            groups.push(Group { start, end: i });
        } else {
            i += 1;
        }
    }
    let sep = |c: char| " -.()/".contains(c);
    // Runs: groups whose gaps are 1 or 2 separator characters.
    let mut runs: Vec<Vec<Group>> = Vec::new();
    for g in groups {
        let joined = runs.last().and_then(|r| r.last()).is_some_and(|prev| {
            let gap = &t[prev.end..g.start];
            (1..=2).contains(&gap.len()) && gap.iter().all(|c| sep(*c))
        });
        if joined {
            if let Some(r) = runs.last_mut() {
                r.push(g);
            }
        } else {
            runs.push(vec![g]);
        }
    }
    for run in &runs {
        for a in 0..run.len() {
            let mut digits = String::new();
            for b in a..run.len() {
                digits.extend(&t[run[b].start..run[b].end]);
                if digits.len() > 24 {
                    break;
                }
                let (start, end) = (run[a].start, run[b].end);
                // Glued to letters or digits on either side: part of a
                // longer token (a hash, a code), not a number of its own.
                if ascii_alnum(start.checked_sub(1).and_then(|i| t.get(i)))
                    || ascii_alnum(t.get(end))
                {
                    continue;
                }
                let lens: Vec<usize> = run[a..=b].iter().map(|g| g.end - g.start).collect();
                let gaps: Vec<String> = run[a..b]
                    .iter()
                    .zip(&run[a + 1..=b])
                    .map(|(x, y)| t[x.end..y.start].iter().collect())
                    .collect();
                let plus = start > 0
                    && (t[start - 1] == '+'
                        || (t[start - 1] == '(' && start > 1 && t[start - 2] == '+'));
                if let Some(kind) = classify(&digits, &lens, &gaps, plus) {
                    return Some((kind, start..end));
                }
            }
        }
    }
    None
}

fn classify(digits: &str, lens: &[usize], gaps: &[String], plus: bool) -> Option<Kind> {
    let d = digits.as_bytes();
    let n = d.len();
    // International: +<country code><number>, 8 to 15 digits (E.164).
    if plus && (8..=15).contains(&n) {
        return Some(Kind::Phone);
    }
    // Mainland China mobile: 1[3-9] + 9 digits, optionally after 86 or 0086.
    let mobile = |m: &[u8]| m.len() == 11 && m[0] == b'1' && (b'3'..=b'9').contains(&m[1]);
    if mobile(d)
        || (n == 13 && d.starts_with(b"86") && mobile(&d[2..]))
        || (n == 15 && d.starts_with(b"0086") && mobile(&d[4..]))
    {
        return Some(Kind::Phone);
    }
    // North American format: (2-9xx) xxx-xxxx, groups 3-3-4 separated.
    if lens == [3, 3, 4] && (b'2'..=b'9').contains(&d[0]) && gaps.iter().all(|g| g.trim() != "/") {
        return Some(Kind::Phone);
    }
    // A national number with its trunk 0 (010-12345678, 020 7946 0958,
    // 07700 900123): 2 to 4 groups, 10 or 11 digits, one leading 0.
    if (2..=4).contains(&lens.len())
        && (10..=11).contains(&n)
        && d[0] == b'0'
        && d[1] != b'0'
        && gaps.iter().all(|g| g == " " || g == "-")
    {
        return Some(Kind::Phone);
    }
    // US Social Security number: 3-2-4 with hyphens, valid area and group.
    if lens == [3, 2, 4] && gaps.iter().all(|g| g == "-") {
        let area = &digits[..3];
        if area != "000"
            && area != "666"
            && d[0] != b'9'
            && &digits[3..5] != "00"
            && &digits[5..] != "0000"
        {
            return Some(Kind::NationalId);
        }
    }
    // Payment card: 13-19 digits of a card brand's range, Luhn-valid.
    if (13..=19).contains(&n) && card_prefix(digits) && luhn(d) {
        return Some(Kind::Card);
    }
    None
}

/// Visa 4, Mastercard 51-55 and 2221-2720, Amex/Diners/JCB 3, Discover,
/// UnionPay and Maestro 5-6.
fn card_prefix(digits: &str) -> bool {
    match digits.as_bytes()[0] {
        b'3' | b'4' | b'5' | b'6' => true,
        b'2' => digits[..4]
            .parse::<u32>()
            .is_ok_and(|p| (2221..=2720).contains(&p)),
        _ => false,
    }
}

fn luhn(d: &[u8]) -> bool {
    let sum: u32 = d
        .iter()
        .rev()
        .enumerate()
        .map(|(i, c)| {
            let v = u32::from(c - b'0');
            if i % 2 == 1 {
                let x = v * 2;
                if x > 9 { x - 9 } else { x }
            } else {
                v
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The value with the found datum's letters and digits masked, so an
/// error never repeats personal data back into logs.
fn masked(value: &str, range: std::ops::Range<usize>) -> String {
    value
        .chars()
        .enumerate()
        .map(|(i, c)| {
            if range.contains(&i) && c.is_alphanumeric() {
                '•'
            } else {
                c
            }
        })
        .collect()
}

/// Refuses `value` at `field` if it holds personal data.
pub fn check(field: &str, value: &str) -> Result<(), FieldError> {
    match find(value) {
        None => Ok(()),
        Some((kind, range)) => Err(FieldError::at(
            field.to_owned(),
            kind.rule(),
            &masked(value, range),
        )),
    }
}

/// Every free-text member of a draft that a public record will hold: the
/// actor's ref, and every string and member name in `data` (walked as JSON,
/// so a member added to an event type later is covered too).
pub fn check_draft(draft: &Draft) -> Result<(), FieldError> {
    check("actor.ref", draft.actor.reference.as_str())?;
    walk("data", &draft.data.to_value())
}

fn walk(path: &str, v: &serde_json::Value) -> Result<(), FieldError> {
    match v {
        serde_json::Value::String(s) => check(path, s),
        serde_json::Value::Array(a) => a.iter().try_for_each(|x| walk(path, x)),
        serde_json::Value::Object(m) => m.iter().try_for_each(|(k, x)| {
            let at = format!("{path}.{k}");
            check(&format!("{at} (its name)"), k)?;
            walk(&at, x)
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (sample, what it must be taken for; None = allowed). English and
    /// Chinese, free text and codes.
    const TABLE: &[(&str, Option<Kind>)] = &[
        // E-mail addresses.
        ("jane.doe@exchange.com", Some(Kind::Email)),
        (
            "contact: Jane.Doe+kyc@mail.example.co.uk.",
            Some(Kind::Email),
        ),
        ("客户邮箱：zhang.san@example.cn", Some(Kind::Email)),
        ("ｊａｎｅ＠ｅｘａｍｐｌｅ．ｃｏｍ", Some(Kind::Email)),
        ("张三@例子.中国", Some(Kind::Email)),
        // Phone numbers.
        ("+1 (555) 123-4567", Some(Kind::Phone)),
        ("call 555-123-4567 after 5pm", Some(Kind::Phone)),
        ("(555) 123 4567", Some(Kind::Phone)),
        ("+44 20 7946 0958", Some(Kind::Phone)),
        ("020 7946 0958", Some(Kind::Phone)),
        ("07700 900123", Some(Kind::Phone)),
        ("+86 138 1234 5678", Some(Kind::Phone)),
        ("手机号13812345678", Some(Kind::Phone)),
        ("电话：+86-139-1234-5678", Some(Kind::Phone)),
        ("联系电话 0086 13912345678", Some(Kind::Phone)),
        ("86-15012345678", Some(Kind::Phone)),
        ("１３８１２３４５６７８", Some(Kind::Phone)),
        ("138 1234 5678", Some(Kind::Phone)),
        ("北京座机 010-12345678", Some(Kind::Phone)),
        ("深圳 0755-1234567", Some(Kind::Phone)),
        ("customer_13812345678", Some(Kind::Phone)),
        ("tel.19912345678", Some(Kind::Phone)),
        // National ID numbers.
        ("身份证号：11010519491231002X", Some(Kind::NationalId)),
        ("id 11010519491231002x", Some(Kind::NationalId)),
        ("440308199003071235", Some(Kind::NationalId)),
        ("kyc-310115200002294567", Some(Kind::NationalId)),
        ("SSN 123-45-6789", Some(Kind::NationalId)),
        ("NI number AB 12 34 56 C", Some(Kind::NationalId)),
        ("ab123456c", Some(Kind::NationalId)),
        // IBANs.
        ("DE89 3704 0044 0532 0130 00", Some(Kind::Iban)),
        ("refund to GB82WEST12345698765432", Some(Kind::Iban)),
        ("iban-fr1420041010050500013m02606", Some(Kind::Iban)),
        ("退款账户 NL91ABNA0417164300", Some(Kind::Iban)),
        // Card numbers.
        ("4111 1111 1111 1111", Some(Kind::Card)),
        ("card 5500-0000-0000-0004", Some(Kind::Card)),
        ("amex 378282246310005", Some(Kind::Card)),
        ("银行卡号6222021234567890128", Some(Kind::Card)),
        ("6011111111111117", Some(Kind::Card)),
        // Allowed: ordinary codes, numbers, dates and text.
        ("withdrawal", None),
        ("withdrawal_delay", None),
        ("kyc.level-2", None),
        ("partially_upheld", None),
        ("agent-17", None),
        ("zd_3f9a2c41d0e8b7a6f5e4d3c2b1a09f8e", None),
        ("group-360001234567", None),
        ("order-20250301-0042", None),
        ("order 2025030100000001", None),
        ("amount 15000 USDT", None),
        ("1,234,567.89 BTC", None),
        ("2025-03-01", None),
        ("2025-03-01T09:30:00.000Z", None),
        ("12/31/2024 23:59", None),
        ("v1.13.2", None),
        ("192.168.100.200", None),
        ("region:cn-east-1", None),
        ("tx 0x5fbdb2315678afecb367f032d93f642f64180aa3", None),
        ("0x138123456781381234567813812345678abcdef00", None),
        ("1733467200000", None),
        ("1733467200", None),
        ("订单号 20250301123", None),
        ("工单 123456", None),
        ("提现延迟，用户等待 9 天", None),
        ("110105194912310021", None),
        ("4111111111111112", None),
        ("GB82WEST12345698765433", None),
        ("see RFC 6962 and ISO 7064", None),
        ("@support on the help page", None),
        ("a@b", None),
    ];

    #[test]
    fn personal_data_is_refused_and_ordinary_text_is_not() {
        let mut wrong = Vec::new();
        for (sample, expected) in TABLE {
            let got = find(sample).map(|(k, _)| k);
            if got != *expected {
                wrong.push(format!("{sample:?}: expected {expected:?}, got {got:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn the_error_has_the_ref_rules_shape_and_masks_the_datum() {
        let e = check("data.labels.customer_email", "mail jane.doe@exchange.com").unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("data.labels.customer_email: public records hold no personal data, and this holds an e-mail address"),
            "{text}"
        );
        assert!(!text.contains("jane"), "the datum is not repeated: {text}");
        assert!(text.contains("mail ••••.•••@••••••••.•••"), "{text}");
        // The ref rule it sits beside: same type, same shape.
        let r = crate::protocol::fields::PseudoRef::parse("ref", "jane@example.com").unwrap_err();
        assert!(r.to_string().starts_with("ref: a pseudonymous id is"));
    }
}
