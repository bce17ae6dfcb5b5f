import LedgerJSON
import LoyaltyAudit
import LoyaltyDomain
import Testing

/// `history` writes rows straight into bytes; these must equal the canonical encoding of the
/// row's `json` and the table layout built from Strings.
@Suite struct HistoryOutputTests {
    static func row(consumed: [LotAllocation], rule: String?, version: Int64?, fault: String?, text: String) -> HistoryRow {
        HistoryRow(position: 1_234_567, recordedAt: Timestamp(microseconds: 1_790_000_000_123_456),
                   occurredAt: Timestamp(microseconds: 1_780_000_000_000_000), type: "points.redeemed", description: text,
                   evaluatedAt: Timestamp(microseconds: 1_790_000_000_000_001), available: -5, pending: 0, held: 12,
                   debt: Int64.max, consumed: consumed, rule: rule, ruleVersion: version, fault: fault)
    }

    static let rows: [HistoryRow] = [
        row(consumed: [], rule: nil, version: nil, fault: nil, text: "plain"),
        row(consumed: [LotAllocation(lotId: "P:a\"b", points: 3), LotAllocation(lotId: "L2", points: Int64.min)],
            rule: "base 100 \\ x", version: 7, fault: "takes \n points", text: "caf\u{e9} \u{1}"),
        row(consumed: [LotAllocation(lotId: "P:P1", points: 100)], rule: "r", version: 0, fault: nil, text: ""),
    ]

    @Test func jsonBytesEqualCanonicalEncodingOfTheRow() {
        for r in Self.rows {
            var out: [UInt8] = []
            r.writeJSON(into: &out)
            #expect(out == JSONCanonical.encode(r.json), "\(String(decoding: out, as: UTF8.self))")
        }
    }

    @Test func tableLineHasTheColumnsOfTheHeader() {
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s + " " : s + String(repeating: " ", count: n - s.count) }
        for r in Self.rows {
            var what = r.description
            if !r.consumed.isEmpty { what += " [lots: " + r.consumed.map { "\($0.lotId)=\($0.points)" }.joined(separator: ", ") + "]" }
            if let v = r.ruleVersion { what += " [rule v\(v): \(r.rule ?? "")]" }
            if let fault = r.fault { what += " [FAULT: \(fault)]" }
            let expected = pad("\(r.position)", 10) + pad(r.recordedAt.rfc3339, 29) + pad(r.occurredAt.rfc3339, 29) + pad(r.type, 24)
                + pad("\(r.available)", 11) + pad("\(r.pending)", 9) + pad("\(r.held)", 6) + pad("\(r.debt)", 6) + what + "\n"
            var out: [UInt8] = []
            r.writeTableLine(into: &out)
            #expect(String(decoding: out, as: UTF8.self) == expected)
        }
        #expect(HistoryRow.tableHeader.hasPrefix("position  recordedAt"))
    }
}

/// The pipelined `History.write` (decode, fold and output on separate threads) writes exactly
/// the rows `History.rows` returns, across chunk boundaries and small flushes.
@Suite struct HistoryPipelineTests {
    final class Sink: @unchecked Sendable {
        // @unchecked: `flush` runs on one output thread at a time; read after `write` returned.
        var bytes: [UInt8] = []
        var flushes = 0
    }

    @Test(.timeLimit(.minutes(2)))
    func pipelinedOutputEqualsTheRowsAcrossChunksAndFlushes() async throws {
        let l = try TestLedger()
        defer { l.done() }
        try await l.enroll("M1")
        try await l.enroll("M2")
        let purchases = History.pipelineChunkEvents  // two events each, 6 in 7 for M1: more than one chunk
        for i in 0..<purchases {
            let day = 1 + i % 28
            try await l.buy(i % 7 == 0 ? "M2" : "M1", "P\(i)", "\(10 + i % 50).25", at: "2026-03-\(day < 10 ? "0" : "")\(day)T10:00:00Z")
            if i % 50 == 49 {
                try await l.run(.redeem(member: "M1", points: 15, redemptionId: "R\(i)", reward: nil, at: t("2026-03-28T12:00:00Z")))
            }
        }
        for (from, to) in [(nil, nil), (t("2026-03-05T00:00:00Z"), t("2026-03-20T00:00:00Z"))] as [(Timestamp?, Timestamp?)] {
            let rows = try History.rows(member: "M1", log: l.log, from: from, to: to)
            #expect(rows.count > History.pipelineChunkEvents || from != nil)
            var expected: [UInt8] = Array("H\n".utf8)
            for r in rows { r.writeJSON(into: &expected); expected.append(0x0A) }
            let sink = Sink()
            try History.write(member: "M1", log: l.log, from: from, to: to, header: Array("H\n".utf8), flushBytes: 1_000,
                              format: { r, out in r.writeJSON(into: &out); out.append(0x0A) },
                              flush: { sink.bytes += $0; sink.flushes += 1 })
            #expect(sink.bytes == expected)
            #expect(sink.flushes > 1)
        }
        let sink = Sink()
        #expect(throws: AuditError.self) {
            try History.write(member: "nobody", log: l.log, header: Array("H\n".utf8), format: { _, _ in }, flush: { sink.bytes += $0 })
        }
        #expect(sink.bytes.isEmpty, "nothing, not even the header, for an unknown member")
    }
}
