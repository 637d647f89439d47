//! Bindings to SupportAnchor, generated from the committed artifact (the
//! test command fails if recompiling contracts/ would change it).

// The generated `verifyInclusion` and `verifyInclusionV2` bindings take the
// contract's 7 and 8 arguments.
#![allow(clippy::too_many_arguments)]

alloy::sol!(
    #[sol(rpc)]
    #[derive(Debug)]
    SupportAnchor,
    "contracts/artifacts/SupportAnchor.json"
);

pub use SupportAnchor::SupportAnchorErrors;

/// A contract revert in words, for logs and errors.
pub fn describe_revert(e: &SupportAnchorErrors) -> String {
    use SupportAnchorErrors as E;
    match e {
        E::NotAnchorer(x) => format!("NotAnchorer: {} is not the contract's anchorer", x.caller),
        E::UnexpectedBatchId(x) => format!(
            "UnexpectedBatchId: chain expects batch {}, got {}",
            x.expected, x.got
        ),
        E::UnexpectedFirstIndex(x) => format!(
            "UnexpectedFirstIndex: chain expects index {}, got {}",
            x.expected, x.got
        ),
        E::EmptyBatch(_) => "EmptyBatch".into(),
        E::IndexOverflow(_) => "IndexOverflow".into(),
        E::NotOwner(x) => format!("NotOwner: {}", x.caller),
        E::NotPendingAnchorer(x) => format!("NotPendingAnchorer: {}", x.caller),
        E::NotPendingOwner(x) => format!("NotPendingOwner: {}", x.caller),
        E::ZeroAddress(_) => "ZeroAddress".into(),
    }
}
