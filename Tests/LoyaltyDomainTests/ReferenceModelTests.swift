import PropertyBased
import Testing
@testable import LoyaltyDomain

@Suite struct ReferenceModelTests {
    @Test func theRealModelAgreesWithTheReferenceOverRandomHistories() async {
        await propertyCheck(count: 60, input: Gen.int(in: 0...Int.max)) { seed in
            var history = ReferenceHistory(seed: UInt64(seed))
            var real = LedgerModel()
            for command in history.enrollments { _ = try? run(&real, command) }
            for step in 0..<150 {
                guard let (command, refOK, at) = history.next(step: step) else { continue }
                let realOK = (try? run(&real, command)) != nil
                #expect(realOK == refOK, "step \(step): \(command)")
                for p in history.people { history.expectAgreement(real.balance(p, at: at)!, p, step: step) }
                // Every card, typed either way, names the member the reference says (or is refused).
                for card in ReferenceLedger.cardPool {
                    #expect((try? real.memberForCard(card.typed)) == history.ref.cardMember(card.canonical), "step \(step): card \(card.canonical)")
                }
            }
        }
    }
}

