#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import NIOCore

/// Reads byte ranges of a file straight into `ByteBuffer`s with `pread`, so an
/// upload holds only the parts in flight in memory (no mapping of whole files).
public struct FileBytes: ~Copyable {
    /// Why a read failed.
    public struct ReadError: Error, CustomStringConvertible {
        let path: String
        let reason: String
        public var description: String { "\(path): \(reason)" }
        public init(path: String, reason: String) {
            self.path = path
            self.reason = reason
        }
    }

    public let path: String
    public let size: Int
    /// What the file was when it was opened: a read is only trusted while the path still names this.
    let identity: Identity
    private let fd: Int32

    /// Device, inode, size and modification time (ns): any write, append, truncation or
    /// replacement (a new file renamed over the path) changes one of them.
    struct Identity: Equatable, Sendable, CustomStringConvertible {
        let device: UInt64, inode: UInt64, size: Int, mtimeNs: Int

        init(_ st: stat) {
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
            size = Int(st.st_size)
            mtimeNs = Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec)
        }

        /// What the path names now, or nil when it names nothing.
        static func of(_ path: String) -> Identity? {
            var st = stat()
            return stat(path, &st) == 0 ? Identity(st) : nil
        }

        var description: String { "\(size) bytes, modified at \(mtimeNs / 1_000_000_000).\(String(format: "%09d", mtimeNs % 1_000_000_000)), inode \(inode)" }
    }

    /// Why an upload was abandoned: the file is not what it was when its upload began.
    public struct ChangedError: Error, CustomStringConvertible {
        let path: String
        let before: Identity
        let now: Identity?
        public var description: String {
            "\(path) changed while it was being uploaded (was \(before); now \(now.map { "\($0)" } ?? "gone")); not stored — upload it again once it is complete"
        }
    }

    /// Throws ``ChangedError`` unless the path still names the file as it was opened.
    public func checkUnchanged() throws(ChangedError) {
        let now = Identity.of(path)
        guard now == identity else { throw ChangedError(path: path, before: identity, now: now) }
    }

    /// Opens `path` for reading.
    public init(path: String) throws(ReadError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ReadError(path: path, reason: String(cString: strerror(errno))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ReadError(path: path, reason: reason)
        }
        self.fd = fd
        self.size = Int(st.st_size)
        identity = Identity(st)
    }

    deinit { close(fd) }

    /// `count` bytes from `offset`; a file that got shorter since it was opened is an error.
    public func read(offset: Int, count: Int) throws(ReadError) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: count)
        var done = 0
        while done < count {
            let n = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: count - done) { out in
                pread(fd, out.baseAddress, count - done, off_t(offset + done))
            }
            if n < 0 {
                if errno == EINTR { continue }
                throw ReadError(path: path, reason: String(cString: strerror(errno)))
            }
            if n == 0 { throw ReadError(path: path, reason: "the file got shorter while it was being uploaded") }
            done += n
        }
        return buffer
    }
}
