// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "./utils/Test.sol";
import {MerkleRef} from "./utils/MerkleRef.sol";
import {SupportAnchor} from "../src/SupportAnchor.sol";

/// @notice Drives SupportAnchor with valid and invalid anchors, and anchorer rotations,
///         while keeping ghost copies of everything that was successfully anchored.
contract AnchorHandler {
    Vm_ internal constant vm = Vm_(address(uint160(uint256(keccak256("hevm cheat code")))));

    SupportAnchor public immutable sa;
    address public currentAnchorer;

    uint64[] public ghostFirst;
    uint64[] public ghostCount;
    bytes32[] public ghostRoot;
    bytes32[] public ghostHead;
    uint64 public ghostNext;
    uint256 public rejectedCalls;
    uint256 public unexpectedSuccesses;

    constructor() {
        currentAnchorer = address(0xA7C4);
        sa = new SupportAnchor(currentAnchorer); // this handler is the owner
    }

    function ghostLength() external view returns (uint256) {
        return ghostHead.length;
    }

    /// Valid anchor of a batch of 1..2^32 leaves.
    function anchorValid(uint256 countSeed, bytes32 root) external {
        uint64 count = uint64(1 + countSeed % (1 << 32));
        uint64 id = uint64(ghostHead.length);
        vm.prank(currentAnchorer);
        sa.anchor(id, ghostNext, count, root);
        ghostFirst.push(ghostNext);
        ghostCount.push(count);
        ghostRoot.push(root);
        ghostHead.push(MerkleRef.head(id, ghostNext, count, root));
        ghostNext += count;
    }

    /// Invalid anchors: wrong id, wrong first index (gap/overlap), empty, wrong sender.
    function anchorInvalid(uint8 kind, uint64 delta, uint64 count, bytes32 root, address sender) external {
        uint64 id = uint64(ghostHead.length);
        uint64 first = ghostNext;
        address from = currentAnchorer;
        delta = uint64(1 + delta % (1 << 32)); // no uint64 overflow below
        kind = kind % 5;
        if (kind == 0) id = id >= delta ? id - delta : id + delta; // rewrite an old batch or skip ahead
        else if (kind == 1) first = first >= delta ? first - delta : first + delta; // overlap/gap
        else if (kind == 2) first = first + delta; // gap
        else if (kind == 3) count = 0;
        else if (sender != currentAnchorer) from = sender;
        else count = 0;
        if (count == 0 && kind != 3 && kind != 4) count = 1;
        vm.prank(from);
        try sa.anchor(id, first, count, root) {
            unexpectedSuccesses++;
        } catch {
            rejectedCalls++;
        }
    }

    /// Two-step rotation to a fresh anchorer (owner = this handler).
    function rotateAnchorer(uint160 seed) external {
        address next = address(uint160(uint256(keccak256(abi.encode(seed)))));
        sa.proposeAnchorer(next);
        vm.prank(next);
        sa.acceptAnchorer();
        currentAnchorer = next;
    }
}

interface Vm_ {
    function prank(address) external;
}

/// @notice Invariants: counters only grow and match the ghost state, batch ranges are
///         contiguous and never overlap, heads never change once written.
contract SupportAnchorInvariantTest is Test {
    AnchorHandler internal handler;

    function setUp() public {
        handler = new AnchorHandler();
    }

    /// forge reads this to restrict fuzzed calls to the handler.
    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_countersMatchGhost() public view {
        SupportAnchor sa = handler.sa();
        // The ghost arrays are append-only, so equality implies monotonic counters.
        assertEq(sa.batchCount(), handler.ghostLength(), "batchCount");
        assertEq(sa.nextIndex(), handler.ghostNext(), "nextIndex");
        assertEq(sa.anchorer(), handler.currentAnchorer(), "anchorer");
        assertEq(handler.unexpectedSuccesses(), 0, "an invalid anchor was accepted");
    }

    function invariant_rangesContiguousAndHeadsImmutable() public view {
        SupportAnchor sa = handler.sa();
        uint256 len = handler.ghostLength();
        uint64 expectedFirst = 0;
        for (uint256 i = 0; i < len; ++i) {
            uint64 first = handler.ghostFirst(i);
            uint64 count = handler.ghostCount(i);
            assertEq(first, expectedFirst, "range not contiguous");
            assertTrue(count > 0, "empty range");
            // The head written at anchoring time is still there, unchanged, and binds the range.
            bytes32 h = sa.batchHead(uint64(i));
            assertEq(h, handler.ghostHead(i), "head changed");
            assertEq(h, sa.computeHead(uint64(i), first, count, handler.ghostRoot(i)), "head/range mismatch");
            expectedFirst = first + count;
        }
        assertEq(expectedFirst, sa.nextIndex(), "nextIndex = end of last range");
        assertEq(sa.batchHead(uint64(len)), bytes32(0), "head beyond batchCount");
    }
}
