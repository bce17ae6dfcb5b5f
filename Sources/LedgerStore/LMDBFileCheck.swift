#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks an LMDB data file's two meta pages before LMDB maps it.
///
/// LMDB trusts its file: a `data.mdb` shorter than the pages its meta page names is mapped anyway,
/// and the first read past the end of the file is a SIGBUS; a damaged meta page (page size, root
/// page, last page) sends it reading wild addresses. This check reads the two meta pages with
/// `pread` (no mapping) and refuses the file, naming what is wrong, unless both are well formed
/// and every page they name lies inside the file. What it cannot see: a damaged branch, leaf or
/// overflow page (LMDB 0.9 follows page numbers without bounds checks, see
/// schemas/ledger-format.md, "Damaged files").
///
/// Layout (LMDB 0.9, 64-bit, `mdb.c`): a page header of 16 bytes (`mp_pgno` u64, `mp_pad` u16,
/// `mp_flags` u16, `mp_lower` u16, `mp_upper` u16), then `MDB_meta`: `mm_magic` u32,
/// `mm_version` u32, `mm_address` u64, `mm_mapsize` u64, two `MDB_db` of 48 bytes (free-page DB
/// first, whose `md_pad` is the page size; `md_root` at offset 40 within each), `mm_last_pg` u64,
/// `mm_txnid` u64. Integers in host order (little-endian on every platform this builds for).
enum LMDBFileCheck {
    static let magic: UInt32 = 0xBEEF_C0DE
    static let dataVersion: UInt32 = 1
    static let pageFlagMeta: UInt16 = 0x08
    static let pageSizeMinBytes = 512
    static let pageSizeMaxBytes = 65_536
    /// The bytes of a meta page read: the page header and `MDB_meta` through `mm_txnid`.
    static let metaBytes = 152
    /// `P_INVALID`: the root of an empty database.
    static let invalidPage = UInt64.max

    /// What the check uses of a meta page.
    struct Meta {
        var pageSizeBytes: Int
        var lastPage: UInt64
        var roots: [UInt64]
        var depths: [UInt16]
    }

    /// Throws `LedgerError.damaged` naming `dataFile` and the first problem found.
    static func validate(dataFile: String) throws(LedgerError) {
        let fd = open(dataFile, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LedgerError.io(operation: "open(\(dataFile))", errno: errno) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw LedgerError.io(operation: "fstat(\(dataFile))", errno: errno) }
        let fileBytes = UInt64(max(0, Int64(st.st_size)))
        func damaged(_ reason: String) -> LedgerError { .damaged(path: dataFile, reason: reason) }
        guard fileBytes >= UInt64(metaBytes) else { throw damaged("\(fileBytes) bytes, too short for an LMDB meta page") }
        let first = try readMeta(fd: fd, offset: 0, page: 0, path: dataFile)
        guard fileBytes >= UInt64(first.pageSizeBytes) * 2 else {
            throw damaged("\(fileBytes) bytes, shorter than its two meta pages of \(first.pageSizeBytes) bytes")
        }
        let second = try readMeta(fd: fd, offset: first.pageSizeBytes, page: 1, path: dataFile)
        guard second.pageSizeBytes == first.pageSizeBytes else {
            throw damaged("meta pages disagree on the page size (\(first.pageSizeBytes), \(second.pageSizeBytes))")
        }
        for (index, meta) in [first, second].enumerated() {
            let (pages, overflow) = meta.lastPage.addingReportingOverflow(1)
            let (needed, overflow2) = pages.multipliedReportingOverflow(by: UInt64(meta.pageSizeBytes))
            guard !overflow, !overflow2, needed <= fileBytes else {
                throw damaged("meta page \(index) names \(meta.lastPage) as its last page, but the file holds \(fileBytes / UInt64(meta.pageSizeBytes)) pages (\(fileBytes) bytes): truncated or damaged")
            }
            for (db, root) in meta.roots.enumerated() where root != invalidPage {
                guard root >= 2, root <= meta.lastPage else {
                    throw damaged("meta page \(index): root page \(root) of database \(db) lies outside pages 2...\(meta.lastPage)")
                }
            }
            for (db, depth) in meta.depths.enumerated() where depth > 64 {
                throw damaged("meta page \(index): database \(db) claims a depth of \(depth)")
            }
        }
    }

    private static func readMeta(fd: Int32, offset: Int, page: UInt64, path: String) throws(LedgerError) -> Meta {
        var bytes = [UInt8](repeating: 0, count: metaBytes)
        let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, metaBytes, off_t(offset)) }
        guard n == metaBytes else {
            throw n < 0 ? LedgerError.io(operation: "pread(\(path))", errno: errno)
                : LedgerError.damaged(path: path, reason: "meta page \(page) is truncated")
        }
        func u16(_ at: Int) -> UInt16 { UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8 }
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[at + $1]) << (8 * UInt32($1)) } }
        func u64(_ at: Int) -> UInt64 { (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[at + $1]) << (8 * UInt64($1)) } }
        func damaged(_ reason: String) -> LedgerError { .damaged(path: path, reason: "meta page \(page): \(reason)") }
        guard u64(0) == page, u16(10) & pageFlagMeta != 0 else { throw damaged("not a meta page (page number \(u64(0)), flags \(u16(10)))") }
        guard u32(16) == magic else { throw damaged("bad magic \(u32(16)), not an LMDB file") }
        guard u32(20) == dataVersion else { throw damaged("LMDB data version \(u32(20)), this build reads \(dataVersion)") }
        let pageSize = Int(u32(40))
        guard pageSize >= pageSizeMinBytes, pageSize <= pageSizeMaxBytes, pageSize & (pageSize - 1) == 0 else {
            throw damaged("page size \(pageSize) is not a power of two in \(pageSizeMinBytes)...\(pageSizeMaxBytes)")
        }
        return Meta(pageSizeBytes: pageSize, lastPage: u64(136), roots: [u64(40 + 40), u64(88 + 40)], depths: [u16(46), u16(94)])
    }
}
