/// A hash table keyed by 64-bit hashes that are already well mixed (`KeyHash`): the key is its own
/// hash, so there is no `Hasher` pass, and a slot holds the key and its value side by side, so a
/// lookup costs one cache miss where `Dictionary` (separate key, value and bitmap arrays, SipHash
/// of the key) takes two or three. These tables sit on the writer's commit path, several lookups
/// per event.
///
/// Open addressing with linear probing; entries are only ever added or updated, never removed,
/// so no tombstones are needed. Key 0 marks an empty slot: a real key 0 is stored as 1. Callers
/// never treat a hash as proof of identity (member ids and idempotency keys are compared in full
/// on every hit), so that merge costs at most a spurious candidate.
struct HashSlots<Value> {
    struct Slot {
        var key: UInt64
        var value: Value
    }

    private var slots: ContiguousArray<Slot>
    /// Placeholder value of empty slots (never returned).
    private let vacant: Value
    private(set) var count = 0

    /// The table doubles past this load (3/4): linear probing stays short, and a doubling is rare.
    private static var loadNumerator: Int { 3 }
    private static var loadDenominator: Int { 4 }
    private static var capacityMin: Int { 16 }

    /// An empty table allocates nothing until its first entry (the writer makes one per request,
    /// and most of a single-event request's tables stay empty).
    init(vacant: Value, reserving n: Int = 0) {
        self.vacant = vacant
        slots = n > 0 ? ContiguousArray(repeating: Slot(key: 0, value: vacant), count: Self.capacity(for: n)) : []
    }

    /// The smallest power of two that holds `n` entries under the load limit.
    private static func capacity(for n: Int) -> Int {
        var c = capacityMin
        while n * loadDenominator > c * loadNumerator { c <<= 1 }
        return c
    }

    @inline(__always) private static func stored(_ key: UInt64) -> UInt64 { key == 0 ? 1 : key }

    /// The slot holding `key`, or the empty slot where it would go.
    @inline(__always) private func probe(_ key: UInt64) -> (index: Int, found: Bool) {
        let mask = slots.count - 1
        var i = Int(truncatingIfNeeded: key) & mask
        while true {
            let k = slots[i].key
            if k == key { return (i, true) }
            if k == 0 { return (i, false) }
            i = (i &+ 1) & mask
        }
    }

    /// Loads the key's home slot and returns its key word (to be folded into a sink so the load
    /// stays): a pass of these over a whole batch before the real lookups lets the CPU overlap
    /// their cache misses instead of taking them one at a time.
    @inline(__always) func touch(_ key: UInt64) -> UInt64 {
        slots.isEmpty ? 0 : slots[Int(truncatingIfNeeded: Self.stored(key)) & (slots.count - 1)].key
    }

    subscript(key: UInt64) -> Value? {
        if slots.isEmpty { return nil }
        let (i, found) = probe(Self.stored(key))
        return found ? slots[i].value : nil
    }

    /// Sets the value at `key`, adding the entry when absent.
    mutating func set(_ key: UInt64, _ value: Value) {
        if slots.isEmpty { rehash(into: Self.capacityMin) }
        let k = Self.stored(key)
        var (i, found) = probe(k)
        if !found {
            if (count + 1) * Self.loadDenominator > slots.count * Self.loadNumerator {
                grow()
                i = probe(k).index
            }
            count += 1
            slots[i].key = k
        }
        slots[i].value = value
    }

    mutating func reserveCapacity(_ n: Int) {
        if Self.capacity(for: n) > slots.count { rehash(into: Self.capacity(for: n)) }
    }

    private mutating func grow() { rehash(into: slots.count * 2) }

    private mutating func rehash(into capacity: Int) {
        let old = slots
        slots = ContiguousArray(repeating: Slot(key: 0, value: vacant), count: capacity)
        for slot in old where slot.key != 0 {
            slots[probe(slot.key).index] = slot
        }
    }

    /// Every entry (in no particular order).
    func forEach(_ body: (UInt64, Value) throws -> Void) rethrows {
        for slot in slots where slot.key != 0 { try body(slot.key, slot.value) }
    }
}

extension HashSlots: Sendable where Value: Sendable {}
extension HashSlots.Slot: Sendable where Value: Sendable {}
