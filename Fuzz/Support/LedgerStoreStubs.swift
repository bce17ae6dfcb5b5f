// The stored-event target compiles the record codec of LedgerStore (EventRecord, ByteCoding,
// LogLimits, EventDraftValidation) without the rest of the module, which needs LMDB and
// swift-crypto. These stand in for the two types those files name and never use in decoding.

/// Stands in for LedgerStore's chain hash (a `RecordedEvent` field the decoder leaves nil).
public struct ChainHash: Hashable, Sendable {}

/// Stands in for LedgerStore's error: the one case `EventDraftValidation` throws.
enum LedgerError: Error {
    case invalidEvent(eventIndex: Int, field: String, reason: String)
}
