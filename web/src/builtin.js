// What the page carries from the repository, embedded at build time
// (esbuild's text loader; the build stays byte-for-byte reproducible): the
// protocol's test vectors and the reviewed deployment list.

import vectorsText from "../../tests/vectors/protocol-v1.json";
import deploymentsText from "../../deployments/deployments.json";
import { readDeployments } from "./deployments.js";

export { vectorsText };

let list = [];
let listError = null;
try {
  list = readDeployments(deploymentsText);
} catch (e) {
  // A malformed list is the build's fault: the page says so rather than
  // silently verifying without it (web/test checks every entry).
  listError = e.message;
}

/// The deployment list this page was built with.
export const DEPLOYMENTS = list;
export const DEPLOYMENTS_ERROR = listError;
