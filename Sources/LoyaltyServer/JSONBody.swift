import Hummingbird
import LedgerJSON
import NIOCore

/// Reading JSON bodies and writing JSON answers, with the ledger's own exact JSON (integers kept
/// as written, canonical output).
enum JSONBody {
    /// The body as one JSON object, at most `limit` bytes (413 above, 400 naming the column of
    /// a syntax error, 415 for another content type).
    static func object(_ request: Request, limit: Int) async throws -> JSONValue {
        try object(try await bytes(request, limit: limit), contentType: request.headers[.contentType])
    }

    /// `bytes` as one JSON object (`contentType`: the request's, nil when it sent none).
    static func object(_ bytes: [UInt8], contentType: String?) throws -> JSONValue {
        if let type = contentType, !type.lowercased().hasPrefix("application/json") {
            throw Problem(.unsupportedMediaType, "unsupported-media-type", "The body must be JSON",
                          detail: "Content-Type '\(type)' is not application/json")
        }
        let value: JSONValue
        do {
            value = try JSONCanonical.parse(utf8: bytes)
        } catch {
            throw Problem.malformedJSON(error.description)
        }
        guard case .object = value else { throw Problem.malformedJSON("the body must be a JSON object") }
        return value
    }

    /// The body's bytes, at most `limit`.
    static func bytes(_ request: Request, limit: Int) async throws -> [UInt8] {
        var request = request
        do {
            let buffer = try await request.collectBody(upTo: limit)
            return Array(buffer.readableBytesView)
        } catch is NIOTooManyBytesError {
            throw Problem(.contentTooLarge, "body-too-large", "The body is too large", detail: "the request body is over \(limit) bytes")
        }
    }

    /// A JSON answer.
    static func response(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var bytes = JSONCanonical.encode(value)
        bytes.append(0x0A)
        var headers = headers
        headers[.contentType] = "application/json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
