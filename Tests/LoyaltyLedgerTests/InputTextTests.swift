import Foundation
@testable import LedgerJSON
import LoyaltyDomain
import Testing
@testable import LoyaltyLedger

/// Bytes to text, CSV splitting and cells, and the line reader, without the binary.
@Suite struct InputTextTests {
    @Test func invalidUTF8IsRefusedNeverRepaired() throws {
        #expect(try InputText.string(Array("Zoë".utf8), field: "member") == "Zoë")
        for bad: [UInt8] in [[0xFF], [0x41, 0xC3], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80]] {
            #expect(throws: ApplicationError.self) { try InputText.string(bad, field: "member") }
            #expect(InputText.firstInvalidOffset(bad) != nil, "\(bad)")
        }
        #expect(InputText.firstInvalidOffset(Array("a€😀".utf8)) == nil)
        #expect(InputText.firstInvalidOffset([0x41, 0x42, 0xE2, 0x82]) == 2)
    }

    @Test func theJSONParserRefusesInvalidUTF8AndNamesTheKey() throws {
        let bytes = Array(#"{"member":"M"#.utf8) + [0xFF] + Array(#""}"#.utf8)
        #expect(throws: JSONSyntaxError(column: 11, reason: #"the value of "member" is not valid UTF-8"#)) { try JSONCanonical.parse(utf8: bytes) }
        let key = Array(#"{"k"#.utf8) + [0xFE] + Array(#"":1}"#.utf8)
        #expect(throws: JSONSyntaxError.self) { try JSONCanonical.parse(utf8: key) }
        let outside = Array("{}".utf8) + [0xA0]
        #expect(throws: JSONSyntaxError(column: 3, reason: "unexpected text after the JSON value")) { try JSONCanonical.parse(utf8: outside) }
        #expect(throws: JSONSyntaxError(column: 1, reason: "unexpected byte 0xA0")) { try JSONCanonical.parse(utf8: [0xA0]) }
        #expect(try JSONCanonical.parse(utf8: Array(#"{"m":"Zoë"}"#.utf8)) == .object([("m", .string("Zoë"))]))
    }

    @Test func csvSplitsBytesAndNamesTheBadField() throws {
        #expect(CSV.split(Array(#"a,"b,""c""" ,d"#.utf8)).map { String(decoding: $0, as: UTF8.self) } == ["a", #"b,"c""#, "d"])
        #expect(CSV.split(Array("é,\u{301}x".utf8)).count == 2, "a comma followed by a combining mark still splits")
        #expect(throws: ApplicationError.self) { try CSV.fields(Array("a,b".utf8), names: ["x"]) }
        do {
            _ = try CSV.fields([0x61, 0x2C, 0xFF], names: ["first", "second"])
            Issue.record("expected a refusal")
        } catch {
            #expect("\(error)" == "field 'second' is not valid UTF-8 (bad byte 0xFF at byte 1 of the field)")
        }
    }


    @Test func theLineReaderDropsABOMAndCRAndSkipsOverLongLines() throws {
        let path = NSTemporaryDirectory() + "line-reader-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        let long = [UInt8](repeating: 0x41, count: InputLimits.lineBytesMax + 5)
        let bytes: [UInt8] = [0xEF, 0xBB, 0xBF] + Array("a\r\n".utf8) + long + [0x0A] + Array("b\r\n\u{FEFF}c\r".utf8)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        var reader = LineReader(fd: fd)
        var lines: [LineReader.Line] = []
        while let line = try reader.nextLine() { lines.append(line) }
        #expect(lines == [.bytes(Array("a".utf8)), .tooLong(byteCount: long.count), .bytes(Array("b".utf8)), .bytes(Array("\u{FEFF}c".utf8))],
                "a BOM counts only at the start of the input")
    }

    /// The ASCII fast path gives exactly the general path's fields, on lines drawn from the bytes
    /// that matter to it (commas, blanks, tabs, quotes, letters; and one byte past ASCII).
    @Test func plainASCIIFieldsEqualTheGeneralSplit() throws {
        var random = SplitMix64(seed: 7)
        let alphabet: [UInt8] = Array("ab,, \t\"1.-".utf8) + [0xC3, 0xA9, 0x7F, 0x01]
        var fast = 0
        for _ in 0..<20_000 {
            let line = (0..<random.next(in: 0...12)).map { _ in alphabet[random.next(in: 0...(alphabet.count - 1))] }
            let general = CSV.split(line).map { String(validating: $0, as: UTF8.self) }
            guard let f = CSV.plainASCIIFields(line) else { continue }
            fast += 1
            #expect(f.map(Optional.some) == general, "\(line)")
        }
        #expect(fast > 1_000, "the generator reaches the fast path")
    }
}
