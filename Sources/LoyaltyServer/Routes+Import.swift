import Glibc
import Hummingbird
import LedgerJSON
import LoyaltyDomain
import LoyaltyLedger
import NIOCore

extension LedgerServer {
    /// `POST /v1/imports`: a members or purchases CSV (`text/csv`) or JSON Lines of commands
    /// (`application/x-ndjson`), as `loyalty import` reads a file, through the same pipeline
    /// (`Ledger.importLines`): the body is written into a pipe the import reads while it
    /// arrives. The answer is `200` JSON Lines, streamed while the import runs: one line per
    /// refused input line (`{"kind":"refused","line":N,"reason":...}`), a `progress` line per
    /// batch read, and a last `done` line with the counts (or an `error` line when the body was
    /// cut off over the size limit: the complete lines before it were imported). A line not
    /// listed as refused was written, or was already in the ledger.
    ///
    /// Each line is idempotent by its command's own key, so sending the same body again writes
    /// nothing new; the `Idempotency-Key` header is not taken here (400).
    func addImportRoutes(to router: Router<ServerContext>) {
        router.post("/v1/imports") { request, context in try await self.importBody(request, context) }
    }

    static let importContentTypes: [String: ImportFormat?] = ["text/csv": nil, "application/x-ndjson": .jsonl, "application/jsonl": .jsonl]

    func importBody(_ request: Request, _ context: ServerContext) async throws -> Response {
        let query = try QueryParameters(request, allowed: ["enrollUnknown", "retryRefused"])
        var options = ImportOptions()
        options.enrollUnknown = try query.choice("enrollUnknown", Flag.self) == .true
        options.retryRefused = try query.choice("retryRefused", Flag.self) == .true
        if let field = Self.idempotencyKeyField, request.headers[field] != nil {
            throw Problem.invalidParameter("Idempotency-Key", "an import is idempotent line by line (each command's own key): send it again without the header")
        }
        let type = request.headers[.contentType]?.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard let expected = Self.importContentTypes[type] else {
            throw Problem(.unsupportedMediaType, "unsupported-media-type", "The body must be CSV or JSON Lines",
                          detail: "Content-Type '\(request.headers[.contentType] ?? "")' is neither text/csv nor application/x-ndjson")
        }
        let limit = configuration.importBodyBytesMax
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limit {
            throw Problem.bodyTooLarge(limit)
        }
        let caller = context.caller
        try Access.check(caller, .bulkImport)
        options.actor = caller?.name
        options.admit = { [ledger] command in
            do {
                try Access.check(caller, .command(command), storeOfPurchase: { try ledger.purchase($0)?.store })
            } catch let problem as Problem {
                throw ApplicationError(problem.detail)
            }
        }
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw Problem.internalError() }
        let (readEnd, writeEnd) = (fds[0], fds[1])
        _ = fcntl(writeEnd, F_SETFL, fcntl(writeEnd, F_GETFL) | O_NONBLOCK)
        let (firstLines, firstLine) = AsyncThrowingStream<[UInt8], any Error>.makeStream()
        let pump = Task { try await Self.pump(request.body, into: writeEnd, limit: limit, firstLine: firstLine) }
        let head: [UInt8]
        do {
            var lines = firstLines.makeAsyncIterator()
            head = try await lines.next() ?? []
            var line = head.starts(with: InputText.byteOrderMark) ? Array(head.dropFirst(3)) : head
            if line.last == 0x0D { line.removeLast() }
            guard let format = ImportFormat.of(firstLine: line) else { throw Problem.invalidImport(ImportFormat.firstLineReason) }
            if let expected, format != expected { throw Problem.invalidImport("the body is \(format) but its Content-Type is \(type)") }
            if expected == nil, format == .jsonl { throw Problem.invalidImport("the body is JSON Lines but its Content-Type is text/csv") }
        } catch {
            pump.cancel()
            _ = await pump.result
            Glibc.close(readEnd)  // (the pump closed the write end)
            throw error
        }
        let (ledger, now, importOptions) = (self.ledger, self.now, options)
        return Response(status: .ok, headers: [.contentType: "application/x-ndjson"], body: ResponseBody { writer in
            let (lines, out) = AsyncStream<[UInt8]>.makeStream()
            let importing = Task {
                defer { out.finish() }
                func emit(_ value: JSONValue) { out.yield(JSONCanonical.encode(value) + [0x0A]) }
                let done: ImportProgress
                do {
                    done = try await ledger.importLines(fd: readEnd, options: importOptions, now: now, refused: { r in
                        emit(.object([("kind", .string("refused")), ("line", .int(r.line)), ("reason", .string(r.reason))]))
                    }, progress: { p in emit(Self.importCounts("progress", p)) })
                } catch {
                    pump.cancel()
                    _ = await pump.result
                    Glibc.close(readEnd)
                    emit(.object([("kind", .string("error")), ("problem", (Problem.from(error) ?? .internalError()).json)]))
                    return
                }
                let pumped = await pump.result
                Glibc.close(readEnd)
                if case .failure(let error) = pumped {
                    emit(.object([("kind", .string("error")), ("problem", (Problem.from(error) ?? .internalError()).json)]))
                }
                emit(Self.importCounts("done", done))
            }
            var writing = true
            for await line in lines where writing {
                do { try await writer.write(ByteBuffer(bytes: line)) } catch { writing = false }
            }
            // (The import runs to its end even when the client went away: the pipe closes.)
            _ = await importing.result
            if writing { try await writer.finish(nil) }
        })
    }

    enum Flag: String, CaseIterable { case `true`, `false` }

    static func importCounts(_ kind: String, _ p: ImportProgress) -> JSONValue {
        .object([("kind", .string(kind)), ("linesRead", .int(p.linesRead)), ("written", .int(p.written)), ("replayed", .int(p.replayed)),
                 ("refused", .int(p.refused))])
    }

    /// Writes `body` into the pipe's `fd` (non-blocking: waits while the import is behind),
    /// only whole lines until the body ends; hands the first line to `firstLine` first. Over
    /// `limit` bytes it stops, without the incomplete line, and throws 413. Closes `fd`.
    static func pump(_ body: RequestBody, into fd: Int32, limit: Int, firstLine: AsyncThrowingStream<[UInt8], any Error>.Continuation) async throws {
        defer { Glibc.close(fd) }
        var total = 0
        var pending: [UInt8] = []
        var sentFirst = false
        do {
            for try await chunk in body {
                total += chunk.readableBytes
                guard total <= limit else { throw Problem.bodyTooLarge(limit) }
                pending += chunk.readableBytesView
                if !sentFirst {
                    guard let newline = pending.firstIndex(of: 0x0A) else {
                        if pending.count <= InputLimits.lineBytesMax { continue }
                        firstLine.yield(Array(pending.prefix(InputLimits.lineBytesMax)))
                        firstLine.finish()
                        sentFirst = true
                        continue
                    }
                    firstLine.yield(Array(pending[..<newline]))
                    firstLine.finish()
                    sentFirst = true
                }
                if let last = pending.lastIndex(of: 0x0A) {
                    try await write(Array(pending[...last]), to: fd)
                    pending.removeFirst(last + 1)
                }
            }
            if !sentFirst {
                firstLine.yield(pending)
                firstLine.finish()
            }
            try await write(pending, to: fd)
        } catch {
            firstLine.finish(throwing: error)
            throw error
        }
    }

    private static func write(_ bytes: [UInt8], to fd: Int32) async throws {
        var offset = 0
        while offset < bytes.count {
            try Task.checkCancellation()
            let n = bytes[offset...].withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n > 0 {
                offset += n
            } else if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                try await Task.sleep(for: .milliseconds(1))
            } else if n < 0 && errno == EINTR {
                continue
            } else {
                throw Problem.internalError()
            }
        }
    }
}

extension Problem {
    static func bodyTooLarge(_ limit: Int) -> Problem {
        Problem(.contentTooLarge, "body-too-large", "The body is too large", detail: "the request body is over \(limit) bytes")
    }

    static func invalidImport(_ detail: String) -> Problem {
        Problem(.badRequest, "invalid-import", "The import's first line is not what its Content-Type says", detail: detail, field: "line 1")
    }
}
