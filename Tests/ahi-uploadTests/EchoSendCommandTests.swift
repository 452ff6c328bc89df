import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// `ahi-upload echo` and `ahi-upload send` against DCMTK's storescp.
@Suite(.serialized) struct EchoSendCommandTests {
    func freePort() -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }

    func withStorescp(_ body: (Int, URL) async throws -> Void) async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-send-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = freePort()
        let scp = try BackgroundProcess("/usr/bin/storescp", ["-aet", "STORESCP", "-od", dir.path, "+xa", "\(port)"])
        defer { scp.stop() }
        try await Task.sleep(for: .milliseconds(500))
        try await body(port, dir)
    }

    @Test func echoSucceedsAndFailsClearly() async throws {
        try await withStorescp { port, _ in
            let ok = try run(toolPath(), ["echo", "127.0.0.1", "\(port)", "--called-ae", "STORESCP", "--repeat", "2", "--output", "json"])
            #expect(ok.status == 0, "\(ok.out)\(ok.err)")
            let report = try JSONSerialization.jsonObject(with: Data(ok.out.utf8)) as? [String: Any]
            #expect((report?["echoes"] as? [[String: Any]])?.map { $0["status"] as? String } == ["0000", "0000"], "\(ok.out)")
        }
        let closed = try run(toolPath(), ["echo", "127.0.0.1", "\(freePort())", "--timeout", "5"])
        #expect(closed.status == 1 && !closed.err.isEmpty)
    }

    /// Every fixture (a folder of mixed transfer syntaxes, plus a file that is not DICOM) goes
    /// to storescp; pydicom finds each equal to its source.
    @Test func sendWalksFoldersAndEveryFileArrives() async throws {
        let src = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-send-src-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: src, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: src) }
        let names = ["sample-study/series-1/CT0001.dcm", "sample-study/series-2/CT0002.dcm", "ct_implicit_le.dcm",
                     "multiframe_8frames.dcm", "j2k_two_fragments_per_frame.dcm", "rle_with_bot.dcm", "charset_latin1.dcm"]
        for (i, n) in names.enumerated() {
            try FileManager.default.copyItem(atPath: fixture(n), toPath: src.appendingPathComponent("\(i).dcm").path)
        }
        try Data("not dicom at all".utf8).write(to: src.appendingPathComponent("notes.txt"))
        try await withStorescp { port, dir in
            let r = try run(toolPath(), ["send", src.path, "127.0.0.1", "\(port)", "--called-ae", "STORESCP",
                                         "--associations", "3", "--output", "json"])
            #expect(r.status == 0, "\(r.out)\(r.err)")
            let report = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
            #expect(report?["sent"] as? Int == names.count, "\(r.out)")
            #expect((report?["skipped"] as? [[String: Any]])?.count == 1, "\(r.out)")
            let oracle = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/dimse_oracle.py").path, "compare",
                                             dir.path, "--same-ts"] + names.map(fixture))
            #expect(oracle.status == 0, "\(oracle.out)\(oracle.err)")
        }
    }

    @Test func sendReportsFailuresAndExitsOne() async throws {
        // Nobody listens: every file fails with the connection error; exit 1.
        let r = try run(toolPath(), ["send", fixture("ct_explicit_le.dcm"), "127.0.0.1", "\(freePort())", "--timeout", "5"])
        #expect(r.status == 1, "\(r.out)\(r.err)")
        #expect(r.out.contains("failed 1"), "\(r.out)")
    }
}
