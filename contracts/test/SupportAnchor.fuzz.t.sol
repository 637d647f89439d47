// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {MerkleRef} from "./utils/MerkleRef.sol";
import {SupportAnchor} from "../src/SupportAnchor.sol";

/// @notice Fuzz tests of random batches against the reference implementation in MerkleRef.
contract SupportAnchorFuzzTest is Test {
    SupportAnchor internal sa;
    address internal constant ANCHORER = address(0xA7C4);

    function setUp() public {
        sa = new SupportAnchor(ANCHORER);
    }

    /// computeHead (plain Solidity), the head stored by anchor() (assembly) and the
    /// byte-by-byte reference encoding all agree.
    function testFuzz_headMatchesReference(uint64 firstIndex, uint64 count, bytes32 root) public {
        firstIndex = uint64(bound(firstIndex, 0, type(uint48).max - 1));
        count = uint64(bound(count, 1, type(uint48).max - firstIndex));
        bytes32 ref = MerkleRef.head(1, firstIndex, count, root);
        if (firstIndex > 0) {
            vm.prank(ANCHORER);
            sa.anchor(0, 0, firstIndex, bytes32(0));
        } else {
            // Batch 0 must start at 0; use a batch id of 0 instead.
            ref = MerkleRef.head(0, 0, count, root);
        }
        uint64 id = sa.batchCount();
        vm.prank(ANCHORER);
        sa.anchor(id, firstIndex, count, root);
        assertEq(sa.batchHead(id), ref, "stored head");
        assertEq(sa.computeHead(id, firstIndex, count, root), ref, "computeHead");
    }

    function testFuzz_computeHeadMatchesReference(uint64 batchId, uint64 firstIndex, uint64 count, bytes32 root)
        public
        view
    {
        assertEq(sa.computeHead(batchId, firstIndex, count, root), MerkleRef.head(batchId, firstIndex, count, root), "head");
    }

    struct Batch {
        uint64 id;
        uint64 first;
        uint64 n;
        bytes32 root;
        bytes32[] leaves;
    }

    /// A random batch of 1..64 random leaves placed at a random global offset: every
    /// leaf's reference audit path verifies, and mutations are rejected.
    function testFuzz_randomBatchInclusion(uint256 seed, uint256 nSeed, uint64 offset, uint256 pick) public {
        Batch memory b = _anchorRandomBatch(seed, nSeed, offset);
        for (uint64 m = 0; m < b.n; ++m) {
            bytes32[] memory p = MerkleRef.path(b.leaves, m);
            assertTrue(_verify(b, b.first + m, b.leaves[m], p), "valid proof rejected");
        }
        _checkMutations(b, pick);
    }

    function _anchorRandomBatch(uint256 seed, uint256 nSeed, uint64 offset) internal returns (Batch memory b) {
        b.n = uint64(bound(nSeed, 1, 64));
        b.first = uint64(bound(offset, 0, type(uint48).max - 64));
        b.leaves = MerkleRef.leavesFromSeed(seed, b.n);
        b.root = MerkleRef.root(b.leaves);
        if (b.first > 0) {
            vm.prank(ANCHORER);
            sa.anchor(0, 0, b.first, keccak256(abi.encode(seed)));
            b.id = 1;
        }
        vm.prank(ANCHORER);
        sa.anchor(b.id, b.first, b.n, b.root);
    }

    function _verify(Batch memory b, uint64 index, bytes32 leaf, bytes32[] memory path) internal view returns (bool) {
        return sa.verifyInclusion(b.id, b.first, b.n, b.root, index, leaf, path);
    }

    function _checkMutations(Batch memory b, uint256 pick) internal view {
        uint64 mi = uint64(pick % b.n);
        bytes32[] memory path = MerkleRef.path(b.leaves, mi);
        uint64 gi = b.first + mi;
        assertTrue(_verify(b, gi, b.leaves[mi], path), "picked proof");
        assertFalse(_verify(b, gi, ~b.leaves[mi], path), "flipped leaf");
        assertFalse(_verify(b, b.first + b.n, b.leaves[mi], path), "index = end");
        if (b.first > 0) {
            assertFalse(_verify(b, b.first - 1, b.leaves[mi], path), "index < first");
            // The batch-local position instead of the global index is out of range.
            if (mi < b.first) assertFalse(_verify(b, mi, b.leaves[mi], path), "local index");
        }
        // Wrong batch metadata.
        assertFalse(
            sa.verifyInclusion(b.id, b.first, b.n + 1, b.root, gi, b.leaves[mi], path), "wrong count"
        );
        assertFalse(sa.verifyInclusion(b.id + 1, b.first, b.n, b.root, gi, b.leaves[mi], path), "wrong batch");
        if (b.n > 1) {
            uint64 other = (mi + 1 + uint64((pick >> 128) % (b.n - 1))) % b.n;
            assertFalse(_verify(b, b.first + other, b.leaves[mi], path), "wrong index");
            assertFalse(_verify(b, gi, b.leaves[other], path), "other leaf");
            // Tamper one bit of one path element.
            uint256 k = (pick >> 64) % path.length;
            path[k] = path[k] ^ bytes32(uint256(1) << (pick % 256));
            assertFalse(_verify(b, gi, b.leaves[mi], path), "tampered path");
        }
    }

    /// Arbitrary junk never makes verifyInclusion revert.
    function testFuzz_verifyInclusionNeverReverts(
        uint64 batchId,
        uint64 firstIndex,
        uint64 count,
        bytes32 root,
        uint64 index,
        bytes32 leaf,
        bytes32[] calldata path
    ) public {
        vm.prank(ANCHORER);
        sa.anchor(0, 0, 5, root);
        bool ok = sa.verifyInclusion(batchId, firstIndex, count, root, index, leaf, path);
        // Only a correct (batch, range) can ever verify.
        if (ok) {
            assertTrue(batchId == 0 && firstIndex == 0 && count == 5, "verified for wrong batch");
        }
        // Same junk against the real batch metadata.
        sa.verifyInclusion(0, 0, 5, root, index, leaf, path);
    }
}
