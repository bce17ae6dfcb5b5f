import ByteCodec
public import LoyaltyDomain
public import LedgerStore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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

    /// Decodes a stored event; nil for events that are not domain events (raw `loyalty append`)
    /// and for neutralised events, which projections skip (their checkpoint still moves past them).
    public static func decode(_ e: RecordedEvent) throws(ProjectionError) -> ProjectionEvent? {
        guard DomainEvent.isDomainType(e.type), e.neutralisedBy == nil else { return nil }
        do {
            let event = try DomainEvent.decode(type: e.type, schemaVersion: e.schemaVersion, bytes: e.data)
            return ProjectionEvent(position: e.position, recordedAt: Timestamp(microseconds: e.recordedAt),
                                   occurredAt: Timestamp(microseconds: e.occurredAt), member: e.member, event: event)
        } catch {
            throw .unappliable(position: e.position, type: e.type, member: e.member, reason: "does not decode: \(error)")
        }
    }

    /// `decode` for an event read in place: the same result and errors for what the log's writer
    /// accepts. The member id (a fold's key) must be valid UTF-8 (an id that is not is an error,
    /// never repaired into another id); the writer's other text rules are not checked again here.
    package static func decode(_ v: EventView) throws(ProjectionError) -> ProjectionEvent? {
        guard v.neutralisedBy == nil else { return nil }
        let decoded: DomainEvent?
        do {
            // Nil for a type that is not a domain type (invalid UTF-8 cannot spell one).
            decoded = try v.data.withMemoryRebound(to: UInt8.self) { data in
                try DomainEvent.decode(typeBytes: v.type, schemaVersion: v.schemaVersion, bytes: data)
            }
        } catch {
            throw .unappliable(position: v.position, type: String(decoding: v.type, as: UTF8.self),
                               member: String(decoding: v.member, as: UTF8.self), reason: "does not decode: \(error)")
        }
        guard let event = decoded else { return nil }
        guard let member = Self.memberId(v.member) else {
            throw .unappliable(position: v.position, type: event.type, member: String(decoding: v.member, as: UTF8.self),
                               reason: "its member id is not UTF-8")
        }
        return ProjectionEvent(position: v.position, recordedAt: Timestamp(microseconds: v.recordedAt),
                               occurredAt: Timestamp(microseconds: v.occurredAt), member: member, event: event)
    }

    /// The member id of a stored event; nil if it is not UTF-8 (`ByteReader.text`: ASCII, the
    /// usual case, is taken as it is).
    static func memberId(_ bytes: UnsafeRawBufferPointer) -> String? { ByteReader.text(bytes) }
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
    /// Applies one event to the entries it touches: all of its changes or, when it throws, none
    /// (a `FoldFault`, named by the worker with the event's position, type and member).
    func apply(_ event: ProjectionEvent, to state: FoldState<Value>) throws
    /// Applies a run of events in order. The default loops over `apply`; it is a requirement so
    /// that the loop is compiled for each fold (callers reach folds through generic workers),
    /// reading events in place instead of copying each.
    func apply(_ events: ProjectionBatch, to state: FoldState<Value>) throws
    static func encode(_ value: Value, into writer: inout ValueWriter)
    static func decode(_ reader: inout ValueReader) throws(ProjectionError) -> Value
    /// Whether every entry is keyed by a member id (`ProjectionEvent.member`) and changed only by
    /// that member's events. Then events of different members may be applied on different
    /// threads, each member's in log order (`PartitionedRun`). Default: false.
    static var keyedByMember: Bool { get }
}

extension ProjectionFold {
    public static var keyedByMember: Bool { false }

    public func apply(_ events: ProjectionBatch, to state: FoldState<Value>) throws {
        try events.forEach { pe in try pe.naming { try apply(pe, to: state) } }
    }

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
///
/// Entries live in slots (parallel arrays) found through one dictionary lookup by key, so that
/// marking an entry dirty or clean, and listing the dirty ones, needs no further hashing.
public final class FoldState<Value> {
    /// Slot of each cached key.
    private var slots: [String: Int] = [:]
    private var keys: [String] = []
    private var values: [Value?] = []
    private var dirty: [Bool] = []
    /// Loads a stored entry (set for the duration of one batch; nil: nothing is stored yet).
    var loader: ((String) throws -> Value?)?
    /// Slots changed since the last commit, in the order they were first changed.
    private var dirtySlots: [Int] = []

    init() {}

    /// Cached entries (loaded, created or deleted).
    var count: Int { keys.count }

    private func slot(_ key: String) throws -> Int {
        if let s = slots[key] { return s }
        let loaded = try loader?(key) ?? nil
        let s = keys.count
        slots[key] = s
        keys.append(key)
        values.append(loaded)
        dirty.append(false)
        return s
    }

    /// The entry at `key` (nil when absent).
    public func value(_ key: String) throws -> Value? {
        values[try slot(key)]
    }

    /// Changes the entry at `key` in place (set it to nil to delete it).
    public func update<R>(_ key: String, _ body: (inout Value?) throws -> R) throws -> R {
        let s = try slot(key)
        if !dirty[s] {
            dirty[s] = true
            dirtySlots.append(s)
            sortedAhead = nil
        }
        // Mutated through the array's in-place accessor: the value stays uniquely referenced (no
        // copy of its arrays).
        return try body(&values[s])
    }

    /// Dirty entries (UTF-8 key, encoded value or nil for a deletion), sorted by key bytes if
    /// `sorted` (a digest needs the order; LMDB does not, though sorted puts fill an empty table's
    /// pages better), else in the order they were first changed.
    func dirtyEntries(sorted: Bool, _ encode: (Value) -> [UInt8]) -> [(key: [UInt8], value: [UInt8]?)] {
        dirtyKeys(sorted: sorted).map { slot, key in (key, values[slot].map(encode)) }
    }

    /// `dirtyKeys(sorted: true)` made ahead by `sortDirtyKeysAhead` (nil once an entry is changed).
    private var sortedAhead: [(slot: Int, key: [UInt8])]?

    /// Sorts the dirty keys now, for the next `dirtyKeys(sorted: true)`: a partitioned run's
    /// threads sort their own shards in parallel before the commit merges them.
    func sortDirtyKeysAhead() {
        sortedAhead = dirtyKeys(sorted: true)
    }

    /// The dirty slots with their UTF-8 keys, sorted by key bytes if `sorted` (as `dirtyEntries`).
    func dirtyKeys(sorted: Bool) -> [(slot: Int, key: [UInt8])] {
        if sorted, let ahead = sortedAhead { return ahead }
        let out = dirtySlots.map { (slot: $0, key: Array(keys[$0].utf8)) }
        guard sorted else { return out }
        // Sorted as indices (moving integers, not tuples holding arrays: a build's commit sorts
        // every member's key, and moving the tuples retained and released their arrays).
        var order = Array(out.indices)
        out.withUnsafeBufferPointer { entries in
            order.sort { Self.precedes(entries[$0].key, entries[$1].key) }
        }
        return order.map { out[$0] }
    }

    /// The cached entry in `slot` read in place, without a copy (nil: deleted): `body(values[slot])`
    /// would copy the value (retaining what it holds) for every entry a commit writes.
    func withValue<R>(slot: Int, _ body: (UnsafePointer<Value>?) throws -> R) rethrows -> R {
        try values.withUnsafeBufferPointer { entries in
            guard entries[slot] != nil else { return try body(nil) }
            // An Optional keeps its payload at offset 0 with the payload's layout.
            return try (entries.baseAddress! + slot).withMemoryRebound(to: Value.self, capacity: 1) { try body($0) }
        }
    }

    /// Byte order of keys (LMDB's default order), by `memcmp` rather than element by element.
    static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let n = min(a.count, b.count)
        let c = a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in n == 0 ? 0 : memcmp(pa.baseAddress!, pb.baseAddress!, n) } }
        return c != 0 ? c < 0 : a.count < b.count
    }

    /// Every cached entry that holds a value, in no particular order.
    func entries() -> [(String, Value)] {
        zip(keys, values).compactMap { k, v in v.map { (k, $0) } }
    }

    func markClean() {
        for s in dirtySlots { dirty[s] = false }
        dirtySlots.removeAll(keepingCapacity: true)
        sortedAhead = nil
    }

    func discard() {
        sortedAhead = nil
        slots = [:]
        keys = []
        values = []
        dirty = []
        dirtySlots = []
    }
}
