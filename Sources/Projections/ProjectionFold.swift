public import LoyaltyDomain
public import LedgerStore

/// A domain event as projections see it: decoded, with its place and times in the log.
public struct ProjectionEvent: Sendable {
    public var position: UInt64
    public var recordedAt: Timestamp
    public var occurredAt: Timestamp
    public var member: String
    public var event: DomainEvent

    public init(position: UInt64, recordedAt: Timestamp, occurredAt: Timestamp, member: String, event: DomainEvent) {
        self.position = position
        self.recordedAt = recordedAt
        self.occurredAt = occurredAt
        self.member = member
        self.event = event
    }

    /// Decodes a stored event; nil for events that are not domain events (raw `loyalty append`),
    /// which projections skip (their checkpoint still moves past them).
    public static func decode(_ e: RecordedEvent) throws(ProjectionError) -> ProjectionEvent? {
        guard DomainEvent.isDomainType(e.type) else { return nil }
        do {
            let event = try DomainEvent.decode(type: e.type, schemaVersion: e.schemaVersion, bytes: e.data)
            return ProjectionEvent(position: e.position, recordedAt: Timestamp(microseconds: e.recordedAt),
                                   occurredAt: Timestamp(microseconds: e.occurredAt), member: e.member, event: event)
        } catch {
            throw .undecodableEvent(position: e.position, reason: "\(error)")
        }
    }
}

/// A read model: a named, versioned, deterministic fold of the log into key -> value entries.
///
/// `apply` must depend only on the events (never on the clock or on anything outside the log), so
/// that a rebuild from position 0 equals the live state byte for byte (`ProjectionStore.digest`).
/// Time-dependent figures (what is pending *now*) are computed by queries from stored facts.
public protocol ProjectionFold: Sendable {
    associatedtype Value: Sendable
    /// Stable name: database names and the CLI use it.
    static var name: String { get }
    /// Bumped whenever `apply` or the value form changes: a stored projection of another version
    /// is rebuilt on start.
    static var version: Int { get }
    init()
    /// Applies one event to the entries it touches.
    func apply(_ event: ProjectionEvent, to state: FoldState<Value>) throws
    static func encode(_ value: Value, into writer: inout ValueWriter)
    static func decode(_ reader: inout ValueReader) throws(ProjectionError) -> Value
}

extension ProjectionFold {
    static func encoded(_ value: Value) -> [UInt8] {
        var w = ValueWriter()
        encode(value, into: &w)
        return w.bytes
    }

    static func decoded(_ bytes: UnsafeRawBufferPointer) throws(ProjectionError) -> Value {
        var r = ValueReader(bytes)
        let v = try decode(&r)
        guard r.isAtEnd else { throw .damagedValue("\(bytes.count - r.offset) bytes left over in a '\(name)' value") }
        return v
    }
}

/// The working state of a fold: a write-back cache over the stored entries. Entries a fold reads
/// are loaded on first use; entries it changes are marked dirty and written, all together with
/// the checkpoint, in one transaction. After that commit the cache equals what is stored.
public final class FoldState<Value> {
    struct Entry {
        var value: Value?
        var dirty: Bool
    }

    var entries: [String: Entry] = [:]
    /// Loads a stored entry (set for the duration of one batch; nil: nothing is stored yet).
    var loader: ((String) throws -> Value?)?
    /// Keys changed since the last commit, in the order they were first changed.
    var dirtyKeys: [String] = []

    init() {}

    /// The entry at `key` (nil when absent).
    public func value(_ key: String) throws -> Value? {
        if let e = entries[key] { return e.value }
        let loaded = try loader?(key) ?? nil
        entries[key] = Entry(value: loaded, dirty: false)
        return loaded
    }

    /// Changes the entry at `key` in place (set it to nil to delete it).
    public func update<R>(_ key: String, _ body: (inout Value?) throws -> R) throws -> R {
        if entries[key] == nil { _ = try value(key) }
        // Mutated through the dictionary's in-place accessor: the value stays uniquely referenced
        // (no copy of its arrays) and no entry moves.
        if entries[key]!.dirty == false {
            entries[key]!.dirty = true
            dirtyKeys.append(key)
        }
        return try body(&entries[key]!.value)
    }

    /// Dirty entries (key, encoded value or nil for a deletion), sorted by key.
    func dirtyEntries(_ encode: (Value) -> [UInt8]) -> [(key: String, value: [UInt8]?)] {
        var out: [(key: String, value: [UInt8]?)] = []
        out.reserveCapacity(dirtyKeys.count)
        for k in dirtyKeys { out.append((k, entries[k]?.value.map(encode))) }
        out.sort { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
        return out
    }

    func markClean() {
        for k in dirtyKeys { entries[k]?.dirty = false }
        dirtyKeys = []
    }

    func discard() {
        entries = [:]
        dirtyKeys = []
    }
}
