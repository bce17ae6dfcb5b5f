import Foundation
import LedgerStore
public import LedgerTailClient
public import LoyaltyLedger

/// Where the sink reads the log: a local ledger, or a remote one through `loyalty serve`.
public protocol SinkSource: Sendable {
    /// Delivers the events after `position` in order, in runs, each with the position reached
    /// and, when known, the log's head; until cancelled, or until caught up when `stopAtHead`.
    /// An error `deliver` throws ends the read and is rethrown.
    func follow(after position: UInt64, stopAtHead: Bool,
                deliver: ([SinkEvent], UInt64, UInt64?) async throws -> Void) async throws
    /// What the log says of itself in messages (a path or a URL).
    var name: String { get }
}

/// A local ledger, read in pages of short read transactions (`LedgerApplication.events`),
/// polled when caught up (the writer may be another process, whose commits signal nothing here).
public struct LocalSource: SinkSource {
    public let app: LedgerApplication
    public let name: String
    /// Events per page (one transaction in PostgreSQL).
    public var pageEventsMax = SinkLimits.batchEventsMax

    public init(app: LedgerApplication, name: String) { (self.app, self.name) = (app, name) }

    public func follow(after position: UInt64, stopAtHead: Bool,
                       deliver: ([SinkEvent], UInt64, UInt64?) async throws -> Void) async throws {
        var position = position
        var previousHash: ChainHash? = nil
        while true {
            try Task.checkCancellation()
            let page = try app.events(after: position, limit: pageEventsMax, previousHash: previousHash)
            if !page.events.isEmpty {
                try await deliver(page.events.map(SinkEvent.init), page.next, page.head)
                position = page.next
                previousHash = page.nextHash
                continue
            }
            if stopAtHead, position >= page.head { return }
            try await Task.sleep(for: SinkLimits.pollInterval)
        }
    }
}

/// A remote ledger through `loyalty serve`'s event stream (or, with `stopAtHead`, its long
/// poll), with an API key; the client reconnects with backoff on its own.
public struct RemoteSource: SinkSource {
    public let client: LedgerTailClient
    public var name: String { client.baseURL }

    public init(client: LedgerTailClient) { self.client = client }

    public func follow(after position: UInt64, stopAtHead: Bool,
                       deliver: ([SinkEvent], UInt64, UInt64?) async throws -> Void) async throws {
        let handle: ([TailEvent], UInt64) async throws -> Void = { events, reached in
            try await deliver(try events.map { try SinkEvent(line: $0) }, reached, nil)
        }
        do {
            if stopAtHead {
                try await client.read(after: position, deliver: handle)
            } else {
                try await client.follow(after: position, deliver: handle)
            }
        } catch let error as TailClientError {
            throw SinkError("\(name): \(error.description)")
        }
    }
}
