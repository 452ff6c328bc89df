#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Immutable bytes that parsed data sets point into: a memory-mapped file or
/// an owned heap copy. Element values are byte ranges of this storage, so
/// parsing never copies a value.
public final class ByteStorage: @unchecked Sendable {
    // @unchecked: the bytes are never written after init, and the pointer is
    // released only in deinit, when no data set can still refer to it.
    /// Start of the bytes (nil only when `count == 0`).
    public let base: UnsafeRawPointer?
    /// Number of bytes.
    public let count: Int
    private let isMapped: Bool

    /// Maps the file at `path` read-only. Costs one `open`, `fstat`, `mmap`;
    /// pages are read only when touched.
    public init(mappingFileAt path: String) throws(DICOMError) {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, reason: String(cString: strerror(errno))) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw .io(path: path, reason: String(cString: strerror(errno)))
        }
        if (st.st_mode & S_IFMT) == S_IFDIR { throw .io(path: path, reason: "is a directory") }
        let size = Int(st.st_size)
        count = size
        if size == 0 {
            base = nil
            isMapped = false
            return
        }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw .io(path: path, reason: String(cString: strerror(errno)))
        }
        base = UnsafeRawPointer(p)
        isMapped = true
    }

    /// Copies `bytes` into storage owned by this object.
    public init<C: Collection>(copying bytes: C) where C.Element == UInt8 {
        count = bytes.count
        isMapped = false
        if count == 0 { base = nil; return }
        let p = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 16)
        UnsafeMutableRawBufferPointer(start: p, count: count).copyBytes(from: bytes)
        base = UnsafeRawPointer(p)
    }

    /// Takes ownership of `pointer`, which must come from `UnsafeMutableRawPointer.allocate`.
    init(adopting pointer: UnsafeMutableRawPointer, count: Int) {
        base = UnsafeRawPointer(pointer)
        self.count = count
        isMapped = false
    }

    deinit {
        guard let base else { return }
        if isMapped {
            munmap(UnsafeMutableRawPointer(mutating: base), count)
        } else {
            UnsafeMutableRawPointer(mutating: base).deallocate()
        }
    }

    /// All bytes.
    public var buffer: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }

    /// The bytes of `range`, clamped to the storage (never reads past the end).
    public func bytes(_ range: ByteRange) -> UnsafeRawBufferPointer {
        let start = min(max(range.offset, 0), count)
        let end = min(max(range.offset + range.count, start), count)
        guard let base else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(start: base + start, count: end - start)
    }

    /// A copy of the bytes of `range` (clamped).
    public func copyBytes(_ range: ByteRange) -> [UInt8] { Array(bytes(range)) }
}

/// A range of bytes in a `ByteStorage`: where a value, fragment or frame lies.
public struct ByteRange: Hashable, Sendable, CustomStringConvertible {
    /// Offset of the first byte.
    public var offset: Int
    /// Number of bytes.
    public var count: Int
    /// Creates a range.
    public init(offset: Int, count: Int) { self.offset = offset; self.count = count }
    /// Offset one past the last byte.
    public var end: Int { offset + count }
    /// `offset+count`.
    public var description: String { "\(offset)+\(count)" }
}
