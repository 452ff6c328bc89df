import ByteCoding
import Foundation
import Testing
@testable import DICOMCore
import TestSupport

/// The four uncompressed CT fixtures hold the same pixels; big endian byte-swapped.
@Test func uncompressedSyntaxesAgree() throws {
    let le = try DICOMFile.read(path: fixture("ct_explicit_le.dcm"))
    let reference = frameBytes(try #require(le.frames().first), in: le.dataSet.storage)
    #expect(reference.count == 64 * 64 * 2)
    for (name, uid) in [("ct_implicit_le.dcm", "1.2.840.10008.1.2"), ("ct_deflated.dcm", "1.2.840.10008.1.2.1.99"),
                        ("ct_explicit_be.dcm", "1.2.840.10008.1.2.2"), ("ct_no_preamble.dcm", "1.2.840.10008.1.2")] {
        let f = try DICOMFile.read(path: fixture(name))
        #expect(f.transferSyntax.uid == uid, "\(name)")
        #expect(f.dataSet.int(.rows) == 64 && f.dataSet.int(.columns) == 64)
        #expect(f.dataSet.int(.smallestImagePixelValue) == le.dataSet.int(.smallestImagePixelValue), "\(name) SmallestImagePixelValue")
        var pixels = frameBytes(try #require(f.frames().first), in: f.dataSet.storage)
        if uid.hasSuffix(".2.2") {
            pixels = stride(from: 0, to: pixels.count, by: 2).flatMap { [pixels[$0 + 1], pixels[$0]] }
        }
        #expect(pixels == reference, "\(name)")
        #expect(f.hasPreamble == !name.contains("no_preamble"))
    }
}

/// Frames of every fixture match pydicom's frames (CRC-32 of each frame's bytes).
@Test func framesMatchPydicom() throws {
    let names = ["multiframe_8frames.dcm", "rle_with_bot.dcm", "rle_no_bot.dcm", "rle_extended_offset_table.dcm",
                 "j2k_two_fragments_per_frame.dcm", "ct_explicit_le.dcm", "ct_deflated.dcm"]
    try compareFramesWithPydicom(names.map(fixture))
}

/// Runs the frame oracle and compares CRCs frame by frame.
func compareFramesWithPydicom(_ paths: [String]) throws {
    let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/frames.py").path] + paths)
    #expect(r.status == 0, "frames.py: \(r.err)")
    for line in r.out.split(separator: "\n") {
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        let path = try #require(obj["path"] as? String)
        let expected = try #require(obj["frames"] as? [Int]).map(UInt32.init)
        let file = try DICOMFile.read(path: path)
        let frames = try file.frames()
        let ours = frames.map { f in frameBytes(f, in: file.dataSet.storage).withUnsafeBytes { CRC32.of($0).value } }
        #expect(ours == expected, "\(path): \(ours.count) frames here, \(expected.count) from pydicom")
    }
}

/// 1-bit packed frames that do not start on a byte boundary: each pixel as the generator wrote it.
@Test func oneBitFramesAreBitExact() throws {
    let f = try DICOMFile.read(path: fixture("bitmap_1bit_3frames.dcm"))
    let frames = try f.frames()
    #expect(frames.count == 3)
    for frame in frames {
        let bytes = frameBytes(frame, in: f.dataSet.storage)
        for r in 0..<5 {
            for c in 0..<5 {
                let bit = frame.bitOffset + r * 5 + c
                let value = Int(bytes[bit / 8] >> (bit % 8) & 1)
                // Scripts/generate_fixtures.py writes (row + column + frame) % 2.
                #expect(value == (r + c + frame.index) % 2)
            }
        }
    }
}

/// Character sets: text encoded by pydicom (or Python's codecs) decodes to the same text.
@Test func characterSetsMatchPythonEncoders() throws {
    let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/charset_samples.py").path])
    #expect(r.status == 0, "charset_samples.py: \(r.err)")
    var checked = 0
    for line in r.out.split(separator: "\n") {
        let obj = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String])
        let charset = SpecificCharacterSet(terms: try #require(obj["charset"]))
        let hex = try #require(obj["hex"])
        let bytes = try #require(Hex.decode(hex))
        let decoded = bytes.withUnsafeBytes { charset.decode($0, isPersonName: obj["vr"] == "PN") }
        #expect(decoded == obj["text"], "\(obj["charset"] ?? "")")
        #expect(charset.isKnown)
        checked += 1
    }
    #expect(checked >= 20)
}

/// Fixtures in the nested/private/charset set read with no diagnostics and their values intact.
@Test func nestedPrivateAndCharsetFixtures() throws {
    for name in ["nested_private.dcm", "nested_private_implicit.dcm"] {
        let f = try DICOMFile.read(path: fixture(name))
        #expect(f.diagnostics.isEmpty, "\(name): \(f.diagnostics)")
        let evidence = try #require(f.dataSet[.referencedImageEvidenceSequence]?.items?.first)
        let source = try #require(evidence[.sourceImageSequence]?.items)
        #expect(source.count == 2)
        #expect(source[1][.purposeOfReferenceCodeSequence]?.items?.first?.string(.codeValue) == "121327")
        #expect(f.dataSet.string(Tag(0x0019_0010)) == "AHI FIXTURE CREATOR")
        #expect(f.dataSet.string(Tag(0x0019_1001)) == "private text" || name.contains("implicit"))
    }
    let utf8 = try DICOMFile.read(path: fixture("charset_utf8.dcm"))
    #expect(utf8.dataSet.string(.patientName) == "Müller^Jürgen=ミュラー^ユルゲン")
    let jp = try DICOMFile.read(path: fixture("charset_iso2022_jp.dcm"))
    #expect(jp.dataSet.string(.patientName) == "Yamada^Tarou=山田^太郎=やまだ^たろう")
    let latin = try DICOMFile.read(path: fixture("charset_latin1.dcm"))
    #expect(latin.dataSet.string(.institutionName) == "Hôpital Général")
}
