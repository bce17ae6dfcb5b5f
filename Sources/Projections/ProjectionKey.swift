import Crypto

/// Projection keys, bounded by construction: LMDB refuses a key over 511 bytes, so no id taken
/// from an event goes into a key as it is unless it is short. A component (member, store, reward
/// or redemption id) of at most `componentBytesMax` UTF-8 bytes is kept as it is; a longer one is
/// replaced by `longComponentMark` and the SHA-256 of its UTF-8 in hex (72 bytes), which no valid
/// id can spell (ids have no control characters). Every key is a short fixed prefix and at most
/// one such component, so it stays under `keyBytesMax`. See schemas/ledger-format.md, section 15.
public enum ProjectionKey {
    /// LMDB's largest key (its default `MDB_MAXKEYSIZE`).
    public static let keyBytesMax = 511
    /// Longest component kept as it is (longer ones are hashed).
    public static let componentBytesMax = 200
    /// Marks a hashed component: U+001F UNIT SEPARATOR and "sha256:".
    public static let longComponentMark = "\u{1F}sha256:"

    /// `component` as it goes into a key.
    public static func component(_ component: String) -> String {
        guard component.utf8.count > componentBytesMax else { return component }
        let digest = SHA256.hash(data: Array(component.utf8))
        let hex = digest.map { b in String(b >> 4, radix: 16) + String(b & 0xF, radix: 16) }.joined()
        return longComponentMark + hex
    }

    /// Whether a key component is a hash of a longer id (see `component`).
    public static func isHashed(_ component: some StringProtocol) -> Bool { component.hasPrefix(longComponentMark) }
}

/// An event a fold cannot apply (a sum past 64 bits, an allocation from a lot the member does
/// not hold). The fold changes nothing for it; the worker names the event's position, type and
/// member (`ProjectionError.unappliable`).
struct FoldFault: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Checked arithmetic on event data: a sum past 64 bits is a `FoldFault`, never a trap or a wrap.
enum Checked {
    static func add(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws -> Int64 {
        let (r, o) = a.addingReportingOverflow(b)
        if o { throw FoldFault("\(what()): \(a) + \(b) does not fit in 64 bits") }
        return r
    }

    static func sub(_ a: Int64, _ b: Int64, _ what: @autoclosure () -> String) throws -> Int64 {
        let (r, o) = a.subtractingReportingOverflow(b)
        if o { throw FoldFault("\(what()): \(a) - \(b) does not fit in 64 bits") }
        return r
    }

    /// The sum of `values`, checked.
    static func sum<S: Sequence>(_ values: S, _ what: @autoclosure () -> String) throws -> Int64 where S.Element == Int64 {
        var total: Int64 = 0
        for v in values { total = try add(total, v, what()) }
        return total
    }
}

extension ProjectionEvent {
    /// `body`'s `FoldFault` as the error naming this event.
    func naming<R>(_ body: () throws -> R) throws -> R {
        do {
            return try body()
        } catch let f as FoldFault {
            throw ProjectionError.unappliable(position: position, type: event.type, member: member, reason: f.description)
        }
    }
}
