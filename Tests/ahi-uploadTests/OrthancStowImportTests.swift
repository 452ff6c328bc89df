import Foundation
import TestSupport
import Testing

/// `import --via stow-rs` into a real Orthanc (its DICOMweb plugin judges our STOW-RS requests),
/// then `search` finds the studies and `retrieve` brings back data sets pydicom finds equal.
@Suite(.serialized, .enabled(if: Orthanc.isInstalled, "Orthanc (/usr/sbin/Orthanc) and its DICOMweb plugin are not installed: run Scripts/setup.sh"))
struct OrthancStowImportTests {
    typealias T = OrthancDICOMwebTests

    /// A folder of both fixture studies (native, multi-frame, JPEG 2000, RLE) and one invalid file.
    static func folder() throws -> (URL, [String]) {
        let dir = try T.temporaryDirectory()
        var copied: [String] = []
        for (i, f) in (T.sampleFiles + T.fixFiles).enumerated() {
            let target = dir.appendingPathComponent("in/\(i)-\((f as NSString).lastPathComponent)")
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.copyItem(atPath: f, toPath: target.path)
            copied.append(target.path)
        }
        try Data("not a DICOM file".utf8).write(to: dir.appendingPathComponent("in/notes.dcm"))
        return (dir, copied)
    }

    static func storeSearchRetrieve(url: String, auth: [String], environment: [String: String]) throws {
        let (dir, files) = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let report = dir.appendingPathComponent("report.json").path
        var r = try T.tool(["import", dir.appendingPathComponent("in").path, "--via", "stow-rs", "--stow-max-instances", "3",
                            "--report", report], url: url, auth: auth, environment: environment)
        // Every valid file stored, the invalid one skipped: exit 2.
        #expect(r.status == 2, "\(r.out)\(r.err)")
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as? [String: Any])
        let outcomes = try #require(doc["files"] as? [[String: Any]])
        #expect(outcomes.filter { $0["status"] as? String == "imported" }.count == files.count, "\(outcomes)")
        #expect(outcomes.contains { ($0["path"] as? String)?.hasSuffix("notes.dcm") == true && $0["status"] as? String == "skipped" })
        #expect(doc["via"] as? String == "stow-rs")

        // Orthanc's own index, through our search: both studies.
        r = try T.tool(["search", "studies", "--output", "json"], url: url, auth: auth, environment: environment)
        #expect(r.status == 0, "\(r.err)")
        #expect(Set(try T.json(r.out).compactMap { T.string($0, "0020000D") }) == [T.sampleStudy, T.fixStudy])

        // Retrieved as stored, equal to the originals element by element, pixel data included.
        let out = try T.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        for study in [T.sampleStudy, T.fixStudy] {
            r = try T.tool(["retrieve", "--study", study, "--out", out.path], url: url, auth: auth, environment: environment)
            #expect(r.status == 0, "\(r.out)\(r.err)")
        }
        let c = try run("python3", [T.oracle, "compare", out.path] + files)
        #expect(c.status == 0 && c.out.contains("\(files.count) of \(files.count) equal"), "\(c.out)\(c.err)")
    }

    @Test(.timeLimit(.minutes(5))) func importViaStowIntoOrthancUnsigned() async throws {
        let (url, stop) = try await Orthanc.start()
        defer { stop() }
        try Self.storeSearchRetrieve(url: url, auth: ["--dicomweb-auth", "none"], environment: try T.environment())
    }

    @Test(.timeLimit(.minutes(5))) func importViaStowIntoOrthancWithBasicAuth() async throws {
        let (url, stop) = try await Orthanc.start(authentication: ["alice": "alicePassword"])
        defer { stop() }
        // Without the password nothing is stored, and the exit status says so.
        let (dir, _) = try Self.folder()
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try T.tool(["import", dir.appendingPathComponent("in").path, "--via", "stow-rs"], url: url)
        #expect(r.status == 1, "\(r.out)\(r.err)")
        #expect(r.out.contains("401"), "\(r.out)")
        try Self.storeSearchRetrieve(url: url, auth: ["--dicomweb-auth", "basic", "--dicomweb-user", "alice"],
                                     environment: try T.environment(["AHI_DICOMWEB_PASSWORD": "alicePassword"]))
    }
}
