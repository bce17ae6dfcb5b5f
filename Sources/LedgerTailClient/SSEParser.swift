/// One Server-Sent Events message: its `id:` (nil when it had none), `event:` (`message` when
/// it had none) and its `data:` lines joined by line breaks.
public struct SSEMessage: Sendable, Equatable {
    public var id: String?
    public var event: String
    public var data: String

    public init(id: String?, event: String, data: String) {
        (self.id, self.event, self.data) = (id, event, data)
    }
}

/// Reads a `text/event-stream` incrementally, as the HTML standard's event-stream interpretation
/// says: lines end with CRLF, LF or CR (even split across chunks); `:` starts a comment; a blank
/// line ends a message, which is dispatched when it has data.
public struct SSEParser: Sendable {
    private var line: [UInt8] = []
    private var afterCR = false
    private var data: [UInt8] = []
    private var hasData = false
    private var event: String?
    private var id: String?

    public init() {}

    /// The messages completed by `bytes`, in order.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [SSEMessage] {
        if let messages = bytes.withContiguousStorageIfAvailable({ feed(contiguous: $0) }) { return messages }
        return Array(bytes).withUnsafeBufferPointer { feed(contiguous: $0) }
    }

    /// Scans for line breaks and copies each line's bytes at once (a stream carries megabytes).
    private mutating func feed(contiguous bytes: UnsafeBufferPointer<UInt8>) -> [SSEMessage] {
        var out: [SSEMessage] = []
        var i = 0
        while i < bytes.count {
            if afterCR {
                afterCR = false
                if bytes[i] == 0x0A {
                    i += 1
                    continue
                }
            }
            var end = i
            while end < bytes.count, bytes[end] != 0x0A, bytes[end] != 0x0D { end += 1 }
            line.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[i..<end]))
            guard end < bytes.count else { break }
            afterCR = bytes[end] == 0x0D
            if let message = endLine() { out.append(message) }
            i = end + 1
        }
        return out
    }

    private mutating func endLine() -> SSEMessage? {
        defer { line.removeAll(keepingCapacity: true) }
        if line.isEmpty {
            defer { (data, hasData, event, id) = ([], false, nil, nil) }
            guard hasData else { return nil }
            return SSEMessage(id: id, event: event ?? "message", data: String(decoding: data, as: UTF8.self))
        }
        if line.first == UInt8(ascii: ":") { return nil }
        var name = line[...]
        var value = line[line.endIndex...]
        if let colon = line.firstIndex(of: UInt8(ascii: ":")) {
            name = line[..<colon]
            value = line[(colon + 1)...]
            if value.first == UInt8(ascii: " ") { value = value.dropFirst() }
        }
        switch String(decoding: name, as: UTF8.self) {
        case "data":
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        case "event": event = String(decoding: value, as: UTF8.self)
        case "id": if !value.contains(0) { id = String(decoding: value, as: UTF8.self) }
        default: break  // `retry` and unknown fields
        }
        return nil
    }
}
