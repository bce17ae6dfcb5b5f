public import LoyaltyDomain

/// The jobs a program runs once a day: expiry of the lots past their expiry, then tier
/// evaluation, both as of the day's scheduled instant (a local time of day in the program's time
/// zone). Running them again for the same instant writes nothing (each command only writes what
/// is still due as of it), so a restart may simply run the last instant that was due.
public struct DailyJobs: Sendable, Equatable {
    /// Minutes after local midnight, 0 ..< 1440.
    public let minuteOfDay: Int

    /// `text` as `HH:MM` (24-hour); nil when it is not.
    public init?(time text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isASCII) }),
              let h = Int(parts[0]), let m = Int(parts[1]), (0..<24).contains(h), (0..<60).contains(m) else { return nil }
        minuteOfDay = h * 60 + m
    }

    public init(minuteOfDay: Int) {
        precondition((0..<1440).contains(minuteOfDay), "a minute of the day")
        self.minuteOfDay = minuteOfDay
    }

    public var time: String {
        let h = minuteOfDay / 60, m = minuteOfDay % 60
        return (h < 10 ? "0" : "") + "\(h):" + (m < 10 ? "0" : "") + "\(m)"
    }

    /// The scheduled instant of local day `day` in `zone`.
    func instant(day: Int64, zone: ProgramTimeZone) -> Timestamp {
        Timestamp(microseconds: zone.startOfDay(day).microseconds + Int64(minuteOfDay) * 60 * 1_000_000)
    }

    /// The latest scheduled instant at or before `now`.
    public func lastDue(at now: Timestamp, zone: ProgramTimeZone) -> Timestamp {
        let today = instant(day: zone.day(now), zone: zone)
        return today <= now ? today : instant(day: zone.day(now) - 1, zone: zone)
    }

    /// The first scheduled instant after `now`.
    public func nextDue(after now: Timestamp, zone: ProgramTimeZone) -> Timestamp {
        let today = instant(day: zone.day(now), zone: zone)
        return today > now ? today : instant(day: zone.day(now) + 1, zone: zone)
    }
}

/// What one run of the daily jobs wrote.
public struct DailyJobsRun: Sendable, Equatable {
    public var asOf: Timestamp
    public var expiryEvents: Int
    public var tierEvents: Int
}

extension LedgerApplication {
    /// Runs the daily jobs as of `asOf` (a scheduled instant): expiry, then tier evaluation.
    public func runDailyJobs(asOf: Timestamp) async throws -> DailyJobsRun {
        let expired = try await ledger.execute(.expire(asOf: asOf))
        let tiers = try await ledger.execute(.evaluateTiers(asOf: asOf))
        return DailyJobsRun(asOf: asOf, expiryEvents: expired.events.count, tierEvents: tiers.events.count)
    }

    /// The program's time zone now.
    public func programZone(at now: Timestamp) throws -> ProgramTimeZone {
        try programRules(at: now).timeZone
    }
}
