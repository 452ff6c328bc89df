import ByteCoding
import Foundation
import Testing
@testable import DICOMCore
import TestSupport

/// A clean file as a list of elements; each planted defect edits the list or the bytes.
private struct Planted: Sendable {
    var elements: [(UInt32, String, [UInt8])]
    var transferSyntax = "1.2.840.10008.1.2.1"
    var deflated = false

    static func text(_ s: String, pad: UInt8 = 0x20) -> [UInt8] {
        var v = Array(s.utf8)
        if v.count % 2 == 1 { v.append(pad) }
        return v
    }

    static var clean: Planted {
        Planted(elements: [
            (0x0008_0008, "CS", text("ORIGINAL\\PRIMARY")),
            (0x0008_0016, "UI", text("1.2.840.10008.5.1.4.1.1.7", pad: 0)),
            (0x0008_0018, "UI", text("1.2.3.4", pad: 0)),
            (0x0008_0020, "DA", text("20260101")),
            (0x0008_0030, "TM", text("120000")),
            (0x0008_0060, "CS", text("OT")),
            (0x0008_1010, "SH", text("STATION1")),
            (0x0008_1030, "LO", text("Study")),
            (0x0010_0010, "PN", text("Doe^Jane")),
            (0x0010_1010, "AS", text("042Y")),
            (0x0018_0050, "DS", text("2.5")),
            (0x0020_000D, "UI", text("1.2.3.1", pad: 0)),
            (0x0020_000E, "UI", text("1.2.3.2", pad: 0)),
            (0x0020_0013, "IS", text("1")),
            (0x0028_0002, "US", le16(1)),
            (0x0028_0004, "CS", text("MONOCHROME2")),
            (0x0028_0010, "US", le16(4)),
            (0x0028_0011, "US", le16(4)),
            (0x0028_0100, "US", le16(16)),
            (0x0028_0101, "US", le16(12)),
            (0x0028_0102, "US", le16(11)),
            (0x0028_0103, "US", le16(0)),
            (0x7FE0_0010, "OW", [UInt8](repeating: 7, count: 32)),
        ])
    }

    /// Replaces the element, or inserts it in tag order.
    mutating func set(_ tag: UInt32, _ vr: String, _ value: [UInt8]) {
        if let i = elements.firstIndex(where: { $0.0 == tag }) { elements[i] = (tag, vr, value); return }
        elements.insert((tag, vr, value), at: elements.firstIndex { $0.0 > tag } ?? elements.endIndex)
    }

    var bytes: [UInt8] {
        var w = DataSetWriter()
        for (t, vr, v) in elements { w.element(t, vr, v) }
        if deflated { return part10(transferSyntax: "1.2.840.10008.1.2.1.99", body: Zlib.deflate(w.bytes, format: .raw)) }
        return part10(transferSyntax: transferSyntax, body: w.bytes)
    }
}

/// One row per defect class: the code that must be reported, and how to plant it.
private let defects: [(String, @Sendable (inout Planted) -> Void, @Sendable ([UInt8]) -> [UInt8])] = [
    ("uid.invalid", { $0.set(0x0020_000D, "UI", Planted.text("1.02.3", pad: 0)) }, { $0 }),
    ("value.invalid-da", { $0.set(0x0008_0020, "DA", Planted.text("20261301")) }, { $0 }),
    ("value.invalid-tm", { $0.set(0x0008_0030, "TM", Planted.text("256000")) }, { $0 }),
    ("value.invalid-cs", { $0.set(0x0008_0060, "CS", Planted.text("ct")) }, { $0 }),
    ("value.invalid-as", { $0.set(0x0010_1010, "AS", Planted.text("42")) }, { $0 }),
    ("value.invalid-ds", { $0.set(0x0018_0050, "DS", Planted.text("2,5")) }, { $0 }),
    ("value.invalid-is", { $0.set(0x0020_0013, "IS", Planted.text("1.5")) }, { $0 }),
    ("vr.length-exceeded", { $0.set(0x0008_1010, "SH", Planted.text("A-STATION-NAME-LONGER")) }, { $0 }),
    ("vr.odd-length", { $0.set(0x0008_1030, "LO", Array("Odd".utf8)) }, { $0 }),
    ("vr.mismatch", { $0.set(0x0028_0010, "SS", le16(4)) }, { $0 }),
    ("vm.mismatch", { $0.set(0x0008_0008, "CS", Planted.text("ORIGINAL")) }, { $0 }),
    ("encoding.tag-order", { $0.elements.swapAt(3, 4) }, { $0 }),
    ("encoding.duplicate-tag", { $0.elements.insert($0.elements[5], at: 5) }, { $0 }),
    ("ahi.missing-required", { $0.elements.removeAll { $0.0 == 0x0020_000E } }, { $0 }),
    ("ahi.length-limit", { $0.set(0x0008_0020, "DA", Planted.text("20260101\\20260102\\20260103")) }, { $0 }),
    ("ahi.unsupported-transfer-syntax", { $0.transferSyntax = "1.2.840.10008.1.2.4.94" }, { $0 }),
    ("meta.sop-mismatch", { $0.set(0x0008_0018, "UI", Planted.text("1.2.3.5", pad: 0)) }, { $0 }),
    ("pixel.bits-stored", { $0.set(0x0028_0101, "US", le16(17)) }, { $0 }),
    ("pixel.photometric-samples", { $0.set(0x0028_0004, "CS", Planted.text("RGB")) }, { $0 }),
    ("pixel.native-length", { $0.set(0x7FE0_0010, "OW", [UInt8](repeating: 7, count: 16)) }, { $0 }),
    ("meta.group-length", { _ in }, { b in var b = b; b[140] &+= 2; return b }),
    ("part10.missing-preamble", { _ in }, { Array($0.dropFirst(132)) }),
    ("length.past-end", { _ in }, { Array($0.dropLast(10)) }),
    ("pixel.high-bit", { $0.set(0x0028_0102, "US", le16(15)) }, { $0 }),
    ("part10.trailing-bytes", { _ in }, { $0 + [1, 2, 3, 4, 5] }),
    ("deflate.invalid", { $0.deflated = true }, { Array($0.dropLast(12)) }),
    ("private.missing-creator", { $0.set(0x0009_1001, "LO", Planted.text("orphan")) }, { $0 }),
    ("pixel.frame-count", { $0.set(0x0028_0008, "IS", Planted.text("2")) }, { $0 }),
]

/// The findings HealthImaging fails an instance for, or that make a file unreadable: errors.
/// Every other planted defect is stored by HealthImaging (with a warning, or silently): a warning.
private let errorCodes: Set<String> = ["ahi.missing-required", "ahi.length-limit", "part10.missing-preamble", "length.past-end",
                                       "deflate.invalid"]

@Test func cleanFileHasNoFindings() throws {
    var deflated = Planted.clean
    deflated.deflated = true
    #expect(Validator.validate(bytes: deflated.bytes).filter { $0.severity != .info }.isEmpty)
    let file = try DICOMFile.read(bytes: Planted.clean.bytes)
    let found = Validator.validate(file).filter { $0.severity != .info }
    #expect(found.isEmpty, "\(found)")
}

@Test(arguments: defects.indices)
func plantedDefectIsReported(index: Int) throws {
    let (code, edit, bytesEdit) = defects[index]
    var planted = Planted.clean
    edit(&planted)
    let bytes = bytesEdit(planted.bytes)
    let found = Validator.validate(bytes: bytes)
    #expect(found.contains { $0.code == code }, "\(code) not reported; got \(found.map(\.code))")
    let severity: Diagnostic.Severity = errorCodes.contains(code) ? .error : .warning
    #expect(found.filter { $0.code == code }.allSatisfy { $0.severity == severity }, "\(code): \(found)")
}

/// Patient-identifying values stay out of messages unless asked for.
@Test func patientValuesAreHidden() throws {
    var planted = Planted.clean
    planted.set(0x0010_0010, "PN", Planted.text(String(repeating: "Secret^Name", count: 30)))
    let file = try DICOMFile.read(bytes: planted.bytes)
    let hidden = Validator.validate(file)
    #expect(hidden.contains { $0.code == "ahi.length-limit" })
    #expect(!hidden.contains { $0.message.contains("Secret") })
}

/// UID syntax (PS3.5 9.1).
@Test func uidRules() {
    #expect(Validator.uidProblem("1.2.840.10008.1.2") == nil)
    #expect(Validator.uidProblem("1.2.03") != nil)
    #expect(Validator.uidProblem("1..2") != nil)
    #expect(Validator.uidProblem("1.2.a") != nil)
    #expect(Validator.uidProblem("1." + String(repeating: "1", count: 63)) != nil)
}

/// Fixtures produced by pydicom validate without errors (warnings allowed where the fixture is odd on purpose).
@Test func fixturesHaveNoErrors() {
    for name in ["ct_explicit_le.dcm", "ct_implicit_le.dcm", "ct_explicit_be.dcm", "ct_deflated.dcm",
                 "multiframe_8frames.dcm", "rle_with_bot.dcm", "rle_no_bot.dcm", "rle_extended_offset_table.dcm",
                 "j2k_two_fragments_per_frame.dcm", "nested_private.dcm", "charset_utf8.dcm", "bitmap_1bit_3frames.dcm"] {
        let errors = Validator.validate(path: fixture(name)).filter { $0.severity == .error }
        #expect(errors.isEmpty, "\(name): \(errors)")
    }
    let noPreamble = Validator.validate(path: fixture("ct_no_preamble.dcm"))
    #expect(noPreamble.contains { $0.code == "part10.missing-preamble" && $0.severity == .error })
}

/// The validator and dicom3tools' dciodvfy on the same planted-defect files: prints, per defect, what each
/// tool reports beyond what it reports for the clean file, so gaps on either side are visible.
@Test(.timeLimit(.minutes(5))) func compareWithDciodvfy() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-dciodvfy-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    func dciodvfy(_ bytes: [UInt8], _ name: String) throws -> Set<String> {
        let path = dir.appendingPathComponent(name).path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let r = try run("dciodvfy", [path])
        #expect(r.status >= 0 && r.status < 128, "dciodvfy crashed on \(name)")
        return Set((r.out + r.err).split(separator: "\n").map(String.init)
            .filter { $0.hasPrefix("Error") || $0.hasPrefix("Warning") })
    }
    let baseline = try dciodvfy(Planted.clean.bytes, "clean.dcm")
    var table = ["defect | ahi-upload | dciodvfy (new lines vs the clean file)", "---|---|---"]
    var oursMissed = 0, theirsMissed = 0
    for (i, (code, edit, bytesEdit)) in defects.enumerated() {
        var planted = Planted.clean
        edit(&planted)
        let bytes = bytesEdit(planted.bytes)
        let ours = Validator.validate(bytes: bytes).map(\.code)
        let theirs = try dciodvfy(bytes, "defect\(i).dcm").subtracting(baseline)
        let found = ours.contains(code)
        if !found { oursMissed += 1 }
        if theirs.isEmpty { theirsMissed += 1 }
        table.append("\(code) | \(found ? "reported" : "MISSED") | \(theirs.isEmpty ? "nothing" : theirs.sorted().prefix(2).joined(separator: "; "))")
    }
    print(table.joined(separator: "\n"))
    print("ahi-upload missed \(oursMissed) of \(defects.count) defects; dciodvfy reported nothing new for \(theirsMissed)")
    #expect(oursMissed == 0)
}

/// A finding inside a sequence item names its place: sequence, item number (from 1), element.
@Test func nestedFindingsCarryTheirElementPath() throws {
    var w = DataSetWriter()
    w.text(0x0008_0016, "UI", "1.2.840.10008.5.1.4.1.1.7")
    w.text(0x0008_0018, "UI", "1.2.3.4")
    w.element(0x0008_1140, "SQ", [], length: 0xFFFF_FFFF)  // Referenced Image Sequence, undefined length
    for uid in ["1.2.3.5", "1.2.03.x"] {  // the second item's UID breaks the UID rules
        w.item(0xFFFE_E000, length: 0xFFFF_FFFF)
        w.text(0x0008_1155, "UI", uid)
        w.item(0xFFFE_E00D, length: 0)
    }
    w.item(0xFFFE_E0DD, length: 0)
    let found = Validator.validate(bytes: part10(transferSyntax: "1.2.840.10008.1.2.1", body: w.bytes))
    let nested = try #require(found.first { $0.path.steps.count == 2 }, "\(found)")
    #expect(nested.path.description == "(0008,1140)[2].(0008,1155)")
    #expect(nested.path.tag == .referencedSOPInstanceUID && nested.path.steps[0].item == 2)
    #expect(ElementPath(.sopInstanceUID).description == "(0008,0018)" && ElementPath.file.description.isEmpty)
}
