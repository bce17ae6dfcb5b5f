import Foundation
import Histogram
import Synchronization

/// Where the time goes, without a profiler: per-thread CPU and run-queue wait from
/// /proc/self/task/*/schedstat, grouped by thread name; the process's storage I/O from
/// /proc/self/io; file sizes; the disk's fdatasync latency.
enum Probe {
    static func firstLine(_ path: String) -> String? {
        (try? String(contentsOfFile: path, encoding: .utf8))?
            .split(separator: "\n", omittingEmptySubsequences: false).first.map(String.init)
    }

    static func cpuModel() -> String {
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return "?" }
        for line in text.split(separator: "\n") where line.hasPrefix("model name") {
            return line.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "?"
        }
        return "?"
    }

    /// "ext4 on /dev/vda" for the filesystem holding `path` (longest mount-point prefix).
    static func filesystem(of path: String) -> String {
        guard let text = try? String(contentsOfFile: "/proc/self/mounts", encoding: .utf8) else { return "?" }
        let real = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        var best = ("", "?")
        for line in text.split(separator: "\n") {
            let f = line.split(separator: " ")
            guard f.count >= 3 else { continue }
            let mount = String(f[1])
            if (real == mount || real.hasPrefix(mount == "/" ? "/" : mount + "/")) && mount.count >= best.0.count {
                best = (mount, "\(f[2]) on \(f[0]) (\(mount))")
            }
        }
        return best.1
    }

    // MARK: Threads

    /// Thread ids of the ledger's own threads, by role. Foundation's `Thread.name` does not reach
    /// the kernel on Linux (every thread's comm is the process's or dispatch's), so the roles are
    /// learnt from the threads `EventLog.open` starts: the index flusher, the chain hasher, then
    /// the writer.
    static let roles = Mutex<[Int: String]>([:])

    static func learnLedgerThreads(_ new: Set<Int>) {
        let sorted = new.sorted()
        roles.withLock { r in
            r = [:]
            if sorted.count >= 3 {
                r[sorted[sorted.count - 3]] = "flusher"
                r[sorted[sorted.count - 2]] = "hasher"
                r[sorted[sorted.count - 1]] = "writer"
            }
        }
    }

    struct ThreadTimes {
        var name: String
        var runNanos: UInt64
        var waitNanos: UInt64
    }

    /// CPU time and run-queue wait of every thread of this process, by thread id.
    static func threads() -> [Int: ThreadTimes] {
        var out: [Int: ThreadTimes] = [:]
        guard let tids = try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/task") else { return out }
        for tid in tids {
            guard let id = Int(tid),
                  let name = firstLine("/proc/self/task/\(tid)/comm"),
                  let sched = firstLine("/proc/self/task/\(tid)/schedstat") else { continue }
            let f = sched.split(separator: " ").compactMap { UInt64($0) }
            guard f.count >= 2 else { continue }
            out[id] = ThreadTimes(name: name, runNanos: f[0], waitNanos: f[1])
        }
        return out
    }

    /// Busy jiffies of the whole machine (user+nice+system+irq+softirq+steal, /proc/stat) and of
    /// this process (utime+stime, /proc/self/stat): their difference is what other processes took.
    static func busyJiffies() -> (machine: UInt64, own: UInt64) {
        var machine: UInt64 = 0, own: UInt64 = 0
        if let line = firstLine("/proc/stat") {
            let f = line.split(separator: " ").dropFirst().compactMap { UInt64($0) }
            if f.count >= 8 { machine = f[0] + f[1] + f[2] + f[5] + f[6] + f[7] }
        }
        if let line = firstLine("/proc/self/stat"), let close = line.lastIndex(of: ")") {
            let f = line[line.index(after: close)...].split(separator: " ")
            if f.count > 13, let u = UInt64(f[11]), let s = UInt64(f[12]) { own = u + s }
        }
        return (machine, own)
    }

    static let ticksPerSecond = Double(sysconf(Int32(_SC_CLK_TCK)))

    /// The process's counters from /proc/self/io.
    static func io() -> [String: UInt64] {
        guard let text = try? String(contentsOfFile: "/proc/self/io", encoding: .utf8) else { return [:] }
        var out: [String: UInt64] = [:]
        for line in text.split(separator: "\n") {
            let f = line.split(separator: ":")
            if f.count == 2, let v = UInt64(f[1].trimmingCharacters(in: .whitespaces)) { out[String(f[0])] = v }
        }
        return out
    }

    // MARK: Files

    struct FileSize {
        var apparent: Int
        var allocated: Int
    }

    /// Every regular file under `path`, relative name -> apparent size and allocated bytes.
    static func files(under path: String) -> [String: FileSize] {
        var out: [String: FileSize] = [:]
        guard let walker = FileManager.default.enumerator(atPath: path) else { return out }
        while let name = walker.nextObject() as? String {
            var st = stat()
            guard stat(path + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
            out[name] = FileSize(apparent: Int(st.st_size), allocated: Int(st.st_blocks) * 512)
        }
        return out
    }

    // MARK: Disk

    /// fdatasync latency of this disk: `count` times, write 4 KiB at the end of a file in `dir`
    /// and fdatasync it (what one LMDB commit does twice: data pages, then the meta page).
    static func fdatasyncLatency(dir: String, count: Int) -> Histogram<UInt64> {
        var h = newHistogram()
        let path = dir + "/fsync-probe-\(getpid())"
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
        guard fd >= 0 else { return h }
        defer { close(fd); unlink(path) }
        let block = [UInt8](repeating: 0xA5, count: 4_096)
        for i in 0..<count {
            let t0 = monotonicNanos()
            _ = block.withUnsafeBytes { pwrite(fd, $0.baseAddress, 4_096, off_t(i * 4_096)) }
            _ = fdatasync(fd)
            _ = h.record(UInt64(max(1, (monotonicNanos() - t0) / 1_000)))
        }
        return h
    }
}

/// CPU use of the process's threads between two samples, grouped: the ledger's writer thread,
/// its chain hasher, its index flusher, and everything else (the Swift cooperative pool running the appenders, main).
struct CPUBreakdown {
    var wallNanos: Int64
    var groups: [(String, run: UInt64, wait: UInt64)]
    var io: [String: UInt64]
    /// CPU of other processes on the machine over the window, in jiffies (noise indicator).
    var otherJiffies: UInt64

    static func group(_ tid: Int) -> String {
        Probe.roles.withLock { $0[tid] } ?? "others"
    }

    struct Sample {
        var at = monotonicNanos()
        var threads = Probe.threads()
        var io = Probe.io()
        var jiffies = Probe.busyJiffies()
    }

    init(from a: Sample, to b: Sample) {
        wallNanos = b.at - a.at
        var sums: [String: (UInt64, UInt64)] = ["writer": (0, 0), "hasher": (0, 0), "flusher": (0, 0), "others": (0, 0)]
        for (tid, t) in b.threads {
            let before = a.threads[tid]
            let run = t.runNanos &- (before?.runNanos ?? 0)
            let wait = t.waitNanos &- (before?.waitNanos ?? 0)
            let g = Self.group(tid)
            sums[g] = (sums[g]!.0 + run, sums[g]!.1 + wait)
        }
        groups = ["writer", "hasher", "flusher", "others"].map { ($0, sums[$0]!.0, sums[$0]!.1) }
        let machine = b.jiffies.machine &- a.jiffies.machine, own = b.jiffies.own &- a.jiffies.own
        otherJiffies = machine > own ? machine - own : 0
        io = [:]
        for (k, v) in b.io { io[k] = v &- (a.io[k] ?? 0) }
    }

    /// Figures: CPU of each group as % of one core over the wall time, its run-queue wait, and
    /// bytes written to storage.
    func figures(perEvents events: Int? = nil) -> [(String, Double, String)] {
        let wall = Double(max(1, wallNanos))
        var out: [(String, Double, String)] = []
        for (name, run, wait) in groups {
            out.append(("cpu\(name.capitalized)Percent", (Double(run) / wall * 1000).rounded() / 10, "% of a core"))
            out.append(("runQueueWait\(name.capitalized)Percent", (Double(wait) / wall * 1000).rounded() / 10, "% of wall"))
        }
        let total = groups.reduce(0) { $0 + $1.run }
        out.append(("cpuTotalPercent", (Double(total) / wall * 1000).rounded() / 10, "% of a core"))
        out.append(("otherProcessesCpuPercent", (Double(otherJiffies) / Probe.ticksPerSecond * 1e9 / wall * 1000).rounded() / 10, "% of a core"))
        if let w = io["write_bytes"] { out.append(("diskWriteMiB", (Double(w) / 1_048_576 * 10).rounded() / 10, "MiB")) }
        return out
    }
}
