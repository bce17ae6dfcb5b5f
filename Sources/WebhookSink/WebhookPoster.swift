import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// What became of a batch: delivered (a 2xx answer), or refused for good (a 4xx other than 408
/// and 429, a redirect, or `attemptsMax` failures in a row): a dead letter.
public enum DeliveryOutcome: Sendable, Equatable {
    case delivered(attempts: Int)
    case refused(attempts: Int, reason: String)
}

/// Posts signed batches to one URL with the retry policy. Each attempt is signed afresh (a new
/// timestamp), with the same body and delivery id.
struct WebhookPoster: Sendable {
    let url: String
    let secret: WebhookSecret
    let policy: RetryPolicy
    let http: HTTPClient
    let logger: Logger

    /// Tries until the batch is delivered or refused for good; throws only `CancellationError`.
    func deliver(_ batch: WebhookBatch) async throws -> DeliveryOutcome {
        let body = batch.body
        var random = SystemRandomNumberGenerator()
        var attempt = 0
        while true {
            attempt += 1
            let result = try await post(body, id: batch.id, attempt: attempt)
            switch result {
            case .delivered:
                return .delivered(attempts: attempt)
            case .permanent(let reason):
                return .refused(attempts: attempt, reason: reason)
            case .retryable(let reason, let retryAfterSeconds):
                guard attempt < policy.attemptsMax else {
                    return .refused(attempts: attempt, reason: "\(attempt) attempts failed, the last: \(reason)")
                }
                var wait = policy.delayMilliseconds(afterFailure: attempt, using: &random)
                if let retryAfterSeconds {
                    // The receiver's own wish, within the policy's cap.
                    let cap = policy.backoffMaxMilliseconds
                    wait = max(wait, retryAfterSeconds > cap / 1000 ? cap : retryAfterSeconds * 1000)
                }
                logger.info("webhook batch failed, retrying", metadata: [
                    "batch": "\(batch.id)", "attempt": "\(attempt)", "reason": "\(reason)", "waitMilliseconds": "\(wait)"])
                try await Task.sleep(for: .milliseconds(wait))
            }
        }
    }

    enum AttemptResult {
        case delivered
        case retryable(String, retryAfterSeconds: Int?)
        case permanent(String)
    }

    /// One signed POST.
    func post(_ body: [UInt8], id: String, attempt: Int) async throws -> AttemptResult {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "User-Agent", value: "loyalty-webhook/1")
        request.headers.add(name: "Loyalty-Delivery", value: id)
        request.headers.add(name: "Loyalty-Attempt", value: String(attempt))
        let timestamp = Int64(Date().timeIntervalSince1970)
        request.headers.add(name: WebhookSignature.headerName, value: WebhookSignature.header(body: body, timestamp: timestamp, secret: secret))
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await http.execute(request, timeout: .milliseconds(Int64(policy.requestTimeoutMilliseconds)))
            let answer = try await response.body.collect(upTo: 64 << 10)
            return Self.classify(response.status, retryAfter: response.headers.first(name: "Retry-After"), body: answer)
        } catch {
            if Task.isCancelled { throw CancellationError() }
            // Unreachable, reset, timed out, a dropped connection: the receiver may or may not
            // have the batch, so it is sent again (receivers de-duplicate by position).
            return .retryable("\(error)", retryAfterSeconds: nil)
        }
    }

    static func classify(_ status: HTTPResponseStatus, retryAfter: String?, body: ByteBuffer) -> AttemptResult {
        let code = status.code
        if (200..<300).contains(code) { return .delivered }
        let text = String(decoding: body.readableBytesView.prefix(WebhookLimits.reasonBodyBytesMax), as: UTF8.self)
        let reason = "HTTP \(code)" + (text.isEmpty ? "" : ": " + text.replacingOccurrences(of: "\n", with: " "))
        if code >= 500 || code == 408 || code == 429 {
            return .retryable(reason, retryAfterSeconds: retryAfter.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }.map { max(0, $0) })
        }
        if (300..<400).contains(code) { return .permanent(reason + " (redirects are not followed: give the final URL)") }
        return .permanent(reason)
    }
}
