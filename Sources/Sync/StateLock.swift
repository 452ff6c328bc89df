#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// An exclusive `flock` on `<state-dir>/lock`, held for a whole run, so two
/// overlapping cron runs never work on the same ledger. The kernel drops it when
/// the process dies, however it dies.
public final class StateLock: Sendable {
    private let fd: Int32
    /// The lock file.
    public let path: String

    /// Why the lock was not taken.
    public enum Failure: Error, CustomStringConvertible {
        /// Another process holds it (its pid, if it wrote one).
        case held(path: String, pid: String?, waited: Double)
        /// The lock file could not be opened.
        case cannotOpen(path: String, reason: String)

        public var description: String {
            switch self {
            case .held(let path, let pid, let waited):
                return "another run holds \(path)\(pid.map { " (pid \($0))" } ?? "") — waited \(Int(waited)) s"
            case .cannotOpen(let path, let reason): return "\(path): \(reason)"
            }
        }
    }

    /// Takes the lock, trying for up to `timeout` seconds.
    public init(directory: String, timeout: Double) async throws(Failure) {
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        path = (directory as NSString).appendingPathComponent("lock")
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        let start = Date()
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            let waited = Date().timeIntervalSince(start)
            if waited >= timeout {
                var buffer = [UInt8](repeating: 0, count: 32)
                let n = pread(fd, &buffer, buffer.count, 0)
                close(fd)
                let pid = n > 0 ? String(decoding: buffer.prefix(n), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines) : nil
                throw .held(path: path, pid: pid, waited: waited)
            }
            try? await Task.sleep(nanoseconds: 200_000_000)
        }
        let pid = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = pwrite(fd, pid, pid.count, 0)
        self.fd = fd
    }

    deinit {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
