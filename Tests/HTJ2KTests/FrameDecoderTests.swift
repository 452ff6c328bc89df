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
