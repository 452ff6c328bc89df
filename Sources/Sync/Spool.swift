#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DICOMCore
import Foundation

/// Where `receive` keeps what it has acknowledged: each instance written durably as a
/// Part 10 file (a temporary file, `fsync`, `rename`, `fsync` of the folder) and recorded
/// in the ledger before the C-STORE response says success. The sync engine then delivers
/// the folder exactly once; a restart finds whatever the spool still holds.
public struct Spool: Sendable {
    /// The spool folder (inside the state directory by default).
    public let directory: String
    /// The ledger the received files are recorded in.
    public let ledger: Ledger

    /// Why an instance could not be kept: nothing was acknowledged (the caller answers A700).
    public struct KeepError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// Opens (creates) the spool folder.
    /// - Throws: `KeepError` when the folder cannot be created.
    public init(directory: String, ledger: Ledger) throws {
        self.directory = directory
        self.ledger = ledger
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw KeepError(description: "cannot create the spool \(directory): \(error.localizedDescription)")
        }
    }

    /// A file name for a SOP Instance UID: the UID itself when it is a valid one (the
    /// validator's rule: digits and dots, at most 64 characters), else a hash of it, so no
    /// received value can name a path.
    static func fileName(sopInstanceUID uid: String) -> String {
        if !uid.isEmpty, Validator.uidProblem(uid) == nil { return uid + ".dcm" }
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in uid.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return "instance-" + String(h, radix: 16) + ".dcm"
    }

    /// Writes `part10` durably as the instance's file and records it in the ledger (`seen`).
    /// Only when this returns may the sender be told success.
    /// - Returns: the file's path.
    /// - Throws: `KeepError` for a write, `fsync` or rename that failed (a full disk), or a
    ///   ledger that cannot record it; the partial file is removed.
    public func keep(_ part10: [UInt8], sopInstanceUID: String) throws -> String {
        var name = Self.fileName(sopInstanceUID: sopInstanceUID)
        // The same instance sent again while the first copy waits: kept beside it, never over it.
        if FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(name)) {
            name = (name as NSString).deletingPathExtension + "-" + UUID().uuidString.prefix(8).lowercased() + ".dcm"
        }
        let path = (directory as NSString).appendingPathComponent(name)
        let temporary = (directory as NSString).appendingPathComponent(".incoming-\(UUID().uuidString)")
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw KeepError(description: "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        var failure: String?
        if let error = part10.withUnsafeBytes({ writeAll(fd, $0) }) {
            failure = "writing \(temporary): \(String(cString: strerror(error)))"
        }
        if failure == nil, fsync(fd) != 0 { failure = "fsync of \(temporary): \(String(cString: strerror(errno)))" }
        close(fd)
        if failure == nil, rename(temporary, path) != 0 { failure = "renaming to \(path): \(String(cString: strerror(errno)))" }
        if let failure {
            unlink(temporary)
            throw KeepError(description: failure)
        }
        let dir = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 {
            let synced = fsync(dir)
            close(dir)
            guard synced == 0 else { throw KeepError(description: "fsync of the spool \(directory): \(String(cString: strerror(errno)))") }
        }
        guard let st = SyncEngine.fileStat(path) else { throw KeepError(description: "\(path) vanished after it was written") }
        do {
            _ = try ledger.transaction { t in
                try SyncEngine.record(path: path, relativePath: name, size: st.size, mtimeNs: st.mtimeNs,
                                      now: Date().timeIntervalSince1970, in: t)
            }
        } catch {
            // Not recorded: not acknowledged, and not delivered behind the sender's back either.
            unlink(path)
            throw KeepError(description: "the ledger cannot record \(name): \(error)")
        }
        return path
    }
}
