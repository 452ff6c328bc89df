import DICOMCore
import Foundation
import TestSupport
import Testing

/// A fresh temporary folder, removed by the caller.
private func tempFolder(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

private func copyFixture(_ name: String, to dir: URL, as newName: String? = nil) throws -> String {
    let dest = dir.appendingPathComponent(newName ?? name).path
    try FileManager.default.copyItem(atPath: fixture(name), toPath: dest)
    return dest
}

/// Clean files exit 0; --strict with warnings exits 1; errors exit 2.
@Test func exitStatuses() throws {
    let dir = try tempFolder("exit")
    defer { try? FileManager.default.removeItem(at: dir) }
    _ = try copyFixture("ct_explicit_le.dcm", to: dir)
    var r = try run(toolPath(), ["validate", dir.path])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    #expect(r.out.contains("1 file: 1 OK"))
    // A warning: a second file with the same SOP Instance UID and different bytes.
    _ = try copyFixture("ct_implicit_le.dcm", to: dir)  // same SOP Instance UID, different bytes
    r = try run(toolPath(), ["validate", dir.path])
    #expect(r.status == 0)
    #expect(r.out.contains("sop.duplicate-instance"))
    r = try run(toolPath(), ["validate", "--strict", dir.path])
    #expect(r.status == 1)
    _ = try copyFixture("ct_no_preamble.dcm", to: dir)
    r = try run(toolPath(), ["validate", dir.path])
    #expect(r.status == 2)
}

/// Non-DICOM, empty, random and truncated files each get an error; the run goes on and checks the rest.
@Test func badFilesAreReportedAndTheRunContinues() throws {
    let dir = try tempFolder("bad")
    defer { try? FileManager.default.removeItem(at: dir) }
    let good = try copyFixture("nested_private.dcm", to: dir)
    try "hello".write(to: dir.appendingPathComponent("notes.txt"), atomically: true, encoding: .utf8)
    #expect(FileManager.default.createFile(atPath: dir.appendingPathComponent("empty.dcm").path, contents: Data()))
    var rng = SystemRandomNumberGenerator()
    let random = Data((0..<5000).map { _ in UInt8.random(in: 0...255, using: &rng) })
    try random.write(to: dir.appendingPathComponent("random.bin"))
    let data = try Data(contentsOf: URL(fileURLWithPath: fixture("ct_explicit_le.dcm")))
    var truncated: [String] = []
    for cut in stride(from: 1024, to: data.count, by: 1024) {
        let path = dir.appendingPathComponent("cut_\(cut).dcm").path
        try data.prefix(cut).write(to: URL(fileURLWithPath: path))
        truncated.append(path)
    }
    let r = try run(toolPath(), ["validate", "--output", "json", dir.path])
    #expect(r.status == 2)
    let report = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
    let files = try #require(report["files"] as? [[String: Any]])
    let status = Dictionary(uniqueKeysWithValues: files.map { ($0["path"] as? String ?? "", $0["status"] as? String ?? "") })
    #expect(status[good] == "ok")
    for name in ["notes.txt", "empty.dcm", "random.bin"] {
        #expect(status[dir.appendingPathComponent(name).path] == "error", "\(name)")
    }
    for path in truncated { #expect(status[path] == "error", "\(path)") }
    #expect(files.count == 4 + truncated.count)
}

/// A symbolic link loop does not make the walk run forever; each folder is read once.
@Test func symlinkLoopIsSafe() throws {
    let dir = try tempFolder("loop")
    defer { try? FileManager.default.removeItem(at: dir) }
    let sub = dir.appendingPathComponent("a/b")
    try FileManager.default.createDirectory(at: sub, withIntermediateDirectories: true)
    _ = try copyFixture("ct_explicit_le.dcm", to: sub)
    try FileManager.default.createSymbolicLink(atPath: sub.appendingPathComponent("loop").path, withDestinationPath: dir.path)
    let r = try run(toolPath(), ["validate", dir.path])
    #expect(r.status == 0, "\(r.out)")
    #expect(r.out.contains("1 file: 1 OK"))
}

/// Patient attributes that disagree within a study are warned about with both paths; values are hidden
/// unless --show-phi.
@Test func inconsistentPatientAcrossFiles() throws {
    let dir = try tempFolder("cross")
    defer { try? FileManager.default.removeItem(at: dir) }
    let a = try copyFixture("charset_latin1.dcm", to: dir)      // PatientName Bäcker^Åsa
    let b = try copyFixture("multiframe_8frames.dcm", to: dir)  // PatientName Fixture^Patient, same study
    var r = try run(toolPath(), ["validate", dir.path])
    #expect(r.status == 0)
    let line = try #require(r.out.split(separator: "\n").first { $0.contains("study.inconsistent-patient") })
    #expect(line.contains(a) && line.contains(b))
    #expect(!r.out.contains("Bäcker") && !r.out.contains("Fixture^Patient"))
    r = try run(toolPath(), ["validate", "--show-phi", dir.path])
    #expect(r.out.contains("Bäcker^Åsa") && r.out.contains("Fixture^Patient"))
}
