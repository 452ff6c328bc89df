import Foundation
import Testing
@testable import Uploader

/// The published check values (CRC catalogue: CRC-32/ISCSI and CRC-32/ISO-HDLC of "123456789").
@Test func checksumCheckValues() {
    let digits = Array("123456789".utf8)
    #expect(CRC32C.of(digits).value == 0xE306_9283)
    #expect(CRC32.of(digits).value == 0xCBF4_3926)
    #expect(CRC32C.portable(digits) == 0xE306_9283)
    #expect(CRC32C.of([]).value == 0)
    // RFC 3720 B.4: 32 bytes of zeros, of 0xFF, and ascending 0…31.
    #expect(CRC32C.of([UInt8](repeating: 0, count: 32)).value == 0x8A91_36AA)
    #expect(CRC32C.of([UInt8](repeating: 0xFF, count: 32)).value == 0x62A8_AB43)
    #expect(CRC32C.of((0..<32).map { UInt8($0) }).value == 0x46DD_794E)
}

/// The hardware path equals the portable table at every length and alignment,
/// and feeding the bytes in pieces gives the same value as all at once.
@Test func crc32cHardwareMatchesPortable() {
    let bytes = testBytes(5_000, seed: 11)
    print("CRC-32C hardware-accelerated: \(CRC32C.isHardwareAccelerated)")
    for start in 0..<9 {
        for length in [0, 1, 7, 8, 9, 31, 32, 33, 100, 1_000, 4_000] {
            let slice = Array(bytes[start..<(start + length)])
            #expect(CRC32C.of(slice).value == CRC32C.portable(slice), "start \(start) length \(length)")
        }
    }
    var pieces = CRC32C()
    bytes.withUnsafeBytes { all in
        var offset = 0
        for size in [1, 13, 64, 999, 2_000] {
            pieces.update(UnsafeRawBufferPointer(rebasing: all[offset..<(offset + size)]))
            offset += size
        }
        pieces.update(UnsafeRawBufferPointer(rebasing: all[offset...]))
    }
    #expect(pieces == CRC32C.of(bytes))
    #expect(ChecksumAlgorithm.crc32c.checksum([0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39]) == "4waSgw==")
}
