import Foundation
import LedgerTestSupport
import Testing

/// Membership cards through the real `loyalty` tool: issue, use instead of a member id, block,
/// replace, and the bad input (unknown, blocked, replaced, reused, long and multibyte numbers).
@Suite struct CardsCLITests {
    static func run(_ ledger: String, _ arguments: [String]) throws -> (status: Int32, out: String, err: String) {
        try runTool("loyalty", arguments + ["--ledger", ledger])
    }

    /// One ledger with members A and B enrolled and a purchase of A's.
    static func ledger() throws -> TemporaryDirectory {
        let dir = TemporaryDirectory()
        for args in [["init"], ["enroll", "A", "--store", "S1", "--at", "2026-01-01T10:00:00Z"],
                     ["enroll", "B", "--store", "S1", "--at", "2026-01-01T10:00:00Z"]] {
            let r = try run(dir.ledger, args)
            #expect(r.status == 0, "\(args): \(r)")
        }
        return dir
    }

    @Test(.timeLimit(.minutes(2)))
    func aCardStandsForItsMemberInEveryCommandUntilBlockedOrReplaced() throws {
        let dir = try Self.ledger()
        let l = dir.ledger
        let at = ["--at", "2026-01-02T10:00:00Z"]
        let issued = try Self.run(l, ["card", "issue", "A", "--number", "4000-0001", "--id", "C1"] + at)
        #expect(issued.status == 0 && issued.out.contains("card.issued") && issued.out.contains("4000-0001"), "\(issued)")
        // A retry answers with the original; the same key for another number is a conflict.
        let retry = try Self.run(l, ["card", "issue", "A", "--number", "4000-0001", "--id", "C1"] + at)
        #expect(retry.status == 0 && retry.out.contains("already done"), "\(retry)")
        let conflict = try Self.run(l, ["card", "issue", "A", "--number", "4000-0002", "--id", "C1"] + at)
        #expect(conflict.status == 1 && conflict.err.contains("'card:C1' was already used for a different command"), "\(conflict)")
        // A number is unique in the program: refused for another member, and for another key.
        let taken = try Self.run(l, ["card", "issue", "B", "--number", "4000-0001", "--id", "C2"] + at)
        #expect(taken.status == 1 && taken.err.contains("card '4000-0001' is already issued (to member 'A')"), "\(taken)")

        // The card instead of the member id: write commands and reads.
        let bought = try Self.run(l, ["purchase", "--card", "4000-0001", "--id", "P1", "--amount", "120.00", "--store", "S1"] + at)
        #expect(bought.status == 0 && bought.out.contains("member A"), "\(bought)")
        let redeemed = try Self.run(l, ["redeem", "--card", "4000-0001", "--points", "20", "--id", "R1", "--at", "2026-01-03T10:00:00Z"])
        #expect(redeemed.status == 0, "\(redeemed)")
        let adjusted = try Self.run(l, ["adjust", "--card", "4000-0001", "--points", "5", "--reason", "goodwill", "--id", "ADJ1"] + at)
        #expect(adjusted.status == 0, "\(adjusted)")
        let balance = try Self.run(l, ["balance", "--card", "4000-0001", "--format", "json", "--at", "2026-01-04T00:00:00Z"])
        #expect(balance.status == 0 && balance.out.contains(#""available":105"#), "\(balance)")
        let show = try Self.run(l, ["member", "show", "--card", "4000-0001", "--format", "json"])
        #expect(show.status == 0 && show.out.contains(#""member":"A""#), "\(show)")
        let history = try Self.run(l, ["history", "--card", "4000-0001"])
        #expect(history.status == 0 && history.out.contains("card 4000-0001 issued"), "\(history)")
        #expect(try Self.run(l, ["explain", "--card", "4000-0001"]).status == 0)
        let transfer = try Self.run(l, ["transfer", "--from-card", "4000-0001", "B", "--points", "10", "--id", "T1", "--at", "2026-01-04T10:00:00Z"])
        #expect(transfer.status == 0 && transfer.out.contains("to B"), "\(transfer)")
        let card = try Self.run(l, ["card", "show", "4000-0001", "--format", "json"])
        #expect(card.status == 0 && card.out.contains(#""status":"active""#), "\(card)")

        // Block: refused for commands, still found by the reads (with a note).
        let blocked = try Self.run(l, ["card", "block", "4000-0001", "--reason", "lost"] + at)
        #expect(blocked.status == 0 && blocked.out.contains("card.blocked"), "\(blocked)")
        #expect(try Self.run(l, ["card", "block", "4000-0001", "--reason", "lost"] + at).out.contains("already done"))
        let refused = try Self.run(l, ["purchase", "--card", "4000-0001", "--id", "P2", "--amount", "1.00", "--store", "S1"] + at)
        #expect(refused.status == 1 && refused.err.contains("card '4000-0001' is blocked"), "\(refused)")
        let stillShown = try Self.run(l, ["balance", "--card", "4000-0001"])
        #expect(stillShown.status == 0 && stillShown.err.contains("note: card '4000-0001' is blocked"), "\(stillShown)")

        // Replace: the new card carries on the same member, the old one names its replacement.
        let replaced = try Self.run(l, ["card", "replace", "4000-0001", "--number", "4000-0009"] + at)
        #expect(replaced.status == 0 && replaced.out.contains("replaces 4000-0001"), "\(replaced)")
        #expect(try Self.run(l, ["card", "replace", "4000-0001", "--number", "4000-0009"] + at).out.contains("already done"))
        let again = try Self.run(l, ["card", "replace", "4000-0001", "--number", "4000-0010"] + at)
        #expect(again.status == 1 && again.err.contains("was replaced by card '4000-0009'"), "\(again)")
        let newCard = try Self.run(l, ["redeem", "--card", "4000-0009", "--points", "1", "--id", "R2", "--at", "2026-01-05T10:00:00Z"])
        #expect(newCard.status == 0 && newCard.out.contains("member A"), "\(newCard)")
        let oldCard = try Self.run(l, ["redeem", "--card", "4000-0001", "--points", "1", "--id", "R3"] + at)
        #expect(oldCard.status == 1 && oldCard.err.contains("card '4000-0001' was replaced by card '4000-0009'"), "\(oldCard)")
        let blockReplaced = try Self.run(l, ["card", "block", "4000-0001"] + at)
        #expect(blockReplaced.status == 1 && blockReplaced.err.contains("replaced by card '4000-0009'"), "\(blockReplaced)")
        let reuse = try Self.run(l, ["card", "issue", "B", "--number", "4000-0001", "--id", "C3"] + at)
        #expect(reuse.status == 1 && reuse.err.contains("already issued (to member 'A')"), "\(reuse)")

        // The log, the decision state and the independent fold all agree.
        #expect(try Self.run(l, ["verify"]).status == 0)
        let check = try Self.run(l, ["decisions", "check"])
        #expect(check.status == 0, "\(check)")
        let reconcile = try Self.run(l, ["reconcile", "--report", dir.path + "/r.json"])
        #expect(reconcile.status == 0, "\(reconcile)")
    }

    @Test(.timeLimit(.minutes(2)))
    func badCardInputIsRefusedWithAReasonAndWritesNothing() throws {
        let dir = try Self.ledger()
        let l = dir.ledger
        let at = ["--at", "2026-01-02T10:00:00Z"]
        let before = try Self.run(l, ["stats", "--format", "json"]).out
        let unknown = try Self.run(l, ["purchase", "--card", "nope", "--id", "P1", "--amount", "1.00", "--store", "S1"] + at)
        #expect(unknown.status == 1 && unknown.err.contains("unknown card 'nope'"), "\(unknown)")
        #expect(try Self.run(l, ["member", "show", "--card", "nope"]).err.contains("unknown card 'nope'"))
        #expect(try Self.run(l, ["card", "block", "nope"] + at).err.contains("unknown card 'nope'"))
        #expect(try Self.run(l, ["card", "replace", "nope", "--number", "x1"] + at).err.contains("unknown card 'nope'"))
        let tooLong = try Self.run(l, ["card", "issue", "A", "--number", String(repeating: "9", count: 65), "--id", "C1"] + at)
        #expect(tooLong.status == 1 && tooLong.err.contains("65 bytes long (UTF-8); card numbers are at most 64 bytes"), "\(tooLong)")
        // 22 three-byte characters: 66 bytes, 22 characters.
        let longMultibyte = try Self.run(l, ["card", "issue", "A", "--number", String(repeating: "カ", count: 22), "--id", "C1"] + at)
        #expect(longMultibyte.status == 1 && longMultibyte.err.contains("66 bytes long"), "\(longMultibyte)")
        let space = try Self.run(l, ["card", "issue", "A", "--number", "40 01", "--id", "C1"] + at)
        #expect(space.status == 1 && space.err.contains("contains U+20"), "\(space)")
        let empty = try Self.run(l, ["card", "issue", "A", "--number", "", "--id", "C1"] + at)
        #expect(empty.status == 1 && empty.err.contains("must not be empty"), "\(empty)")
        let unknownMember = try Self.run(l, ["card", "issue", "Z", "--number", "77", "--id", "C1"] + at)
        #expect(unknownMember.status == 1 && unknownMember.err.contains("unknown member 'Z'"), "\(unknownMember)")
        let both = try Self.run(l, ["balance", "A", "--card", "77"])
        #expect(both.status != 0 && both.err.contains("not both"), "\(both)")
        let neither = try Self.run(l, ["balance"])
        #expect(neither.status != 0 && neither.err.contains("give a member id or --card NUMBER"), "\(neither)")
        #expect(try Self.run(l, ["stats", "--format", "json"]).out == before, "nothing written")
    }

    /// Card numbers in any script, taken in NFC: a number typed decomposed (or with a
    /// compatibility character) is the same card as its precomposed spelling.
    @Test(.timeLimit(.minutes(2)))
    func multibyteNumbersAreOneCardWhateverTheirNormalisationForm() throws {
        let dir = try Self.ledger()
        let l = dir.ledger
        let at = ["--at", "2026-01-02T10:00:00Z"]
        let decomposed = "ka\u{0301}rta-\u{212B}-1", composed = "k\u{E1}rta-\u{C5}-1"
        let issued = try Self.run(l, ["card", "issue", "A", "--number", decomposed, "--id", "C1", "--format", "json"] + at)
        #expect(issued.status == 0 && issued.out.contains(composed), "\(issued)")
        let taken = try Self.run(l, ["card", "issue", "B", "--number", composed, "--id", "C2"] + at)
        #expect(taken.status == 1 && taken.err.contains("already issued (to member 'A')"), "\(taken)")
        let show = try Self.run(l, ["member", "show", "--card", composed, "--format", "json"])
        #expect(show.status == 0 && show.out.contains(#""member":"A""#), "\(show)")
        let japanese = String(repeating: "カ", count: 21)  // 63 bytes: within the bound
        #expect(try Self.run(l, ["card", "issue", "B", "--number", japanese, "--id", "C3"] + at).status == 0)
        let bought = try Self.run(l, ["purchase", "--card", japanese, "--id", "P1", "--amount", "5.00", "--store", "S1"] + at)
        #expect(bought.status == 0 && bought.out.contains("member B"), "\(bought)")
        #expect(try Self.run(l, ["card", "block", decomposed] + at).status == 0)
        #expect(try Self.run(l, ["card", "show", composed]).out.contains("blocked"))
        #expect(try Self.run(l, ["verify"]).status == 0)
        #expect(try Self.run(l, ["decisions", "check"]).status == 0)
    }
}
