import CChecksum
import CZlib

/// CRC-32 (ISO-HDLC, the IEEE polynomial, as zlib, gzip, PNG and S3's
/// `x-amz-checksum-crc32` compute it), through zlib.
public struct CRC32: Sendable, Hashable {
    /// The running value.
    public private(set) var value: UInt32 = 0

    /// A fresh checksum (value 0).
    public init() {}

    /// Extends the checksum over `bytes`.
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
    public static func of(_ bytes: UnsafeRawBufferPointer) -> CRC32 {
        var c = CRC32()
        c.update(bytes)
        return c
    }

    /// The checksum of `bytes`.
    public static func of(_ bytes: [UInt8]) -> CRC32 { bytes.withUnsafeBytes { of($0) } }

    /// The 4 bytes of `value`, most significant first (as PNG and S3 carry it).
    public var bigEndianBytes: [UInt8] { bigEndian(value) }

    /// Base64 of the big-endian bytes (8 characters), as the `x-amz-checksum-crc32` header carries it.
    public var base64: String { Base64.encode(bigEndianBytes) }
}

/// CRC-32C (Castagnoli, CRC-32/ISCSI), as S3 verifies in `x-amz-checksum-crc32c`:
/// computed with the CPU's CRC32 instruction where there is one (SSE4.2, ARMv8 CRC),
/// a slice-by-8 table otherwise.
public struct CRC32C: Sendable, Hashable {
    /// The running value.
    public private(set) var value: UInt32 = 0

    /// A fresh checksum (value 0).
    public init() {}

    /// True when this CPU computes it in hardware.
    public static var isHardwareAccelerated: Bool { ahi_crc32c_hardware() != 0 }

    /// Extends the checksum over `bytes`.
    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress else { return }
        value = ahi_crc32c(value, base, bytes.count)
    }

    /// The checksum of `bytes`.
    public static func of(_ bytes: UnsafeRawBufferPointer) -> CRC32C {
        var c = CRC32C()
        c.update(bytes)
        return c
    }

    /// The checksum of `bytes`.
    public static func of(_ bytes: [UInt8]) -> CRC32C { bytes.withUnsafeBytes { of($0) } }

    /// The checksum with the portable table code only (to check the hardware path against).
    public static func portable(_ bytes: [UInt8]) -> UInt32 {
        bytes.withUnsafeBytes { b in b.baseAddress.map { ahi_crc32c_portable(0, $0, b.count) } ?? 0 }
    }

    /// The 4 bytes of `value`, most significant first.
    public var bigEndianBytes: [UInt8] { bigEndian(value) }

    /// Base64 of the big-endian bytes (8 characters), as the `x-amz-checksum-crc32c` header carries it.
    public var base64: String { Base64.encode(bigEndianBytes) }
}

private func bigEndian(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
}
