import ByteCoding
import NIOCore

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
