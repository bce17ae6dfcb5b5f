import Foundation
import LedgerTestSupport
import LoyaltyDomain
import Testing

/// What reaches the ledger as bytes, not as Swift values: JSON Lines for `import` and `append`
/// with invalid UTF-8, byte order marks, CRLF, control characters, raw domain event types with
/// impossible payloads, and over-long lines. Each file is run through the real binary: it never
/// dies of a signal, and afterwards every read command works and a write still goes through.
@Suite struct RawInputPropertyTests {
    static let seed = WritePathPropertyTests.seed

    /// Byte sequences that are not UTF-8, and a few that are but are unusual.
    static let oddBytes: [[UInt8]] = [
        [0xFF], [0xC3], [0xC3, 0x28], [0xE2, 0x82], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xC0, 0xAF],
        [0xEF, 0xBB, 0xBF], [0x00], [0x07], [0x7F], Array("é".utf8), Array("会".utf8), Array("🙂".utf8),
    ]

    /// Raw events of domain types with payloads the domain never decides; `append` must refuse
    /// them or the folds must still read them.
    static let rawDomainLines: [String] = [
        #"{"type":"points.earned","member":"M1","occurredAt":"2026-01-01T00:00:00Z","data":{"points":"lots"}}"#,
        #"{"type":"points.earned","member":"M1","occurredAt":"2026-01-01T00:00:00Z","data":{"lotId":"X","points":9223372036854775807,"source":{"kind":"bonus","id":"b"},"ruleVersion":1,"rule":"","availableAt":"2026-01-01T00:00:00Z"}}"#,
        #"{"type":"points.redeemed","member":"M1","occurredAt":"2026-01-01T00:00:00Z","data":{"redemptionId":"R1","points":5,"allocations":[{"lotId":"nope","points":5}]}}"#,
        #"{"type":"tier.changed","member":"M1","occurredAt":"2026-01-01T00:00:00Z","data":{"to":"gold"}}"#,
        #"{"type":"program.published","member":"$program","occurredAt":"2026-01-01T00:00:00Z","data":{"version":9223372036854775807}}"#,
        #"{"type":"member.enrolled","member":"M9","occurredAt":"9999-12-31T23:59:59Z","data":{"brand":"main","enrollmentStore":"S1"}}"#,
        #"{"type":"demo.note","member":"M1","occurredAt":"2026-01-01T00:00:00Z","data":{"text":"free types stay free"}}"#,
    ]

    @Test(.timeLimit(.minutes(5)))
    func oddBytesNeverBreakTheLedger() throws {
        var random = SplitMix64(seed: Self.seed ^ 0x5EED)
        let dir = TemporaryDirectory()
        let ledger = dir.ledger
        let label = "raw-input seed \(Self.seed)"
        let property = WritePathPropertyTests()
        #expect(try property.cli(["init", "--ledger", ledger], label).status == 0)
        #expect(try property.cli(["enroll", "M1", "--store", "S1", "--ledger", ledger], label).status == 0)
        for round in 0..<6 {
            var commands = Data(round == 0 ? [0xEF, 0xBB, 0xBF] : [])
            var events = Data()
            for i in 0..<40 {
                let odd = Self.oddBytes[Int(random.next() % UInt64(Self.oddBytes.count))]
                let where_ = random.next() % 4
                var line = Array(#"{"command":"enroll","member":"U\#(round)-\#(i)-"#.utf8)
                if where_ == 0 { line += odd }
                line += Array(#"","store":"S"#.utf8)
                if where_ == 1 { line += odd }
                line += Array(#"1"}"#.utf8)
                if where_ == 2 { line += odd }
                commands.append(contentsOf: line)
                commands.append(contentsOf: random.next() % 5 == 0 ? [0x0D, 0x0A] : [0x0A])
                var raw = Array(Self.rawDomainLines[Int(random.next() % UInt64(Self.rawDomainLines.count))].utf8)
                if where_ == 3 { raw.insert(contentsOf: odd, at: raw.count / 2) }
                events.append(contentsOf: raw + [0x0A])
            }
            if round == 5 { commands.append(Data(repeating: 0x41, count: 11 << 20)) }
            let file = dir.path + "/commands-\(round).jsonl"
            try commands.write(to: URL(fileURLWithPath: file))
            let imported = try property.cli(["import", file, "--ledger", ledger], label)
            #expect(!imported.err.contains("Fatal error"), "\(label) round \(round): \(imported.err.prefix(300))")
            let appended = try property.cli(["append", "--ledger", ledger, "--batch", "1"], label, input: Array(events))
            #expect(!appended.err.contains("Fatal error"), "\(label) round \(round): \(appended.err.prefix(300))")
            for arguments in [["verify"], ["balance", "M1"], ["figures"], ["history", "M1"],
                              ["reconcile", "--report", dir.path + "/r.json"], ["enroll", "W\(round)", "--store", "S1"]] {
                let run = try property.cli(arguments + ["--ledger", ledger], label)
                #expect(run.status == 0, "\(label) round \(round): `loyalty \(arguments.joined(separator: " "))` exit \(run.status): \(run.err.prefix(400))")
            }
        }
    }
}
