import Foundation

/// The rules a draft must meet before it reaches the writer's transaction. The decoder applies the
/// same text rules to stored records (`EventRecord.decode`), so what verifies is what could be written.
enum EventDraftValidation {
    static func validate(_ draft: EventDraft, index i: Int) throws(LedgerError) {
        guard draft.schemaVersion >= 1 else {
            throw .invalidEvent(eventIndex: i, field: "schemaVersion", reason: "must be at least 1")
        }
        try text(draft.type, field: "type", max: LogLimits.typeBytesMax, index: i)
        try text(draft.member, field: "member", max: LogLimits.memberBytesMax, index: i)
        if let key = draft.idempotencyKey {
            try text(key, field: "idempotencyKey", max: LogLimits.idempotencyKeyBytesMax, index: i)
        }
        if let actor = draft.actor {
            try text(actor, field: "actor", max: LogLimits.actorBytesMax, index: i)
        }
        guard draft.data.count <= LogLimits.dataBytesMax else {
            throw .invalidEvent(eventIndex: i, field: "data", reason: "\(draft.data.count) bytes, over the limit of \(LogLimits.dataBytesMax)")
        }
    }

    private static func text(_ value: String, field: String, max: Int, index i: Int) throws(LedgerError) {
        if let reason = problem(value, max: max) { throw .invalidEvent(eventIndex: i, field: field, reason: reason) }
    }

    /// What is wrong with an id-like text field (type, member, key), or nil. Ids are stored and
    /// hashed as bytes while Swift compares strings by canonical equivalence; requiring Unicode
    /// NFC makes the two agree (two different NFC strings are never equivalent).
    static func problem(_ value: String, max: Int) -> String? {
        let count = value.utf8.count
        guard count > 0 else { return "must not be empty" }
        guard count <= max else { return "\(count) bytes, over the limit of \(max)" }
        // One pass over the bytes: control characters are single bytes in UTF-8; any byte over
        // 0x7F means non-ASCII text, which must then be checked for NFC.
        var control = false, ascii = true
        var text = value
        text.withUTF8 { bytes in
            for b in bytes {
                if b < 0x20 || b == 0x7F { control = true }
                if b >= 0x80 { ascii = false }
            }
        }
        guard !control else { return "contains a control character" }
        if !ascii, !value.precomposedStringWithCanonicalMapping.utf8.elementsEqual(value.utf8) {
            return "is not in Unicode normalization form C (NFC); normalize it before appending"
        }
        return nil
    }
}
