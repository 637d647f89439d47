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

    // ------------------------------------------------------------- head v2

    /// computeAnchoredRootV2 (plain Solidity) and the byte-by-byte reference agree, and so
    /// does the assembly _anchoredRoot behind verifyInclusionV2: a single-leaf batch (log
    /// root = leaf, empty path) anchored with computeAnchoredRootV2 verifies.
    function testFuzz_anchoredRootMatchesReference(bytes32 logRoot, bytes32 mapRoot) public {
        bytes32 anchored = sa.computeAnchoredRootV2(logRoot, mapRoot);
        assertEq(anchored, MerkleRef.anchoredRoot(logRoot, mapRoot), "anchored root");
        vm.prank(ANCHORER);
        sa.anchor(0, 0, 1, anchored);
        assertEq(sa.batchHead(0), MerkleRef.head(0, 0, 1, anchored), "stored head v2");
        assertTrue(sa.verifyInclusionV2(0, 0, 1, logRoot, mapRoot, 0, logRoot, new bytes32[](0)), "assembly");
    }

    /// A random head v2 batch of 1..64 random leaves at a random global offset with a
    /// random map root: every leaf's reference audit path verifies against the log root
    /// through verifyInclusionV2; mutations, and the v1 view, are rejected.
    function testFuzz_randomV2BatchInclusion(uint256 seed, uint256 nSeed, uint64 offset, uint256 pick, bytes32 mapRoot)
        public
    {
        Batch memory b = _anchorRandomV2Batch(seed, nSeed, offset, mapRoot);
        for (uint64 m = 0; m < b.n; ++m) {
            bytes32[] memory p = MerkleRef.path(b.leaves, m);
            assertTrue(_verifyV2(b, mapRoot, b.first + m, b.leaves[m], p), "valid v2 proof rejected");
        }
        _checkV2Mutations(b, mapRoot, pick);
    }

    /// Like _anchorRandomBatch, but b.root is the log root and the batch is anchored with
    /// the head v2 anchored root over (b.root, mapRoot).
    function _anchorRandomV2Batch(uint256 seed, uint256 nSeed, uint64 offset, bytes32 mapRoot)
        internal
        returns (Batch memory b)
    {
        b.n = uint64(bound(nSeed, 1, 64));
        b.first = uint64(bound(offset, 0, type(uint48).max - 64));
        b.leaves = MerkleRef.leavesFromSeed(seed, b.n);
        b.root = MerkleRef.root(b.leaves);
        bytes32 anchored = MerkleRef.anchoredRoot(b.root, mapRoot);
        if (b.first > 0) {
            vm.prank(ANCHORER);
            sa.anchor(0, 0, b.first, keccak256(abi.encode(seed)));
            b.id = 1;
        }
        vm.prank(ANCHORER);
        sa.anchor(b.id, b.first, b.n, anchored);
    }

    function _verifyV2(Batch memory b, bytes32 mapRoot, uint64 index, bytes32 leaf, bytes32[] memory path)
        internal
        view
        returns (bool)
    {
        return sa.verifyInclusionV2(b.id, b.first, b.n, b.root, mapRoot, index, leaf, path);
    }

    function _checkV2Mutations(Batch memory b, bytes32 mapRoot, uint256 pick) internal view {
        uint64 mi = uint64(pick % b.n);
        bytes32[] memory path = MerkleRef.path(b.leaves, mi);
        uint64 gi = b.first + mi;
        bytes32 leaf = b.leaves[mi];
        assertTrue(_verifyV2(b, mapRoot, gi, leaf, path), "picked proof");
        assertFalse(_verifyV2(b, mapRoot, gi, ~leaf, path), "flipped leaf");
        assertFalse(_verifyV2(b, mapRoot, b.first + b.n, leaf, path), "index = end");
        if (b.first > 0) assertFalse(_verifyV2(b, mapRoot, b.first - 1, leaf, path), "index < first");
        bytes32 bit = bytes32(uint256(1) << ((pick >> 8) % 256));
        assertFalse(_verifyV2(b, mapRoot ^ bit, gi, leaf, path), "wrong mapRoot");
        assertFalse(sa.verifyInclusionV2(b.id, b.first, b.n, b.root ^ bit, mapRoot, gi, leaf, path), "wrong logRoot");
        assertFalse(sa.verifyInclusionV2(b.id + 1, b.first, b.n, b.root, mapRoot, gi, leaf, path), "unanchored batch");
        assertFalse(sa.verifyInclusionV2(b.id, b.first, b.n + 1, b.root, mapRoot, gi, leaf, path), "wrong count");
        // The v1 view rejects a record of a v2 batch, against either root.
        assertFalse(_verify(b, gi, leaf, path), "v1 view, log root");
        bytes32 anchored = MerkleRef.anchoredRoot(b.root, mapRoot);
        assertFalse(sa.verifyInclusion(b.id, b.first, b.n, anchored, gi, leaf, path), "v1 view, anchored root");
        if (b.n > 1) {
            uint256 k = (pick >> 64) % path.length;
            path[k] = path[k] ^ bit;
            assertFalse(_verifyV2(b, mapRoot, gi, leaf, path), "tampered path");
        }
    }

    /// Arbitrary junk never makes verifyInclusionV2 revert, and only the anchored
    /// (batch, range, logRoot, mapRoot) can ever verify.
    function testFuzz_verifyInclusionV2NeverReverts(
        uint64 batchId,
        uint64 firstIndex,
        uint64 count,
        bytes32 logRoot,
        bytes32 mapRoot,
        uint64 index,
        bytes32[] calldata path
    ) public {
        bytes32 anchored = sa.computeAnchoredRootV2(logRoot, keccak256(abi.encode(mapRoot)));
        vm.prank(ANCHORER);
        sa.anchor(0, 0, 5, anchored);
        // Junk leaf: the log root itself (a valid proof for a single-leaf tree, not this one).
        if (sa.verifyInclusionV2(batchId, firstIndex, count, logRoot, mapRoot, index, logRoot, path)) {
            fail("verified against a map root that was not anchored");
        }
        sa.verifyInclusionV2(0, 0, 5, logRoot, keccak256(abi.encode(mapRoot)), index, logRoot, path);
        sa.verifyInclusionV2(batchId, firstIndex, count, logRoot, mapRoot, index, mapRoot, path);
    }
}
