// Fuzz target: the stored-event decoders. Input starting with byte 0x01 (the record format byte)
// is a stored record for `EventRecord.decode` (Sources/LedgerStore/EventRecord.swift, compiled
// into this target), whose payload then goes to the domain decoder; any other input is
// `TYPE\nDATA` for the domain decoder alone (`DomainEvent.decode`, fast path and general path).
// Properties: no trap; a decoded record re-encodes to the same bytes, passes the writer's own
// validation and agrees with the partial readers (`link`, `member`); a decoded event re-encodes
// (`canonicalJSON`, equal to `JSONCanonical.encode(json)`) and decodes equal; the fast decoder,
// the general decoder and the by-bytes decoder agree.
@testable import LoyaltyDomain
import LedgerJSON

enum StoredEventTarget {
    /// A position high enough for any `previousDelta` a test input carries.
    static let position: UInt64 = 1 << 40

    static func run(_ bytes: [UInt8]) {
        if bytes.first == EventRecord.formatByte { record(bytes) } else { domain(bytes) }
    }

    static func record(_ bytes: [UInt8]) {
        let decoded = bytes.withUnsafeBytes { raw in Result { () throws(RecordDecodingError) in try EventRecord.decode(position: position, raw) } }
        guard case .success(let event) = decoded else { return }
        let draft = EventDraft(type: event.type, schemaVersion: event.schemaVersion, member: event.member, occurredAt: event.occurredAt,
                               data: event.data, idempotencyKey: event.idempotencyKey, actor: event.actor)
        var again: [UInt8] = []
        let delta = event.previousPosition.map { position - $0 } ?? 0
        EventRecord.encode(draft, recordedAt: event.recordedAt, version: event.version, previousDelta: delta, into: &again)
        FuzzCheck.require(again == bytes, "a decoded record re-encodes to other bytes")
        do { try EventDraftValidation.validate(draft, index: 0) } catch {
            FuzzCheck.require(false, "a decoded record is one the writer refuses: \(error)")
        }
        bytes.withUnsafeBytes { raw in
            let link = try? EventRecord.link(position: position, raw)
            FuzzCheck.require(link?.version == event.version && link?.previousPosition == event.previousPosition, "link disagrees with decode")
            FuzzCheck.require(link.map { Array($0.member) } == Array(event.member.utf8), "link's member disagrees with decode")
            let member = try? EventRecord.member(raw)
            FuzzCheck.require(member.map { Array($0) } == Array(event.member.utf8), "member() disagrees with decode")
        }
        domainEvent(type: event.type, schemaVersion: event.schemaVersion, data: event.data)
    }

    /// `TYPE\nDATA`: the domain decoder on its own (most inputs are not valid records).
    static func domain(_ bytes: [UInt8]) {
        let newline = bytes.firstIndex(of: 0x0A) ?? bytes.endIndex
        let type = String(decoding: bytes[..<newline], as: UTF8.self)
        let data = newline < bytes.endIndex ? Array(bytes[(newline + 1)...]) : []
        domainEvent(type: type, schemaVersion: DomainEvent.schemaVersion, data: data)
    }

    static func domainEvent(type: String, schemaVersion: UInt32, data: [UInt8]) {
        let viaString = Result { try DomainEvent.decode(type: type, schemaVersion: schemaVersion, bytes: data) }
        let viaBytes = Result {
            try Array(type.utf8).withUnsafeBytes { typeBytes in
                try data.withUnsafeBufferPointer { try DomainEvent.decode(typeBytes: typeBytes, schemaVersion: schemaVersion, bytes: $0) }
            }
        }
        let general = Result { try data.withUnsafeBufferPointer { try DomainEvent.decodeGeneral(type: type, schemaVersion: schemaVersion, bytes: $0) } }
        if case .success(nil) = viaBytes {
            FuzzCheck.require(!DomainEvent.isDomainType(type), "decode(typeBytes:) calls a domain type unknown: \(type)")
            return
        }
        let string = viaString.map { Optional($0) }
        FuzzCheck.require(same(string, viaBytes), "decode by String and by bytes disagree:\n  \(describe(string))\n  \(describe(viaBytes))")
        FuzzCheck.require(same(string, general.map { Optional($0) }),
                          "fast and general decoders disagree:\n  \(describe(string))\n  \(describe(general.map { Optional($0) }))")
        guard case .success(let event) = viaString else { return }
        FuzzCheck.require(event.type == type, "decoded a \(event.type) from type \(type)")
        let encoded = event.canonicalJSON
        FuzzCheck.require(encoded == JSONCanonical.encode(event.json), "canonicalJSON differs from encode(json) for \(event)")
        do {
            let back = try DomainEvent.decode(type: event.type, schemaVersion: DomainEvent.schemaVersion, bytes: encoded)
            FuzzCheck.require(back == event, "event re-decoded differently:\n  \(event)\n  \(back)")
        } catch {
            FuzzCheck.require(false, "the encoding of a decoded event is refused (\(error)): \(String(decoding: encoded, as: UTF8.self))")
        }
    }

    /// Equal values, or errors with the same message.
    static func same(_ a: Result<DomainEvent?, any Error>, _ b: Result<DomainEvent?, any Error>) -> Bool {
        switch (a, b) {
        case let (.success(x), .success(y)): return x == y
        case let (.failure(x), .failure(y)): return "\(x)" == "\(y)"
        default: return false
        }
    }

    static func describe(_ r: Result<DomainEvent?, any Error>) -> String {
        switch r {
        case .success(let e): return "value \(e.map { "\($0)" } ?? "nil")"
        case .failure(let e): return "error \(e)"
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStoredEvent(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    StoredEventTarget.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}
