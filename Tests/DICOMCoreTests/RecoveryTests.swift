import Foundation
import Testing
@testable import DICOMCore
import TestSupport

private typealias Tag = DICOMCore.Tag

// Issue 13, kinds 3 and 4: group-2 elements outside the File Meta, and lengths that end inside
// an element. The real-world files are in Fixtures/realworld; the second cases are written at
// test time by Tests/Oracle/recovery_cases.py. DCMTK's dcmdump is the oracle where it reads
// the file; where it does not (it gives up or invents elements), the generator's structure is.

/// What dcmdump shows: the top-level tags of the meta and of the data set, the lines of the
/// data set (indentation kept) and its messages.
private struct DcmdumpListing {
    var meta: [Tag] = [], dataSet: [Tag] = [], lines: [String] = [], messages = ""

    init(_ path: String) throws {
        let r = try run("dcmdump", ["+E", "-dc", path])
        messages = r.err + r.out.split(separator: "\n").filter { $0.hasPrefix("W:") || $0.hasPrefix("E:") }.joined(separator: "\n")
        var inMeta = false
        for line in r.out.split(separator: "\n", omittingEmptySubsequences: true) {
            if line.hasPrefix("# Dicom-Meta-Information-Header") { inMeta = true }
            if line.hasPrefix("# Dicom-Data-Set") { inMeta = false }
            guard line.contains("("), !line.hasPrefix("#"), !line.hasPrefix("W:"), !line.hasPrefix("E:") else { continue }
            if !inMeta { lines.append(String(line)) }
            guard line.hasPrefix("("), let tag = Tag(parsing: line.prefix(11)), tag.group != 0xFFFE else { continue }
            if inMeta { meta.append(tag) } else { dataSet.append(tag) }
        }
    }

    /// The tags of the lines indented by `depth` levels (two spaces each) after the line of `parent`.
    func nested(under parent: Tag, depth: Int = 2) -> [Tag] {
        let indent = String(repeating: " ", count: 2 * depth)
        guard let start = lines.firstIndex(where: { $0.hasPrefix(parent.description.lowercased()) }) else { return [] }
        var out: [Tag] = []
        for line in lines[(start + 1)...] {
            if !line.hasPrefix(" ") { break }
            guard line.hasPrefix(indent), !line.hasPrefix(indent + " "),
                  let tag = Tag(parsing: line.dropFirst(indent.count).prefix(11)), tag.group != 0xFFFE else { continue }
            out.append(tag)
        }
        return out
    }
}

/// pydicom's top-level data set tags (it drops group-2 elements from the data set).
private func pydicomTags(_ path: String) throws -> [Tag] {
    let r = try run("python3", ["-c", "import pydicom,sys; d=pydicom.dcmread(sys.argv[1]); print(' '.join('%08X' % int(e.tag) for e in d))", path])
    #expect(r.status == 0, "\(r.err)")
    return r.out.split(separator: " ").compactMap { UInt32($0.trimmingCharacters(in: .whitespacesAndNewlines), radix: 16).map(Tag.init) }
}

/// The recovery generator's files, written once per test into a fresh folder.
private func recoveryCases() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-recovery-\(UUID().uuidString)")
    let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/recovery_cases.py").path, dir.path])
    #expect(r.status == 0, "\(r.err)")
    return dir
}

private func realworld(_ name: String) -> String { fixture("realworld/\(name)") }

// MARK: Group 2 in the data set

/// 23-group2-in-dataset.dcm: the meta ends where its (correct) group length says; the stray
/// (0002,0003) is a warning in the data set, as DCMTK reads it; the group length is not blamed.
@Test func strayGroup2InImplicitDataSetIsAWarning() throws {
    let path = realworld("23-group2-in-dataset.dcm")
    let file = try DICOMFile.read(path: path)
    let dcmtk = try DcmdumpListing(path)
    #expect(dcmtk.messages.contains("Invalid Element (0002,0003) found in data set"))
    #expect(file.meta.elements.map(\.tag) == dcmtk.meta)
    #expect(file.dataSet.elements.map(\.tag) == dcmtk.dataSet)
    #expect(file.dataSet.elements.first?.tag == .mediaStorageSOPInstanceUID)
    let stray = try #require(file.diagnostics.first { $0.code == "meta.element-in-dataset" })
    #expect(stray.severity == .warning && stray.tag == .mediaStorageSOPInstanceUID && stray.offset == 290)
    // pydicom reads the rest of the data set the same way.
    #expect(try pydicomTags(path) == file.dataSet.elements.map(\.tag).filter { $0.group != 0x0002 })
    let findings = Validator.validate(file)
    #expect(!findings.contains { $0.code == "meta.group-length" }, "\(findings)")
    #expect(findings.allSatisfy { $0.severity != .error }, "\(findings)")
}

/// Second cases: a stray (0002,0003) in an explicit-VR data set behind a consistent group length
/// (DCMTK agrees), and in an implicit-VR data set behind a meta with no group length, where the
/// meta is the explicit-VR group-2 run (DCMTK folds the stray into the meta and then reads garbage;
/// pydicom reads the rest of the data set as we do).
@Test func strayGroup2SecondCases() throws {
    let dir = try recoveryCases()
    defer { try? FileManager.default.removeItem(at: dir) }
    let explicit = dir.appendingPathComponent("group2_explicit.dcm").path
    let a = try DICOMFile.read(path: explicit)
    let dcmtk = try DcmdumpListing(explicit)
    #expect(dcmtk.messages.contains("Invalid Element (0002,0003) found in data set"))
    #expect(a.meta.elements.map(\.tag) == dcmtk.meta)
    #expect(a.dataSet.elements.map(\.tag) == dcmtk.dataSet)
    #expect(a.diagnostics.contains { $0.code == "meta.element-in-dataset" && $0.severity == .warning })
    #expect(Validator.validate(a).allSatisfy { $0.severity != .error })

    let implicit = dir.appendingPathComponent("group2_no_group_length.dcm").path
    let b = try DICOMFile.read(path: implicit)
    #expect(b.meta.elements.map(\.tag.rawValue) == [0x0002_0001, 0x0002_0002, 0x0002_0003, 0x0002_0010, 0x0002_0012])
    #expect(b.transferSyntax.uid == "1.2.840.10008.1.2")
    #expect(b.dataSet.elements.first?.tag == .mediaStorageSOPInstanceUID)
    #expect(b.diagnostics.contains { $0.code == "meta.element-in-dataset" && $0.severity == .warning })
    #expect(try pydicomTags(implicit) == b.dataSet.elements.map(\.tag).filter { $0.group != 0x0002 })
    #expect(b.dataSet.string(.patientName) == "RECOVERY^G2N")
    #expect(!b.diagnostics.contains { $0.severity == .error }, "\(b.diagnostics)")
}

// MARK: Lengths that end inside an element

/// 24-icon-encapsulated-undercounted-item.dcm: the Icon Image Sequence's item and sequence are 24
/// bytes short and end inside the icon's encapsulated Pixel Data. As DCMTK: the icon's Pixel Data
/// is read to its delimiter, the top-level Pixel Data follows; no phantom element; reported.
@Test func undercountedIconItemKeepsBothImages() throws {
    let path = realworld("24-icon-encapsulated-undercounted-item.dcm")
    let file = try DICOMFile.read(path: path)
    let dcmtk = try DcmdumpListing(path)
    #expect(file.dataSet.elements.map(\.tag) == dcmtk.dataSet)
    #expect(!file.dataSet.contains(Tag(0x0330_5040)))
    let icon = try #require(file.dataSet[.iconImageSequence]?.items?.first)
    #expect(icon.elements.map(\.tag) == dcmtk.nested(under: .iconImageSequence))
    #expect(icon[.pixelData]?.fragments?.map(\.count) == [4, 84])  // dcmdump: # 4, # 84
    #expect(file.dataSet[.pixelData]?.fragments?.map(\.count) == [4, 136])
    let note = try #require(file.diagnostics.first { $0.code == "length.undercounted" })
    #expect(note.severity == .warning && note.tag == .pixelData && note.offset == 0x2C0, "\(note)")
    let frames = try file.frames()
    #expect(frames.count == 1)
    #expect(Validator.validate(file).allSatisfy { $0.severity != .error }, "\(Validator.validate(file))")
}

/// Second cases of the kind: an undercounted item ending inside an undefined-length sequence (DCMTK's
/// reading is the oracle); undercounted items ending inside a defined-length element, explicit and
/// implicit (DCMTK skips the rest of the item and reads garbage; pydicom invents (5552,534E); the
/// generator's structure is the oracle); a sequence whose length overshoots into the next element.
@Test func undercountedAndOvercountedSecondCases() throws {
    let dir = try recoveryCases()
    defer { try? FileManager.default.removeItem(at: dir) }

    let nestedPath = dir.appendingPathComponent("undercounted_nested_sq.dcm").path
    let nested = try DICOMFile.read(path: nestedPath)
    let dcmtk = try DcmdumpListing(nestedPath)
    #expect(nested.dataSet.elements.map(\.tag) == dcmtk.dataSet)
    let request = try #require(nested.dataSet[Tag(0x0040_0275)]?.items?.first)
    #expect(request.elements.map(\.tag) == dcmtk.nested(under: Tag(0x0040_0275)))
    #expect(request[Tag(0x0040_0008)]?.items?.first?.string(Tag(0x0008_0102)) == "99TEST")
    #expect(nested.diagnostics.contains { $0.code == "length.undercounted" && $0.tag == Tag(0x0040_0008) })
    #expect(nested.dataSet.string(Tag(0x0040_A124)) == "2.25.78")

    for (name, sequence) in [("undercounted_native.dcm", Tag(0x0040_0275)), ("undercounted_implicit.dcm", Tag(0x0040_0260))] {
        let file = try DICOMFile.read(path: dir.appendingPathComponent(name).path)
        let tags = file.dataSet.elements.map(\.tag.rawValue)
        #expect(tags == [0x0008_0016, 0x0008_0018, 0x0008_0020, 0x0008_0060, 0x0010_0010, 0x0010_0020, 0x0020_000D,
                         0x0020_000E, 0x0020_0013,
                         0x0028_0002, 0x0028_0004, 0x0028_0010, 0x0028_0011, 0x0028_0100, 0x0028_0101, 0x0028_0102,
                         0x0028_0103, sequence.rawValue, 0x0040_A124, 0x7FE0_0010], "\(name)")
        let item = try #require(file.dataSet[sequence]?.items?.first, "\(name)")
        #expect(item.string(Tag(0x0040_0007)) == "A STEP DESCRIPTION THAT RUNS LONG", "\(name)")
        let note = try #require(file.diagnostics.first { $0.code == "length.undercounted" }, "\(name)")
        #expect(note.severity == .warning && note.tag == Tag(0x0040_0007), "\(name): \(note)")
        #expect(try frameBytes(#require(file.frames().first), in: file.dataSet.storage) == (0..<16).map { UInt8($0 * 8) })
        #expect(!file.diagnostics.contains { $0.severity == .error }, "\(name): \(file.diagnostics)")
    }

    let over = try DICOMFile.read(path: dir.appendingPathComponent("overcounted_sequence.dcm").path)
    #expect(over.dataSet.elements.map(\.tag.rawValue).prefix(6) == [0x0008_0016, 0x0008_0018, 0x0008_0060, 0x0008_1115,
                                                                   0x0010_0010, 0x0010_0020])
    #expect(over.dataSet[Tag(0x0008_1115)]?.items?.count == 1)
    #expect(over.dataSet.string(.patientName) == "RECOVERY^OVER")
    #expect(over.diagnostics.contains { $0.code == "length.overcounted" && $0.severity == .warning && $0.tag == .patientName })
    #expect(try over.frames().count == 1)
}

/// A header no element can start (an illegal group, not a VR, a length past the end) is skipped to
/// the next confirmed element whose tag ascends; nothing is invented, and the search is bounded.
@Test func implausibleHeaderResynchronises() throws {
    var w = DataSetWriter()
    w.text(0x0008_0016, "UI", "1.2")
    w.bytes += [0x03, 0x00, 0x10, 0x20, 0x30, 0x03, 0x40, 0x50, 0x60, 0x70, 0x03, 0x80]  // group 0003, no VR
    w.text(0x0010_0010, "PN", "AFTER^GARBAGE")
    w.text(0x0010_0020, "LO", "ID-1")
    let file = try DICOMFile.read(bytes: part10(transferSyntax: "1.2.840.10008.1.2.1", body: w.bytes))
    #expect(file.dataSet.elements.map(\.tag) == [.sopClassUID, .patientName, .patientID])
    let note = try #require(file.diagnostics.first { $0.code == "dataset.resync" })
    #expect(note.severity == .warning && note.tag == Tag(0x0003_2010), "\(note)")
    #expect(file.dataSet.string(.patientName) == "AFTER^GARBAGE")

    // Hostile input: megabytes of headers that are never plausible. One bounded pass, no element invented.
    var hostile = DataSetWriter()
    hostile.text(0x0008_0016, "UI", "1.2")
    hostile.bytes += [UInt8](repeating: 0x03, count: 6 << 20)
    let clock = ContinuousClock()
    let start = clock.now
    let bad = try DICOMFile.read(bytes: part10(transferSyntax: "1.2.840.10008.1.2.1", body: hostile.bytes))
    #expect(clock.now - start < .seconds(10))
    #expect(bad.dataSet.elements.count <= 2)
    #expect(bad.diagnostics.contains { $0.severity == .error })
}
