public import LedgerJSON
public import LedgerStore
public import Projections

// The JSON of the application's reports, one definition for the CLI's `--format json` and the
// server's answers.

extension FiguresReport {
    /// `{groupBy, rows: [{key, figures}], total, outstanding, rewards}`; every figure an integer
    /// (Int128 written exactly).
    public var json: JSONValue {
        func wide(_ v: Int128) -> JSONValue { .integer(String(v)) }
        func obj(_ f: FiguresRow) -> JSONValue { .object(zip(FiguresRow.columns, f.values).map { (key: $0, value: wide($1)) }) }
        return .object([
            "groupBy": .string(grouping.rawValue),
            "rows": .array(rows.map { .object([("key", .string($0.key)), ("figures", obj($0.figures))]) }),
            "total": obj(total),
            "outstanding": .object(["available": wide(available), "pending": wide(pending), "held": wide(held),
                                    "debt": wide(debt), "members": .int(members), "liabilityPoints": wide(liabilityPoints)]),
            "rewards": .array(rewards.map { id, r in
                .object(["reward": .string(id), "name": .string(r.name), "cost": .int(r.cost), "stock": r.stock.map { .int($0) },
                         "issued": .int(r.issued), "stockLeft": r.stockLeft.map(wide), "budget": r.budget.map { .int($0) },
                         "pointsSpent": .int(r.pointsSpent), "budgetLeft": r.budgetLeft.map(wide)])
            }),
        ])
    }
}

extension ProjectionStatus {
    /// One projection's version, checkpoint, lag and state.
    public var json: JSONValue {
        .object(["name": .string(name), "codeVersion": .int(codeVersion), "storedVersion": storedVersion.map { .int($0) },
                 "generation": generation.map { .int(Int64(clamping: $0)) }, "checkpoint": .int(Int64(clamping: checkpoint)),
                 "head": .int(Int64(clamping: head)), "lagEvents": .int(Int64(clamping: lagEvents)),
                 "lagMilliseconds": .int(lagMicroseconds / 1000), "buildCheckpoint": buildCheckpoint.map { .int(Int64(clamping: $0)) },
                 "state": .string(state),
                 "stoppedBefore": stop.map { .object(["position": .int(Int64(clamping: $0.position)), "member": .string($0.member), "reason": .string($0.reason)]) } ?? .null])
    }
}

extension LedgerStats {
    /// The same fields as its `Codable` form (`loyalty stats --format json`).
    public var json: JSONValue {
        .object(["format": .string(format), "headPosition": .int(Int64(clamping: headPosition)), "headHash": .string(headHash),
                 "eventCount": .int(Int64(clamping: eventCount)), "memberCount": .int(memberCount),
                 "indexedThrough": .int(Int64(clamping: indexedThrough)), "logFileBytes": .int(logFileBytes),
                 "indexFileBytes": .int(indexFileBytes), "fileBytes": .int(fileBytes), "mapSizeBytes": .int(mapSizeBytes),
                 "mapUsedBytes": .int(mapUsedBytes), "bytesPerEvent": bytesPerEvent.map { .int($0) }])
    }
}
