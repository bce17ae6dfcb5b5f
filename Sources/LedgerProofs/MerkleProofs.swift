/// Roots and proofs of RFC 6962 section 2.1 (RFC 9162 2.1.3.1 and 2.1.4.1), computed from the
/// stored perfect subtrees: every range the recursions visit is `[start, start + n)` with `start`
/// a multiple of the smallest power of two >= n, so it is a perfect subtree or splits into one
/// and a smaller such range.
extension TreeSnapshot {
    /// `MTH(D[0:treeSize])`, for any `treeSize <= size`.
    public func root(treeSize: UInt64) throws -> MerkleHash {
        try checkSize(treeSize)
        return treeSize == 0 ? .emptyTree : try subtree(start: 0, count: treeSize)
    }

    /// `MTH(D[start : start + count])`; reads at most log2(count) + 1 stored nodes.
    func subtree(start: UInt64, count: UInt64) throws -> MerkleHash {
        precondition(count >= 1, "a subtree has leaves")
        if TreeMath.isPowerOfTwo(count) {
            precondition(start % count == 0, "perfect subtrees are aligned")
            return try node(level: count.trailingZeroBitCount, index: start / count)
        }
        let k = TreeMath.splitPoint(count)
        return MerkleHash.node(try subtree(start: start, count: k), try subtree(start: start + k, count: count - k))
    }

    /// The audit path `PATH(leafIndex, D[0:treeSize])`, from the leaf's sibling up to the root's child.
    public func inclusionPath(leafIndex: UInt64, treeSize: UInt64) throws -> [MerkleHash] {
        try checkSize(treeSize)
        guard leafIndex < treeSize else {
            throw ProofError("leaf index \(leafIndex) is not below the tree size \(treeSize)")
        }
        var path: [MerkleHash] = []
        var (start, count, m) = (UInt64(0), treeSize, leafIndex)
        // Walk down from the root; collect siblings top-down, then reverse to bottom-up order.
        while count > 1 {
            let k = TreeMath.splitPoint(count)
            if m < k {
                path.append(try subtree(start: start + k, count: count - k))
                count = k
            } else {
                path.append(try subtree(start: start, count: k))
                start += k
                m -= k
                count -= k
            }
        }
        return path.reversed()
    }

    /// The consistency proof `PROOF(oldSize, D[0:newSize])` (RFC 6962 2.1.2 SUBPROOF), bottom-up;
    /// empty when the sizes are equal. `oldSize` must be at least 1.
    public func consistencyPath(oldSize: UInt64, newSize: UInt64) throws -> [MerkleHash] {
        try checkSize(newSize)
        guard oldSize >= 1, oldSize <= newSize else {
            throw ProofError("a consistency proof needs 1 <= old size (\(oldSize)) <= new size (\(newSize))")
        }
        var path: [MerkleHash] = []
        var (start, count, m, whole) = (UInt64(0), newSize, oldSize, true)
        while m != count {
            let k = TreeMath.splitPoint(count)
            if m <= k {
                path.append(try subtree(start: start + k, count: count - k))
                count = k
            } else {
                path.append(try subtree(start: start, count: k))
                start += k
                m -= k
                count -= k
                whole = false
            }
        }
        // SUBPROOF(m, D[m], b): nothing when the old tree is a whole subtree of the walk, else its hash.
        if !whole { path.append(try subtree(start: start, count: count)) }
        return path.reversed()
    }

    private func checkSize(_ treeSize: UInt64) throws {
        guard treeSize <= size else {
            throw ProofError("tree size \(treeSize) is past the stored tree (\(size) leaves)")
        }
    }
}
