import ByteCoding
import TestSupport
import Testing

/// RFC 4648 §10's vectors, both ways.
@Test func base64Vectors() {
    let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
    for (plain, encoded) in vectors {
        #expect(Base64.encode(plain.utf8) == encoded)
        #expect(Base64.decode(encoded) == Array(plain.utf8), "\(encoded)")
    }
    let all = (0...255).map { UInt8($0) }
    #expect(Base64.decode(Base64.encode(all)) == all)
    var appended = "x"
    all.withUnsafeBytes { Base64.encode($0, into: &appended) }
    #expect(appended == "x" + Base64.encode(all))
}

/// Text that is not base64 decodes to nil, never to something.
@Test func base64RejectsMalformedText() {
    for bad in ["Zg", "Zg=", "Z===", "Zg=a", "Zg==Zg==", "Zm9v YmFy", "Zm9v\nYmFy", "Zm9-", "====", "Zé=="] {
        #expect(Base64.decode(bad) == nil, "\(bad)")
    }
}

/// Hex both ways, either case; odd lengths and non-digits are rejected.
@Test func hexEncodingAndDecoding() {
    #expect(Hex.encode([0x00, 0x1F, 0xA0, 0xFF]) == "001fa0ff")
    #expect(Hex.encode([0x00, 0x1F, 0xA0, 0xFF], uppercase: true) == "001FA0FF")
    #expect(Hex.encode([UInt8]()) == "")
    #expect(Hex.decode("001fA0Ff") == [0x00, 0x1F, 0xA0, 0xFF])
    #expect(Hex.decode("") == [])
    for bad in ["0", "0g", "0x00", " 00", "é0"] { #expect(Hex.decode(bad) == nil, "\(bad)") }
    #expect(Hex.value(ofDigit: UInt8(ascii: "F")) == 15)
    #expect(Hex.value(ofDigit: UInt8(ascii: "G")) == nil)
    var out: [UInt8] = []
    Hex.append(0xAB, uppercase: true, to: &out)
    #expect(out == Array("AB".utf8))
}

/// The published check values (CRC catalogue: CRC-32/ISCSI and CRC-32/ISO-HDLC of "123456789").
@Test func checksumCheckValues() {
    let digits = Array("123456789".utf8)
    #expect(CRC32C.of(digits).value == 0xE306_9283)
    #expect(CRC32.of(digits).value == 0xCBF4_3926)
    #expect(CRC32C.portable(digits) == 0xE306_9283)
    #expect(CRC32C.of([]).value == 0)
    #expect(CRC32.of(digits).bigEndianBytes == [0xCB, 0xF4, 0x39, 0x26])
    #expect(CRC32C.of(digits).base64 == "4waSgw==")
    #expect(CRC32.of(digits).base64 == "y/Q5Jg==")
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
    var pieces = CRC32C(), pieces32 = CRC32()
    bytes.withUnsafeBytes { all in
        var offset = 0
        for size in [1, 13, 64, 999, 2_000] {
            let piece = UnsafeRawBufferPointer(rebasing: all[offset..<(offset + size)])
            pieces.update(piece)
            pieces32.update(piece)
            offset += size
        }
        pieces.update(UnsafeRawBufferPointer(rebasing: all[offset...]))
        pieces32.update(UnsafeRawBufferPointer(rebasing: all[offset...]))
    }
    #expect(pieces == CRC32C.of(bytes))
    #expect(pieces32 == CRC32.of(bytes))
}

/// Streams written by Python's zlib and gzip modules inflate; ours round-trip in every format.
@Test func zlibFormats() throws {
    let plain = Array("hello, hello, hello DICOM".utf8)
    let python: [(Zlib.Format, String)] = [
        (.zlib, "789ccb48cdc9c9d751c840a2145c3c9dfd7d0172120861"),
        (.raw, "cb48cdc9c9d751c840a2145c3c9dfd7d01"),
        (.gzip, "1f8b0800000000000203cb48cdc9c9d751c840a2145c3c9dfd7d018837074719000000"),
    ]
    for (format, hex) in python {
        let stream = try #require(Hex.decode(hex))
        #expect(try Zlib.inflate(stream, format: format, limit: 1_000) == plain, "\(format)")
    }
    // Inflating as gzip accepts a zlib stream too; a raw stream is recognisable by its missing header.
    #expect(try Zlib.inflate(try #require(Hex.decode(python[0].1)), format: .gzip, limit: 1_000) == plain)
    #expect(try #require(Hex.decode(python[0].1)).withUnsafeBytes { Zlib.startsWithZlibHeader($0) })
    #expect(try !#require(Hex.decode(python[1].1)).withUnsafeBytes { Zlib.startsWithZlibHeader($0) })

    let big = testBytes(300_000, seed: 3) + [UInt8](repeating: 7, count: 500_000)
    for format in [Zlib.Format.raw, .zlib, .gzip] {
        let packed = Zlib.deflate(big, format: format)
        #expect(packed.count < big.count)
        #expect(try Zlib.inflate(packed, format: format, limit: big.count) == big, "\(format)")
        #expect(try Zlib.inflate(Zlib.deflate([], format: format), format: format, limit: 0) == [])
    }
    #expect(Zlib.deflate(plain, format: .gzip).prefix(2) == [0x1F, 0x8B])
}

/// A stream cut short, a damaged one and one larger than the limit: each its own error.
@Test func zlibInflateFailures() {
    let packed = Zlib.deflate([UInt8](repeating: 1, count: 100_000) + testBytes(1_000, seed: 5), format: .raw)
    #expect(throws: Zlib.InflateError.self) { try Zlib.inflate(Array(packed.dropLast(10)), format: .raw, limit: 1 << 20) }
    do {
        _ = try Zlib.inflate(Array(packed.dropLast(10)), format: .raw, limit: 1 << 20)
    } catch {
        guard case .truncated(let offset) = error else { Issue.record("\(error)"); return }
        #expect(offset == packed.count - 10)
        #expect("\(error)".contains("ends before its final block"))
    }
    do {
        _ = try Zlib.inflate(packed, format: .raw, limit: 50_000)
        Issue.record("limit not enforced")
    } catch {
        #expect(error == .tooLarge(limit: 50_000))
        #expect("\(error)".contains("50000-byte limit"))
    }
    do {
        _ = try Zlib.inflate([0x1F, 0x8B, 0x08, 0x00, 0xFF, 0xFF, 0xFF, 0xFF], format: .zlib, limit: 1_000)
        Issue.record("garbage inflated")
    } catch {
        guard case .corrupt = error else { Issue.record("\(error)"); return }
        #expect("\(error)".hasPrefix("corrupt stream: "))
    }
}
