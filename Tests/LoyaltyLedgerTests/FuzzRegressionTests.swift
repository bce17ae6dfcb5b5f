import Foundation
import LedgerJSON
@testable import LedgerStore
@testable import LoyaltyDomain
import Testing

/// The fuzz targets' committed corpora (Fuzz/corpus/<target>/, seeds and the crash inputs under
/// regressions/) fed to the same entry points as the targets (Fuzz/*.swift, tools/fuzz.sh), in
/// the ordinary test run: each input gives a value or an error, never a trap, and what parses
/// round-trips. A crash input whose fix is pending is listed in `pending` (its test disabled).
@Suite struct FuzzRegressionTests {
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus")

    /// Regression inputs that still trap, by "target/regressions/name", until their fix is merged
    /// (Fuzz/corpus/pending.txt lists the same for tools/fuzz.sh).
    static let pending: Set<String> = []

    /// The files of a target's corpus (regressions/ included), by path relative to Fuzz/corpus.
    static func inputs(_ target: String) -> [String] {
        let base = corpus.appendingPathComponent(target)
        guard let walker = FileManager.default.enumerator(at: base, includingPropertiesForKeys: [.isRegularFileKey]) else { return [] }
        var out: [String] = []
        for case let url as URL in walker where (try? url.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true {
            let relative = "\(target)/" + url.path.dropFirst(base.path.count + 1)
            if !pending.contains(relative) { out.append(relative) }
        }
        return out.sorted()
    }

    static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: corpus.appendingPathComponent(relative)))
    }

    @Test func everyTargetHasACorpus() {
        for target in ["stored-event", "command-json", "import-csv", "program-rules"] {
            #expect(Self.inputs(target).count >= 5, "Fuzz/corpus/\(target)")
        }
    }

    /// A stored record (first byte 1) or `TYPE\nDATA`, as Fuzz/StoredEvent.swift reads it.
    @Test(arguments: inputs("stored-event"))
    func storedEvent(_ name: String) throws {
        let input = try Self.bytes(name)
        var type = "", data: [UInt8] = [], schemaVersion = DomainEvent.schemaVersion
        if input.first == EventRecord.formatByte {
            let position: UInt64 = 1 << 40
            guard let event = try? input.withUnsafeBytes({ raw throws(RecordDecodingError) in try EventRecord.decode(position: position, raw) }) else { return }
            var again: [UInt8] = []
            let draft = EventDraft(type: event.type, schemaVersion: event.schemaVersion, member: event.member, occurredAt: event.occurredAt,
                                   data: event.data, idempotencyKey: event.idempotencyKey, actor: event.actor)
            EventRecord.encode(draft, recordedAt: event.recordedAt, version: event.version,
                               previousDelta: event.previousPosition.map { position - $0 } ?? 0, into: &again)
            #expect(again == input, "a decoded record re-encodes to the same bytes")
            (type, data, schemaVersion) = (event.type, event.data, event.schemaVersion)
        } else {
            let newline = input.firstIndex(of: 0x0A) ?? input.endIndex
            type = String(decoding: input[..<newline], as: UTF8.self)
            data = newline < input.endIndex ? Array(input[(newline + 1)...]) : []
        }
        // By String and by type bytes: the same value or the same error (the message too).
        let byString = Result { try DomainEvent.decode(type: type, schemaVersion: schemaVersion, bytes: data) }
        let byBytes = Result {
            try Array(type.utf8).withUnsafeBytes { t in
                try data.withUnsafeBufferPointer { try DomainEvent.decode(typeBytes: t, schemaVersion: schemaVersion, bytes: $0) }
            }
        }
        switch (byString, byBytes) {
        case let (.success(a), .success(b)): #expect(a == b)
        case let (.failure(a), .failure(b)):
            #expect("\(a)" == "\(b)")
            // The message must not depend on hashing (the order of an object's keys in a Set).
            let messages = Set((0..<16).map { _ in
                (try? DomainEvent.decode(type: type, schemaVersion: schemaVersion, bytes: data)).map { "\($0)" } ?? "\(Result { try DomainEvent.decode(type: type, schemaVersion: schemaVersion, bytes: data) })"
            })
            #expect(messages.count == 1, "\(messages)")
        case (.failure, .success(nil)): #expect(!DomainEvent.isDomainType(type))
        default: Issue.record("decode by String and by type bytes disagree: \(byString) vs \(byBytes)")
        }
        guard case .success(let event) = byString else { return }
        #expect(try DomainEvent.decode(type: event.type, schemaVersion: DomainEvent.schemaVersion, bytes: event.canonicalJSON) == event)
    }

    @Test(arguments: inputs("command-json"))
    func commandJSON(_ name: String) throws {
        let text = String(decoding: try Self.bytes(name), as: UTF8.self)
        guard let json = try? JSONCanonical.parse(text) else { return }
        let canonical = JSONCanonical.encode(json)
        #expect(JSONCanonical.encode(try JSONCanonical.parse(String(decoding: canonical, as: UTF8.self))) == canonical)
        _ = try? Command(json: json, now: Timestamp(microseconds: 1_780_000_000_000_000))
    }

    /// The import files: each JSON line through `Command(json:)` (the CSV parser is the CLI's; its
    /// target runs in tools/fuzz.sh).
    @Test(arguments: inputs("import-csv"))
    func importLines(_ name: String) throws {
        for line in String(decoding: try Self.bytes(name), as: UTF8.self).split(separator: "\n") where line.hasPrefix("{") {
            if let json = try? JSONCanonical.parse(String(line)) { _ = try? Command(json: json, now: Timestamp(microseconds: 0)) }
        }
    }

    @Test(arguments: inputs("program-rules"))
    func programRules(_ name: String) throws { try Self.rulesRoundTrip(name) }

    /// Rules with a campaign time that is out of range once converted to UTC (year 0000 at +01:00
    /// is year -1) are refused when parsed: the time range of `Timestamp` is checked before the
    /// rules are built, so `json` can never write a time the parser refuses.
    @Test func aCampaignTimeOutOfRangeInUTCIsRefused() throws {
        let name = "program-rules/regressions/campaign-year-0000-in-plus-0100"
        let json = try JSONCanonical.parse(String(decoding: try Self.bytes(name), as: UTF8.self))
        #expect(throws: (any Error).self) { try ProgramRules(json: json) }
        try Self.rulesRoundTrip(name)
    }

    static func rulesRoundTrip(_ name: String) throws {
        let text = String(decoding: try bytes(name), as: UTF8.self)
        guard let json = try? JSONCanonical.parse(text), let rules = try? ProgramRules(json: json) else { return }
        let encoded = JSONCanonical.encode(rules.json)
        let again = try ProgramRules(json: try JSONCanonical.parse(String(decoding: encoded, as: UTF8.self)))
        #expect(again == rules)
        #expect(JSONCanonical.encode(again.json) == encoded)
    }
}
