// The reviewed list of known SupportAnchor deployments (deployments/
// deployments.json, deployments/README.md): reading and looking it up. The
// page embeds the list at build time (builtin.js), like a browser's list of
// Certificate Transparency logs; it is never fetched from the log, the
// party being checked.

import { parseStrict, isObject, isUint } from "./json.js";

const KEYS = ["anchorer", "chain_id", "contract", "first_block", "kind", "platform", "published_at"];
const ADDRESS = /^0x[0-9a-f]{40}$/;

export class DeploymentsError extends Error {}

/// Reads a deployment list strictly: every entry well formed, lowercase
/// addresses, no contract listed twice on one chain.
export function readDeployments(text) {
  const v = parseStrict(text);
  if (!isObject(v) || Object.keys(v).sort().join() !== "deployments,version") {
    throw new DeploymentsError("a deployment list is {\"version\": 1, \"deployments\": [...]}");
  }
  if (v.version !== 1) throw new DeploymentsError(`deployment list version ${v.version} is not 1`);
  if (!Array.isArray(v.deployments)) throw new DeploymentsError("deployments is not a list");
  const seen = new Set();
  return v.deployments.map((d, i) => {
    const what = `deployments[${i}]`;
    if (!isObject(d) || Object.keys(d).sort().join() !== KEYS.join()) {
      throw new DeploymentsError(`${what} must hold exactly ${KEYS.join(", ")}`);
    }
    if (typeof d.platform !== "string" || d.platform.trim() === "") throw new DeploymentsError(`${what}.platform is empty`);
    if (d.kind !== "platform" && d.kind !== "development") throw new DeploymentsError(`${what}.kind is neither platform nor development`);
    if (!isUint(d.chain_id) || d.chain_id === 0) throw new DeploymentsError(`${what}.chain_id is not a chain id`);
    if (!ADDRESS.test(d.contract)) throw new DeploymentsError(`${what}.contract is not a lowercase address`);
    if (!ADDRESS.test(d.anchorer)) throw new DeploymentsError(`${what}.anchorer is not a lowercase address`);
    if (!isUint(d.first_block)) throw new DeploymentsError(`${what}.first_block is not a block number`);
    if (typeof d.published_at !== "string" || d.published_at.trim() === "") throw new DeploymentsError(`${what}.published_at is empty`);
    const key = `${d.chain_id}/${d.contract}`;
    if (seen.has(key)) throw new DeploymentsError(`${what}: contract ${d.contract} on chain ${d.chain_id} is listed twice`);
    seen.add(key);
    return { ...d, id: key };
  });
}

/// The entries naming this contract (any chain): the caller checks the chain.
export function entriesFor(list, contract) {
  const c = (contract || "").toLowerCase();
  return list.filter((d) => d.contract === c);
}
