import Foundation

/// Where the sink reads the log: a ledger directory on this machine (read-only, beside its
/// writer), or a `loyalty serve` over HTTP (its tail, with an API key of a consumer).
public enum WebhookSource: Sendable, Equatable {
    case ledger(path: String)
    case remote(url: String, apiKey: String?)
}

/// What one webhook sink does: which events it sends where, signed with which secret, how it
/// retries, and where it keeps its position and dead letters.
public struct WebhookSinkConfiguration: Sendable {
    /// The receiver: an http:// or https:// URL.
    public var url: String
    public var secret: WebhookSecret
    public var source: WebhookSource
    /// The checkpoint, the dead letters and the lock: one directory per receiver.
    public var stateDirectory: String
    /// Only events whose type starts with this (`points.`); nil sends every event.
    public var typePrefix: String?
    /// Keep following new commits; otherwise stop at the head.
    public var follow = false
    public var batchEventsMax = WebhookLimits.batchEventsDefault
    public var retry = RetryPolicy()
    public var deadLettersMax = WebhookLimits.deadLettersDefault
    public var pollMilliseconds = WebhookLimits.pollMillisecondsDefault

    public init(url: String, secret: WebhookSecret, source: WebhookSource, stateDirectory: String, typePrefix: String? = nil) {
        (self.url, self.secret, self.source, self.stateDirectory, self.typePrefix) = (url, secret, source, stateDirectory, typePrefix)
    }

    /// Refuses a URL the sink cannot post to, naming it: it must be http:// or https:// with a host.
    public static func checkURL(_ text: String, what: String) throws(WebhookError) {
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = url.host, !host.isEmpty
        else { throw WebhookError(.url, "\(what): '\(text)' is not an http:// or https:// URL with a host") }
    }
}

/// What a run of the sink did.
public struct WebhookRunSummary: Sendable, Equatable {
    /// Events the receiver acknowledged (2xx), and in how many requests.
    public var eventsDelivered = 0
    public var batchesDelivered = 0
    /// Events set aside as dead letters: refused, and held behind a refused member's.
    public var eventsFailed = 0
    public var eventsHeld = 0
    /// The position stored as delivered when the run ended.
    public var position: UInt64 = 0

    public init() {}
}

/// What a replay of the dead letters did.
public struct WebhookReplaySummary: Sendable, Equatable {
    public var lettersDelivered = 0
    public var eventsDelivered = 0
    /// Letters still kept: refused again, or behind one of the same member that was.
    public var lettersRemaining = 0

    public init() {}
}
