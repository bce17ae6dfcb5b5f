import Foundation
import Testing
@testable import LoyaltyDomain

/// Report periods against Foundation's ISO 8601 calendar (an independent implementation), and
/// their text forms at the edges.
@Suite struct ReportPeriodTests {
    @Test func periodsAgreeWithFoundationsCalendarEveryDayOverSixYears() throws {
        var iso = Calendar(identifier: .iso8601)
        iso.timeZone = try #require(TimeZone(secondsFromGMT: 0))
        let first = CivilDate.toDays(year: 2023, month: 12, day: 1)
        for day in first ..< first + 6 * 366 {
            let date = Date(timeIntervalSince1970: TimeInterval(day * 86_400))
            let c = iso.dateComponents([.year, .month, .day, .yearForWeekOfYear, .weekOfYear], from: date)
            let (y, m, d) = (try #require(c.year), try #require(c.month), try #require(c.day))
            let (wy, w) = (try #require(c.yearForWeekOfYear), try #require(c.weekOfYear))
            let dayText = String(format: "%04d-%02d-%02d", y, m, d)
            let weekText = String(format: "%04d-W%02d", wy, w)
            let monthText = String(format: "%04d-%02d", y, m)
            #expect(ReportPeriod(.day, containing: day).description == dayText)
            #expect(ReportPeriod(.week, containing: day).description == weekText, "\(dayText)")
            #expect(ReportPeriod(.month, containing: day).description == monthText)
            // The text reads back as the same period.
            for (kind, text) in [(ReportPeriod.Kind.day, dayText), (.week, weekText), (.month, monthText)] {
                #expect(ReportPeriod(text) == ReportPeriod(kind, containing: day), "\(text)")
            }
        }
    }

    @Test func boundsAndBadTextAreRefused() {
        #expect(ReportPeriod("2026-W53")?.description == "2026-W53")  // 2026 has 53 ISO weeks
        #expect(ReportPeriod("2027-W53") == nil)
        #expect(ReportPeriod("2026-W00") == nil)
        #expect(ReportPeriod("9999-12")?.next.description == "10000-01")
        #expect(ReportPeriod("9999-12-31") != nil && ReportPeriod("1900-01-01") != nil && ReportPeriod("1899-12") == nil)
        for bad in ["", "2026", "2026-13", "2026-00", "2026-02-29", "2026-1", "2026-11-3", "２０２６-11", "2026-11 ", "-026-11", "2026-w05", "2026-11-03T00"] {
            #expect(ReportPeriod(bad) == nil, "\(bad)")
        }
        #expect(ReportPeriod("2024-02-29") != nil)
        let month = ReportPeriod("2026-02")
        #expect(month.map { $0.endDay - $0.firstDay } == 28)
        #expect(ReportPeriod("2026-W01")?.description == "2026-W01")
        #expect(ReportPeriod("2026-W01").map { ReportPeriod(.day, containing: $0.firstDay).description } == "2025-12-29")
    }
}
