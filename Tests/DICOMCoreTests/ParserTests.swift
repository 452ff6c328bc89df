import Foundation
import Testing
@testable import DICOMCore
import TestSupport

private let explicitLE = "1.2.840.10008.1.2.1"
private let implicitLE = "1.2.840.10008.1.2"
private let explicitBE = "1.2.840.10008.1.2.2"

/// Every binary and string VR, written in each uncompressed encoding, reads back as written.
@Test(arguments: [(explicitLE, true, true), (implicitLE, false, true), (explicitBE, true, false)])
func everyVRReadsBack(syntax: String, explicit: Bool, little: Bool) throws {
    var w = DataSetWriter(explicit: explicit, little: little)
    func nums<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
        values.flatMap { v -> [UInt8] in
            let size = MemoryLayout<T>.size
            return (0..<size).map { i in UInt8(truncatingIfNeeded: v >> ((little ? i : size - 1 - i) * 8)) }
        }
    }
    // Tags whose dictionary VR matches, so implicit VR reads the same VR.
    w.text(0x0008_0005, "CS", "ISO_IR 192")
    w.text(0x0008_0008, "CS", "ORIGINAL\\PRIMARY")
    w.text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.2")
    w.text(0x0008_0020, "DA", "20260101")
    w.text(0x0008_0030, "TM", "120000.5")
    w.text(0x0008_002A, "DT", "20260101120000")
    w.text(0x0008_0054, "AE", " AETITLE ")
    w.text(0x0008_0090, "PN", "Müller^Hans=ミュラー^ハンス=")
    w.text(0x0008_0119, "UC", "a long code value")
    w.text(0x0008_0120, "UR", "http://example.org/x?a=1\\2")
    w.text(0x0008_1030, "LO", "Study")
    w.text(0x0010_1010, "AS", "042Y")
    w.text(0x0018_0050, "DS", " 2.5\\-1e3 ")
    w.text(0x0020_0013, "IS", "+12")
    w.element(0x0018_1063, "DS", Array("40.0".utf8))
    w.text(0x0020_4000, "LT", "line one\\with backslash")
    w.element(0x0028_0010, "US", nums([UInt16(512)]))
    w.element(0x0028_0103, "US", nums([UInt16(1)]))
    w.element(0x0028_0106, "SS", nums([UInt16(bitPattern: -1024)]))
    w.element(0x0028_0009, "AT", nums([UInt16(0x0018), 0x1063, 0x0020, 0x0013]))
    w.element(0x0018_6020, "SL", nums([UInt32(bitPattern: -5), 7]))
    w.element(0x0028_1054, "LO", Array("HU".utf8))
    w.element(0x0040_A132, "UL", nums([UInt32(3_000_000_000)]))
    w.element(0x0040_A161, "FD", nums([Double(2.75).bitPattern, Double(-0.125).bitPattern]))
    w.element(0x0010_9431, "FL", nums([Float(1.5).bitPattern]))
    w.element(0x0008_040C, "UV", nums([UInt64.max]))
    w.element(0x0072_0082, "SV", nums([UInt64(bitPattern: -9)]))
    w.element(0x0042_0011, "OB", [1, 2, 3, 4])
    w.element(0x0066_0023, "OW", nums([UInt16(0x0102)]))
    w.element(0x0066_0016, "OF", nums([Float(1).bitPattern]))
    w.element(0x0066_0022, "OD", nums([Double(1).bitPattern]))
    w.element(0x0066_0040, "OL", nums([UInt32(5)]))
    w.element(0x0072_0081, "OV", nums([UInt64(6)]))
    w.text(0x0040_A160, "UT", "unlimited text")
    w.element(0x7FE1_0010, "LO", Array("CREATOR ".utf8))
    w.element(0x7FE1_1001, "UN", [9, 8])
    let file = try DICOMFile.read(bytes: part10(transferSyntax: syntax, body: w.bytes))
    let ds = file.dataSet
    #expect(file.diagnostics.isEmpty, "\(file.diagnostics)")

    #expect(ds.strings(of: try #require(ds[.imageType])) == ["ORIGINAL", "PRIMARY"])
    #expect(ds.string(.retrieveAETitle) == "AETITLE")
    #expect(ds.string(.studyTime) == "120000.5")
    #expect(ds.string(.urnCodeValue) == "http://example.org/x?a=1\\2")
    #expect(ds.string(.imageComments) == "line one\\with backslash")
    guard case .personNames(let names) = ds.value(of: try #require(ds[.referringPhysicianName])) else {
        Issue.record("PN"); return
    }
    #expect(names.first?.alphabetic == "Müller^Hans")
    #expect(names.first?.ideographic == "ミュラー^ハンス")
    #expect(names.first?.groupCount == 3)
    #expect(ds.doubles(.sliceThickness) == [2.5, -1000])
    #expect(ds.int(.instanceNumber) == 12)
    #expect(ds.int(.rows) == 512)
    #expect(ds.int(.smallestImagePixelValue) == -1024)  // implicit: "US or SS" resolved by PixelRepresentation 1
    #expect(ds[.smallestImagePixelValue]?.vr == .SS)
    guard case .tags(let tags) = ds.value(of: try #require(ds[.frameIncrementPointer])) else { Issue.record("AT"); return }
    #expect(tags == [.frameTime, .instanceNumber])
    #expect(ds.doubles(.referencePixelX0) == [-5, 7])
    #expect(ds.int(.referencedSamplePositions) == 3_000_000_000)
    #expect(ds.doubles(.floatingPointValue) == [2.75, -0.125])
    #expect(ds.doubles(.examinedBodyThickness) == [1.5])
    guard case .unsigned(let uv) = ds.value(of: try #require(ds[.fileOffsetInContainer])) else { Issue.record("UV"); return }
    #expect(uv == [UInt64.max])
    #expect(ds.int(.selectorSVValue) == -9)
    for (t, vr) in [(0x0042_0011, VR.OB), (0x0066_0023, .OW), (0x0066_0016, .OF), (0x0066_0022, .OD),
                    (0x0066_0040, .OL), (0x0072_0081, .OV), (0x7FE1_1001, .UN)] as [(UInt32, VR)] {
        #expect(ds[Tag(t)]?.vr == vr, "\(Tag(t))")
    }
    #expect(Array(ds.bytes(of: try #require(ds[.encapsulatedDocument]))) == [1, 2, 3, 4])
    #expect(ds[Tag(0x7FE1_0010)]?.vr == .LO)  // private creator
    #expect(file.transferSyntax.uid == syntax)
}

/// Sequences of defined and undefined length, items of both kinds, nested, and empty.
@Test(arguments: [true, false])
func sequencesOfEveryShape(explicit: Bool) throws {
    var w = DataSetWriter(explicit: explicit)
    // (0008,1140) undefined-length sequence with one undefined-length item holding a defined-length sequence.
    var inner = DataSetWriter(explicit: explicit)
    inner.text(0x0008_1150, "UI", "1.2.3")
    var innerSeq = DataSetWriter(explicit: explicit)
    innerSeq.item(0xFFFE_E000, length: UInt32(inner.bytes.count))
    innerSeq.bytes += inner.bytes
    w.element(0x0008_1140, "SQ", [], length: 0xFFFF_FFFF)
    w.item(0xFFFE_E000, length: 0xFFFF_FFFF)
    w.element(0x0040_A730, "SQ", innerSeq.bytes)  // ContentSequence, defined length
    w.item(0xFFFE_E00D, length: 0)
    w.item(0xFFFE_E000, length: 0)  // an empty item of defined length
    w.item(0xFFFE_E0DD, length: 0)
    w.element(0x0008_1199, "SQ", [])  // empty sequence
    let bytes = part10(transferSyntax: explicit ? explicitLE : implicitLE, body: w.bytes)
    let file = try DICOMFile.read(bytes: bytes)
    let seq = try #require(file.dataSet[.referencedImageSequence])
    #expect(seq.isUndefinedLength)
    let items = try #require(seq.items)
    #expect(items.count == 2)
    #expect(items[0].isUndefinedLength)
    #expect(items[1].elements.isEmpty)
    let nested = try #require(items[0][.contentSequence]?.items)
    #expect(nested.first?.string(.referencedSOPClassUID) == "1.2.3")
    #expect(file.dataSet[.referencedSOPSequence]?.items?.count == 0)
}

/// A sequence nested deeper than the guard is an error, never a stack overflow.
@Test func depthGuard() throws {
    var body: [UInt8] = []
    for _ in 0..<200 {
        var w = DataSetWriter()
        w.element(0x0008_1140, "SQ", [], length: 0xFFFF_FFFF)
        w.item(0xFFFE_E000, length: 0xFFFF_FFFF)
        body = w.bytes + body
    }
    #expect(throws: DICOMError.self) { try DICOMFile.read(bytes: part10(transferSyntax: explicitLE, body: body)) }
    let shallow = ParseOptions(maxDepth: 300)
    let file = try DICOMFile.read(bytes: part10(transferSyntax: explicitLE, body: body), options: shallow)
    #expect(file.diagnostics.contains { $0.code == "item.missing-delimiter" })
}

/// Lengths that run past the end are clamped and reported; nothing is read past the end.
@Test func lengthPastEndIsReportedNotTrusted() throws {
    var w = DataSetWriter()
    w.text(0x0008_0016, "UI", "1.2")
    w.element(0x0010_0010, "PN", Array("AB".utf8), length: 0xFFF0)
    w.element(0x7FE0_0010, "OB", [0, 0], length: 0xFFFF_FFF0)
    let bytes = part10(transferSyntax: explicitLE, body: w.bytes)
    let file = try DICOMFile.read(bytes: bytes)
    #expect(file.diagnostics.contains { $0.code == "length.past-end" && $0.tag == .patientName })
    let name = try #require(file.dataSet[.patientName])
    #expect(name.valueLength == bytes.count - name.valueOffset)  // clamped to the bytes that remain
    #expect(file.dataSet[.pixelData] == nil)  // and nothing read after it
    #expect(throws: DICOMError.self) { try DICOMFile.read(bytes: bytes, options: ParseOptions(strict: true)) }
    // A long-VR element whose 32-bit length is ~4 GB.
    var big = DataSetWriter()
    big.element(0x0042_0011, "OB", [1, 2], length: 0xFFFF_FFF0)
    let f2 = try DICOMFile.read(bytes: part10(transferSyntax: explicitLE, body: big.bytes))
    #expect(f2.dataSet[.encapsulatedDocument]?.valueLength == 2)
}

/// Every prefix of every fixture parses or fails with a DICOMError; none crashes.
@Test func truncatedAtEveryByteNeverCrashes() throws {
    for name in ["ct_explicit_le.dcm", "nested_private.dcm", "rle_with_bot.dcm", "ct_deflated.dcm",
                 "ct_explicit_be.dcm", "nested_private_implicit.dcm"] {
        let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture(name))))
        var errors = 0, diagnosed = 0
        for cut in stride(from: 0, to: data.count, by: name.contains("deflated") ? 7 : 3) {
            do {
                let f = try DICOMFile.read(bytes: data[0..<cut])
                if !f.diagnostics.isEmpty { diagnosed += 1 }
                _ = DICOMJSON.encode(f.dataSet)
                _ = try? f.frames()
            } catch {
                errors += 1
            }
        }
        #expect(errors + diagnosed > 0, "\(name)")
    }
}

/// Random bytes, empty input and text are refused as not DICOM.
@Test func notDICOM() throws {
    #expect(throws: DICOMError.self) { try DICOMFile.read(bytes: [UInt8]()) }
    #expect(throws: DICOMError.self) { try DICOMFile.read(bytes: Array("hello, this is a text file\n".utf8)) }
    var rng = SystemRandomNumberGenerator()
    for _ in 0..<200 {
        let n = Int.random(in: 0..<600, using: &rng)
        let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
        _ = try? DICOMFile.read(bytes: bytes)
    }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-empty-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let empty = dir.appendingPathComponent("empty.dcm").path
    #expect(FileManager.default.createFile(atPath: empty, contents: Data()))
    do {
        _ = try DICOMFile.read(path: empty)
        Issue.record("empty file accepted")
    } catch {
        #expect(error.path == empty)
        #expect("\(error)".contains("empty"))
    }
    #expect(throws: DICOMError.self) { try DICOMFile.read(path: dir.path) }
}

/// Deflate: a stream that never ends, and one that inflates past the cap.
@Test func deflateFailures() throws {
    let data = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture("ct_deflated.dcm"))))
    let cutShort = Array(data.dropLast(40))
    #expect(throws: DICOMError.self) { try DICOMFile.read(bytes: cutShort) }
    let capped = ParseOptions(maxInflatedSize: 1000)
    do {
        _ = try DICOMFile.read(bytes: data, options: capped)
        Issue.record("cap not enforced")
    } catch {
        #expect("\(error)".contains("limit"))
    }
    let ok = try DICOMFile.read(bytes: data)
    #expect(ok.transferSyntax == .deflatedExplicitVRLittleEndian)
}

/// Stop options: before pixels, at a tag, and header-only (pixel header indexed, value not walked).
@Test func stopOptions() throws {
    let path = fixture("rle_with_bot.dcm")
    let before = try DICOMFile.read(path: path, options: ParseOptions(stopBeforePixelData: true))
    #expect(before.dataSet[.pixelData] == nil)
    #expect(before.dataSet[.rows] != nil)
    let at = try DICOMFile.read(path: path, options: ParseOptions(stopAtTag: Tag(0x0020_0000)))
    #expect(at.dataSet.elements.allSatisfy { $0.tag < Tag(0x0020_0000) })
    #expect(at.dataSet[.patientName] != nil)
    let header = try DICOMFile.read(path: path, options: ParseOptions(headerOnly: true))
    let pixel = try #require(header.dataSet[.pixelData])
    #expect(pixel.fragments == nil)
    #expect(throws: FrameError.notIndexed) { try header.frames() }
}

/// Undefined-length UN (a sequence in implicit VR LE inside an explicit data set, PS3.5 6.2.2).
@Test func undefinedLengthUNHoldsASequence() throws {
    var item = DataSetWriter(explicit: false)
    item.text(0x0008_1150, "UI", "1.2.3.4")
    var w = DataSetWriter()
    w.element(0x0009_0010, "LO", Array("PRIV".utf8))
    w.element(0x0009_1001, "UN", [], length: 0xFFFF_FFFF)
    w.item(0xFFFE_E000, length: 0xFFFF_FFFF)
    w.bytes += item.bytes
    w.item(0xFFFE_E00D, length: 0)
    w.item(0xFFFE_E0DD, length: 0)
    let file = try DICOMFile.read(bytes: part10(transferSyntax: explicitLE, body: w.bytes))
    let e = try #require(file.dataSet[Tag(0x0009_1001)])
    #expect(e.items?.first?.string(.referencedSOPClassUID) == "1.2.3.4")
    #expect(file.diagnostics.isEmpty)
}

/// Encapsulated frames: offset table that points outside the data is an error, not a crash.
@Test func invalidBasicOffsetTable() throws {
    var w = DataSetWriter()
    w.text(0x0028_0008, "IS", "2")
    w.element(0x7FE0_0010, "OB", [], length: 0xFFFF_FFFF)
    w.item(0xFFFE_E000, length: 8)
    w.bytes += le32(0) + le32(5000)
    w.item(0xFFFE_E000, length: 4)
    w.bytes += [0xFF, 0xD8, 0xFF, 0xD9]
    w.item(0xFFFE_E000, length: 4)
    w.bytes += [0xFF, 0xD8, 0xFF, 0xD9]
    w.item(0xFFFE_E0DD, length: 0)
    let file = try DICOMFile.read(bytes: part10(transferSyntax: "1.2.840.10008.1.2.4.50", body: w.bytes))
    #expect(throws: FrameError.self) { try file.frames() }
}

/// Every input the fuzzer ever crashed on (Fixtures/fuzz-regressions) parses, validates and dumps without crashing.
@Test func fuzzRegressionsReplay() throws {
    let dir = packageRoot.appendingPathComponent("Fixtures/fuzz-regressions")
    let names = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { !$0.hasSuffix(".md") }
    for name in names {
        let bytes = try [UInt8](Data(contentsOf: dir.appendingPathComponent(name)))
        if let file = try? DICOMFile.read(bytes: bytes) {
            _ = Validator.validate(file)
            _ = DICOMJSON.encode(file.dataSet)
            _ = TextDump.dump(file)
            _ = try? file.frames()
        }
        _ = try? DICOMFile.read(bytes: bytes, options: ParseOptions(strict: true))
        _ = try? DICOMFile.read(bytes: bytes, options: ParseOptions(headerOnly: true)).frames()
    }
    // The fixtures themselves are the fuzzer's seeds: they must go through the same path cleanly.
    #expect(Validator.validate(path: fixture("rle_with_bot.dcm")).allSatisfy { $0.severity != .error })
}

/// The galloping cursor answers exactly as the plain lookup, for sorted walks and for jumps back.
@Test func dictionaryCursorAgreesWithLookup() {
    var rng = SystemRandomNumberGenerator()
    var tags = (0..<3000).map { _ in Tag(UInt32.random(in: 0...0x7FE1_0000, using: &rng)) }
    tags += [.sopClassUID, .patientName, Tag(0x6002_3000), .pixelData, .item, Tag(0)]
    for order in [tags.sorted(), tags] {
        var cursor = StandardDictionary.Cursor()
        for t in order { #expect(cursor.info(for: t) == StandardDictionary.info(for: t), "\(t)") }
    }
    #expect(StandardDictionary.info(for: Tag(0x6002_3000))?.isAmbiguousVR == true)  // Overlay Data, 60xx
    #expect(StandardDictionary.info(for: Tag(0x6003_3000)) == nil)                  // odd group: private
}
