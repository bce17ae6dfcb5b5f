import AsyncHTTPClient
import Foundation
import LedgerStore
import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// A loopback HTTP proxy in front of a `loyalty serve` that alters one byte of the record at
/// `tamperAt` in every records page passing through (the chain hashes stay the primary's): what
/// a replica must refuse. One request per connection (`Connection: close`).
final class TamperingProxy: @unchecked Sendable {
    // @unchecked: `listener` is set once in init and closed once in deinit; the accepting
    // thread only reads it.
    let url: String
    private let listener: Int32

    init(upstream: String, tamperAt: UInt64) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listener >= 0 else { throw ProxyError(description: "socket: \(errno)") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0, listen(listener, 16) == 0 else { throw ProxyError(description: "bind/listen: \(errno)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        url = "http://127.0.0.1:\(UInt16(bigEndian: address.sin_port))"
        self.listener = listener
        Thread.detachNewThread {
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                Self.serve(connection, upstream: upstream, tamperAt: tamperAt)
                close(connection)
            }
        }
    }

    deinit {
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    private static func serve(_ connection: Int32, upstream: String, tamperAt: UInt64) {
        var request: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while !request.ends(with: Array("\r\n\r\n".utf8)) {
            let n = read(connection, &buffer, buffer.count)
            guard n > 0 else { return }
            request += buffer[0..<n]
        }
        let lines = String(decoding: request, as: UTF8.self).components(separatedBy: "\r\n")
        let target = lines[0].split(separator: " ").dropFirst().first.map(String.init) ?? "/"
        let authorization = lines.first { $0.lowercased().hasPrefix("authorization:") }.map { String($0.dropFirst("authorization:".count)).trimmingCharacters(in: .whitespaces) }
        let answer = Self.forward(upstream + target, authorization: authorization)
        var body = answer.body
        if answer.status == 200, var page = try? RecordPage.decode(body) {
            for i in page.records.indices where page.records[i].position == tamperAt {
                page.records[i].record[page.records[i].record.count - 1] ^= 0x01
            }
            body = page.encoded()
        }
        let head = "HTTP/1.1 \(answer.status) Proxied\r\nContent-Type: \(answer.contentType)\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        let bytes = Array(head.utf8) + body
        var sent = 0
        while sent < bytes.count {
            let n = bytes[sent...].withUnsafeBytes { write(connection, $0.baseAddress, $0.count) }
            guard n > 0 else { return }
            sent += n
        }
    }

    /// The upstream's answer, fetched on the shared client while this (non-cooperative) thread waits.
    private static func forward(_ url: String, authorization: String?) -> (status: UInt, contentType: String, body: [UInt8]) {
        let done = DispatchSemaphore(value: 0)
        let result = ResultSlot()
        Task {
            var request = HTTPClientRequest(url: url)
            if let authorization { request.headers.add(name: "Authorization", value: authorization) }
            do {
                let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
                let body = Array(try await response.body.collect(upTo: 256 << 20).readableBytesView)
                result.value = (response.status.code, response.headers.first(name: "Content-Type") ?? "", body)
            } catch {
                result.value = (502, "text/plain", Array("\(error)".utf8))
            }
            done.signal()
        }
        done.wait()
        return result.value
    }

    final class ResultSlot: @unchecked Sendable {
        // @unchecked: written by the task before it signals, read after the wait.
        var value: (status: UInt, contentType: String, body: [UInt8]) = (502, "", [])
    }

    struct ProxyError: Error, CustomStringConvertible { var description: String }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
