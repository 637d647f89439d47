//! SupportAnchor's ABI (its calls, events and errors), generated from the
//! committed artifact that the server's anchorer binds too; the test
//! command fails if recompiling contracts/ would change it. No provider
//! here: a verifier reads the chain through `rpc`, every call bounded.

// The generated `verifyInclusion` and `verifyInclusionV2` calls take the
// contract's 7 and 8 arguments.
#![allow(clippy::too_many_arguments)]

alloy::sol!(
    #[derive(Debug)]
    SupportAnchor,
    "../contracts/artifacts/SupportAnchor.json"
);
