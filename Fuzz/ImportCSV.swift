// Fuzz target: the import file parser of `Ledger.importFile` (Sources/LoyaltyLedger): lines read
// by the real `LineReader` from a file descriptor (over-long lines skipped, as the import reports
// them), the first line's header telling CSV members, CSV purchases or JSON Lines apart (as
// `ImportParser.parseAll` does), each line parsed by `ImportFormat.parse`. tools/fuzz.sh compiles
// the module's own files (ImportFormat.swift, LineReader.swift, InputText.swift,
// ApplicationError.swift). Properties: no trap; a parsed CSV line, written back as CSV, parses to
// the same command; a parsed JSON line passes the command round trip.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
import LoyaltyDomain

enum ImportCSVTarget {
    /// One unlinked temporary file the input is written to, reused by every run.
    static let fd: Int32 = {
        var template = Array("/tmp/fuzz-import-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        if fd >= 0 { _ = template.withUnsafeBufferPointer { unlink($0.baseAddress!) } }
        return fd
    }()

    static func run(_ bytes: [UInt8]) {
        FuzzCheck.require(fd >= 0, "memfd_create failed")
        _ = ftruncate(fd, 0)
        let written = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
        FuzzCheck.require(written == bytes.count, "writing the input failed")
        _ = lseek(fd, 0, SEEK_SET)
        var reader = LineReader(fd: fd)
        var kind = ImportFormat.jsonl
        var lineNumber = 0
        while let read = try? reader.nextLine() {
            lineNumber += 1
            guard case .bytes(let line) = read else { continue }
            if InputText.isBlank(line) { continue }
            if lineNumber == 1, let csv = ImportFormat.csvHeader(line) {
                kind = csv
                continue
            }
            guard let command = try? kind.parse(line, now: FuzzCheck.now) else { continue }
            switch kind {
            case .jsonl: CommandJSONEncoding.checkRoundTrip(command, origin: "import line \(lineNumber)")
            case .members, .purchases: checkCSVRoundTrip(command, kind: kind, line: line)
            }
        }
    }

    static func checkCSVRoundTrip(_ command: Command, kind: ImportFormat, line: [UInt8]) {
        let fields: [String]
        switch command {
        case let .enroll(member, store, _, _, birthDate, gender, _, at):
            fields = [member, at.rfc3339, store, birthDate ?? "", gender ?? ""]
        case .purchase(let p):
            fields = [p.member, p.purchaseId, p.at.rfc3339, p.amount, p.currency ?? "", p.store]
        default:
            FuzzCheck.require(false, "a CSV line parsed as \(command)")
            return
        }
        let csv = fields.map(quoted).joined(separator: ",")
        do {
            let again = try kind.parse(Array(csv.utf8), now: FuzzCheck.now)
            FuzzCheck.require(again == command, "CSV line \(String(decoding: line, as: UTF8.self)) re-read from \(csv) differently:\n  \(command)\n  \(again)")
        } catch {
            FuzzCheck.require(false, "CSV line \(String(decoding: line, as: UTF8.self)) written back as \(csv) is refused: \(error)")
        }
    }

    /// A CSV field as RFC 4180 writes it: quoted (quotes doubled) unless plain ASCII without
    /// commas, quotes or surrounding blanks.
    static func quoted(_ field: String) -> String {
        let plain = field.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ",") && $0 != UInt8(ascii: "\"") }
        if plain && field.first != " " && field.last != " " { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzImportCSV(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    ImportCSVTarget.run(data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? [])
    return 0
}
