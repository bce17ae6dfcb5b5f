import Foundation
import LedgerStore
import LedgerTailClient

/// A sink's directory: `lock` (one process at a time: a sink or a replay), `position` (the last
/// log position delivered or set aside, written atomically after each batch) and
/// `dead-letters/`. Used by one task; the parked members are those with a dead letter, whose
/// later events must not overtake it.
final class WebhookState {
    let directory: String
    private let lock: ProcessLock
    let checkpoint: TailCheckpoint
    let store: DeadLetterStore
    private(set) var position: UInt64
    private(set) var letters: Int
    private(set) var parked: Set<String>
    /// Positions in a dead letter: a batch read again after a crash does not set them aside twice.
    private(set) var lettered: Set<UInt64>
    private var nextSequence: UInt64

    init(directory: String) throws(WebhookError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        } catch {
            throw WebhookError(.state, "cannot create the state directory \(directory): \(error.localizedDescription)")
        }
        do {
            lock = try ProcessLock(path: directory + "/lock", waitMilliseconds: 0, what: "using the webhook sink state \(directory)")
        } catch {
            throw WebhookError(.state, "\(error) (one sink or replay at a time per state directory)")
        }
        checkpoint = TailCheckpoint(path: directory + "/position")
        do {
            position = try checkpoint.load() ?? 0
        } catch {
            throw WebhookError(.state, "\(error)")
        }
        store = try DeadLetterStore(directory: directory + "/dead-letters")
        let all = try store.list()
        letters = all.count
        parked = Set(all.flatMap { $0.events.map(\.member) })
        lettered = Set(all.flatMap { $0.events.map(\.position) })
        nextSequence = (all.last?.sequence ?? 0) + 1
    }

    /// Stores `position` as reached, when it moves forward.
    func advance(to newPosition: UInt64) throws(WebhookError) {
        guard newPosition > position else { return }
        do {
            try checkpoint.store(newPosition)
        } catch {
            throw WebhookError(.state, "\(error)")
        }
        position = newPosition
    }

    /// Sets `events` aside as a new dead letter and parks their members; refuses past `limit`
    /// letters (nothing is stored, the position does not move: the sink stops here).
    func setAside(_ events: [WebhookEvent], kind: DeadLetter.Kind, attempts: Int, reason: String, limit: Int) throws(WebhookError) {
        guard letters < limit else {
            throw WebhookError(.deadLetters, "\(letters) dead letters in \(store.directory), the limit: stopped at position \(position). "
                + "See them with `loyalty sink webhook --dead-letters`, fix the receiver, then `--replay-dead-letters` (or raise --dead-letters-max)")
        }
        let letter = DeadLetter(sequence: nextSequence, kind: kind, attempts: attempts, reason: reason, events: events)
        try store.store(letter)
        nextSequence += 1
        letters += 1
        parked.formUnion(letter.members)
        lettered.formUnion(events.map(\.position))
    }
}
