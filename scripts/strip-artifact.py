#!/usr/bin/env python3
"""Reduce a forge artifact (out/<File>.sol/<Contract>.json) to its machine-independent
part: abi, bytecode, deployedBytecode (object + link/immutable references, no source
maps) and methodIdentifiers. The result is what alloy's sol! macro reads.

usage: strip-artifact.py <forge-artifact.json> [<output.json>]   (default: stdout)
"""
import json
import sys


def strip(artifact):
    def code(section, keys):
        src = artifact.get(section) or {}
        if "object" not in src:
            raise SystemExit(f"strip-artifact: artifact has no {section}.object")
        return {k: src[k] for k in keys if k in src}

    out = {
        "abi": artifact["abi"],
        "bytecode": code("bytecode", ("object", "linkReferences")),
        "deployedBytecode": code("deployedBytecode", ("object", "linkReferences", "immutableReferences")),
        "methodIdentifiers": dict(sorted(artifact.get("methodIdentifiers", {}).items())),
    }
    return json.dumps(out, indent=2, sort_keys=False) + "\n"


def main(argv):
    if len(argv) not in (2, 3):
        raise SystemExit(__doc__)
    with open(argv[1], encoding="utf-8") as f:
        text = strip(json.load(f))
    if len(argv) == 3:
        with open(argv[2], "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main(sys.argv)
