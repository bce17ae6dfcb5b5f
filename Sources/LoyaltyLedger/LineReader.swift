import Foundation

/// Reads lines of bytes from a file descriptor in 1 MiB chunks (Foundation's `FileHandle.bytes`
/// is not on Linux). Lines end at `\n`; a `\r` before it (CRLF, as Excel and Windows write) is
/// dropped, and so is a UTF-8 byte order mark at the start of the input. The bytes are handed
/// over as they are: turning them into text, and refusing invalid UTF-8, is `InputText`'s job.
///
/// A line longer than `InputLimits.lineBytesMax` is not kept in memory: it is read through to
/// its end and reported as `.tooLong`, and the next line is read as usual.
public struct LineReader {
    public enum Line: Equatable, Sendable {
        case bytes([UInt8])
        /// A line of `byteCount` bytes (more than `InputLimits.lineBytesMax`), skipped.
        case tooLong(byteCount: Int)
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var atEnd = false
    private var atStart = true
    /// Bytes of an over-long line already dropped (0: not inside one).
    private var skipped = 0

    /// Bytes read from the file so far.
    public private(set) var bytesRead = 0
    /// Bytes of the file up to the end of the last line returned (for progress against its size).
    public private(set) var bytesConsumed = 0

    public init(fd: Int32) { self.fd = fd }

    /// The next line without its line end, or nil at the end of the input.
    public mutating func nextLine() throws -> Line? {
        while true {
            if atStart, buffer.count - start >= 3 || atEnd || buffer[start...].contains(0x0A) {
                if buffer[start...].starts(with: InputText.byteOrderMark) { start += 3; bytesConsumed += 3 }
                atStart = false
            }
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                defer { start = newline + 1 }
                bytesConsumed += newline + 1 - start + skipped
                return take(start..<newline)
            }
            if atEnd {
                guard start < buffer.count || skipped > 0 else { return nil }
                defer { start = buffer.count }
                bytesConsumed += buffer.count - start + skipped
                return take(start..<buffer.count)
            }
            if buffer.count - start > InputLimits.lineBytesMax {
                skipped += buffer.count - start
                start = buffer.count
            }
            try fill()
        }
    }

    private mutating func take(_ range: Range<Int>) -> Line {
        var end = range.upperBound
        if end > range.lowerBound, buffer[end - 1] == 0x0D { end -= 1 }
        if skipped > 0 {
            let total = skipped + range.count
            skipped = 0
            return .tooLong(byteCount: total)
        }
        guard end - range.lowerBound <= InputLimits.lineBytesMax else { return .tooLong(byteCount: range.count) }
        return .bytes(Array(buffer[range.lowerBound..<end]))
    }

    private mutating func fill() throws {
        buffer.removeFirst(start)
        start = 0
        var chunk = [UInt8](repeating: 0, count: InputLimits.readChunkBytes)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw ApplicationError("read failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { atEnd = true } else { buffer.append(contentsOf: chunk[0..<n]); bytesRead += n }
            return
        }
    }
}
