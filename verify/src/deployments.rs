//! The list of known SupportAnchor deployments (deployments/deployments.json,
//! PROTOCOL.md §13.2): a reviewed file carried by every verifier, as a
//! browser carries its list of Certificate Transparency logs. A contract on
//! it is a trust anchor that came from outside the operator; the list is
//! embedded at build time and never fetched from a log.

use alloy::primitives::Address;
use serde::{Deserialize, Serialize};

/// The list this build carries.
pub const EMBEDDED: &str = include_str!("../../deployments/deployments.json");

pub const LIST_VERSION: u64 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A platform's production deployment.
    Platform,
    /// A development or test chain: anyone can deploy it, so it vouches for
    /// no platform.
    Development,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    pub platform: String,
    pub kind: Kind,
    pub chain_id: u64,
    pub contract: String,
    pub anchorer: String,
    pub first_block: u64,
    pub published_at: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployments {
    pub version: u64,
    pub deployments: Vec<Deployment>,
}

#[derive(Debug, thiserror::Error)]
pub enum DeploymentsError {
    #[error("the deployment list is not readable JSON: {0}")]
    Json(String),
    #[error("the deployment list has version {0}; this verifier reads version {LIST_VERSION}")]
    Version(u64),
    #[error("deployment {index} ({platform:?}): {problem}")]
    Entry {
        index: usize,
        platform: String,
        problem: String,
    },
}

/// `0x` + 40 lowercase hex digits: the one spelling the list uses, so a
/// reviewer compares addresses as text and a mixed-case typo cannot pass
/// for an EIP-55 checksum.
fn lowercase_address(s: &str) -> Result<Address, String> {
    let hex = s
        .strip_prefix("0x")
        .ok_or_else(|| format!("{s:?} does not start with 0x"))?;
    if hex.len() != 40
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!("{s:?} is not 0x + 40 lowercase hex digits"));
    }
    s.parse::<Address>().map_err(|e| format!("{s:?}: {e}"))
}

impl Deployment {
    /// Every rule an entry must meet (deployments/README.md).
    pub fn check(&self) -> Result<(), String> {
        if self.platform.trim().is_empty() {
            return Err("platform is empty".into());
        }
        if self.chain_id == 0 {
            return Err("chain_id 0 is not an EIP-155 chain id".into());
        }
        let contract = lowercase_address(&self.contract).map_err(|e| format!("contract: {e}"))?;
        let anchorer = lowercase_address(&self.anchorer).map_err(|e| format!("anchorer: {e}"))?;
        if contract == Address::ZERO || anchorer == Address::ZERO {
            return Err("the zero address is neither a contract nor an anchorer".into());
        }
        if self.first_block == 0 {
            return Err("first_block 0: a contract is deployed in a block after genesis".into());
        }
        if self.published_at.trim().is_empty() {
            return Err("published_at is empty: a reviewer must be able to check the entry".into());
        }
        Ok(())
    }

    pub fn contract_address(&self) -> Address {
        self.contract.parse().unwrap_or(Address::ZERO)
    }

    pub fn anchorer_address(&self) -> Address {
        self.anchorer.parse().unwrap_or(Address::ZERO)
    }

    /// How a report names the match: "matches <platform>'s published
    /// deployment", or the development deployment, never a platform's.
    pub fn describe(&self) -> String {
        match self.kind {
            Kind::Platform => format!("it matches {}'s published deployment", self.platform),
            Kind::Development => format!(
                "it is the development deployment ({}), not a platform's",
                self.platform
            ),
        }
    }
}

impl Deployments {
    /// Parses and checks a list; any malformed entry refuses the whole list
    /// (a reviewed file with a typo must not half-apply).
    pub fn parse(text: &str) -> Result<Deployments, DeploymentsError> {
        let value = proofdesk_protocol::canonical::parse_strict(text)
            .map_err(|e| DeploymentsError::Json(e.to_string()))?;
        let list: Deployments =
            serde_json::from_value(value).map_err(|e| DeploymentsError::Json(e.to_string()))?;
        if list.version != LIST_VERSION {
            return Err(DeploymentsError::Version(list.version));
        }
        let mut seen = std::collections::HashSet::new();
        for (index, d) in list.deployments.iter().enumerate() {
            let entry = |problem: String| DeploymentsError::Entry {
                index,
                platform: d.platform.clone(),
                problem,
            };
            d.check().map_err(entry)?;
            if !seen.insert((d.chain_id, d.contract.clone())) {
                return Err(entry(format!(
                    "contract {} on chain {} is listed twice",
                    d.contract, d.chain_id
                )));
            }
        }
        Ok(list)
    }

    /// The list this build carries. It is checked by the tests, so a build
    /// with a malformed list never ships; should one anyway, it is empty.
    pub fn embedded() -> Deployments {
        Deployments::parse(EMBEDDED).unwrap_or(Deployments {
            version: LIST_VERSION,
            deployments: Vec::new(),
        })
    }

    /// The entry for this contract on this chain.
    pub fn find(&self, chain_id: u64, contract: Address) -> Option<&Deployment> {
        self.deployments
            .iter()
            .find(|d| d.chain_id == chain_id && d.contract_address() == contract)
    }

    /// Entries for this contract on any chain (to say "listed, but for
    /// another chain").
    pub fn on_other_chains(&self, chain_id: u64, contract: Address) -> Vec<&Deployment> {
        self.deployments
            .iter()
            .filter(|d| d.chain_id != chain_id && d.contract_address() == contract)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry of the shipped list is well formed: addresses lowercase
    /// hex, a known kind, a chain id, an anchorer, a first block and where
    /// it is published.
    #[test]
    fn every_entry_of_the_shipped_list_is_well_formed() {
        let list =
            Deployments::parse(EMBEDDED).expect("deployments/deployments.json is well formed");
        assert!(!list.deployments.is_empty());
        for d in &list.deployments {
            d.check().unwrap();
            assert_eq!(format!("{:#x}", d.contract_address()), d.contract);
            assert_eq!(format!("{:#x}", d.anchorer_address()), d.anchorer);
        }
        // The dev chain's contract is marked as such, never as a platform's.
        let dev = list
            .find(
                31337,
                "0x5fbdb2315678afecb367f032d93f642f64180aa3"
                    .parse()
                    .unwrap(),
            )
            .expect("the dev chain's first deployment is listed");
        assert_eq!(dev.kind, Kind::Development);
        assert!(dev.describe().contains("not a platform's"));
    }

    #[test]
    fn malformed_entries_refuse_the_list() {
        let good = serde_json::json!({
            "platform": "Example Exchange", "kind": "platform", "chain_id": 1,
            "contract": "0x1111111111111111111111111111111111111111",
            "anchorer": "0x2222222222222222222222222222222222222222",
            "first_block": 19000000, "published_at": "https://example.com/proofdesk"
        });
        let list = |entries: Vec<serde_json::Value>| {
            serde_json::json!({"version": 1, "deployments": entries}).to_string()
        };
        let parsed = Deployments::parse(&list(vec![good.clone()])).unwrap();
        assert!(
            parsed.deployments[0]
                .describe()
                .contains("matches Example Exchange's published deployment")
        );
        let with = |key: &str, v: serde_json::Value| {
            let mut e = good.clone();
            e[key] = v;
            list(vec![e])
        };
        for (bad, why) in [
            (
                with(
                    "contract",
                    "0x1111111111111111111111111111111111111111a".into(),
                ),
                "length",
            ),
            (
                with(
                    "contract",
                    "0xAb5801a7D398351b8bE11C439e05C5B3259aeC9B".into(),
                ),
                "mixed case",
            ),
            (
                with(
                    "anchorer",
                    "2222222222222222222222222222222222222222".into(),
                ),
                "no 0x",
            ),
            (
                with(
                    "anchorer",
                    "0x0000000000000000000000000000000000000000".into(),
                ),
                "zero",
            ),
            (with("kind", "production".into()), "unknown kind"),
            (with("chain_id", 0.into()), "chain 0"),
            (with("first_block", 0.into()), "block 0"),
            (with("published_at", " ".into()), "not published"),
            (with("platform", "".into()), "no platform"),
            (with("extra", 1.into()), "unknown member"),
            (list(vec![good.clone(), good.clone()]), "listed twice"),
            (
                serde_json::json!({"version": 2, "deployments": []}).to_string(),
                "version",
            ),
        ] {
            assert!(Deployments::parse(&bad).is_err(), "{why} was accepted");
        }
    }
}
