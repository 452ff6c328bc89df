import Foundation
import TestSupport
import Testing

/// `search` and `retrieve` against a real Orthanc with its DICOMweb plugin, loaded with a plain
/// STOW-RS from Python `requests` (Tests/Oracle/dicomweb_oracle.py), checked with pydicom.
@Suite(.serialized, .enabled(if: Orthanc.isInstalled, "Orthanc (/usr/sbin/Orthanc) and its DICOMweb plugin are not installed: run Scripts/setup.sh"))
struct OrthancDICOMwebTests {
    /// The committed fixtures' identities, as pydicom reads them (not as our code does).
    static let sampleStudy = "1.2.826.0.1.3680043.10.1234.10"
    static let sampleSeries1 = "1.2.826.0.1.3680043.10.1234.10.1"
    static let sampleSeries1Instances: Set<String> = ["1.2.826.0.1.3680043.10.1234.10.1.1", "1.2.826.0.1.3680043.10.1234.10.1.2",
                                                      "1.2.826.0.1.3680043.10.1234.10.1.3"]
    static let sampleFiles = ["series-1/CT0001.dcm", "series-1/CT0002.dcm", "series-1/CT0003.dcm",
                              "series-2/CT0001.dcm", "series-2/CT0002.dcm", "series-2/CT0003.dcm"].map { fixture("sample-study/\($0)") }
    /// Another study (patient FIX-0001): multi-frame native, JPEG 2000, RLE and a plain CT.
    static let fixStudy = "1.2.826.0.1.3680043.10.1234.1"
    static let fixFiles = ["multiframe_8frames.dcm", "j2k_two_fragments_per_frame.dcm", "rle_with_bot.dcm", "ct_explicit_le.dcm"].map(fixture)

    static let oracle = packageRoot.appendingPathComponent("Tests/Oracle/dicomweb_oracle.py").path

    /// A user's environment without AWS anything and an empty HOME (no config file).
    static func environment(_ extra: [String: String] = [:]) throws -> [String: String] {
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-dicomweb-home-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        return ["HOME": home.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"].merging(extra) { $1 }
    }

    static func tool(_ arguments: [String], url: String, auth: [String] = ["--dicomweb-auth", "none"],
                     environment: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
        try run(toolPath(), arguments + ["--dicomweb-endpoint-url", url] + auth, environment: environment ?? Self.environment())
    }

    static func stow(_ url: String, _ files: [String], user: String? = nil, password: String? = nil) throws {
        var args = [oracle, "stow", url] + files
        if let user, let password { args += ["--user", user, "--password", password] }
        let r = try run("python3", args)
        #expect(r.status == 0, "STOW through requests failed: \(r.out)\(r.err)")
        #expect(r.out.contains("stored \(files.count)"), "\(r.out)")
    }

    static func json(_ text: String) throws -> [[String: Any]] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]], "not a JSON array: \(text.prefix(500))")
    }

    static func values(_ object: [String: Any], _ key: String) -> [Any] {
        (object[key] as? [String: Any])?["Value"] as? [Any] ?? []
    }

    static func string(_ object: [String: Any], _ key: String) -> String? {
        let v = values(object, key).first
        if let s = v as? String { return s }
        if let pn = v as? [String: Any] { return pn["Alphabetic"] as? String }
        if let n = v as? NSNumber { return n.stringValue }
        return nil
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-retrieve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    static func files(under dir: URL) -> [String] {
        (FileManager.default.enumerator(atPath: dir.path)?.allObjects as? [String] ?? []).filter {
            var isDir: ObjCBool = false
            return FileManager.default.fileExists(atPath: dir.appendingPathComponent($0).path, isDirectory: &isDir) && !isDir.boolValue
        }
    }

    @Test(.timeLimit(.minutes(5))) func searchFindsWhatWasStored() async throws {
        let (url, stop) = try await Orthanc.start()
        defer { stop() }
        try Self.stow(url, Self.sampleFiles + Self.fixFiles)

        // Study level, a wildcard match on PatientID (sent with a literal *).
        var r = try Self.tool(["search", "studies", "--match", "PatientID=SAMPLE*", "--output", "json"], url: url)
        #expect(r.status == 0, "\(r.err)")
        var studies = try Self.json(r.out)
        #expect(studies.count == 1)
        #expect(studies.first.flatMap { Self.string($0, "0020000D") } == Self.sampleStudy)
        // Patient identifiers hidden without --show-phi, in JSON too.
        #expect(studies.first.flatMap { Self.string($0, "00100020") } == "***")
        #expect(!r.out.contains("SAMPLE-0001") && !r.err.contains("SAMPLE-0001"))

        r = try Self.tool(["search", "studies", "--match", "PatientID=SAMPLE*", "--output", "json", "--show-phi"], url: url)
        studies = try Self.json(r.out)
        #expect(studies.first.flatMap { Self.string($0, "00100020") } == "SAMPLE-0001")

        r = try Self.tool(["search", "studies", "--output", "json"], url: url)
        #expect(Set(try Self.json(r.out).compactMap { Self.string($0, "0020000D") }) == [Self.sampleStudy, Self.fixStudy])

        // No match: an empty array, exit 0.
        r = try Self.tool(["search", "studies", "--match", "PatientID=NOBODY*", "--output", "json"], url: url)
        #expect(r.status == 0, "\(r.err)")
        #expect(try Self.json(r.out).isEmpty)

        // Series and instance levels.
        r = try Self.tool(["search", "series", "--study", Self.sampleStudy, "--output", "json"], url: url)
        #expect(try Self.json(r.out).count == 2, "\(r.out)\(r.err)")
        r = try Self.tool(["search", "instances", "--study", Self.sampleStudy, "--series", Self.sampleSeries1, "--output", "json"], url: url)
        #expect(Set(try Self.json(r.out).compactMap { Self.string($0, "00080018") }) == Self.sampleSeries1Instances)

        // Paging: pages of 2 collect all 3; --limit 2 stops at 2 and says so.
        r = try Self.tool(["search", "instances", "--study", Self.sampleStudy, "--series", Self.sampleSeries1, "--page-size", "2",
                           "--output", "json"], url: url)
        #expect(Set(try Self.json(r.out).compactMap { Self.string($0, "00080018") }) == Self.sampleSeries1Instances)
        r = try Self.tool(["search", "instances", "--study", Self.sampleStudy, "--series", Self.sampleSeries1, "--page-size", "1",
                           "--limit", "2", "--output", "json"], url: url)
        #expect(r.status == 0)
        let limited = try Self.json(r.out).compactMap { Self.string($0, "00080018") }
        #expect(limited.count == 2 && Set(limited).count == 2 && Set(limited).isSubset(of: Self.sampleSeries1Instances))
        #expect(r.err.contains("--limit 2"), "\(r.err)")

        // An includefield comes back (and only when asked for).
        r = try Self.tool(["search", "studies", "--match", "PatientID=SAMPLE-0001", "--output", "json"], url: url)
        #expect(try Self.json(r.out).first?["00081030"] == nil, "\(r.out)")
        r = try Self.tool(["search", "studies", "--match", "PatientID=SAMPLE-0001", "--include", "StudyDescription", "--output", "json"], url: url)
        #expect(try Self.json(r.out).first.flatMap { Self.string($0, "00081030") } == "ahi-upload sample study", "\(r.out)")

        // Text: a table, identifiers hidden unless --show-phi.
        r = try Self.tool(["search", "studies"], url: url)
        #expect(r.status == 0)
        #expect(r.out.contains(Self.sampleStudy) && r.out.contains("***") && !r.out.contains("SAMPLE-0001"), "\(r.out)")
        #expect(r.out.contains("2 studies"))
        r = try Self.tool(["search", "studies", "--show-phi"], url: url)
        #expect(r.out.contains("SAMPLE-0001"), "\(r.out)")

        // A keyword that does not exist is refused before anything is sent.
        r = try Self.tool(["search", "studies", "--match", "PatientIdd=X"], url: url)
        #expect(r.status != 0 && r.err.contains("PatientIdd"))
    }

    @Test(.timeLimit(.minutes(5))) func retrieveBringsBackEqualFiles() async throws {
        let (url, stop) = try await Orthanc.start()
        defer { stop() }
        try Self.stow(url, Self.sampleFiles + Self.fixFiles)
        let out = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }

        // A whole study; a second study (JPEG 2000, RLE, multi-frame) as stored, nothing transcoded.
        var r = try Self.tool(["retrieve", "--study", Self.sampleStudy, "--out", out.path], url: url)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.contains("retrieved 6 instances"), "\(r.out)")
        r = try Self.tool(["retrieve", "--study", Self.fixStudy, "--out", out.path, "--output", "json"], url: url)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        let c = try run("python3", [Self.oracle, "compare", out.path] + Self.sampleFiles + Self.fixFiles)
        #expect(c.status == 0, "\(c.out)\(c.err)")
        #expect(c.out.contains("10 of 10 equal"), "\(c.out)")
        #expect(Self.files(under: out).count == 10)
        #expect(!Self.files(under: out).contains { $0.hasSuffix(".part") })

        // One series; one instance.
        let one = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: one) }
        r = try Self.tool(["retrieve", "--study", Self.sampleStudy, "--series", Self.sampleSeries1, "--out", one.path], url: url)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(Self.files(under: one).count == 3)
        let single = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: single) }
        r = try Self.tool(["retrieve", "--study", Self.sampleStudy, "--series", Self.sampleSeries1, "--instance", "1.2.826.0.1.3680043.10.1234.10.1.2",
                           "--out", single.path], url: url)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(Self.files(under: single) == ["\(Self.sampleStudy)/\(Self.sampleSeries1)/1.2.826.0.1.3680043.10.1234.10.1.2.dcm"])

        // An unknown study: a message naming it, exit status not 0, nothing written.
        let none = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: none) }
        r = try Self.tool(["retrieve", "--study", "1.2.3.4.5.6.7.8.9", "--out", none.path], url: url)
        #expect(r.status != 0)
        #expect(r.err.contains("1.2.3.4.5.6.7.8.9") && r.err.contains("404"), "\(r.err)")
        #expect(Self.files(under: none).isEmpty)
    }

    @Test(.timeLimit(.minutes(5))) func aCutOffAnswerFailsAndLeavesNoPartialFile() async throws {
        let (url, stop) = try await Orthanc.start()
        defer { stop() }
        try Self.stow(url, Self.sampleFiles)
        let upstream = String(url.dropLast("/dicom-web".count))
        let proxy = try BackgroundProcess("python3", [Self.oracle, "truncating-proxy", upstream, "--fraction", "0.6"])
        defer { proxy.stop() }
        let port = try #require(try await proxy.listeningPort())
        let out = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let r = try Self.tool(["retrieve", "--study", Self.sampleStudy, "--out", out.path], url: "http://127.0.0.1:\(port)/dicom-web")
        #expect(r.status != 0, "\(r.out)")
        #expect(r.err.contains("cut off") || r.err.contains("truncated"), "\(r.err)")
        let written = Self.files(under: out)
        #expect(!written.contains { $0.hasSuffix(".part") }, "\(written)")
        #expect(written.count < 6)
        // What was written is whole: each file equals its original.
        if !written.isEmpty {
            let originals = Self.sampleFiles.filter { f in written.contains { $0.hasSuffix("/" + Self.sopUID(of: f) + ".dcm") } }
            let c = try run("python3", [Self.oracle, "compare", out.path] + originals)
            #expect(c.status == 0, "\(c.out)")
        }
    }

    /// The SOP Instance UID of a sample-study fixture (named by its folder and file: series-S/CT000N).
    static func sopUID(of path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let series = url.deletingLastPathComponent().lastPathComponent.dropFirst("series-".count)
        let n = Int(url.deletingPathExtension().lastPathComponent.dropFirst("CT".count)) ?? 0
        return "\(sampleStudy).\(series).\(n)"
    }

    @Test(.timeLimit(.minutes(5))) func basicAuthentication() async throws {
        let (url, stop) = try await Orthanc.start(authentication: ["alice": "alicePassword"])
        defer { stop() }
        try Self.stow(url, Self.sampleFiles, user: "alice", password: "alicePassword")

        // Without credentials: 401, a clear message, exit status not 0.
        var r = try Self.tool(["search", "studies", "--output", "json"], url: url)
        #expect(r.status != 0)
        #expect(r.err.contains("401") && r.err.contains("--dicomweb-auth basic"), "\(r.err)")
        // A wrong password: 401 too.
        r = try Self.tool(["search", "studies"], url: url, auth: ["--dicomweb-auth", "basic", "--dicomweb-user", "alice"],
                          environment: try Self.environment(["AHI_DICOMWEB_PASSWORD": "wrong"]))
        #expect(r.status != 0 && r.err.contains("401"), "\(r.err)")
        #expect(!r.err.contains("wrong"), "the password must not be printed")

        let env = try Self.environment(["AHI_DICOMWEB_PASSWORD": "alicePassword"])
        let basic = ["--dicomweb-auth", "basic", "--dicomweb-user", "alice"]
        r = try Self.tool(["search", "studies", "--output", "json"], url: url, auth: basic, environment: env)
        #expect(r.status == 0, "\(r.err)")
        #expect(try Self.json(r.out).compactMap { Self.string($0, "0020000D") } == [Self.sampleStudy])
        #expect(!r.out.contains("alicePassword") && !r.err.contains("alicePassword"))

        let out = try Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        r = try Self.tool(["retrieve", "--study", Self.sampleStudy, "--out", out.path], url: url, auth: basic, environment: env)
        #expect(r.status == 0, "\(r.out)\(r.err)")
        let c = try run("python3", [Self.oracle, "compare", out.path] + Self.sampleFiles)
        #expect(c.status == 0 && c.out.contains("6 of 6 equal"), "\(c.out)")
    }
}
