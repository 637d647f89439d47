// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @notice Straightforward reference implementations (RFC 6962 section 2.1 definitions)
///         used to cross-check SupportAnchor. Deliberately written differently from the
///         contract: recursive MTH/PATH, byte-by-byte head encoding.
library MerkleRef {
    /// @dev Largest power of two strictly smaller than n (n >= 2).
    function splitPoint(uint256 n) internal pure returns (uint256 k) {
        k = 1;
        while (k << 1 < n) k <<= 1;
    }

    function node(bytes32 left, bytes32 right) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(uint8(0x01), left, right));
    }

    /// @dev Leaf hash per RFC 6962: sha256(0x00 || data). Used to generate test leaves.
    function leafHash(bytes memory data) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(uint8(0x00), data));
    }

    /// @dev MTH(D[lo:hi]) over already-hashed leaves.
    function root(bytes32[] memory leaves, uint256 lo, uint256 hi) internal pure returns (bytes32) {
        uint256 n = hi - lo;
        require(n > 0, "MTH of empty list");
        if (n == 1) return leaves[lo];
        uint256 k = splitPoint(n);
        return node(root(leaves, lo, lo + k), root(leaves, lo + k, hi));
    }

    function root(bytes32[] memory leaves) internal pure returns (bytes32) {
        return root(leaves, 0, leaves.length);
    }

    /// @dev PATH(m, D[lo:hi]) per RFC 6962 section 2.1.1, leaf-to-root order.
    function path(bytes32[] memory leaves, uint256 m) internal pure returns (bytes32[] memory out) {
        bytes32[] memory buf = new bytes32[](64);
        uint256 len = _path(leaves, m, 0, leaves.length, buf, 0);
        out = new bytes32[](len);
        for (uint256 i = 0; i < len; ++i) {
            out[i] = buf[i];
        }
    }

    /// @dev Appends PATH(m, D[lo:hi]) to buf at len; returns new len. Recursion emits the
    ///      deeper siblings first, so we recurse before appending.
    function _path(bytes32[] memory leaves, uint256 m, uint256 lo, uint256 hi, bytes32[] memory buf, uint256 len)
        private
        pure
        returns (uint256)
    {
        uint256 n = hi - lo;
        if (n == 1) return len;
        uint256 k = splitPoint(n);
        if (m < k) {
            len = _path(leaves, m, lo, lo + k, buf, len);
            buf[len++] = root(leaves, lo + k, hi);
        } else {
            len = _path(leaves, m - k, lo + k, hi, buf, len);
            buf[len++] = root(leaves, lo, lo + k);
        }
        return len;
    }

    /// @dev SHA-256(0x02 || u64be(batchId) || u64be(firstIndex) || u64be(count) || root), built byte by byte.
    function head(uint64 batchId, uint64 firstIndex, uint64 count, bytes32 r) internal pure returns (bytes32) {
        bytes memory b = new bytes(57);
        b[0] = 0x02;
        for (uint256 i = 0; i < 8; ++i) {
            uint256 shift = 8 * (7 - i);
            b[1 + i] = bytes1(uint8(uint256(batchId) >> shift));
            b[9 + i] = bytes1(uint8(uint256(firstIndex) >> shift));
            b[17 + i] = bytes1(uint8(uint256(count) >> shift));
        }
        for (uint256 i = 0; i < 32; ++i) {
            b[25 + i] = r[i];
        }
        return sha256(b);
    }

    /// @dev Head v2 anchored root SHA-256(0x06 || logRoot || mapRoot), built byte by byte.
    function anchoredRoot(bytes32 logRoot, bytes32 mapRoot) internal pure returns (bytes32) {
        bytes memory b = new bytes(65);
        b[0] = 0x06;
        for (uint256 i = 0; i < 32; ++i) {
            b[1 + i] = logRoot[i];
            b[33 + i] = mapRoot[i];
        }
        return sha256(b);
    }

    /// @dev Deterministic pseudo-random leaf hashes.
    function leavesFromSeed(uint256 seed, uint256 n) internal pure returns (bytes32[] memory leaves) {
        leaves = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            leaves[i] = leafHash(abi.encode(seed, i));
        }
    }
}
