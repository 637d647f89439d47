// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {MerkleRef} from "./utils/MerkleRef.sol";
import {SupportAnchor} from "../src/SupportAnchor.sol";

/// @notice Unit, access-control and rotation tests.
contract SupportAnchorTest is Test {
    SupportAnchor internal sa;

    address internal constant OWNER = address(0x0A11CE);
    address internal constant ANCHORER = address(0xA7C4);
    address internal constant ALICE = address(0xA1);
    address internal constant BOB = address(0xB0B);

    bytes32 internal constant ROOT0 = keccak256("root0");
    bytes32 internal constant ROOT1 = keccak256("root1");

    function setUp() public {
        vm.prank(OWNER);
        sa = new SupportAnchor(ANCHORER);
    }

    // ------------------------------------------------------------ construction

    function test_constructor_setsRoles() public view {
        assertEq(sa.owner(), OWNER, "owner");
        assertEq(sa.anchorer(), ANCHORER, "anchorer");
        assertEq(sa.pendingOwner(), address(0), "pendingOwner");
        assertEq(sa.pendingAnchorer(), address(0), "pendingAnchorer");
        assertEq(sa.batchCount(), 0, "batchCount");
        assertEq(sa.nextIndex(), 0, "nextIndex");
        assertEq(sa.batchHead(0), bytes32(0), "no head yet");
    }

    function test_constructor_rejectsZeroAnchorer() public {
        vm.expectRevert(SupportAnchor.ZeroAddress.selector);
        new SupportAnchor(address(0));
    }

    function test_storageLayout_slot0PacksAnchorerAndCounters() public {
        vm.startPrank(ANCHORER);
        sa.anchor(0, 0, 1000, ROOT0);
        sa.anchor(1, 1000, 24, ROOT1);
        vm.stopPrank();
        bytes32 slot0 = _load(address(sa), 0);
        assertEq(uint256(slot0) & type(uint160).max, uint256(uint160(ANCHORER)), "slot0 anchorer");
        assertEq((uint256(slot0) >> 160) & type(uint48).max, 2, "slot0 batchCount");
        assertEq(uint256(slot0) >> 208, 1024, "slot0 nextIndex");
        assertEq(_load(address(sa), 1), bytes32(uint256(uint160(OWNER))), "slot1 owner");
        bytes32 headSlot = keccak256(abi.encode(uint256(1), uint256(4)));
        assertEq(_load(address(sa), uint256(headSlot)), sa.batchHead(1), "slot4 heads mapping");
    }

    // ----------------------------------------------------------------- anchor

    function test_anchor_storesHeadAndAdvances() public {
        bytes32 expected = MerkleRef.head(0, 0, 5, ROOT0);
        vm.expectEmit(true, false, false, true, address(sa));
        emit SupportAnchor.BatchAnchored(0, 0, 5, ROOT0);
        vm.prank(ANCHORER);
        sa.anchor(0, 0, 5, ROOT0);
        assertEq(sa.batchHead(0), expected, "head 0");
        assertEq(sa.computeHead(0, 0, 5, ROOT0), expected, "computeHead");
        assertEq(sa.batchCount(), 1, "batchCount");
        assertEq(sa.nextIndex(), 5, "nextIndex");

        vm.prank(ANCHORER);
        sa.anchor(1, 5, 3, ROOT1);
        assertEq(sa.batchHead(1), MerkleRef.head(1, 5, 3, ROOT1), "head 1");
        assertEq(sa.batchHead(0), expected, "head 0 unchanged");
        assertEq(sa.batchHead(2), bytes32(0), "unknown head is zero");
        assertEq(sa.batchCount(), 2, "batchCount");
        assertEq(sa.nextIndex(), 8, "nextIndex");
    }

    function test_computeHead_knownVector() public view {
        // sha256(0x02 || 00..01 || 00..02 || 00..03 || 0x11*32), computed independently.
        bytes32 r = bytes32(0x1111111111111111111111111111111111111111111111111111111111111111);
        bytes memory pre = hex"02000000000000000100000000000000020000000000000003";
        assertEq(sa.computeHead(1, 2, 3, r), sha256(bytes.concat(pre, r)), "head encoding");
        assertEq(pre.length + 32, 57, "57-byte preimage");
    }

    function test_anchor_revertsForNonAnchorer() public {
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotAnchorer.selector, ALICE));
        vm.prank(ALICE);
        sa.anchor(0, 0, 1, ROOT0);
        // The owner is not implicitly an anchorer either.
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotAnchorer.selector, OWNER));
        vm.prank(OWNER);
        sa.anchor(0, 0, 1, ROOT0);
    }

    function test_anchor_revertsOnWrongBatchId() public {
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.UnexpectedBatchId.selector, uint64(0), uint64(1)));
        vm.prank(ANCHORER);
        sa.anchor(1, 0, 1, ROOT0);

        vm.prank(ANCHORER);
        sa.anchor(0, 0, 1, ROOT0);
        // Re-anchoring batch 0 (overwrite attempt) is rejected.
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.UnexpectedBatchId.selector, uint64(1), uint64(0)));
        vm.prank(ANCHORER);
        sa.anchor(0, 0, 1, ROOT1);
        assertEq(sa.batchHead(0), MerkleRef.head(0, 0, 1, ROOT0), "head not overwritten");
    }

    function test_anchor_revertsOnWrongFirstIndex() public {
        vm.prank(ANCHORER);
        sa.anchor(0, 0, 10, ROOT0);
        // gap
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.UnexpectedFirstIndex.selector, uint64(10), uint64(11)));
        vm.prank(ANCHORER);
        sa.anchor(1, 11, 1, ROOT1);
        // overlap
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.UnexpectedFirstIndex.selector, uint64(10), uint64(9)));
        vm.prank(ANCHORER);
        sa.anchor(1, 9, 1, ROOT1);
    }

    function test_anchor_revertsOnEmptyBatch() public {
        vm.expectRevert(SupportAnchor.EmptyBatch.selector);
        vm.prank(ANCHORER);
        sa.anchor(0, 0, 0, ROOT0);
    }

    function test_anchor_indexOverflow() public {
        uint64 max48 = type(uint48).max;
        vm.expectRevert(SupportAnchor.IndexOverflow.selector);
        vm.prank(ANCHORER);
        sa.anchor(0, 0, max48 + 1, ROOT0);

        vm.expectRevert(SupportAnchor.IndexOverflow.selector);
        vm.prank(ANCHORER);
        sa.anchor(0, 0, type(uint64).max, ROOT0);

        // Exactly filling the uint48 index space is fine; nothing fits afterwards.
        vm.prank(ANCHORER);
        sa.anchor(0, 0, max48, ROOT0);
        assertEq(sa.nextIndex(), max48, "nextIndex at max");
        vm.expectRevert(SupportAnchor.IndexOverflow.selector);
        vm.prank(ANCHORER);
        sa.anchor(1, max48, 1, ROOT1);
    }

    function test_anchor_largeIndicesRoundTrip() public {
        uint64 big = type(uint48).max - 7;
        vm.prank(ANCHORER);
        sa.anchor(0, 0, big, ROOT0);
        vm.prank(ANCHORER);
        sa.anchor(1, big, 7, ROOT1);
        assertEq(sa.nextIndex(), type(uint48).max, "nextIndex");
        assertEq(sa.batchHead(1), MerkleRef.head(1, big, 7, ROOT1), "head with large first index");
    }

    // ------------------------------------------------------- verifyInclusion

    function test_verifyInclusion_smallTrees() public {
        uint64 first = 0;
        for (uint64 n = 1; n <= 9; ++n) {
            bytes32[] memory leaves = MerkleRef.leavesFromSeed(n, n);
            bytes32 root = MerkleRef.root(leaves);
            uint64 id = sa.batchCount();
            vm.prank(ANCHORER);
            sa.anchor(id, first, n, root);
            for (uint64 m = 0; m < n; ++m) {
                bytes32[] memory p = MerkleRef.path(leaves, m);
                assertTrue(sa.verifyInclusion(id, first, n, root, first + m, leaves[m], p), "valid proof");
                assertFalse(sa.verifyInclusion(id, first, n, root, first + m, ~leaves[m], p), "flipped leaf");
                if (n > 1) {
                    // Position-local index is rejected unless first == 0.
                    assertFalse(
                        sa.verifyInclusion(id, first, n, root, first + ((m + 1) % n), leaves[m], p), "wrong index"
                    );
                }
            }
            assertFalse(sa.verifyInclusion(id, first, n, root, first + n, leaves[0], new bytes32[](0)), "index = end");
            first += n;
        }
    }

    function test_verifyInclusion_rfc6962ShapeSevenLeaves() public {
        // 7-leaf tree: leaf 6 (g) has audit path [k, i] per RFC 6962 section 2.1.3.
        bytes32[] memory d = MerkleRef.leavesFromSeed(7, 7);
        bytes32 a_b = MerkleRef.node(d[0], d[1]);
        bytes32 c_d = MerkleRef.node(d[2], d[3]);
        bytes32 e_f = MerkleRef.node(d[4], d[5]);
        bytes32 i = MerkleRef.node(a_b, c_d);
        bytes32 j = MerkleRef.node(e_f, d[6]);
        bytes32 root = MerkleRef.node(i, j);
        assertEq(root, MerkleRef.root(d), "reference root");
        vm.prank(ANCHORER);
        sa.anchor(0, 0, 7, root);
        bytes32[] memory p = new bytes32[](2);
        p[0] = e_f;
        p[1] = i;
        assertTrue(sa.verifyInclusion(0, 0, 7, root, 6, d[6], p), "leaf g");
        // leaf d (3): [c, a_b, j]
        p = new bytes32[](3);
        p[0] = d[2];
        p[1] = a_b;
        p[2] = j;
        assertTrue(sa.verifyInclusion(0, 0, 7, root, 3, d[3], p), "leaf d");
    }

    function test_verifyInclusion_rejectsBadInputsWithoutReverting() public {
        bytes32[] memory leaves = MerkleRef.leavesFromSeed(42, 6);
        bytes32 root = MerkleRef.root(leaves);
        vm.prank(ANCHORER);
        sa.anchor(0, 0, 4, keccak256("other"));
        vm.prank(ANCHORER);
        sa.anchor(1, 4, 6, root);
        bytes32[] memory p = MerkleRef.path(leaves, 2);
        assertTrue(sa.verifyInclusion(1, 4, 6, root, 6, leaves[2], p), "valid");
        // unknown batch, wrong batch id, wrong metadata
        assertFalse(sa.verifyInclusion(2, 10, 6, root, 12, leaves[2], p), "unknown batch");
        assertFalse(sa.verifyInclusion(0, 4, 6, root, 6, leaves[2], p), "wrong batch id");
        assertFalse(sa.verifyInclusion(1, 3, 6, root, 5, leaves[2], p), "wrong first index");
        assertFalse(sa.verifyInclusion(1, 4, 7, root, 6, leaves[2], p), "wrong count");
        assertFalse(sa.verifyInclusion(1, 4, 6, ~root, 6, leaves[2], p), "wrong root");
        // index outside the batch range (incl. overflow-prone values)
        assertFalse(sa.verifyInclusion(1, 4, 6, root, 3, leaves[2], p), "below range");
        assertFalse(sa.verifyInclusion(1, 4, 6, root, 10, leaves[2], p), "index = end");
        assertFalse(sa.verifyInclusion(1, 4, 6, root, type(uint64).max, leaves[2], p), "max index");
        assertFalse(
            sa.verifyInclusion(1, type(uint64).max, type(uint64).max, root, type(uint64).max, leaves[2], p),
            "overflowing range"
        );
        assertFalse(sa.verifyInclusion(1, 4, 0, root, 4, leaves[2], p), "zero count");
        // malformed paths
        bytes32[] memory shortP = new bytes32[](p.length - 1);
        for (uint256 k = 0; k < shortP.length; ++k) shortP[k] = p[k];
        assertFalse(sa.verifyInclusion(1, 4, 6, root, 6, leaves[2], shortP), "short path");
        bytes32[] memory longP = new bytes32[](p.length + 1);
        for (uint256 k = 0; k < p.length; ++k) longP[k] = p[k];
        assertFalse(sa.verifyInclusion(1, 4, 6, root, 6, leaves[2], longP), "long path");
        assertFalse(sa.verifyInclusion(1, 4, 6, root, 6, leaves[2], new bytes32[](0)), "empty path");
        p[0] = ~p[0];
        assertFalse(sa.verifyInclusion(1, 4, 6, root, 6, leaves[2], p), "tampered path");
    }

    function test_verifyInclusion_singleLeafBatch() public {
        bytes32 leaf = MerkleRef.leafHash("only");
        vm.prank(ANCHORER);
        sa.anchor(0, 0, 1, leaf);
        bytes32[] memory empty = new bytes32[](0);
        assertTrue(sa.verifyInclusion(0, 0, 1, leaf, 0, leaf, empty), "single leaf, empty path");
        bytes32[] memory one = new bytes32[](1);
        assertFalse(sa.verifyInclusion(0, 0, 1, leaf, 0, leaf, one), "single leaf, non-empty path");
        assertFalse(sa.verifyInclusion(0, 0, 1, leaf, 1, leaf, empty), "index = count");
    }

    // ----------------------------------------------------- verifyInclusionV2

    function test_computeAnchoredRootV2_knownVector() public view {
        // sha256(0x06 || 0x11*32 || 0x22*32), computed independently.
        bytes32 l = bytes32(0x1111111111111111111111111111111111111111111111111111111111111111);
        bytes32 m = bytes32(0x2222222222222222222222222222222222222222222222222222222222222222);
        bytes memory pre = bytes.concat(hex"06", l, m);
        assertEq(pre.length, 65, "65-byte preimage");
        assertEq(sa.computeAnchoredRootV2(l, m), sha256(pre), "anchored root encoding");
        assertEq(sa.computeAnchoredRootV2(l, m), MerkleRef.anchoredRoot(l, m), "reference anchored root");
        // Order matters, and an anchored root is never the log root or a log node over the same pair.
        assertTrue(sa.computeAnchoredRootV2(l, m) != sa.computeAnchoredRootV2(m, l), "swapped roots");
        assertTrue(sa.computeAnchoredRootV2(l, m) != MerkleRef.node(l, m), "prefix 0x06 vs node 0x01");
    }

    function test_verifyInclusionV2_agreesWithComputeAnchoredRootV2() public {
        // The head anchor() stores over computeAnchoredRootV2 (plain Solidity) is the head
        // verifyInclusionV2 recomputes over _anchoredRoot (assembly): a single-leaf batch
        // (path empty, log root = leaf) verifies exactly when the two agree.
        bytes32 leaf = MerkleRef.leafHash("only");
        bytes32 mapRoot = keccak256("map");
        bytes32 anchored = sa.computeAnchoredRootV2(leaf, mapRoot);
        vm.prank(ANCHORER);
        sa.anchor(0, 0, 1, anchored);
        assertEq(sa.batchHead(0), MerkleRef.head(0, 0, 1, MerkleRef.anchoredRoot(leaf, mapRoot)), "head v2");
        bytes32[] memory empty = new bytes32[](0);
        assertTrue(sa.verifyInclusionV2(0, 0, 1, leaf, mapRoot, 0, leaf, empty), "single leaf, empty path");
        assertFalse(sa.verifyInclusionV2(0, 0, 1, leaf, mapRoot, 0, leaf, new bytes32[](1)), "non-empty path");
        assertFalse(sa.verifyInclusionV2(0, 0, 1, leaf, mapRoot, 1, leaf, empty), "index = count");
        assertFalse(sa.verifyInclusionV2(0, 0, 1, mapRoot, leaf, 0, leaf, empty), "roots swapped");
    }

    struct V2Batch {
        uint64 id;
        uint64 first;
        uint64 n;
        bytes32 logRoot;
        bytes32 mapRoot;
        bytes32[] leaves;
    }

    function test_verifyInclusionV2_smallTrees() public {
        uint64 first = 0;
        for (uint64 n = 1; n <= 9; ++n) {
            V2Batch memory b;
            b.first = first;
            b.n = n;
            b.leaves = MerkleRef.leavesFromSeed(100 + n, n);
            b.logRoot = MerkleRef.root(b.leaves);
            // The empty map (zero root) is a valid map root too.
            b.mapRoot = n == 3 ? bytes32(0) : keccak256(abi.encode("map", n));
            b.id = sa.batchCount();
            // Computed before the prank: the sha256 precompile call would consume it.
            bytes32 anchored = MerkleRef.anchoredRoot(b.logRoot, b.mapRoot);
            vm.prank(ANCHORER);
            sa.anchor(b.id, first, n, anchored);
            for (uint64 m = 0; m < n; ++m) {
                _checkV2Proof(b, m);
            }
            assertFalse(_v2(b, first + n, b.leaves[0], new bytes32[](0)), "index = end");
            first += n;
        }
    }

    function _v2(V2Batch memory b, uint64 index, bytes32 leaf, bytes32[] memory p) internal view returns (bool) {
        return sa.verifyInclusionV2(b.id, b.first, b.n, b.logRoot, b.mapRoot, index, leaf, p);
    }

    function _checkV2Proof(V2Batch memory b, uint64 m) internal view {
        bytes32[] memory p = MerkleRef.path(b.leaves, m);
        uint64 gi = b.first + m;
        bytes32 leaf = b.leaves[m];
        assertTrue(_v2(b, gi, leaf, p), "valid proof");
        assertFalse(_v2(b, gi, ~leaf, p), "flipped leaf");
        if (b.n > 1) assertFalse(_v2(b, b.first + ((m + 1) % b.n), leaf, p), "wrong index");
        assertFalse(sa.verifyInclusionV2(b.id, b.first, b.n, b.logRoot, ~b.mapRoot, gi, leaf, p), "wrong mapRoot");
        assertFalse(sa.verifyInclusionV2(b.id, b.first, b.n, ~b.logRoot, b.mapRoot, gi, leaf, p), "wrong logRoot");
        assertFalse(sa.verifyInclusionV2(b.id, b.first, b.n, b.mapRoot, b.logRoot, gi, leaf, p), "roots swapped");
        // The v1 view cannot check a record of a v2 batch: not against the log root (the
        // head is over the anchored root), nor against the anchored root (the path is not).
        assertFalse(sa.verifyInclusion(b.id, b.first, b.n, b.logRoot, gi, leaf, p), "v1 view, log root");
        bytes32 anchored = sa.computeAnchoredRootV2(b.logRoot, b.mapRoot);
        assertFalse(sa.verifyInclusion(b.id, b.first, b.n, anchored, gi, leaf, p), "v1 view, anchored root");
    }

    function test_verifyInclusionV2_rejectsV1Head() public {
        // A v1 batch (anchored with the log root itself) followed by a v2 batch, as when a
        // log switches to head v2 at a batch id: each view accepts only its own version.
        bytes32[] memory leaves = MerkleRef.leavesFromSeed(7, 5);
        bytes32 logRoot = MerkleRef.root(leaves);
        bytes32 mapRoot = keccak256("map");
        vm.startPrank(ANCHORER);
        sa.anchor(0, 0, 5, logRoot);
        sa.anchor(1, 5, 5, MerkleRef.anchoredRoot(logRoot, mapRoot));
        vm.stopPrank();
        for (uint64 m = 0; m < 5; ++m) {
            bytes32[] memory p = MerkleRef.path(leaves, m);
            assertTrue(sa.verifyInclusion(0, 0, 5, logRoot, m, leaves[m], p), "v1 batch, v1 view");
            assertFalse(sa.verifyInclusionV2(0, 0, 5, logRoot, mapRoot, m, leaves[m], p), "v1 batch, v2 view");
            assertFalse(sa.verifyInclusionV2(0, 0, 5, logRoot, bytes32(0), m, leaves[m], p), "v1 batch, empty map");
            assertTrue(sa.verifyInclusionV2(1, 5, 5, logRoot, mapRoot, 5 + m, leaves[m], p), "v2 batch, v2 view");
            assertFalse(sa.verifyInclusion(1, 5, 5, logRoot, 5 + m, leaves[m], p), "v2 batch, v1 view");
        }
    }

    function test_verifyInclusionV2_rejectsBadInputsWithoutReverting() public {
        bytes32[] memory leaves = MerkleRef.leavesFromSeed(43, 6);
        bytes32 logRoot = MerkleRef.root(leaves);
        bytes32 mapRoot = keccak256("map");
        bytes32[] memory p = MerkleRef.path(leaves, 2);
        // Unanchored: nothing stored yet, even for a proof that would otherwise verify.
        assertFalse(sa.verifyInclusionV2(0, 0, 6, logRoot, mapRoot, 2, leaves[2], p), "nothing anchored");
        {
            bytes32 other = MerkleRef.anchoredRoot(keccak256("other"), mapRoot);
            bytes32 anchored = MerkleRef.anchoredRoot(logRoot, mapRoot);
            vm.startPrank(ANCHORER);
            sa.anchor(0, 0, 4, other);
            sa.anchor(1, 4, 6, anchored);
            vm.stopPrank();
        }
        assertTrue(sa.verifyInclusionV2(1, 4, 6, logRoot, mapRoot, 6, leaves[2], p), "valid");
        // unknown batch, wrong batch id, wrong metadata
        assertFalse(sa.verifyInclusionV2(2, 10, 6, logRoot, mapRoot, 12, leaves[2], p), "unknown batch");
        assertFalse(sa.verifyInclusionV2(0, 4, 6, logRoot, mapRoot, 6, leaves[2], p), "wrong batch id");
        assertFalse(sa.verifyInclusionV2(1, 3, 6, logRoot, mapRoot, 5, leaves[2], p), "wrong first index");
        assertFalse(sa.verifyInclusionV2(1, 4, 7, logRoot, mapRoot, 6, leaves[2], p), "wrong count");
        assertFalse(sa.verifyInclusionV2(1, 4, 6, ~logRoot, mapRoot, 6, leaves[2], p), "wrong logRoot");
        assertFalse(sa.verifyInclusionV2(1, 4, 6, logRoot, ~mapRoot, 6, leaves[2], p), "wrong mapRoot");
        assertFalse(sa.verifyInclusionV2(1, 4, 6, logRoot, bytes32(0), 6, leaves[2], p), "zero mapRoot");
        // index outside the batch range (incl. overflow-prone values)
        assertFalse(sa.verifyInclusionV2(1, 4, 6, logRoot, mapRoot, 3, leaves[2], p), "below range");
        assertFalse(sa.verifyInclusionV2(1, 4, 6, logRoot, mapRoot, 10, leaves[2], p), "index = end");
        assertFalse(sa.verifyInclusionV2(1, 4, 6, logRoot, mapRoot, type(uint64).max, leaves[2], p), "max index");
        assertFalse(
            sa.verifyInclusionV2(
                1, type(uint64).max, type(uint64).max, logRoot, mapRoot, type(uint64).max, leaves[2], p
            ),
            "overflowing range"
        );
        assertFalse(sa.verifyInclusionV2(1, 4, 0, logRoot, mapRoot, 4, leaves[2], p), "zero count");
        // malformed paths
        {
            bytes32[] memory shortP = new bytes32[](p.length - 1);
            for (uint256 k = 0; k < shortP.length; ++k) {
                shortP[k] = p[k];
            }
            assertFalse(sa.verifyInclusionV2(1, 4, 6, logRoot, mapRoot, 6, leaves[2], shortP), "short path");
        }
        {
            bytes32[] memory longP = new bytes32[](p.length + 1);
            for (uint256 k = 0; k < p.length; ++k) {
                longP[k] = p[k];
            }
            assertFalse(sa.verifyInclusionV2(1, 4, 6, logRoot, mapRoot, 6, leaves[2], longP), "long path");
        }
        assertFalse(sa.verifyInclusionV2(1, 4, 6, logRoot, mapRoot, 6, leaves[2], new bytes32[](0)), "empty path");
        p[0] = ~p[0];
        assertFalse(sa.verifyInclusionV2(1, 4, 6, logRoot, mapRoot, 6, leaves[2], p), "tampered path");
    }

    // ------------------------------------------------------ anchorer rotation

    function test_rotateAnchorer_twoStep() public {
        vm.expectEmit(true, true, false, true, address(sa));
        emit SupportAnchor.AnchorerProposed(ANCHORER, ALICE);
        vm.prank(OWNER);
        sa.proposeAnchorer(ALICE);
        assertEq(sa.pendingAnchorer(), ALICE, "pending");
        assertEq(sa.anchorer(), ANCHORER, "not yet rotated");

        // The old anchorer keeps working until acceptance.
        vm.prank(ANCHORER);
        sa.anchor(0, 0, 2, ROOT0);

        vm.expectEmit(true, true, false, true, address(sa));
        emit SupportAnchor.AnchorerChanged(ANCHORER, ALICE);
        vm.prank(ALICE);
        sa.acceptAnchorer();
        assertEq(sa.anchorer(), ALICE, "rotated");
        assertEq(sa.pendingAnchorer(), address(0), "pending cleared");
        // Counters survive the rotation (same packed slot).
        assertEq(sa.batchCount(), 1, "batchCount kept");
        assertEq(sa.nextIndex(), 2, "nextIndex kept");

        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotAnchorer.selector, ANCHORER));
        vm.prank(ANCHORER);
        sa.anchor(1, 2, 1, ROOT1);
        vm.prank(ALICE);
        sa.anchor(1, 2, 1, ROOT1);
        assertEq(sa.batchCount(), 2, "new anchorer anchors");
    }

    function test_rotateAnchorer_accessControl() public {
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotOwner.selector, ANCHORER));
        vm.prank(ANCHORER);
        sa.proposeAnchorer(ALICE);

        vm.expectRevert(SupportAnchor.ZeroAddress.selector);
        vm.prank(OWNER);
        sa.proposeAnchorer(address(0));

        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotPendingAnchorer.selector, ALICE));
        vm.prank(ALICE);
        sa.acceptAnchorer();

        vm.prank(OWNER);
        sa.proposeAnchorer(ALICE);
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotPendingAnchorer.selector, BOB));
        vm.prank(BOB);
        sa.acceptAnchorer();
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotPendingAnchorer.selector, OWNER));
        vm.prank(OWNER);
        sa.acceptAnchorer();

        // A newer proposal replaces the older one.
        vm.prank(OWNER);
        sa.proposeAnchorer(BOB);
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotPendingAnchorer.selector, ALICE));
        vm.prank(ALICE);
        sa.acceptAnchorer();
        vm.prank(BOB);
        sa.acceptAnchorer();
        assertEq(sa.anchorer(), BOB, "bob is anchorer");

        // Acceptance is one-shot.
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotPendingAnchorer.selector, BOB));
        vm.prank(BOB);
        sa.acceptAnchorer();
    }

    // -------------------------------------------------------------- ownership

    function test_transferOwnership_twoStep() public {
        vm.expectEmit(true, true, false, true, address(sa));
        emit SupportAnchor.OwnershipTransferStarted(OWNER, ALICE);
        vm.prank(OWNER);
        sa.transferOwnership(ALICE);
        assertEq(sa.pendingOwner(), ALICE, "pending owner");
        assertEq(sa.owner(), OWNER, "not yet transferred");

        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotPendingOwner.selector, BOB));
        vm.prank(BOB);
        sa.acceptOwnership();

        vm.expectEmit(true, true, false, true, address(sa));
        emit SupportAnchor.OwnershipTransferred(OWNER, ALICE);
        vm.prank(ALICE);
        sa.acceptOwnership();
        assertEq(sa.owner(), ALICE, "transferred");
        assertEq(sa.pendingOwner(), address(0), "pending cleared");

        // Old owner lost its powers; the new one has them.
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotOwner.selector, OWNER));
        vm.prank(OWNER);
        sa.proposeAnchorer(BOB);
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotOwner.selector, OWNER));
        vm.prank(OWNER);
        sa.transferOwnership(OWNER);
        vm.prank(ALICE);
        sa.proposeAnchorer(BOB);
        assertEq(sa.pendingAnchorer(), BOB, "new owner proposes");
    }

    function test_transferOwnership_accessControl() public {
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotOwner.selector, ALICE));
        vm.prank(ALICE);
        sa.transferOwnership(ALICE);
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotOwner.selector, ANCHORER));
        vm.prank(ANCHORER);
        sa.transferOwnership(ANCHORER);
        vm.expectRevert(SupportAnchor.ZeroAddress.selector);
        vm.prank(OWNER);
        sa.transferOwnership(address(0));
        vm.expectRevert(abi.encodeWithSelector(SupportAnchor.NotPendingOwner.selector, OWNER));
        vm.prank(OWNER);
        sa.acceptOwnership();
    }

    function _load(address target, uint256 slot) internal view returns (bytes32 v) {
        // eth_getStorageAt equivalent via the `load` cheatcode.
        (bool ok, bytes memory ret) =
            address(vm).staticcall(abi.encodeWithSignature("load(address,bytes32)", target, bytes32(slot)));
        require(ok, "vm.load failed");
        v = abi.decode(ret, (bytes32));
    }
}
