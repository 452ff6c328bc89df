import Testing
@testable import Uploader

/// The header value S3 expects: base64 of the big-endian CRC (CRC-32C of "123456789" is 0xE3069283).
@Test func checksumAlgorithmHeaderValues() {
    let digits = Array("123456789".utf8)
    #expect(ChecksumAlgorithm.crc32c.checksum(digits) == "4waSgw==")
    #expect(ChecksumAlgorithm.crc32.checksum(digits) == "y/Q5Jg==")
    #expect(ChecksumAlgorithm.crc32c.header == "x-amz-checksum-crc32c")
    #expect(ChecksumAlgorithm.crc32.xmlElement == "ChecksumCRC32")
}
