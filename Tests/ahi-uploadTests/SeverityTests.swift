import Foundation
import TestSupport
import Testing

/// For each HealthImaging warning the validator predicts, a file that earns it: `validate
/// --output json` says warning (not error), names the code, and exits 0; `import` sends it.
@Test(.timeLimit(.minutes(3))) func validatePredictsHealthImagingWarnings() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-severity-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let made = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/make_pixel_cases.py").path, dir.path])
    #expect(made.status == 0, "\(made.err)")
    var expected: [String: String] = [:]
    for line in made.out.split(separator: "\n") {
        guard let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
              let path = o["path"] as? String, let code = o["ahiWarning"] as? String else { continue }
        expected[path] = code
    }
    expected[fixture("realworld/26-frames-mismatch.dcm")] = "FRAME_NUMBER_MISMATCH"
    #expect(expected.count >= 8)
    let r = try run(toolPath(), ["validate", "--output", "json"] + expected.keys.sorted())
    #expect(r.status == 0, "warnings only: \(r.out)")
    let report = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
    for case let f as [String: Any] in report["files"] as? [Any] ?? [] {
        let path = f["path"] as? String ?? ""
        let diagnostics = f["diagnostics"] as? [[String: Any]] ?? []
        #expect(f["status"] as? String == "warning", "\(path): \(diagnostics)")
        #expect(diagnostics.contains { $0["ahiWarning"] as? String == expected[path] && $0["severity"] as? String == "warning" },
                "\(path): expected \(expected[path] ?? "?") in \(diagnostics)")
        #expect(diagnostics.allSatisfy { ($0["message"] as? String ?? "").contains("HealthImaging") || $0["ahiWarning"] == nil })
    }
}

/// A private element without its Private Creator (PS3.5 7.8.1) is a warning.
@Test func privateElementWithoutCreatorIsAWarning() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-private-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("p.dcm").path
    let script = """
        import sys, pydicom
        d = pydicom.dcmread(sys.argv[1]); d.add_new(0x00091001, "LO", "orphan"); d.add_new(0x00110010, "LO", "ACME")
        d.add_new(0x00111001, "LO", "has no creator at (0011,0010)"); d.add_new(0x00111005, "LO", "fine"); d.save_as(sys.argv[2])
        """
    // (0011,1005) is in the block of creator (0011,0010): fine. (0011,1001) too. (0009,1001) has none.
    let made = try run("python3", ["-c", script, fixture("ct_explicit_le.dcm"), path])
    #expect(made.status == 0, "\(made.err)")
    let r = try run(toolPath(), ["validate", "--output", "json", path])
    #expect(r.status == 0)
    let o = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
    let diagnostics = ((o["files"] as? [[String: Any]])?.first?["diagnostics"] as? [[String: Any]]) ?? []
    let missing = diagnostics.filter { $0["code"] as? String == "private.missing-creator" }
    #expect(missing.map { $0["tagPath"] as? String } == ["(0009,1001)"], "\(diagnostics)")
    #expect(missing.first?["severity"] as? String == "warning")
}

/// `import` skips only errors: the two field cases that used to be skipped are imported
/// (ahi-local, as HealthImaging documents, warns FRAME_NUMBER_MISMATCH for one).
@Test(.timeLimit(.minutes(3))) func importSendsWhatHealthImagingStores() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-warned-import-\(UUID().uuidString)")
    let folder = dir.appendingPathComponent("in")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    for name in ["15-ybr-full-422-native.dcm", "26-frames-mismatch.dcm"] {
        try FileManager.default.copyItem(atPath: fixture("realworld/\(name)"), toPath: folder.appendingPathComponent(name).path)
    }
    let r = try run(toolPath(), [folder.path, "--local", "--local-dir", dir.appendingPathComponent("local").path, "--output", "json"],
                    environment: ["HOME": dir.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    let report = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
    let files = report["files"] as? [[String: Any]] ?? []
    #expect(files.count == 2 && files.allSatisfy { $0["status"] as? String == "imported" }, "\(files)")
    let mismatch = files.first { ($0["path"] as? String ?? "").hasSuffix("26-frames-mismatch.dcm") }
    #expect((mismatch?["warnings"] as? [String])?.contains { $0.hasPrefix("FRAME_NUMBER_MISMATCH (45329)") } == true, "\(String(describing: mismatch))")
}
