/// The last check before an event is written: every field within `DomainLimits`, and the stored
/// form decoding back to the same event with the decoder the folds use. `LedgerModel.decideChecked`
/// runs both on every event it decides; the ledger validates as it decides and runs the round trip
/// on its writer thread as it encodes (`Ledger.drafts`). Whatever the deciding code gets wrong is
/// refused (a `DomainError`, nothing written) instead of becoming an event no reader can read.
extension DomainEvent {
    /// Checks every field against `DomainLimits`; the error names the event type and the field.
    public func validate() throws(DomainError) {
        do {
            try validateFields()
        } catch let DomainError.invalid(field, value, reason) {
            throw .invalid(field: "\(type).\(field)", value: value, reason: reason)
        }
    }

    /// Encodes the event as it is stored and decodes it with the stored events' decoder; throws
    /// unless the result equals the event.
    @discardableResult
    public func checkRoundTrip() throws(DomainError) -> [UInt8] {
        let bytes = canonicalJSON
        let decoded: DomainEvent
        do {
            decoded = try DomainEvent.decode(type: type, schemaVersion: DomainEvent.schemaVersion, bytes: bytes)
        } catch {
            throw .invalid(field: type, value: DomainLimits.shown(String(decoding: bytes, as: UTF8.self)),
                           reason: "would be stored in a form the ledger cannot read back (\(error))")
        }
        guard decoded == self else {
            throw .invalid(field: type, value: DomainLimits.shown(String(decoding: bytes, as: UTF8.self)),
                           reason: "would not read back as the event decided")
        }
        return bytes
    }

    private func validateFields() throws(DomainError) {
        switch self {
        case .memberEnrolled(let e):
            try Check.id(e.member, "member"); try Check.id(e.brand, "brand"); try Check.id(e.store, "store")
            try Check.id(e.channel, "channel")
            if let b = e.birthDate { try Command.checkDate(b, "birthDate") }
            if let g = e.gender { try Check.text(g, "gender") }
            try Command.checkProfile(e.profile, "profile")
        case let .profileUpdated(m, changes): try Check.id(m, "member"); try Command.checkProfile(changes, "changes")
        case let .memberClosed(m, reason): try Check.id(m, "member"); try Check.text(reason, "reason")
        case .purchaseRecorded(let e):
            try Check.id(e.member, "member"); try Check.id(e.purchaseId, "purchaseId"); try Check.id(e.store, "store")
            try Command.checkCurrency(e.currency, "currency")
            try Check.money(e.amount, "amount"); try Check.money(e.paidWithPoints, "paidWithPoints")
            try Check.count(e.lines.count, max: DomainLimits.purchaseLinesMax, "lines")
            for (i, line) in e.lines.enumerated() {
                try Check.id(line.category, "lines[\(i)].category"); try Check.money(line.amount, "lines[\(i)].amount")
            }
        case .purchaseReturned(let e):
            try Check.id(e.member, "member"); try Check.id(e.purchaseId, "purchaseId"); try Check.id(e.returnId, "returnId")
            try Check.money(e.amount, "amount")
            try Self.allocations(e.clawedBack, "clawedBack")
            try Check.pointsOrZero(e.debt, "debt"); try Check.pointsOrZero(e.forgiven, "forgiven")
        case .pointsEarned(let e):
            try Check.id(e.member, "member"); try Self.lotId(e.lotId, "lotId"); try Check.points(e.points, "points")
            try Check.range(e.ruleVersion, 1...DomainLimits.ruleVersionMax, "ruleVersion")
            try Check.text(e.rule, "rule")
            try Check.eventTime(e.availableAt, "availableAt")
            if let x = e.expiresAt { try Check.eventTime(x, "expiresAt") }
            try Check.range(e.debtPaid, 0...e.points, "debtPaid")
            if let c = e.capCounted { try Check.pointsOrZero(c, "capCounted") }
            if let b = e.birthdayBonus { try Check.range(b, 0...e.points, "birthdayBonus") }
            switch e.source {
            case .purchase(let id), .adjustment(let id), .transfer(let id), .bonus(let id): try Check.id(id, "source.id")
            }
        case .pointsRedeemed(let e):
            try Check.id(e.member, "member"); try Check.id(e.redemptionId, "redemptionId"); try Check.points(e.points, "points")
            if let r = e.reward { try Check.id(r, "reward") }
            try Self.allocations(e.allocations, "allocations")
        case .redemptionReversed(let e):
            try Check.id(e.member, "member"); try Check.id(e.redemptionId, "redemptionId")
            try Self.allocations(e.restored, "restored"); try Self.allocations(e.expired, "expired")
        case .pointsAdjusted(let e):
            try Check.id(e.member, "member"); try Check.id(e.key, "key"); try Check.id(e.operatorId, "operator")
            try Check.range(e.points, -DomainLimits.pointsMax...DomainLimits.pointsMax, "points")
            try Check.text(e.reason, "reason", allowEmpty: false)
            if let lot = e.lotId { try Self.lotId(lot, "lotId") }
            if let x = e.expiresAt { try Check.eventTime(x, "expiresAt") }
            try Self.allocations(e.allocations, "allocations")
        case let .pointsExpired(m, lotId, points): try Check.id(m, "member"); try Self.lotId(lotId, "lotId"); try Check.points(points, "points")
        case let .pointsHeld(m, holdId, points, expiresAt):
            try Check.id(m, "member"); try Check.id(holdId, "holdId"); try Check.points(points, "points")
            try Check.eventTime(expiresAt, "expiresAt")
        case let .holdReleased(m, holdId): try Check.id(m, "member"); try Check.id(holdId, "holdId")
        case .pointsTransferredOut(let e), .pointsTransferredIn(let e):
            try Check.id(e.from, "from"); try Check.id(e.to, "to"); try Check.id(e.transferId, "transferId")
            try Check.points(e.points, "points")
            try Self.allocations(e.allocations, "allocations")
            guard e.expiries.count == e.allocations.count else {
                throw .invalid(field: "expiries", value: "\(e.expiries.count) entries", reason: "must be one per allocation (\(e.allocations.count))")
            }
            for (i, x) in e.expiries.enumerated() { if let x { try Check.eventTime(x, "expiries[\(i)]") } }
        case .tierChanged(let e):
            try Check.id(e.member, "member")
            if let f = e.from { try Check.id(f, "from") }
            if let t = e.to { try Check.id(t, "to") }
            try Check.text(e.reason, "reason")
            try Check.eventTime(e.windowFrom, "windowFrom"); try Check.eventTime(e.windowTo, "windowTo")
            if let f = e.floorUntil { try Check.eventTime(f, "floorUntil") }
        case .rewardDefined(let e):
            try Check.id(e.rewardId, "rewardId"); try Check.text(e.name, "name", allowEmpty: false); try Check.points(e.cost, "cost")
            if let stock = e.stock { try Check.range(stock, 0...DomainLimits.stockMax, "stock") }
            if let budget = e.budget { try Check.pointsOrZero(budget, "budget") }
        case .programPublished(let rules): try rules.validate()
        case .cardIssued(let e):
            try Check.id(e.member, "member"); try CardNumber.checkStored(e.number, "number")
            if let key = e.key { try Check.id(key, "key") }
            if let old = e.replaces { try CardNumber.checkStored(old, "replaces") }
        case let .cardBlocked(m, number, reason):
            try Check.id(m, "member"); try CardNumber.checkStored(number, "number"); try Check.text(reason, "reason")
        case .tierSet(let e):
            try Check.id(e.member, "member"); try Check.id(e.key, "key"); try Check.id(e.tier, "tier"); try Check.id(e.operatorId, "operator")
            if let f = e.from { try Check.id(f, "from") }
            try Check.text(e.reason, "reason", allowEmpty: false)
            if let u = e.until { try Check.eventTime(u, "until") }
        case .targetSet(let e): try Self.target(e)
        }
    }

    /// A target: a store id, a period (`ReportPeriod`), a known metric, 0 ... `pointsMax`.
    static func target(_ e: TargetSet) throws(DomainError) {
        try Check.id(e.store, "store")
        guard ReportPeriod(e.period) != nil else {
            throw .invalid(field: "period", value: DomainLimits.shown(e.period), reason: "is not a period (YYYY-MM-DD, YYYY-Www or YYYY-MM, years 1900 to 9999)")
        }
        guard TargetSet.metrics.contains(e.metric) else {
            throw .invalid(field: "metric", value: DomainLimits.shown(e.metric), reason: "is not a metric (\(TargetSet.metrics.joined(separator: ", ")))")
        }
        try Check.range(e.value, 0...DomainLimits.pointsMax, "value")
    }

    /// Lot ids are a short prefix and an id ("P:" purchase, "A:" adjustment, "T:key:n" transfer).
    static func lotId(_ id: String, _ field: String) throws(DomainError) {
        guard id.utf8.count <= DomainLimits.lotIdBytesMax else {
            throw .invalid(field: field, value: DomainLimits.shown(id), reason: "is longer than \(DomainLimits.lotIdBytesMax) bytes")
        }
        try Check.id(String(id.prefix(DomainLimits.idBytesMax)), field)
    }

    static func allocations(_ list: [LotAllocation], _ field: String) throws(DomainError) {
        try Check.count(list.count, max: DomainLimits.allocationsMax, field)
        for (i, a) in list.enumerated() {
            try lotId(a.lotId, "\(field)[\(i)].lotId"); try Check.points(a.points, "\(field)[\(i)].points")
        }
    }
}

extension LedgerModel {
    /// `decide`, with the command checked against `DomainLimits` first and every decided event
    /// checked last (`DomainEvent.validate()`, then `checkRoundTrip()`): what the ledger writes.
    public func decideChecked(_ command: Command, clock: DecisionClock? = nil) throws -> Decision {
        let decision = try decideValidated(command, clock: clock)
        if case .append(let events) = decision {
            for event in events { try event.checkRoundTrip() }
        }
        return decision
    }

    /// `decideChecked` without the round trip, for a writer that runs `checkRoundTrip` itself
    /// where it encodes each event to store it (the ledger's writer thread, `Ledger.drafts`):
    /// the encoding is the round trip's first half, and the deciding thread, which every write
    /// waits for, does less.
    public func decideValidated(_ command: Command, clock: DecisionClock? = nil) throws -> Decision {
        try command.validate()
        let decision = try decide(command, clock: clock)
        if case .append(let events) = decision {
            for event in events { try event.validate() }
        }
        return decision
    }
}
