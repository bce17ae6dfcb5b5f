/// Member id -> stream head, keyed by the member's 64-bit `KeyHash` so that the writer hashes
/// each id once per event rather than once per dictionary operation (String hashing is costly on
/// the commit path). Ids are compared exactly on every hit, and the rare ids
/// whose hash collides with another's live in a String-keyed side table: two members can
/// never share a head.
struct MemberTable: Sendable {
    struct Entry: Sendable {
        var member: String
        var head: MemberHead
    }

    private var byHash = HashSlots(vacant: Entry(member: "", head: MemberHead(version: 0, position: 0)))
    private var collisions: [String: MemberHead] = [:]

    var count: Int { byHash.count + collisions.count }

    mutating func reserveCapacity(_ n: Int) { byHash.reserveCapacity(n) }
    var isEmpty: Bool { byHash.count == 0 && collisions.isEmpty }

    /// See `HashSlots.touch`.
    @inline(__always) func touch(_ hash: UInt64) -> UInt64 { byHash.touch(hash) }

    subscript(member: String, hash: UInt64) -> MemberHead? {
        get {
            if let entry = byHash[hash] {
                if entry.member == member { return entry.head }
                return collisions[member]
            }
            return nil
        }
        set {
            guard let newValue else { preconditionFailure("member heads are never removed") }
            if let entry = byHash[hash], entry.member != member {
                collisions[member] = newValue
            } else {
                byHash.set(hash, Entry(member: member, head: newValue))
            }
        }
    }

    /// Every (member, head), sorted so that B-tree inserts walk the pages in order. String `<`
    /// is byte order for ASCII ids and close to it otherwise; the order only affects locality.
    func sorted() -> [(member: String, head: MemberHead)] {
        var all: [(member: String, head: MemberHead)] = []
        all.reserveCapacity(count)
        byHash.forEach { _, entry in all.append((entry.member, entry.head)) }
        all += collisions.map { ($0.key, $0.value) }
        return all.sorted { $0.0 < $1.0 }
    }
}
