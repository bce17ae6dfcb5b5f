import ByteCodec
import Testing

@Suite struct ByteCodecTests {
    /// The forms are fixed (the log's records and keys depend on them): known values, byte for byte.
    @Test func writesTheDocumentedBytes() {
        var w = ByteWriter()
        w.uint64BE(0x0102_0304_0506_0708)
        w.uint64LE(0x0102_0304_0506_0708)
        w.uint32LE(0x0A0B_0C0D)
        w.varint(0)
        w.varint(127)
        w.varint(128)
        w.varint(300)
        w.zigzag(-1)
        w.zigzag(63)
        w.zigzag(-64)
        w.zigzag(64)
        #expect(w.bytes == [1, 2, 3, 4, 5, 6, 7, 8, 8, 7, 6, 5, 4, 3, 2, 1, 0x0D, 0x0C, 0x0B, 0x0A,
                            0x00, 0x7F, 0x80, 0x01, 0xAC, 0x02, 0x01, 0x7E, 0x7F, 0x80, 0x01])
        var max = ByteWriter()
        max.varint(UInt64.max)
        #expect(max.bytes == [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        #expect(ByteWriter.uint64BEBytes(1) == [0, 0, 0, 0, 0, 0, 0, 1])
    }

    @Test func readsBackWhatItWrote() throws {
        let unsigned: [UInt64] = [0, 1, 127, 128, 16_383, 16_384, UInt64(UInt32.max), UInt64.max >> 1, UInt64.max]
        let signed: [Int64] = [0, -1, 1, 63, -64, 64, -65, Int64.max, Int64.min, Int64.max - 1, Int64.min + 1]
        var w = ByteWriter()
        for v in unsigned { w.varint(v); w.uint64BE(v); w.uint64LE(v) }
        for v in signed { w.zigzag(v); w.int64LE(v) }
        w.uint8(0xFE)
        w.uint32LE(UInt32.max)
        w.append(Array("héllo".utf8))
        try ByteReader.read(w.bytes) { (r) throws in
            for v in unsigned {
                #expect(try r.varint() == v)
                #expect(try r.uint64BE() == v)
                #expect(try r.uint64LE() == v)
            }
            for v in signed {
                #expect(try r.zigzag() == v)
                #expect(try r.int64LE() == v)
            }
            #expect(try r.uint8() == 0xFE)
            #expect(try r.uint32LE() == UInt32.max)
            #expect(try r.utf8(6) == "héllo")
            #expect(r.isAtEnd)
        }
    }

    /// Every read of every prefix of a valid form throws `truncated` (never traps, never reads past
    /// the end).
    @Test func everyShortInputThrows() throws {
        var w = ByteWriter()
        w.uint8(1); w.uint32LE(7); w.uint64LE(8); w.uint64BE(9); w.varint(UInt64.max); w.zigzag(Int64.min); w.append([1, 2, 3])
        let whole = w.bytes
        for cut in 0 ..< whole.count {
            let caught = ByteReader.read(Array(whole[..<cut])) { r -> ByteCodecError? in
                do throws(ByteCodecError) {
                    _ = try r.uint8(); _ = try r.uint32LE(); _ = try r.uint64LE(); _ = try r.uint64BE()
                    _ = try r.varint(); _ = try r.zigzag(); _ = try r.bytes(3)
                    return nil
                } catch {
                    return error
                }
            }
            #expect(caught?.code == .truncated, "cut at \(cut)")
        }
    }

    @Test func refusesMalformedVarintsAndText() {
        func varint(_ bytes: [UInt8]) -> ByteCodecError? {
            ByteReader.read(bytes) { r -> ByteCodecError? in
                do throws(ByteCodecError) { _ = try r.varint("v"); return nil } catch { return error }
            }
        }
        #expect(varint([0x80, 0x00])?.reason == "non-minimal varint")
        #expect(varint([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02])?.reason == "varint overflows 64 bits")
        #expect(varint([UInt8](repeating: 0xFF, count: 11) + [0])?.code == .malformed)
        #expect(varint([0x80])?.reason == "truncated varint")
        #expect(varint([0x80])?.description == "v: truncated varint")
        let text = ByteReader.read([0xC3, 0x28]) { r -> ByteCodecError? in
            do throws(ByteCodecError) { _ = try r.utf8(2); return nil } catch { return error }
        }
        #expect(text?.code == .malformed)
        let negative = ByteReader.read([1, 2]) { r -> ByteCodecError? in
            do throws(ByteCodecError) { _ = try r.bytes(-1); return nil } catch { return error }
        }
        #expect(negative?.code == .truncated)
    }
}
