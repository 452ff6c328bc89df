import ByteCoding
import DICOMCore
import Foundation
import HTJ2K
import TestSupport
import Testing

/// Every fixture frame pydicom can decode decodes to the same samples here (CRC-32 of the
/// little-endian interleaved samples), and re-encodes to lossless HTJ2K that decodes back bit-exactly.
@Test(.timeLimit(.minutes(2))) func frameDecoderAgreesWithPydicom() throws {
    let fixtures = packageRoot.appendingPathComponent("Fixtures")
    let (paths, _) = FileWalker.files(under: [fixtures.path])
    let dicom = paths.filter { $0.hasSuffix(".dcm") && !$0.contains("fuzz-regressions") }
    let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/decoded_crc.py").path] + dicom)
    #expect(r.status == 0, "\(r.err)")
    struct Line: Decodable { let path: String; let crcs: [UInt32]?; let bits: Int?; let error: String? }
    var compared = 0
    for line in r.out.split(separator: "\n") {
        let oracle = try JSONDecoder().decode(Line.self, from: Data(line.utf8))
        // 1-bit frames too (unpacked to one byte per sample, as pydicom does); the field cases have their own tests.
        guard let want = oracle.crcs, !oracle.path.contains("/realworld/") else { continue }
        let file = try DICOMFile.read(path: oracle.path)
        let frames = try file.frames()
        #expect(frames.count == want.count, "\(oracle.path)")
        for (frame, crc) in zip(frames, want) {
            let pixels = try FrameDecoder.decode(file, frame: frame)
            let got = pixels.bytes.withUnsafeBytes { CRC32.of($0).value }
            #expect(got == crc, "\(oracle.path) frame \(frame.index)")
            let back = try J2KDecoder.decode(try HTJ2KEncoder.encodeLossless(pixels))
                .widened(toBytesPerSample: pixels.bytesPerSample, signed: pixels.isSigned)
            #expect(back == pixels, "\(oracle.path) frame \(frame.index): HTJ2K round trip")
            compared += 1
        }
    }
    #expect(compared >= 30, "only \(compared) frames compared")
}

/// JPEG-LS (made by GDCM's `gdcmconv --jpegls`) decodes to the same samples as the native source, signed included.
@Test(.timeLimit(.minutes(2))) func jpegLSDecodesToTheNativeSource() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-jls-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    for name in ["ct_explicit_le.dcm", "multiframe_8frames.dcm"] {
        let source = packageRoot.appendingPathComponent("Fixtures/\(name)").path
        let out = dir.appendingPathComponent(name).path
        let r = try run("gdcmconv", ["--jpegls", source, out])
        #expect(r.status == 0, "\(r.err)")
        let converted = try DICOMFile.read(path: out)
        #expect(converted.transferSyntax.uid == "1.2.840.10008.1.2.4.80")
        let original = try DICOMFile.read(path: source)
        let a = try converted.frames(), b = try original.frames()
        #expect(a.count == b.count)
        for (x, y) in zip(a, b) {
            #expect(try FrameDecoder.decode(converted, frame: x) == FrameDecoder.decode(original, frame: y), "\(name) frame \(x.index)")
        }
    }
}

/// 12-jpegls-ba16-bs8.dcm (issue 13): an 8-bit JPEG-LS codestream in Bits Allocated 16 decodes to
/// 16-bit samples, as pydicom gives them (through pyjpegls): uint16 16×16, 0…255. DCMTK's dcmdjpls
/// and GDCM refuse this file, so pydicom is the only oracle.
@Test(.timeLimit(.minutes(2))) func narrowJPEGLSWidensToBitsAllocated() throws {
    let path = fixture("realworld/12-jpegls-ba16-bs8.dcm")
    let script = "import pydicom,sys; a=pydicom.dcmread(sys.argv[1]).pixel_array; print(a.dtype, *a.flatten())"
    let p = try run("python3", ["-c", script, path])
    #expect(p.status == 0, "\(p.err)")
    let words = p.out.split(whereSeparator: \.isWhitespace)
    #expect(words.first == "uint16")
    let oracle = words.dropFirst().compactMap { Int($0) }

    let file = try DICOMFile.read(path: path)
    let pixels = try FrameDecoder.decode(file, frame: #require(file.frames().first))
    #expect(pixels.width == 16 && pixels.height == 16 && pixels.bytesPerSample == 2 && !pixels.isSigned)
    let ours = (0..<256).map { pixels.sample(x: $0 % 16, y: $0 / 16) }
    #expect(ours == oracle)
    #expect(ours.min() == 0 && ours.max() == 255)
}

/// Second cases of the kind: JPEG 2000 and HTJ2K codestreams narrower than Bits Allocated 16 (8-bit
/// signed, sign-extended; 8-bit unsigned; 12-bit), made by opj_compress / ojph_compress in
/// Tests/Oracle/narrow_codestreams.py, decode to the samples that were encoded, at 2 bytes each.
@Test(.timeLimit(.minutes(2))) func narrowJ2KCodestreamsWidenToBitsAllocated() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-narrow-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/narrow_codestreams.py").path, dir.path])
    #expect(r.status == 0, "\(r.err)")
    struct Case: Decodable { let path: String; let signed: Bool; let samples: [Int] }
    var checked = 0
    for line in r.out.split(separator: "\n") {
        let c = try JSONDecoder().decode(Case.self, from: Data(line.utf8))
        let file = try DICOMFile.read(path: c.path)
        let pixels = try FrameDecoder.decode(file, frame: #require(file.frames().first))
        #expect(pixels.bytesPerSample == 2 && pixels.isSigned == c.signed, "\(c.path)")
        let ours = (0..<pixels.width * pixels.height).map { pixels.sample(x: $0 % pixels.width, y: $0 / pixels.width) }
        #expect(ours == c.samples, "\(c.path)")
        checked += 1
    }
    #expect(checked == 3)
}

/// 24-icon-encapsulated-undercounted-item.dcm (issue 13): the main image behind an Icon Image Sequence
/// whose lengths are 24 bytes short decodes as DCMTK reads it: 8×8, row 0 = 0, 4, …, 28 (DCMTK's
/// dcmdrle decompresses the file; pydicom, which loses this Pixel Data, reads DCMTK's output).
@Test(.timeLimit(.minutes(2))) func undercountedIconFileDecodesTheMainImage() throws {
    let path = fixture("realworld/24-icon-encapsulated-undercounted-item.dcm")
    let native = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-rle24-\(UUID().uuidString).dcm").path
    defer { try? FileManager.default.removeItem(atPath: native) }
    let d = try run("dcmdrle", [path, native])
    #expect(d.status == 0, "\(d.err)")
    let script = "import pydicom,sys; a=pydicom.dcmread(sys.argv[1]).pixel_array; print(*a.shape, *a.flatten())"
    let p = try run("python3", ["-c", script, native])
    #expect(p.status == 0, "\(p.err)")
    let oracle = p.out.split(whereSeparator: \.isWhitespace).compactMap { Int($0) }

    let file = try DICOMFile.read(path: path)
    let pixels = try FrameDecoder.decode(file, frame: #require(file.frames().first))
    let ours = [pixels.height, pixels.width] + (0..<64).map { pixels.sample(x: $0 % 8, y: $0 / 8) }
    #expect(ours == oracle)
    #expect((0..<8).map { pixels.sample(x: $0, y: 0) } == [0, 4, 8, 12, 16, 20, 24, 28])
}
