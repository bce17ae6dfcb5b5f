import Foundation
public import Logging

/// A folder of data derived from the log (`index/`, `projections/`). One that fails to open
/// (damaged files) is deleted and made again: the log rebuilds what it held. The caller holds the
/// lock that keeps every other process out of the folder meanwhile (the writer lock for `index/`,
/// `projections.lock` for `projections/`); a folder other processes read without such a lock
/// (`merkle/`) is named in the error instead.
public enum DerivedFolder {
    /// `make()`, or, when it throws, `make()` again on a fresh folder at `path`. A second failure
    /// is `LedgerError.damaged` naming the folder and both errors.
    public static func open<T>(_ path: String, logger: Logger? = nil, _ make: () throws -> T) throws -> T {
        do {
            return try make()
        } catch {
            logger?.info("\(path) failed to open; rebuilding it from the log", metadata: ["error": "\(error)"])
            do {
                try FileManager.default.removeItem(atPath: path)
                return try make()
            } catch let second {
                throw LedgerError.damaged(path: path, reason: "\(error) (then \(second)); delete it, it is rebuilt from the log")
            }
        }
    }
}
