import CZlib
import DICOMCore

/// The CRC-32 (IEEE, as zlib computes it) that S3 verifies in `x-amz-checksum-crc32`.
public struct CRC32: Sendable, Hashable {
    /// The running value.
    public private(set) var value: UInt32 = 0

    /// A fresh checksum.
    public init() {}

    /// Adds bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        var rest = bytes[...]
        // zlib takes a 32-bit length.
        while !rest.isEmpty {
            let n = min(rest.count, 1 << 30)
            let chunk = UnsafeRawBufferPointer(rebasing: rest.prefix(n))
            value = UInt32(CZlib.crc32(UInt(value), chunk.baseAddress?.assumingMemoryBound(to: Bytef.self), uInt(n)))
            rest = rest.dropFirst(n)
        }
    }

    /// The checksum of `bytes`.
    public static func of(_ bytes: [UInt8]) -> CRC32 {
        var c = CRC32()
        bytes.withUnsafeBytes { c.update($0) }
        return c
    }

    /// Base64 of the big-endian bytes, as the `x-amz-checksum-crc32` header carries it.
    public var base64: String {
        let b = [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
        return Base64.encode(b)
    }
}
