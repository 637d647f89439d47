//! 32-byte values (hashes, salts, commitments) and their one JSON spelling:
//! `0x` followed by 64 lowercase hex digits. Any other spelling is rejected so
//! that a value has exactly one textual form inside a hashed record.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Hash32(pub [u8; 32]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected 0x followed by 64 lowercase hex digits, got {got:?}")]
pub struct Hash32ParseError {
    pub got: String,
}

impl Hash32 {
    pub const ZERO: Hash32 = Hash32([0u8; 32]);

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Hash32> {
        <[u8; 32]>::try_from(bytes).ok().map(Hash32)
    }

    pub fn to_hex(&self) -> String {
        self.hex_buf().as_str().to_owned()
    }

    /// "0x" and 64 lowercase hex digits, on the stack: hashes are written
    /// into every record, receipt and proof, so this is a hot path.
    fn hex_buf(&self) -> HexBuf {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 66];
        buf[0] = b'0';
        buf[1] = b'x';
        for (i, b) in self.0.iter().enumerate() {
            buf[2 + 2 * i] = DIGITS[(b >> 4) as usize];
            buf[3 + 2 * i] = DIGITS[(b & 0x0f) as usize];
        }
        HexBuf(buf)
    }

    pub fn parse(s: &str) -> Result<Hash32, Hash32ParseError> {
        let err = || Hash32ParseError {
            got: s.chars().take(80).collect(),
        };
        let digits = s.strip_prefix("0x").ok_or_else(err)?;
        if digits.len() != 64
            || !digits
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(err());
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(digits, &mut out).map_err(|_| err())?;
        Ok(Hash32(out))
    }
}

struct HexBuf([u8; 66]);

impl HexBuf {
    fn as_str(&self) -> &str {
        // Only ASCII is ever written into the buffer.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

impl fmt::Display for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hex_buf().as_str())
    }
}

impl fmt::Debug for Hash32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.hex_buf().as_str())
    }
}

impl std::str::FromStr for Hash32 {
    type Err = Hash32ParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Hash32::parse(s)
    }
}

impl Serialize for Hash32 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.hex_buf().as_str())
    }
}

impl<'de> Deserialize<'de> for Hash32 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Hash32::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lowercase_with_prefix_like_the_hex_crate() {
        for h in [
            Hash32::ZERO,
            Hash32([0xff; 32]),
            Hash32(core::array::from_fn(|i| (i * 37) as u8)),
        ] {
            assert_eq!(h.to_hex(), format!("0x{}", hex::encode(h.0)));
            assert_eq!(h.to_string(), h.to_hex());
            assert_eq!(
                serde_json::to_string(&h).unwrap(),
                format!("\"{}\"", h.to_hex())
            );
        }
    }

    #[test]
    fn round_trips_and_rejects_other_spellings() {
        let h = Hash32([0xab; 32]);
        assert_eq!(Hash32::parse(&h.to_hex()).unwrap(), h);
        assert!(Hash32::parse(&h.to_hex().to_uppercase()).is_err());
        assert!(Hash32::parse(&hex::encode(h.0)).is_err(), "missing 0x");
        assert!(Hash32::parse("0xab").is_err(), "too short");
        assert!(
            Hash32::parse(&format!("{}00", h.to_hex())).is_err(),
            "too long"
        );
        assert!(Hash32::parse(&format!("0x{}", "g".repeat(64))).is_err());
    }
}
