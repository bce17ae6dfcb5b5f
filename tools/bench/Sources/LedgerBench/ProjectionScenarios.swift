import ArgumentParser
import Foundation
import LedgerStore
import LoyaltyDomain
import Projections
import Synchronization

/// A synthetic but consistent loyalty history written straight into a log (much faster than
/// deciding commands): enrollments, then purchases with their accrual lots, redemptions taking
/// the oldest lots, partial returns clawing back from the purchase's lot, expiries and
/// adjustments; every allocation names points the lot really holds, so every fold accepts it.
struct SyntheticHistory {
    struct MemberLots { var lots: [(id: String, left: Int64)] = []; var purchases: [(id: String, lot: Int, amount: Int64)] = [] }
    var random = SplitMix64(seed: 42)
    var members: [MemberLots]
    var time: Int64 = 1_767_225_600_000_000  // 2026-01-01T00:00:00Z
    var serial = 0
    let memberCount: Int

    init(members: Int) {
        memberCount = members
        self.members = Array(repeating: MemberLots(), count: members)
    }

    static func id(_ i: Int) -> String { "M" + String(1_000_000 + i).dropFirst() }

    func rfc(_ t: Int64) -> String { Timestamp(microseconds: t).rfc3339 }

    /// The next events (one command's worth), appended to `out`.
    mutating func next(into out: inout [EventDraft]) {
        time += Int64(random.next(in: 0...2_000_000))
        serial += 1
        if serial <= memberCount {
            let m = Self.id(serial - 1)
            out.append(draft("member.enrolled", m, #"{"brand":"main","channel":"app","member":"\#(m)","profile":{},"store":"S\#(serial % 40)"}"#))
            return
        }
        let i = random.next(in: 0...(memberCount - 1))
        let m = Self.id(i)
        switch random.next(in: 0...99) {
        case 0..<66: purchase(i, m, into: &out)
        case 66..<80: redeem(i, m, into: &out)
        case 80..<88: returnPart(i, m, into: &out)
        case 88..<94 where !members[i].lots.isEmpty:
            let lot = members[i].lots[0]
            members[i].lots.removeFirst()
            if lot.left > 0 { out.append(draft("points.expired", m, #"{"lotId":"\#(lot.id)","member":"\#(m)","points":\#(lot.left)}"#)) }
        default:
            let key = "ADJ\(serial)"
            members[i].lots.append((id: "A:" + key, left: 25))
            out.append(draft("points.adjusted", m, #"{"expiresAt":"\#(rfc(time + 31_536_000_000_000))","key":"\#(key)","lotId":"A:\#(key)","member":"\#(m)","operator":"ops","points":25,"reason":"goodwill"}"#))
        }
    }

    private mutating func purchase(_ i: Int, _ m: String, into out: inout [EventDraft]) {
        let id = "P\(serial)", amount = Int64(random.next(in: 100...20_000))
        out.append(draft("purchase.recorded", m, #"{"amount":\#(amount),"currency":"EUR","lines":[],"member":"\#(m)","paidWithPoints":0,"purchaseId":"\#(id)","store":"S\#(i % 40)"}"#))
        let points = amount / 100
        guard points > 0 else { return }
        members[i].lots.append((id: "P:" + id, left: points))
        members[i].purchases.append((id: id, lot: members[i].lots.count - 1, amount: amount))
        if members[i].purchases.count > 8 { members[i].purchases.removeFirst() }
        out.append(draft("points.earned", m, #"{"availableAt":"\#(rfc(time))","debtPaid":0,"expiresAt":"\#(rfc(time + 31_536_000_000_000))","lotId":"P:\#(id)","member":"\#(m)","points":\#(points),"rule":"base \#(points)","ruleVersion":1,"source":{"id":"\#(id)","kind":"purchase"}}"#))
    }

    private mutating func redeem(_ i: Int, _ m: String, into out: inout [EventDraft]) {
        var need: Int64 = 50
        guard members[i].lots.reduce(0, { $0 + $1.left }) >= need else { return }
        var allocations: [String] = []
        for k in members[i].lots.indices where need > 0 && members[i].lots[k].left > 0 {
            let take = min(need, members[i].lots[k].left)
            members[i].lots[k].left -= take
            need -= take
            allocations.append(#"{"lotId":"\#(members[i].lots[k].id)","points":\#(take)}"#)
        }
        out.append(draft("points.redeemed", m, #"{"allocations":[\#(allocations.joined(separator: ","))],"member":"\#(m)","points":50,"redemptionId":"R\#(serial)"}"#))
    }

    private mutating func returnPart(_ i: Int, _ m: String, into out: inout [EventDraft]) {
        guard let p = members[i].purchases.popLast(), p.lot < members[i].lots.count, members[i].lots[p.lot].id == "P:" + p.id else { return }
        let back = min(members[i].lots[p.lot].left, p.amount / 200)
        members[i].lots[p.lot].left -= back
        let clawed = back > 0 ? #"{"lotId":"P:\#(p.id)","points":\#(back)}"# : ""
        out.append(draft("purchase.returned", m, #"{"amount":\#(p.amount / 2),"clawedBack":[\#(clawed)],"debt":0,"forgiven":\#(p.amount / 200 - back),"member":"\#(m)","purchaseId":"\#(p.id)","returnId":"RT\#(serial)"}"#))
    }

    func draft(_ type: String, _ member: String, _ json: String) -> EventDraft {
        EventDraft(type: type, member: member, occurredAt: time, data: Array(json.utf8))
    }
}

enum ProjectionScenarios {
    /// Opens (building if needed) a log of at least `events` synthetic events at `path`.
    static func synthesizedLog(path: String, events: Int, members: Int, quiet: Bool) async throws -> EventLog {
        var options = EventLogOptions()
        options.create = true
        options.lmdb.mapSizeBytes = 8 << 30
        options.lmdb.durability = .relaxed  // set-up only; nothing here is measured
        let log = try EventLog.open(path: path, options: options)
        var head = Int(try log.headPosition())
        if head > 0 && head < events { throw ValidationError("\(path) holds \(head) events, fewer than \(events): remove it first") }
        if head == 0 {
            if !quiet { Reporter.progress("writing \(events) synthetic events for \(members) members to \(path) (once; reused later)") }
            var history = SyntheticHistory(members: members)
            var drafts: [EventDraft] = []
            while head < events {
                drafts.removeAll(keepingCapacity: true)
                while drafts.count < 1_000 { history.next(into: &drafts) }
                let batch = Array(drafts.prefix(events - head))
                _ = try await log.append(batch)
                head += batch.count
                if !quiet && head % 1_000_000 < batch.count { Reporter.progress("  \(head) events") }
            }
        }
        return log
    }

    static func peakResidentBytes() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
        return kb * 1024
    }

    static func rebuild(path: String, events: Int, members: Int, names: [String], quiet: Bool) async throws -> Outcome {
        let log = try await synthesizedLog(path: path, events: events, members: members, quiet: quiet)
        defer { log.close() }
        try? FileManager.default.removeItem(atPath: path + "/projections")
        let projections = try LedgerProjections(log: log)
        let head = try log.headPosition()
        var o = Outcome(scenario: "projections-rebuild", headline: "eventsPerSecond")
        o.parameters = [("events", .int(Int(head))), ("members", .int(members)), ("projections", .text(names.joined(separator: ",")))]
        let rssBefore = peakResidentBytes()
        if !quiet { Reporter.progress("rebuilding \(names.joined(separator: ", ")) from \(head) events, in one pass") }
        let cpu0 = CPUBreakdown.Sample()
        let t0 = monotonicNanos()
        try projections.rebuild(names)
        let ns = monotonicNanos() - t0
        let cpu1 = CPUBreakdown.Sample()
        o.add("eventsPerSecond", Double(head) * 1e9 / Double(ns), "events/s (log events / time to rebuild all of them)")
        o.add("seconds", Double(ns) / 1e9, "s")
        for name in names { o.add("\(name)Entries", try projections.digest(name)?.entries ?? 0, "entries") }
        o.addCPU(CPUBreakdown(from: cpu0, to: cpu1))
        o.add("peakResidentBytes", peakResidentBytes(), "bytes")
        o.add("peakResidentBytesBeforeRebuild", rssBefore, "bytes")
        o.notes.append("log at \(path) (synthetic history: enrollments, purchases with accrual lots, redemptions, returns, expiries, adjustments)")
        return o
    }

    /// Appends at `rate` events/s in `batch`-event batches (one append, one full-durability commit
    /// each) while the projection service follows; lag = when all projections had committed a
    /// batch's last position, minus when its append returned.
    static func lag(rate: Int, seconds: Int, batch: Int, quiet: Bool) async throws -> Outcome {
        precondition(batch > 0 && rate >= batch, "at least one batch per second")
        let (log, path) = try Workload.openFresh(durability: .full)
        defer { log.close(); Workload.remove(path) }
        let projections = try LedgerProjections(log: log)
        let commits = Mutex<[(through: UInt64, at: Int64)]>([])
        let service = ProjectionService(projections: projections, eventsPerStep: 10_000, pollMilliseconds: 50) { _, through in
            let now = monotonicNanos()
            commits.withLock { $0.append((through, now)) }
        }
        let failure = Mutex<String?>(nil)
        let follower = Task {
            do { try await service.run() } catch { failure.withLock { $0 = "\(error)" } }
        }
        var history = SyntheticHistory(members: 10_000)
        var drafts: [EventDraft] = []
        while drafts.count < 10_000 { history.next(into: &drafts) }  // enrollments first
        _ = try await log.append(Array(drafts.prefix(10_000)))
        try await Task.sleep(for: .milliseconds(500))
        if !quiet { Reporter.progress("appending \(rate) events/s for \(seconds) s, projections following") }
        // 50,000 events/s as 500 events every 10 ms by default: one commit (one fdatasync of the
        // log) per batch, so the appender keeps up on a shared disk; 100 every 2 ms did not.
        let interval = Int64(1e9) * Int64(batch) / Int64(rate)
        var appended: [(last: UInt64, at: Int64)] = []
        let start = monotonicNanos()
        var next = start
        while monotonicNanos() - start < Int64(seconds) * 1_000_000_000 {
            drafts.removeAll(keepingCapacity: true)
            while drafts.count < batch { history.next(into: &drafts) }
            let r = try await log.append(drafts)  // batch or batch + 1 events: a purchase comes with its accrual
            appended.append((r.events.last!.position, monotonicNanos()))
            next += interval
            let wait = next - monotonicNanos()
            if wait > 0 { try await Task.sleep(nanoseconds: UInt64(wait)) }
        }
        let elapsed = monotonicNanos() - start
        let last = appended.last!.last
        while (commits.withLock { $0.last?.through ?? 0 }) < last {
            if let f = failure.withLock({ $0 }) { throw ValidationError("the projection service stopped: \(f)") }
            try await Task.sleep(for: .milliseconds(5))
        }
        follower.cancel()
        _ = try? await follower.value
        let seen = commits.withLock { $0 }
        var lags: [Int64] = []
        var k = 0
        for a in appended {
            while k < seen.count && seen[k].through < a.last { k += 1 }
            if k < seen.count { lags.append(max(0, seen[k].at - a.at)) }
        }
        lags.sort()
        func pct(_ p: Double) -> Double { Double(lags[min(lags.count - 1, Int(Double(lags.count) * p))]) / 1e6 }
        var o = Outcome(scenario: "projections-lag", headline: "lagP99Milliseconds")
        o.parameters = [("rateEventsPerSecond", .int(rate)), ("seconds", .int(seconds)), ("batch", .int(batch))]
        o.add("appendedEventsPerSecond", Double(appended.last!.last - appended.first!.last + UInt64(batch)) * 1e9 / Double(elapsed), "events/s")
        o.add("lagP50Milliseconds", pct(0.5), "ms")
        o.add("lagP99Milliseconds", pct(0.99), "ms")
        o.add("lagMaxMilliseconds", Double(lags.last ?? 0) / 1e6, "ms")
        o.add("projectionCommits", seen.count, "steps")
        return o
    }
}

struct ProjectionsRebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections-rebuild", abstract: "Rebuild projections from a large synthetic log (built once at --log).")
    @Option var events = 10_000_000
    @Option var members = 100_000
    @Option(help: "Where the log is kept between runs (built on first use).") var log = "/tmp/ledger-bench-projections"
    @Option(help: "Comma-separated projections, rebuilt together.") var projections = "balances,members"
    @OptionGroup var common: Common

    func run() async throws {
        try Reporter.emit(try await ProjectionScenarios.rebuild(path: log, events: events, members: members,
                                                                names: projections.split(separator: ",").map(String.init), quiet: common.quiet),
                          json: common.json)
    }
}

struct ProjectionsLag: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "projections-lag", abstract: "Commit-to-projection lag while appending at a steady rate.")
    @Option var rate = 50_000
    @Option var seconds = 10
    @Option(help: "Events per append (one commit each); the interval is batch / rate.") var batch = 500
    @OptionGroup var common: Common

    func validate() throws {
        guard batch > 0, batch <= 10_000, rate >= batch else { throw ValidationError("--batch must be 1...10000 and at most --rate") }
    }

    func run() async throws {
        try Reporter.emit(try await ProjectionScenarios.lag(rate: rate, seconds: seconds, batch: batch, quiet: common.quiet),
                          json: common.json)
    }
}
