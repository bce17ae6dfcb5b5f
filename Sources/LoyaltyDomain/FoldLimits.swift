/// The program-wide bounds the model keeps (see `schemas/domain.md`, "Fold limits").
///
/// The model sums the magnitudes of every point count and every amount of money its events carry
/// and refuses an event that takes either sum past its limit. Every figure any fold computes (a
/// member's balance, a day's or a store's totals, the liability, a reward's spend) is a sum or a
/// difference of a subset of those magnitudes, so it stays within ±limit; at a quarter of
/// Int64.max, even a sum of three such figures cannot overflow.
public enum FoldLimits {
    /// Sum of the magnitudes of all points ever moved (earned, redeemed, restored, expired,
    /// adjusted, clawed back, owed, forgiven, held, transferred out and in).
    public static let movedTotalMaxPoints: Points = Int64.max / 4
    /// Sum of all money ever recorded (purchase amounts, amounts paid with points, line amounts,
    /// returned amounts), in minor units.
    public static let recordedTotalMaxMinorUnits: MinorUnits = Int64.max / 4
    /// The furthest an event's time (its occurredAt, as the fold receives it) may lie from 1970
    /// either way, in microseconds (about 73,000 years): calendar arithmetic on it (a local day, a
    /// window of days before it) cannot overflow. Commands are held to a much narrower range
    /// where they are validated; this bound protects the fold from stored events.
    public static let timeMagnitudeMaxMicroseconds: Int64 = Int64.max / 4
}
