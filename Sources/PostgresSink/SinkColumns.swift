import LedgerJSON
import LoyaltyDomain
import Projections

/// The columns of `loyalty.member_views` and `loyalty.balances`: the fields of the member view's
/// JSON (`loyalty members export`, `member show`) and of the balance's JSON (`loyalty balance`),
/// read from those definitions, so a field the read models gain becomes a column (added by the
/// migration at start) with no second list to keep. A key's column is its snake_case name; its
/// type follows from what the field holds (`type(of:)`).
enum SinkColumns {
    struct Column: Equatable {
        /// The JSON key.
        var key: String
        /// The column's name (`snake_case` of the key).
        var name: String
        /// Its SQL type.
        var type: String
    }

    /// `member` first, then the member view's other fields in their JSON order.
    static let memberViews: [Column] = columns(MemberView().json(member: "", balance: nil, at: Timestamp(microseconds: 0), thresholds: LifecycleThresholds()))

    /// `member` first, then the balance's other fields in their JSON order.
    static let balances: [Column] = columns(Balance(MemberState(member: ""), at: Timestamp(microseconds: 0)).json)

    private static func columns(_ sample: JSONValue) -> [Column] {
        guard case .object(let fields) = sample else { return [] }
        let keys = ["member"] + fields.map(\.key).filter { $0 != "member" }
        return keys.map { Column(key: $0, name: snakeCase($0), type: type(of: $0)) }
    }

    /// The SQL type of a field: times (`...At`, `asOf`, `tierSince`) are `timestamptz`, counts
    /// and points `bigint`, lists and objects (`profile`, `lots`) `jsonb`, `closed` `boolean`,
    /// the rest (ids, names, stages, `birthDate` as the member gave it) `text`.
    static func type(of key: String) -> String {
        if key.hasSuffix("At") || key == "asOf" || key == "tierSince" { return "timestamptz" }
        if ["profile", "lots"].contains(key) { return "jsonb" }
        if key == "closed" { return "boolean" }
        if textKeys.contains(key) { return "text" }
        return "bigint"
    }

    /// The member view's text fields; every other field that is not a time, a list or `closed`
    /// is an integer (points, counts, minor units).
    static let textKeys: Set<String> = ["member", "brand", "channel", "enrollmentStore", "birthDate", "gender", "tier", "lifecycleStage"]

    static func snakeCase(_ key: String) -> String {
        var out = ""
        for c in key {
            if c.isUppercase { out += "_" + c.lowercased() } else { out.append(c) }
        }
        return out
    }
}
