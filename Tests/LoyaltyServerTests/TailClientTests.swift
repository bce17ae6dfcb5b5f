import Foundation
@testable import LedgerTailClient
import Testing

@Suite struct SSEParserTests {
    @Test func readsMessagesSplitAnywhereWithEveryLineEnding() {
        let text = "id: 1\nevent: points.earned\ndata: {\"a\":1}\n\n: keep-alive\n\nid: 2\r\ndata: x\r\ndata: y\r\n\r\nid: 3\rdata:z\r\r"
        let bytes = Array(text.utf8)
        let whole: [SSEMessage] = {
            var parser = SSEParser()
            return parser.feed(bytes)
        }()
        #expect(whole == [SSEMessage(id: "1", event: "points.earned", data: #"{"a":1}"#),
                          SSEMessage(id: "2", event: "message", data: "x\ny"),
                          SSEMessage(id: "3", event: "message", data: "z")])
        // Fed one byte at a time (a CR and its LF in different chunks): the same messages.
        var parser = SSEParser()
        var piecewise: [SSEMessage] = []
        for byte in bytes { piecewise += parser.feed([byte]) }
        #expect(piecewise == whole)
    }

    @Test func splitsAnEventsPageIntoTheServersLines() {
        let page = #"{"events":[{"position":1,"data":{"s":"a,}]\"{"}},{"position":2,"data":[1,{"b":2}]}],"next":2,"head":2}"#
        let lines = LedgerTailClient.arrayElements(Array(page.utf8)).map { String(decoding: $0, as: UTF8.self) }
        #expect(lines == [#"{"position":1,"data":{"s":"a,}]\"{"}}"#, #"{"position":2,"data":[1,{"b":2}]}"#])
        #expect(LedgerTailClient.arrayElements(Array(#"{"events":[],"next":0,"head":0}"#.utf8)).isEmpty)
    }

    @Test func checkpointFileKeepsThePosition() throws {
        let path = NSTemporaryDirectory() + "tail-checkpoint-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: path) }
        let checkpoint = TailCheckpoint(path: path)
        #expect(try checkpoint.load() == nil)
        try checkpoint.store(42)
        try checkpoint.store(43)
        #expect(try checkpoint.load() == 43)
        try "x\n".write(toFile: path, atomically: true, encoding: .utf8)
        #expect(throws: TailClientError.self) { try checkpoint.load() }
    }
}
