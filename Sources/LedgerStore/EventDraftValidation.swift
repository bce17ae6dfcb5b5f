/// The rules a draft must meet before it reaches the writer's transaction.
enum EventDraftValidation {
    static func validate(_ draft: EventDraft, index i: Int) throws(LedgerError) {
        try text(draft.type, field: "type", max: LogLimits.typeBytesMax, index: i)
        try text(draft.member, field: "member", max: LogLimits.memberBytesMax, index: i)
        if let key = draft.idempotencyKey {
            try text(key, field: "idempotencyKey", max: LogLimits.idempotencyKeyBytesMax, index: i)
        }
        guard draft.data.count <= LogLimits.dataBytesMax else {
            throw .invalidEvent(eventIndex: i, field: "data", reason: "\(draft.data.count) bytes, over the limit of \(LogLimits.dataBytesMax)")
        }
    }

    private static func text(_ value: String, field: String, max: Int, index i: Int) throws(LedgerError) {
        let count = value.utf8.count
        guard count > 0 else { throw .invalidEvent(eventIndex: i, field: field, reason: "must not be empty") }
        guard count <= max else {
            throw .invalidEvent(eventIndex: i, field: field, reason: "\(count) bytes, over the limit of \(max)")
        }
        // Control characters are single bytes in UTF-8: a byte scan finds them.
        guard !value.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F }) else {
            throw .invalidEvent(eventIndex: i, field: field, reason: "contains a control character")
        }
    }
}
