#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import NIOCore

/// Reads byte ranges of a file straight into `ByteBuffer`s with `pread`, so an
/// upload holds only the parts in flight in memory (no mapping of whole files).
struct FileBytes: ~Copyable {
    /// Why a read failed.
    struct ReadError: Error, CustomStringConvertible {
        let path: String
        let reason: String
        var description: String { "\(path): \(reason)" }
    }

    let path: String
    let size: Int
    private let fd: Int32

    /// Opens `path` for reading.
    init(path: String) throws(ReadError) {
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
    }

    deinit { close(fd) }

    /// `count` bytes from `offset`; a file that got shorter since it was opened is an error.
    func read(offset: Int, count: Int) throws(ReadError) -> ByteBuffer {
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
