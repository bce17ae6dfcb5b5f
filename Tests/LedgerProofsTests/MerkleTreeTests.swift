import Crypto
import Foundation
import Testing
@testable import LedgerProofs

/// RFC 6962 section 2.1 written out as plainly as the RFC states it, over leaf *data*: the
/// reference the stored, incremental tree and its proofs are checked against.
enum Reference {
    static func sha(_ bytes: [UInt8]) -> [UInt8] { Array(SHA256.hash(data: bytes)) }
    static func k(_ n: Int) -> Int { var k = 1; while k * 2 < n { k *= 2 }; return k }

    static func mth(_ d: ArraySlice<[UInt8]>) -> [UInt8] {
        if d.isEmpty { return sha([]) }
        if d.count == 1 { return sha([0x00] + d[d.startIndex]) }
        let k = k(d.count)
        return sha([0x01] + mth(d.prefix(k)) + mth(d.dropFirst(k)))
    }

    static func path(_ m: Int, _ d: ArraySlice<[UInt8]>) -> [[UInt8]] {
        if d.count <= 1 { return [] }
        let k = k(d.count)
        return m < k ? path(m, d.prefix(k)) + [mth(d.dropFirst(k))] : path(m - k, d.dropFirst(k)) + [mth(d.prefix(k))]
    }

    static func proof(_ m: Int, _ d: ArraySlice<[UInt8]>) -> [[UInt8]] { subproof(m, d, true) }

    static func subproof(_ m: Int, _ d: ArraySlice<[UInt8]>, _ b: Bool) -> [[UInt8]] {
        if m == d.count { return b ? [] : [mth(d)] }
        let k = k(d.count)
        return m <= k ? subproof(m, d.prefix(k), b) + [mth(d.dropFirst(k))]
                      : subproof(m - k, d.dropFirst(k), false) + [mth(d.prefix(k))]
    }
}

/// Leaf data: varied lengths, distinct contents.
func leafData(_ count: Int) -> [[UInt8]] {
    (0..<count).map { i in (0..<(i % 7 + 1)).map { UInt8(truncatingIfNeeded: i &* 31 &+ $0) } }
}

/// A stored tree in a fresh directory, filled in uneven chunks (so the frontier is reloaded from
/// disk between transactions).
func storedTree(_ dir: borrowing TemporaryDirectory, data: [[UInt8]]) throws -> MerkleTree {
    let tree = try MerkleTree(path: dir.path + "/merkle", ledgerId: [UInt8](repeating: 7, count: 16))
    var done = 0, chunk = 1
    while done < data.count {
        let end = min(data.count, done + chunk)
        let ok = try tree.append(leaves: data[done..<end].map { MerkleHash.leaf(record: $0) }, expectedSize: UInt64(done))
        #expect(ok)
        done = end
        chunk = chunk % 13 + 2
    }
    #expect(try tree.size() == UInt64(data.count))
    return tree
}

@Suite struct MerkleTreeTests {
    @Test func publishedVectorsOfRFC6962() throws {
        // The eight leaves and roots of the certificate-transparency reference tests.
        let data: [[UInt8]] = ["", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                               "606162636465666768696a6b6c6d6e6f"].map { Hex.decode($0)! }
        let roots = ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                     "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                     "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
                     "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                     "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
                     "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
                     "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
                     "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"]
        let dir = TemporaryDirectory()
        let tree = try storedTree(dir, data: data)
        try tree.read { (snapshot: TreeSnapshot) throws in
            #expect(try snapshot.root(treeSize: 0).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
            for (n, root) in roots.enumerated() {
                #expect(try snapshot.root(treeSize: UInt64(n + 1)).hex == root, "size \(n + 1)")
                #expect(Hex.encode(Reference.mth(data.prefix(n + 1))) == root, "reference, size \(n + 1)")
            }
        }
    }

    @Test func rootsOfEverySizeMatchTheReference() throws {
        let data = leafData(300)
        let dir = TemporaryDirectory()
        let tree = try storedTree(dir, data: data)
        try tree.read { (snapshot: TreeSnapshot) throws in
            for n in 1...data.count {
                #expect(try snapshot.root(treeSize: UInt64(n)).bytes == Reference.mth(data.prefix(n)), "size \(n)")
            }
            #expect(throws: ProofError.self) { try snapshot.root(treeSize: 301) }
        }
    }

    @Test func nodeKeysArePostOrderAndDense() {
        // Post-order of the tree of 4 leaves: leaf0 leaf1 n(0,1) leaf2 leaf3 n(2,3) n(0..3).
        let order = [(0, 0), (0, 1), (1, 0), (0, 2), (0, 3), (1, 1), (2, 0)].map { TreeMath.nodeKey(level: $0.0, index: UInt64($0.1)) }
        #expect(order == [0, 1, 2, 3, 4, 5, 6])
        #expect(TreeMath.nodeKey(level: 0, index: 4) == 7 && TreeMath.nodeCount(size: 5) == 8)
        for size in UInt64(1)...600 {  // the last node completed by leaf `size` is the count - 1
            #expect(TreeMath.nodeKey(level: (size).trailingZeroBitCount, index: (size >> UInt64(size.trailingZeroBitCount)) - 1)
                    == TreeMath.nodeCount(size: size) - 1)
        }
    }

    @Test func inclusionProofsForAllSmallPairsVerifyAndTamperedOnesFail() throws {
        let data = leafData(40)
        let dir = TemporaryDirectory()
        let tree = try storedTree(dir, data: data)
        var checked = 0
        try tree.read { (snapshot: TreeSnapshot) throws in
            for n in 1...data.count {
                let root = try snapshot.root(treeSize: UInt64(n))
                for m in 0..<n {
                    let leaf = MerkleHash.leaf(record: data[m])
                    let path = try snapshot.inclusionPath(leafIndex: UInt64(m), treeSize: UInt64(n))
                    #expect(path.map(\.bytes) == Reference.path(m, data.prefix(n)), "PATH(\(m), \(n))")
                    #expect(MerkleVerify.inclusion(leafHash: leaf, leafIndex: UInt64(m), treeSize: UInt64(n), path: path, root: root))
                    expectTamperedInclusionFails(leaf: leaf, index: UInt64(m), size: UInt64(n), path: path, root: root)
                    checked += 1
                }
                #expect(throws: ProofError.self) { try snapshot.inclusionPath(leafIndex: UInt64(n), treeSize: UInt64(n)) }
            }
        }
        #expect(checked == 820)
    }

    private func expectTamperedInclusionFails(leaf: MerkleHash, index: UInt64, size: UInt64, path: [MerkleHash], root: MerkleHash) {
        func ok(l: MerkleHash = leaf, i: UInt64 = index, s: UInt64 = size, p: [MerkleHash] = path) -> Bool {
            MerkleVerify.inclusion(leafHash: l, leafIndex: i, treeSize: s, path: p, root: root)
        }
        #expect(!ok(l: flipped(leaf)), "altered leaf")
        for i in path.indices {
            var p = path
            p[i] = flipped(p[i])
            #expect(!ok(p: p), "altered path[\(i)]")
        }
        if index + 1 < size { #expect(!ok(i: index + 1), "another index") }
        if index > 0 { #expect(!ok(i: index - 1), "another index") }
        // (Another tree size can share the path's shape: the signed checkpoint binds the size.)
        #expect(!ok(s: index), "a size not above the index")
        if !path.isEmpty { #expect(!ok(p: Array(path.dropLast())), "shortened path") }
        #expect(!ok(p: path + [leaf]), "lengthened path")
        #expect(!MerkleVerify.inclusion(leafHash: leaf, leafIndex: index, treeSize: size, path: path, root: flipped(root)))
    }

    @Test func consistencyProofsForAllSmallPairsVerifyAndTamperedOnesFail() throws {
        let data = leafData(40)
        let dir = TemporaryDirectory()
        let tree = try storedTree(dir, data: data)
        var checked = 0
        try tree.read { (snapshot: TreeSnapshot) throws in
            for n in 1...data.count {
                let newRoot = try snapshot.root(treeSize: UInt64(n))
                for m in 1...n {
                    let oldRoot = try snapshot.root(treeSize: UInt64(m))
                    let path = try snapshot.consistencyPath(oldSize: UInt64(m), newSize: UInt64(n))
                    #expect(path.map(\.bytes) == Reference.proof(m, data.prefix(n)), "PROOF(\(m), \(n))")
                    func ok(_ p: [MerkleHash] = path, old: MerkleHash = oldRoot, new: MerkleHash = newRoot,
                            m: Int = m, n: Int = n) -> Bool {
                        MerkleVerify.consistency(oldSize: UInt64(m), newSize: UInt64(n), oldRoot: old, newRoot: new, path: p)
                    }
                    #expect(ok())
                    #expect(!ok(old: flipped(oldRoot)) && !ok(new: flipped(newRoot)), "altered roots (\(m), \(n))")
                    for i in path.indices {
                        var p = path
                        p[i] = flipped(p[i])
                        #expect(!ok(p), "altered path[\(i)] of (\(m), \(n))")
                    }
                    if !path.isEmpty { #expect(!ok(Array(path.dropLast())), "shortened (\(m), \(n))") }
                    #expect(!ok(path + [newRoot]), "lengthened (\(m), \(n))")
                    checked += 1
                }
            }
            #expect(throws: ProofError.self) { try snapshot.consistencyPath(oldSize: 0, newSize: 3) }
            #expect(throws: ProofError.self) { try snapshot.consistencyPath(oldSize: 4, newSize: 3) }
        }
        #expect(checked == 820)
    }

    @Test func aStaleWriterWritesNothing() throws {
        let dir = TemporaryDirectory()
        let tree = try storedTree(dir, data: leafData(5))
        #expect(try !tree.append(leaves: [MerkleHash.leaf(record: [1])], expectedSize: 4))
        #expect(try tree.size() == 5)
        // Another ledger's tree at the same path is emptied, not reused.
        let other = try MerkleTree(path: dir.path + "/merkle", ledgerId: [UInt8](repeating: 8, count: 16))
        #expect(try other.size() == 0)
    }
}

func flipped(_ hash: MerkleHash) -> MerkleHash {
    var bytes = hash.bytes
    bytes[bytes.count / 2] ^= 0x10
    return MerkleHash(bytes: bytes)
}
