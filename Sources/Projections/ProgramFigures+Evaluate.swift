public import LoyaltyDomain

/// What program figures depend on the time asked (`loyalty figures --at`), from the balances
/// projection's lots as they stand at its checkpoint, by the rules `reconcile` uses
/// (`SimpleFold.figures(at:)`):
/// - pending: the remaining points of lots not yet available at T (and not past their expiry),
///   booked to the local day the lot was earned, at the member's home store;
/// - lapsed: the remaining points of lots past their expiry at T whose expiry event is not
///   written yet, booked to the local day of the lot's expiry at the member's home store. The
///   day's `expired` is its written expiries (booked to the day of the expiry event, as the
///   fold does) plus these, so that over all days it equals what `reconcile` reports as expired;
/// - outstanding: available, pending, held and debt of every member at T.
/// Sums are Int128: no total over members overflows it.
public struct FiguresAtTime: Sendable {
    public struct Cell: Sendable, Equatable {
        public var pending: Int128 = 0
        public var lapsed: Int128 = 0
    }

    /// By `day/YYYY-MM-DD/STORE` key (the figures' own day keys).
    public var cells: [String: Cell] = [:]
    public var available: Int128 = 0, pending: Int128 = 0, held: Int128 = 0, debt: Int128 = 0
    public var members = 0

    public static func evaluate(_ p: LedgerProjections, at t: Timestamp) throws -> FiguresAtTime {
        var zones: [ProgramFigures.Zone] = []
        if case .zones(let z)? = try p.store.value(ProgramFigures.self, key: "zones") { zones = z }
        var homes: [String: String] = [:]
        try p.store.forEach(ProgramFigures.self, prefix: "home/") { key, value in
            if case .text(let s) = value { homes[String(key.dropFirst("home/".count))] = ProjectionKey.component(s) }
        }
        func day(_ at: Timestamp) -> String {
            "day/" + ProgramFigures.dayText(ProgramFigures.localDay(at, offsetSeconds: ProgramFigures.offset(at: at, zones))) + "/"
        }
        var out = FiguresAtTime()
        try p.store.forEach(Balances.self) { member, record in
            let home = homes[member] ?? ""
            for lot in record.lots where lot.remaining > 0 {
                if lot.isExpired(at: t) {
                    if !lot.expiryWritten, let x = lot.expiresAt { out.cells[day(x) + home, default: Cell()].lapsed += Int128(lot.remaining) }
                } else if lot.availableAt > t {
                    out.cells[day(lot.earnedAt) + home, default: Cell()].pending += Int128(lot.remaining)
                }
            }
            let b = record.balance(member, at: t)
            out.available += Int128(b.available)
            out.pending += Int128(b.pending)
            out.held += Int128(b.held)
            out.debt += Int128(b.debt)
            out.members += 1
        }
        return out
    }
}
