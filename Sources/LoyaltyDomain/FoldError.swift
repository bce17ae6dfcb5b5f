/// Why an event cannot be applied to the model: the event contradicts the state it meets (an
/// allocation from a lot the member does not have, a lot taken below zero, a lot id used twice, a
/// reversal of an unknown redemption) or a sum would leave its range (`FoldLimits`).
///
/// A decision whose events throw this is refused with nothing written; a stored event that throws
/// it stops the fold of the log, and the ledger names its position.
public struct FoldError: Error, Hashable, Sendable, CustomStringConvertible {
    /// What kind of contradiction. A struct over a private enum, so adding a kind breaks no client.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Value: String, Hashable, Sendable {
            case unknownLot = "unknown lot"
            case lotBelowZero = "lot below zero"
            case duplicateLot = "duplicate lot"
            case negativeValue = "negative value"
            case inconsistent = "inconsistent event"
            case unknownRedemption = "unknown redemption"
            case redemptionAlreadyReversed = "redemption already reversed"
            case debtBelowZero = "debt below zero"
            case overflow = "overflow"
            case limitExceeded = "limit exceeded"
            case notAMemberEvent = "not a member event"
            case timeOutOfRange = "time out of range"
        }
        private let value: Value
        private init(_ value: Value) { self.value = value }

        /// An allocation names a lot the member does not have.
        public static let unknownLot = Code(.unknownLot)
        /// A debit would take a lot below zero (or restore it past its points).
        public static let lotBelowZero = Code(.lotBelowZero)
        /// A credit creates a lot whose id the member already has.
        public static let duplicateLot = Code(.duplicateLot)
        /// A count of points or money that must not be negative is.
        public static let negativeValue = Code(.negativeValue)
        /// The event's own figures disagree (allocations that do not add up to its points, ...).
        public static let inconsistent = Code(.inconsistent)
        /// A reversal of a redemption the member does not have.
        public static let unknownRedemption = Code(.unknownRedemption)
        /// A second reversal of one redemption.
        public static let redemptionAlreadyReversed = Code(.redemptionAlreadyReversed)
        /// The event pays more debt than the member owes.
        public static let debtBelowZero = Code(.debtBelowZero)
        /// A sum left the range of Int64.
        public static let overflow = Code(.overflow)
        /// A program-wide total would pass its limit (`FoldLimits`).
        public static let limitExceeded = Code(.limitExceeded)
        /// A program event (rules, rewards) where a member event belongs.
        public static let notAMemberEvent = Code(.notAMemberEvent)
        /// An event's time is past `FoldLimits.timeMagnitudeMaxMicroseconds`.
        public static let timeOutOfRange = Code(.timeOutOfRange)

        public var description: String { value.rawValue }
    }

    public let code: Code
    /// What is wrong, naming the member, the lot or the field and the values.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
