/// Offline verification of proofs, exactly the algorithms of RFC 9162 2.1.3.2 (inclusion) and
/// 2.1.4.2 (consistency): no tree, no ledger, only hashes.
public enum MerkleVerify {
    /// Proof lengths are bounded by the tree height (positions are below 2^40; 64 is generous).
    public static let pathLengthMax = 64

    /// True when `path` proves that `leafHash` is leaf `leafIndex` of the tree of `treeSize` leaves
    /// whose root is `root`.
    public static func inclusion(leafHash: MerkleHash, leafIndex: UInt64, treeSize: UInt64,
                                 path: [MerkleHash], root: MerkleHash) -> Bool {
        guard leafIndex < treeSize, path.count <= pathLengthMax else { return false }
        var (fn, sn) = (leafIndex, treeSize - 1)
        var r = leafHash
        for p in path {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                r = MerkleHash.node(p, r)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                r = MerkleHash.node(r, p)
            }
            fn >>= 1
            sn >>= 1
        }
        return sn == 0 && r == root
    }

    /// True when `path` proves that the tree of `oldSize` leaves with root `oldRoot` is a prefix of
    /// the tree of `newSize` leaves with root `newRoot`. Equal sizes need an empty path and equal
    /// roots; `oldSize` must be at least 1.
    public static func consistency(oldSize: UInt64, newSize: UInt64, oldRoot: MerkleHash, newRoot: MerkleHash,
                                   path: [MerkleHash]) -> Bool {
        guard oldSize >= 1, oldSize <= newSize, path.count <= pathLengthMax else { return false }
        if oldSize == newSize { return path.isEmpty && oldRoot == newRoot }
        guard !path.isEmpty else { return false }
        var path = path
        if TreeMath.isPowerOfTwo(oldSize) { path.insert(oldRoot, at: 0) }
        var (fn, sn) = (oldSize - 1, newSize - 1)
        while fn & 1 == 1 {
            fn >>= 1
            sn >>= 1
        }
        var (fr, sr) = (path[0], path[0])
        for c in path.dropFirst() {
            if sn == 0 { return false }
            if fn & 1 == 1 || fn == sn {
                fr = MerkleHash.node(c, fr)
                sr = MerkleHash.node(c, sr)
                if fn & 1 == 0 {
                    while fn & 1 == 0 && fn != 0 {
                        fn >>= 1
                        sn >>= 1
                    }
                }
            } else {
                sr = MerkleHash.node(sr, c)
            }
            fn >>= 1
            sn >>= 1
        }
        return fr == oldRoot && sr == newRoot && sn == 0
    }
}
