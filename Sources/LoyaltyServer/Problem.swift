public import Hummingbird
public import LedgerJSON
public import LoyaltyDomain
import LoyaltyLedger
import NIOCore

/// An error answer, written as `application/problem+json` (RFC 9457). `type` is stable per kind
/// of error (clients switch on it; `schemas/openapi.yaml` lists them); `detail` says what was
/// wrong in words, and `field` names the request field at fault. Never a stack trace or a path
/// of the server's machine.
public struct Problem: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    /// The last part of the type URI, `/problems/<slug>`.
    public var slug: String
    public var title: String
    public var detail: String
    public var field: String?
    /// For a refusal, the domain's reason (`insufficient-points`, ...).
    public var reason: String?
    public var extraHeaders: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ slug: String, _ title: String, detail: String, field: String? = nil, reason: String? = nil) {
        (self.status, self.slug, self.title, self.detail, self.field, self.reason) = (status, slug, title, detail, field, reason)
    }

    public var type: String { "/problems/" + slug }

    public var headers: HTTPFields { extraHeaders }

    public var json: JSONValue {
        .object(["type": .string(type), "title": .string(title), "status": .int(Int(status.code)), "detail": .string(detail),
                 "field": field.map { .string($0) }, "reason": reason.map { .string($0) }])
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var headers = extraHeaders
        headers[.contentType] = "application/problem+json"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: JSONCanonical.encode(json))))
    }
}

extension Problem {
    /// Every problem type the server writes, with its status: the OpenAPI document lists the
    /// same (a test compares them).
    public static let catalogue: [(slug: String, status: Int)] = [
        ("malformed-json", 400), ("invalid-field", 400), ("unknown-field", 400), ("invalid-parameter", 400),
        ("unauthorized", 401), ("forbidden", 403), ("not-found", 404), ("method-not-allowed", 405),
        ("not-acceptable", 406), ("idempotency-conflict", 409), ("body-too-large", 413), ("invalid-import", 400),
        ("unsupported-media-type", 415), ("refused", 422), ("unavailable", 503), ("internal", 500),
    ]

    public static func malformedJSON(_ detail: String) -> Problem {
        Problem(.badRequest, "malformed-json", "The body is not valid JSON", detail: detail)
    }
    public static func invalidField(_ field: String, _ detail: String) -> Problem {
        Problem(.badRequest, "invalid-field", "A field is missing or invalid", detail: detail, field: field)
    }
    public static func invalidParameter(_ name: String, _ detail: String) -> Problem {
        Problem(.badRequest, "invalid-parameter", "A query parameter is invalid", detail: detail, field: name)
    }
    public static func notFound(_ detail: String) -> Problem {
        Problem(.notFound, "not-found", "Not found", detail: detail)
    }
    public static func internalError() -> Problem {
        Problem(.internalServerError, "internal", "Internal error", detail: "the server failed to answer; the error is in its log")
    }

    /// The problem for an error a call of the application threw.
    static func from(_ error: any Error) -> Problem? {
        switch error {
        case let p as Problem: return p
        case let e as JSONSyntaxError: return .malformedJSON(e.description)
        case let e as JSONFieldError:
            if e.reason.hasPrefix("unknown field") {
                return Problem(.badRequest, "unknown-field", "The body has a field this request does not take", detail: e.description, field: e.field)
            }
            return .invalidField(e.field, e.description)
        case let e as DomainError: return refusal(e)
        case let e as ApplicationError:
            switch e.kind {
            case .notFound: return .notFound(e.description)
            case .invalidParameter(let name): return .invalidParameter(name, e.description)
            case .refused: return Problem(.unprocessableContent, "refused", "The ledger refused the request", detail: e.description)
            }
        case let e as HTTPError:
            switch e.status {
            case .contentTooLarge: return Problem(.contentTooLarge, "body-too-large", "The body is too large", detail: e.body ?? "the request body is over the limit")
            case .notFound: return .notFound(e.body ?? "no such route")
            case .methodNotAllowed: return Problem(.methodNotAllowed, "method-not-allowed", "Method not allowed", detail: e.body ?? "this route does not take that method")
            default: return nil
            }
        case is NIOTooManyBytesError:
            return Problem(.contentTooLarge, "body-too-large", "The body is too large", detail: "the request body is over the limit")
        default:
            return nil
        }
    }

    /// A domain refusal: 422 with the reason (409 for an idempotency key reused for another command).
    static func refusal(_ e: DomainError) -> Problem {
        switch e {
        case .idempotencyConflict:
            return Problem(.conflict, "idempotency-conflict", "The idempotency key was used for a different request", detail: e.description)
        case .invalid(let field, _, _):
            // Well-formed, but the domain refuses the value (too long, in the future, before
            // the member enrolled): a refusal naming the field.
            return Problem(.unprocessableContent, "refused", "The ledger refused the command", detail: e.description, field: field,
                           reason: e.reasonCode)
        default:
            return Problem(.unprocessableContent, "refused", "The ledger refused the command", detail: e.description, reason: e.reasonCode)
        }
    }
}

extension DomainError {
    /// A stable, machine-readable name of the refusal.
    public var reasonCode: String {
        switch self {
        case .unknownMember: return "unknown-member"
        case .memberExists: return "member-exists"
        case .memberClosed: return "member-closed"
        case .unknownPurchase: return "unknown-purchase"
        case .unknownRedemption: return "unknown-redemption"
        case .redemptionAlreadyReversed: return "redemption-already-reversed"
        case .unknownReward: return "unknown-reward"
        case .rewardOutOfStock: return "reward-out-of-stock"
        case .rewardOverBudget: return "reward-over-budget"
        case .unknownHold: return "unknown-hold"
        case .insufficientPoints: return "insufficient-points"
        case .overReturn: return "over-return"
        case .invalid: return "invalid"
        case .overflow: return "overflow"
        case .idempotencyConflict: return "idempotency-conflict"
        case .sameMember: return "same-member"
        case .cannotApply: return "cannot-apply"
        case .unknownCard: return "unknown-card"
        case .cardInUse: return "card-in-use"
        case .cardBlocked: return "card-blocked"
        }
    }
}

/// Turns every error a route throws into a problem document; an unexpected one is logged and
/// answered 500 without its text (it may carry paths or internals).
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            if let problem = Problem.from(error) { throw problem }
            context.logger.error("request failed", metadata: ["error": "\(String(reflecting: type(of: error)))", "route": "\(context.endpointPath ?? "-")"])
            throw Problem.internalError()
        }
    }
}
