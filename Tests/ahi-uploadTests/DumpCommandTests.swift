import DICOMCore
import Foundation
import TestSupport
import Testing

/// (tag, VR, keyword) of each element line of a dcmdump-style listing, without item and delimiter lines.
private func elementLines(_ text: String) -> [(String, String, String)] {
    text.split(separator: "\n").compactMap { raw in
        let line = raw.drop { $0 == " " }
        guard line.hasPrefix("("), line.count > 15, !line.hasPrefix("(fffe,") else { return nil }
        let tag = String(line.prefix(11))
        let vr = String(line.dropFirst(12).prefix(2))
        let keyword = line.split(separator: " ").last.map(String.init) ?? ""
        return (tag, vr, keyword)
    }
}

/// `ahi-upload dump` lists the same elements, VRs and keywords as DCMTK's dcmdump.
@Test(arguments: ["ct_explicit_le.dcm", "ct_implicit_le.dcm", "ct_explicit_be.dcm", "nested_private.dcm",
                  "rle_with_bot.dcm", "charset_utf8.dcm", "multiframe_8frames.dcm"])
func textDumpMatchesDcmdump(name: String) throws {
    let ours = try run(toolPath(), ["dump", fixture(name)])
    #expect(ours.status == 0, "\(ours.err)")
    let theirs = try run("dcmdump", ["-q", fixture(name)])
    #expect(theirs.status == 0, "\(theirs.err)")
    let a = elementLines(ours.out), b = elementLines(theirs.out)
    #expect(a.count == b.count, "\(name): \(a.count) lines here, \(b.count) from dcmdump")
    for (x, y) in zip(a, b) {
        #expect(x.0 == y.0 && x.1 == y.1, "\(name): \(x) vs dcmdump \(y)")
        // Standard keywords agree; private and unknown ones are named differently by each tool.
        if StandardDictionary.entry(for: Tag(parsing: Substring(x.0)) ?? Tag(0)) != nil {
            #expect(x.2 == y.2, "\(name): keyword \(x.2) vs dcmdump \(y.2)")
        }
    }
}

/// Several files in JSON are JSON Lines; a bad file is reported with its path, the others still dumped,
/// and the exit status is 1.
@Test func jsonLinesAndBadFilesInOneRun() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-dump-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let bad = dir.appendingPathComponent("notes.txt").path
    try "not an image".write(toFile: bad, atomically: true, encoding: .utf8)
    let r = try run(toolPath(), ["dump", "--format", "json", fixture("ct_explicit_le.dcm"), bad,
                                 fixture("rle_no_bot.dcm")])
    #expect(r.status == 1)
    #expect(r.err.contains(bad) && r.err.contains("not a DICOM file"))
    let lines = r.out.split(separator: "\n")
    #expect(lines.count == 2)
    for line in lines {
        let obj = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let name = obj?["00100010"] as? [String: Any]
        #expect(name?["vr"] as? String == "PN")
        #expect(obj?["00020010"] == nil)  // the meta group is not part of the data set's JSON
    }
}

/// --stop-before-pixels leaves Pixel Data out; without it, pixel data are InlineBinary.
@Test func stopBeforePixels() throws {
    let full = try run(toolPath(), ["dump", "--format", "json", fixture("ct_explicit_le.dcm")])
    let head = try run(toolPath(), ["dump", "--format", "json", "--stop-before-pixels", fixture("ct_explicit_le.dcm")])
    #expect(full.out.contains("\"7FE00010\":{\"vr\":\"OW\",\"InlineBinary\""))
    #expect(!head.out.contains("7FE00010") && head.out.contains("00280010"))
}

/// A truncated file gives a diagnostic with its path and offset on stderr and exit status 1.
@Test func truncatedFileIsReported() throws {
    let data = try Data(contentsOf: URL(fileURLWithPath: fixture("ct_explicit_le.dcm")))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-trunc-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("cut.dcm").path
    try data.prefix(data.count - 1000).write(to: URL(fileURLWithPath: path))
    let r = try run(toolPath(), ["dump", path])
    #expect(r.status == 1)
    #expect(r.err.contains(path) && r.err.contains("offset") && r.err.contains("(7fe0,0010)"))
}
