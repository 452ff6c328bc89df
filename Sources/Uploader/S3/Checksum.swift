import CChecksum
import CZlib
import DICOMCore
import NIOCore

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
    public var base64: String { bigEndianBase64(value) }
}

/// The CRC-32C (Castagnoli) that S3 verifies in `x-amz-checksum-crc32c`, computed
/// with the CPU's CRC32 instruction where there is one (SSE4.2, ARMv8 CRC).
public struct CRC32C: Sendable, Hashable {
    /// The running value.
    public private(set) var value: UInt32 = 0

    /// A fresh checksum.
    public init() {}

    /// True when this CPU computes it in hardware.
    public static var isHardwareAccelerated: Bool { ahi_crc32c_hardware() != 0 }

    /// Adds bytes.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        value = ahi_crc32c(value, base, bytes.count)
    }

    /// The checksum of `bytes`.
    public static func of(_ bytes: [UInt8]) -> CRC32C {
        var c = CRC32C()
        bytes.withUnsafeBytes { c.update($0) }
        return c
    }

    /// The checksum with the portable table code only (to check the hardware path against).
    public static func portable(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { b in b.baseAddress.map { ahi_crc32c_portable(0, $0, b.count) } ?? 0 }
    }

    /// Base64 of the big-endian bytes, as the `x-amz-checksum-crc32c` header carries it.
    public var base64: String { bigEndianBase64(value) }
}

/// The checksum sent with every object and part, so that S3 verifies what it stored
/// (the AWS CLI's `--checksum-algorithm`).
public enum ChecksumAlgorithm: String, Sendable, CaseIterable {
    /// CRC-32 (IEEE).
    case crc32 = "CRC32"
    /// CRC-32C (Castagnoli), hardware-accelerated; the default.
    case crc32c = "CRC32C"

    /// The request header: `x-amz-checksum-crc32c`.
    public var header: String { "x-amz-checksum-" + rawValue.lowercased() }
    /// The element in CompleteMultipartUpload and ListParts: `ChecksumCRC32C`.
    public var xmlElement: String { "Checksum" + rawValue }

    /// The base64 checksum of `bytes`.
    public func checksum(_ bytes: UnsafeRawBufferPointer) -> String {
        switch self {
        case .crc32:
            var c = CRC32()
            c.update(bytes)
            return c.base64
        case .crc32c:
            var c = CRC32C()
            c.update(bytes)
            return c.base64
        }
    }

    /// The base64 checksum of `bytes`.
    public func checksum(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { checksum($0) } }

    /// The base64 checksum of a buffer's readable bytes.
    public func checksum(_ buffer: ByteBuffer) -> String { buffer.withUnsafeReadableBytes { checksum($0) } }
}

private func bigEndianBase64(_ value: UInt32) -> String {
    Base64.encode([UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
}
