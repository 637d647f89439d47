// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title SupportAnchor
/// @notice Append-only on-chain anchor for batches of a Proofdesk log.
///
/// Each batch covers the contiguous global log range [firstIndex, firstIndex + count)
/// and commits to the RFC 6962 / RFC 9162 Merkle tree root of its `count` leaves.
/// Batch `batchId` stores a single 32-byte head:
///
///     head = SHA-256( 0x02 || u64be(batchId) || u64be(firstIndex) || u64be(count) || root )
///
/// (57 bytes). Batches are strictly sequential and contiguous: batch ids are 0, 1, 2, ...
/// and every batch starts where the previous one ended. A head, once written, is never
/// overwritten (the only writer requires batchId == batchCount, which only grows).
///
/// Head v2 (docs/PROTOCOL.md section 15.3) is a head over an anchored root in place of the
/// log root, so anchor() is unchanged (the anchorer passes the anchored root as `root`):
///
///     anchoredRoot = SHA-256( 0x06 || logRoot || mapRoot )
///
/// (65 bytes). verifyInclusion() checks records of v1 batches (path against `root`);
/// verifyInclusionV2() checks records of v2 batches (path against `logRoot`).
///
/// Storage layout (gas: a steady-state anchor() touches exactly one existing slot and
/// one new slot):
///     slot 0: anchorer (address, bytes 0..19) | batchCount (uint48) | nextIndex (uint48)
///     slot 1: owner
///     slot 2: pendingOwner
///     slot 3: pendingAnchorer
///     slot 4: mapping(uint256 batchId => bytes32 head)
/// The counters are uint48 internally (ample: 2.8e14 batches/leaves) while the ABI uses
/// uint64; exceeding uint48 reverts with IndexOverflow().
contract SupportAnchor {
    // ------------------------------------------------------------------ errors

    /// @notice anchor() was called by someone other than the anchorer.
    error NotAnchorer(address caller);
    /// @notice anchor() got a batch id other than batchCount().
    error UnexpectedBatchId(uint64 expected, uint64 got);
    /// @notice anchor() got a first index other than nextIndex().
    error UnexpectedFirstIndex(uint64 expected, uint64 got);
    /// @notice anchor() got count == 0.
    error EmptyBatch();
    /// @notice The batch counter or the log index would exceed the internal uint48 range.
    error IndexOverflow();
    /// @notice An owner-only function was called by someone else.
    error NotOwner(address caller);
    /// @notice acceptAnchorer() was called by someone other than pendingAnchorer().
    error NotPendingAnchorer(address caller);
    /// @notice acceptOwnership() was called by someone other than pendingOwner().
    error NotPendingOwner(address caller);
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();

    // ------------------------------------------------------------------ events

    event BatchAnchored(uint64 indexed batchId, uint64 firstIndex, uint64 count, bytes32 root);
    event AnchorerProposed(address indexed currentAnchorer, address indexed proposedAnchorer);
    event AnchorerChanged(address indexed previousAnchorer, address indexed newAnchorer);
    event OwnershipTransferStarted(address indexed previousOwner, address indexed newOwner);
    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);

    // ----------------------------------------------------------------- storage

    /// @dev Hot slot (slot 0): everything anchor() reads and updates.
    struct State {
        address anchorer;
        uint48 batchCount;
        uint48 nextIndex;
    }

    State private _state; // slot 0
    address private _owner; // slot 1
    address private _pendingOwner; // slot 2
    address private _pendingAnchorer; // slot 3
    mapping(uint256 => bytes32) private _heads; // slot 4

    uint256 private constant MAX_U48 = type(uint48).max;

    // ------------------------------------------------------------- constructor

    constructor(address anchorer_) {
        if (anchorer_ == address(0)) revert ZeroAddress();
        _owner = msg.sender;
        _state = State({anchorer: anchorer_, batchCount: 0, nextIndex: 0});
        emit OwnershipTransferred(address(0), msg.sender);
        emit AnchorerChanged(address(0), anchorer_);
    }

    // ------------------------------------------------------------------ anchor

    /// @notice Anchors batch `batchId` covering global log indices [firstIndex, firstIndex + count)
    ///         whose Merkle tree root is `root`.
    function anchor(uint64 batchId, uint64 firstIndex, uint64 count, bytes32 root) external {
        State memory s = _state;
        if (msg.sender != s.anchorer) revert NotAnchorer(msg.sender);
        if (batchId != s.batchCount) revert UnexpectedBatchId(s.batchCount, batchId);
        if (firstIndex != s.nextIndex) revert UnexpectedFirstIndex(s.nextIndex, firstIndex);
        if (count == 0) revert EmptyBatch();
        // batchId < 2^48 and firstIndex < 2^48 here (they equal uint48 counters); no 256-bit overflow.
        uint256 newCount = uint256(batchId) + 1;
        uint256 newNext = uint256(firstIndex) + uint256(count);
        if (newCount > MAX_U48 || newNext > MAX_U48) revert IndexOverflow();

        _heads[batchId] = _head(batchId, firstIndex, count, root);
        // Both casts are checked against MAX_U48 above.
        // forge-lint: disable-next-line(unsafe-typecast)
        _state = State({anchorer: s.anchorer, batchCount: uint48(newCount), nextIndex: uint48(newNext)});

        emit BatchAnchored(batchId, firstIndex, count, root);
    }

    // ------------------------------------------------------------------- views

    /// @notice Head of batch `batchId`, or zero if it has not been anchored.
    function batchHead(uint64 batchId) external view returns (bytes32) {
        return _heads[batchId];
    }

    /// @notice Number of anchored batches; also the id the next batch must use.
    function batchCount() external view returns (uint64) {
        return _state.batchCount;
    }

    /// @notice Global log index the next batch must start at (total leaves anchored).
    function nextIndex() external view returns (uint64) {
        return _state.nextIndex;
    }

    function anchorer() external view returns (address) {
        return _state.anchorer;
    }

    function owner() external view returns (address) {
        return _owner;
    }

    function pendingAnchorer() external view returns (address) {
        return _pendingAnchorer;
    }

    function pendingOwner() external view returns (address) {
        return _pendingOwner;
    }

    /// @notice SHA-256(0x02 || u64be(batchId) || u64be(firstIndex) || u64be(count) || root).
    function computeHead(uint64 batchId, uint64 firstIndex, uint64 count, bytes32 root)
        external
        pure
        returns (bytes32)
    {
        // Plain-Solidity form of _head (which must stay `view` because of its assembly
        // staticcall); the tests check that both agree.
        return sha256(abi.encodePacked(bytes1(0x02), batchId, firstIndex, count, root));
    }

    /// @notice Checks that the leaf hash `leaf` sits at GLOBAL log index `index` of anchored
    ///         batch `batchId` = (firstIndex, count, root), using an RFC 9162 audit path.
    /// @dev Never reverts on bad input; returns false instead.
    function verifyInclusion(
        uint64 batchId,
        uint64 firstIndex,
        uint64 count,
        bytes32 root,
        uint64 index,
        bytes32 leaf,
        bytes32[] calldata path
    ) external view returns (bool) {
        if (index < firstIndex || uint256(index) >= uint256(firstIndex) + uint256(count)) return false;
        bytes32 stored = _heads[batchId];
        if (stored == bytes32(0) || stored != _head(batchId, firstIndex, count, root)) return false;
        return _verifyAuditPath(index - firstIndex, count, leaf, path, root);
    }

    /// @notice Head v2 anchored root: SHA-256(0x06 || logRoot || mapRoot), the `root` that
    ///         anchor() takes and hashes into the head of a v2 batch.
    function computeAnchoredRootV2(bytes32 logRoot, bytes32 mapRoot) external pure returns (bytes32) {
        // Plain-Solidity form of _anchoredRoot; the tests check that both agree.
        return sha256(abi.encodePacked(bytes1(0x06), logRoot, mapRoot));
    }

    /// @notice Checks that the leaf hash `leaf` sits at GLOBAL log index `index` of anchored
    ///         head v2 batch `batchId` = (firstIndex, count, anchoredRoot(logRoot, mapRoot)),
    ///         using an RFC 9162 audit path against `logRoot`.
    /// @dev Never reverts on bad input; returns false instead. Returns false for a v1 batch
    ///      (anchored with the log root itself): use verifyInclusion() for those.
    function verifyInclusionV2(
        uint64 batchId,
        uint64 firstIndex,
        uint64 count,
        bytes32 logRoot,
        bytes32 mapRoot,
        uint64 index,
        bytes32 leaf,
        bytes32[] calldata path
    ) external view returns (bool) {
        if (index < firstIndex || uint256(index) >= uint256(firstIndex) + uint256(count)) return false;
        bytes32 stored = _heads[batchId];
        if (stored == bytes32(0) || stored != _head(batchId, firstIndex, count, _anchoredRoot(logRoot, mapRoot))) {
            return false;
        }
        return _verifyAuditPath(index - firstIndex, count, leaf, path, logRoot);
    }

    // ---------------------------------------------------------- administration

    /// @notice Step 1 of anchorer rotation (owner only).
    function proposeAnchorer(address newAnchorer) external {
        _onlyOwner();
        if (newAnchorer == address(0)) revert ZeroAddress();
        _pendingAnchorer = newAnchorer;
        emit AnchorerProposed(_state.anchorer, newAnchorer);
    }

    /// @notice Step 2 of anchorer rotation, called by the proposed anchorer.
    function acceptAnchorer() external {
        if (msg.sender != _pendingAnchorer) revert NotPendingAnchorer(msg.sender);
        address previous = _state.anchorer;
        _state.anchorer = msg.sender;
        delete _pendingAnchorer;
        emit AnchorerChanged(previous, msg.sender);
    }

    /// @notice Step 1 of ownership transfer (owner only).
    function transferOwnership(address newOwner) external {
        _onlyOwner();
        if (newOwner == address(0)) revert ZeroAddress();
        _pendingOwner = newOwner;
        emit OwnershipTransferStarted(_owner, newOwner);
    }

    /// @notice Step 2 of ownership transfer, called by the proposed owner.
    function acceptOwnership() external {
        if (msg.sender != _pendingOwner) revert NotPendingOwner(msg.sender);
        address previous = _owner;
        _owner = msg.sender;
        delete _pendingOwner;
        emit OwnershipTransferred(previous, msg.sender);
    }

    // ---------------------------------------------------------------- internal

    function _onlyOwner() private view {
        if (msg.sender != _owner) revert NotOwner(msg.sender);
    }

    /// @dev Equivalent to sha256(abi.encodePacked(bytes1(0x02), batchId, firstIndex, count, root)),
    ///      hashed from scratch memory past the free memory pointer (no allocation).
    function _head(uint64 batchId, uint64 firstIndex, uint64 count, bytes32 root) private view returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, shl(248, 0x02)) // byte 0: domain tag 0x02
            mstore(add(ptr, 1), shl(192, batchId)) // bytes 1..8
            mstore(add(ptr, 9), shl(192, firstIndex)) // bytes 9..16
            mstore(add(ptr, 17), shl(192, count)) // bytes 17..24
            mstore(add(ptr, 25), root) // bytes 25..56
            if iszero(staticcall(gas(), 0x02, ptr, 57, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }

    /// @dev Equivalent to sha256(abi.encodePacked(bytes1(0x06), logRoot, mapRoot)), hashed
    ///      from scratch memory past the free memory pointer (no allocation).
    function _anchoredRoot(bytes32 logRoot, bytes32 mapRoot) private view returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, shl(248, 0x06)) // byte 0: domain tag 0x06
            mstore(add(ptr, 1), logRoot) // bytes 1..32
            mstore(add(ptr, 33), mapRoot) // bytes 33..64
            if iszero(staticcall(gas(), 0x02, ptr, 65, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }

    /// @dev RFC 6962 interior node hash: sha256(0x01 || left || right).
    function _node(bytes32 left, bytes32 right) private view returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, shl(248, 0x01))
            mstore(add(ptr, 1), left)
            mstore(add(ptr, 33), right)
            if iszero(staticcall(gas(), 0x02, ptr, 65, 0x00, 0x20)) { revert(0, 0) }
            h := mload(0x00)
        }
    }

    /// @dev RFC 9162 section 2.1.3.2 inclusion proof verification (leaf already hashed).
    function _verifyAuditPath(uint256 fn, uint256 size, bytes32 leaf, bytes32[] calldata path, bytes32 root)
        private
        view
        returns (bool)
    {
        uint256 sn = size - 1;
        bytes32 r = leaf;
        for (uint256 i = 0; i < path.length; ++i) {
            if (sn == 0) return false;
            bytes32 p = path[i];
            if ((fn & 1) == 1 || fn == sn) {
                r = _node(p, r);
                // Skip the levels where this node has no right sibling.
                while ((fn & 1) == 0 && fn != 0) {
                    fn >>= 1;
                    sn >>= 1;
                }
            } else {
                r = _node(r, p);
            }
            fn >>= 1;
            sn >>= 1;
        }
        return sn == 0 && r == root;
    }
}
