import LedgerJSON
import Testing
@testable import LoyaltyDomain

/// Every field of a rules document is checked against `DomainLimits`, naming the field.
@Suite struct RulesLimitsTests {
    /// The field a rules document is refused for (nil: accepted).
    private func refused(_ json: String) -> String? {
        do {
            _ = try rules(json)
            return nil
        } catch let DomainError.invalid(field, _, _) {
            return field
        } catch {
            return "other: \(error)"
        }
    }

    private func with(_ fields: String) -> String { #"{"version":2\#(fields.isEmpty ? "" : ",")\#(fields)}"# }

    @Test func outOfRangeFieldsAreRefusedByName() {
        let cases: [(String, String)] = [
            (#""expiry":{"policy":"months_after_availability","months":1000000000000000}"#, "expiry.months"),
            (#""expiry":{"policy":"months_after_availability","months":0}"#, "expiry.months"),
            (#""expiry":{"policy":"months_after_availability","months":-1}"#, "expiry.months"),
            (#""expiry":{"policy":"months_after_availability","months":1201}"#, "expiry.months"),
            (#""expiry":{"policy":"idle_days","idleDays":0}"#, "expiry.idleDays"),
            (#""expiry":{"policy":"idle_days","idleDays":36501}"#, "expiry.idleDays"),
            (#""pendingDays":9223372036854775807"#, "pendingDays"),
            (#""pendingDays":-1"#, "pendingDays"),
            (#""pendingDays":36501"#, "pendingDays"),
            (#""currency":"""#, "currency"),
            (#""currency":"eur""#, "currency"),
            (#""currency":"EURO""#, "currency"),
            (#""currency":"E\u0000R""#, "currency"),
            (#""minorUnitExponent":5"#, "minorUnitExponent"),
            (#""minorUnitExponent":-1"#, "minorUnitExponent"),
            (#""earning":{"pointsPerUnit":0}"#, "earning.pointsPerUnit"),
            (#""earning":{"pointsPerUnit":-1}"#, "earning.pointsPerUnit"),
            (#""earning":{"pointsPerUnit":"1000001"}"#, "earning.pointsPerUnit"),
            (#""earning":{"pointsPerUnit":"1/1000001"}"#, "earning.pointsPerUnit"),
            (#""tierMultipliers":{"gold":"0"}"#, "tierMultipliers.gold"),
            (#""categoryMultipliers":{"a b":2}"#, "categoryMultipliers key"),
            (#""campaigns":[{"id":"c","from":"2026-02-01","to":"2026-01-01"}]"#, "campaigns[0].to"),
            (#""campaigns":[{"id":"c","from":"2026-01-01T00:00:00Z","to":"2026-01-01T00:00:00Z"}]"#, "campaigns[0].to"),
            (#""campaigns":[{"id":"","from":"2026-01-01","to":"2026-02-01"}]"#, "campaigns[0].id"),
            (#""campaigns":[{"id":"c","from":"1899-01-01","to":"2026-02-01"}]"#, "campaigns[0].from"),
            (#""campaigns":[{"id":"c","from":"2026-01-01","to":"2026-02-01","multiplier":0}]"#, "campaigns[0].multiplier"),
            (#""campaigns":[{"id":"c","from":"2026-01-01","to":"2026-02-01","bonusPoints":-1}]"#, "campaigns[0].bonusPoints"),
            (#""campaigns":[{"id":"c","from":"2026-01-01","to":"2026-02-01","stores":[""]}]"#, "campaigns[0].stores[0]"),
            (#""birthdayBonus":-1"#, "birthdayBonus"),
            (#""birthdayBonus":1000000000001"#, "birthdayBonus"),
            (#""caps":{"perDay":-1}"#, "caps.perDay"),
            (#""caps":{"perMonth":9223372036854775807}"#, "caps.perMonth"),
            (#""tiers":{"levels":[{"name":"silver","threshold":-1}]}"#, "tiers.levels[0].threshold"),
            (#""tiers":{"levels":[{"name":"silver","threshold":1},{"name":"silver","threshold":2}]}"#, "tiers.levels[1].name"),
            (#""tiers":{"levels":[{"name":"silver","threshold":5},{"name":"gold","threshold":5}]}"#, "tiers.levels[1].threshold"),
            (#""tiers":{"levels":[{"name":"","threshold":5}]}"#, "tiers.levels[0].name"),
            (#""tiers":{"windowDays":0,"levels":[]}"#, "tiers.windowDays"),
            (#""tiers":{"windowDays":36501,"levels":[]}"#, "tiers.windowDays"),
            (#""tiers":{"downgradeGraceDays":-1,"levels":[]}"#, "tiers.downgradeGraceDays"),
        ]
        for (fields, field) in cases { #expect(refused(with(fields)) == field, "\(fields)") }
        #expect(refused(#"{"version":0}"#) == "version")
        #expect(refused(#"{"version":-1}"#) == "version")
        #expect(refused(#"{"version":9223372036854775807}"#) == "version")
        #expect(refused(#"{"version":1000000001}"#) == "version")
    }

    @Test func theEdgesOfEveryRangeAreAccepted() {
        let cases = [
            #""expiry":{"policy":"months_after_availability","months":1}"#,
            #""expiry":{"policy":"months_after_availability","months":1200}"#,
            #""expiry":{"policy":"idle_days","idleDays":36500}"#,
            #""pendingDays":0"#, #""pendingDays":36500"#, #""minorUnitExponent":0"#, #""minorUnitExponent":4"#,
            #""currency":"JPY""#, #""earning":{"pointsPerUnit":"1/1000000"}"#, #""earning":{"pointsPerUnit":1000000}"#,
            #""birthdayBonus":1000000000000"#, #""caps":{"perDay":0,"perWeek":1000000000000}"#,
            #""tiers":{"windowDays":36500,"downgradeGraceDays":36500,"levels":[{"name":"a","threshold":0},{"name":"b","threshold":1000000000000000}]}"#,
            #""campaigns":[{"id":"c","from":"1900-01-01T00:00:00Z","to":"9999-12-31T23:59:59.999999Z","daysOfWeek":[0,6]}]"#,
        ]
        for fields in cases { #expect(refused(with(fields)) == nil, "\(fields)") }
        #expect(refused(#"{"version":1}"#) == nil)
        #expect(refused(#"{"version":1000000000}"#) == nil)
        #expect(refused(#"{"version":1,"expiry":{"policy":"never"}}"#) == nil)
    }

    @Test func versionsRiseByABoundedStep() throws {
        var m = LedgerModel()
        func publish(_ version: Int64) throws {
            let r = try rules(#"{"version":\#(version)}"#)
            guard case .append(let events) = try m.decideChecked(.publishProgram(r, at: t("2026-01-01T00:00:00Z"))) else { return }
            for e in events { try m.apply(e, at: t("2026-01-01T00:00:00Z")) }
        }
        #expect(throws: DomainError.self) { try publish(DomainLimits.ruleVersionStepMax + 1) }
        try publish(DomainLimits.ruleVersionStepMax)
        #expect(throws: DomainError.self) { try publish(2 * DomainLimits.ruleVersionStepMax + 1) }
        #expect(throws: DomainError.self) { try publish(DomainLimits.ruleVersionStepMax - 1) }
        try publish(2 * DomainLimits.ruleVersionStepMax)
    }

    @Test func theExampleRulesAreValid() throws {
        let path = #filePath.replacingOccurrences(of: "Tests/LoyaltyDomainTests/RulesLimitsTests.swift", with: "schemas/examples/retail.rules.json")
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(refused(text) == nil)
    }
}
