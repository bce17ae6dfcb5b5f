import Testing
@testable import LoyaltyDomain

@Suite struct TimestampTests {
    @Test(arguments: [
        ("1970-01-01T00:00:00Z", Int64(0)),
        ("2026-11-24T10:15:30Z", Int64(1_795_515_330_000_000)),
        ("2026-11-24T11:15:30+01:00", Int64(1_795_515_330_000_000)),
        ("2026-11-24T10:15:30.25Z", Int64(1_795_515_330_250_000)),
        ("1969-12-31T23:59:59.999999Z", Int64(-1)),
        ("2024-02-29", Int64(1_709_164_800_000_000)),
        ("2026-11-24T10:15:30.1234567Z", Int64(1_795_515_330_123_456)),  // seven digits: used to trap
    ])
    func parses(text: String, micros: Int64) {
        #expect(Timestamp(rfc3339: text)?.microseconds == micros)
    }

    @Test(arguments: ["", "2026-13-01", "2023-02-29", "2026-11-24T25:00:00Z", "2026-11-24T10:00:00",
                      "2026-11-24T10:00:00Zjunk", "2026-11-24T10:00:00.Z", "yesterday"])
    func rejects(text: String) {
        #expect(Timestamp(rfc3339: text) == nil)
    }

    @Test func roundTrips() {
        for micros: Int64 in [0, -1, 1, 1_795_515_330_250_000, -86_400_000_000 * 365 * 80, 253_402_300_799_999_999] {
            let t = Timestamp(microseconds: micros)
            #expect(Timestamp(rfc3339: t.rfc3339) == t, "\(t.rfc3339)")
        }
        #expect(Timestamp(microseconds: 1_795_515_330_250_000).rfc3339 == "2026-11-24T10:15:30.250000Z")
    }

    /// The byte writer the event encoder uses prints exactly `rfc3339`, for any time (years
    /// outside 0...9999 included, where it defers to the String).
    @Test func bytesEqualTheString() {
        var random = SplitMix64(seed: 3339)
        var samples: [Int64] = [0, -1, 1, 999_999, 1_000_000, .max, .min, 253_402_300_799_999_999, 253_402_300_800_000_000,
                                -62_167_219_200_000_000, -62_167_219_200_000_001]
        for _ in 0..<20_000 { samples.append(Int64(bitPattern: random.next()) >> Int64(random.next(in: 0...40))) }
        for micros in samples {
            let t = Timestamp(microseconds: micros)
            var out: [UInt8] = []
            t.appendRFC3339(to: &out)
            #expect(out == Array(t.rfc3339.utf8), "\(micros)")
        }
    }
}
