import Foundation
import TestSupport
import Testing

/// `search` and `retrieve` signed with SigV4 against ahi-local (`--local`), after a STOW-RS import:
/// the HealthImaging path (`/datastore/ID/studies`), where `*` is matched after percent-decoding.
/// The files that come back are compared with the originals by pydicom.
@Test(.timeLimit(.minutes(5))) func searchAndRetrieveThroughLocalHealthImaging() throws {
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-local-dicomweb-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: home) }
    let env = ["HOME": home.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    let local = ["--local", "--local-dir", home.appendingPathComponent("local").path]
    let study = "1.2.826.0.1.3680043.10.1234.10"  // the sample study, as pydicom reads it
    var r = try run(toolPath(), [fixture("sample-study"), "--via", "stow-rs"] + local, environment: env)
    #expect(r.status == 0, "\(r.out)\(r.err)")

    r = try run(toolPath(), ["search", "studies", "--match", "PatientID=SAMPLE*", "--output", "json"] + local, environment: env)
    #expect(r.status == 0, "\(r.err)")
    let studies = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[String: Any]])
    #expect(studies.count == 1)
    #expect(((studies.first?["0020000D"] as? [String: Any])?["Value"] as? [String])?.first == study)

    let out = home.appendingPathComponent("back")
    r = try run(toolPath(), ["retrieve", "--study", study, "--out", out.path] + local, environment: env)
    #expect(r.status == 0, "\(r.out)\(r.err)")
    let files = ["series-1/CT0001.dcm", "series-1/CT0002.dcm", "series-1/CT0003.dcm",
                 "series-2/CT0001.dcm", "series-2/CT0002.dcm", "series-2/CT0003.dcm"].map { fixture("sample-study/\($0)") }
    let c = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/dicomweb_oracle.py").path, "compare", out.path] + files)
    #expect(c.status == 0 && c.out.contains("6 of 6 equal"), "\(c.out)")

    r = try run(toolPath(), ["retrieve", "--study", "1.2.3.4.5", "--out", out.path] + local, environment: env)
    #expect(r.status != 0 && r.err.contains("1.2.3.4.5"), "\(r.err)")
}
