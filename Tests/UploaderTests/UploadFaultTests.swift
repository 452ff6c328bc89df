import ByteCoding
import Foundation
import TestSupport
import Testing
@testable import Uploader

/// A SeaweedFS server behind the fault-injecting proxy (Tests/Oracle/fault_proxy.py), for the
/// conditions rebuilt from public bug reports against the AWS CLI, botocore and s3transfer.
private struct ProxiedSeaweed {
    let server: SeaweedServer
    let proxy: BackgroundProcess
    let port: Int
    let dir: URL

    init(bucket: String, proxyArguments: [String]) async throws {
        server = try SeaweedServer()
        try await server.waitUntilReady(bucket: bucket)
        proxy = try BackgroundProcess("python3", [packageRoot.appendingPathComponent("Tests/Oracle/fault_proxy.py").path,
                                                  "--port", "0", "--upstream", server.endpoint] + proxyArguments)
        port = try await proxy.listeningPort() ?? 0
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-upfault-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }
    var env: [String: String] {
        ["AWS_ACCESS_KEY_ID": SeaweedServer.accessKey, "AWS_SECRET_ACCESS_KEY": SeaweedServer.secretKey, "HOME": "/nonexistent",
         "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]
    }

    func stop() {
        proxy.stop()
        server.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// `ahi-upload upload DIR s3://BUCKET/run --s3-endpoint-url PROXY --debug …`.
    func upload(_ folder: URL, bucket: String, extra: [String] = [], environment: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
        try run(toolPath(), ["upload", folder.path, "s3://\(bucket)/run", "--s3-endpoint-url", endpoint, "--debug"] + extra,
                environment: env.merging(environment) { _, b in b })
    }
}

extension SeaweedFSTests {
    /// 3 s of 503 SlowDown on every request: all 40 files are uploaded (the waits visible in
    /// --debug, fewer requests in flight while throttled); a storm that never ends fails with
    /// SlowDown after the bounded attempts (AWS_MAX_ATTEMPTS honoured).
    @Test(.timeLimit(.minutes(5))) func slowDownStormIsWaitedOut() async throws {
        let s = try await ProxiedSeaweed(bucket: "ahi-storm", proxyArguments: ["--every", "0", "--slowdown-for", "3"])
        defer { s.stop() }
        let folder = s.dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for i in 0..<40 { try Data(testBytes(2_000 + i, seed: UInt64(i))).write(to: folder.appendingPathComponent("f\(i).bin")) }
        let r = try s.upload(folder, bucket: "ahi-storm")
        #expect(r.status == 0, "\(r.out)\n\(r.err.suffix(2500))")
        #expect(r.out.contains("uploaded 40 of 40"), "\(r.out)")
        #expect(r.err.contains("SlowDown") && r.err.contains("debug: retry") && r.err.contains("in flight at most"), "\(r.err.suffix(2000))")
        let client = try await s.server.client()
        for i in 0..<40 { #expect(try await client.getObject(bucket: "ahi-storm", key: "run/f\(i).bin") == testBytes(2_000 + i, seed: UInt64(i))) }
        await client.shutdown()
    }

    @Test(.timeLimit(.minutes(5))) func endlessSlowDownFailsAfterBoundedAttempts() async throws {
        let s = try await ProxiedSeaweed(bucket: "ahi-endless", proxyArguments: ["--every", "0", "--slowdown-for", "600"])
        defer { s.stop() }
        let folder = s.dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(testBytes(1_000, seed: 1)).write(to: folder.appendingPathComponent("f.bin"))
        let started = Date()
        let r = try s.upload(folder, bucket: "ahi-endless", environment: ["AWS_MAX_ATTEMPTS": "2"])
        #expect(r.status == 1 && r.err.contains("SlowDown"), "\(r.out)\n\(r.err.suffix(1500))")
        #expect(r.err.components(separatedBy: "debug: retry").count - 1 == 1, "AWS_MAX_ATTEMPTS=2: one retry\n\(r.err.suffix(1500))")
        #expect(Date().timeIntervalSince(started) < 60)
    }

    /// CompleteMultipartUpload answered HTTP 200 with an <Error> InternalError body: retried,
    /// and the object is complete; a corrupted body (BadDigest) is sent once more and stored right.
    @Test(.timeLimit(.minutes(5))) func completeErrorIn200AndBadDigestAreRetried() async throws {
        let s = try await ProxiedSeaweed(bucket: "ahi-200", proxyArguments: ["--every", "0", "--complete-error", "1", "--corrupt-puts", "1"])
        defer { s.stop() }
        let folder = s.dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let big = testBytes(11 << 20, seed: 7), small = testBytes(3_000, seed: 8)
        try Data(big).write(to: folder.appendingPathComponent("big.bin"))
        try Data(small).write(to: folder.appendingPathComponent("small.bin"))
        let r = try s.upload(folder, bucket: "ahi-200", extra: ["--concurrency", "1", "--multipart-threshold-mib", "5", "--part-size-mib", "5"])
        #expect(r.status == 0, "\(r.out)\n\(r.err.suffix(2500))")
        #expect(r.err.contains("CompleteMultipartUpload failed: InternalError (HTTP 200)") && r.err.contains("debug: retry"), "\(r.err.suffix(2500))")
        #expect(r.err.contains("BadDigest") && r.err.contains("sending it again"), "\(r.err.suffix(2500))")
        let client = try await s.server.client()
        #expect(try await client.getObject(bucket: "ahi-200", key: "run/big.bin") == big)
        #expect(try await client.getObject(bucket: "ahi-200", key: "run/small.bin") == small)
        #expect(try await client.listMultipartUploads(bucket: "ahi-200", prefix: "run/").isEmpty)
        await client.shutdown()
    }

    /// A file appended to, and one rewritten in place, while their multipart uploads run
    /// (slowed by the proxy): each fails with a clear reason and nothing is stored — never a
    /// mix of old and new bytes reported as uploaded.
    @Test(.timeLimit(.minutes(5))) func filesChangingDuringUploadAreNotStored() async throws {
        let s = try await ProxiedSeaweed(bucket: "ahi-change", proxyArguments: ["--every", "1", "--faults", "delay"])
        defer { s.stop() }
        for (name, change) in [("grows.bin", "append"), ("rewritten.bin", "rewrite")] {
            let folder = s.dir.appendingPathComponent(change)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let path = folder.appendingPathComponent(name)
            let original = testBytes(12 << 20, seed: 11)
            try Data(original).write(to: path)
            // Changed 3 s in (every request is delayed 1.5 s, so the upload is under way and not done),
            // by another process: the test's own threads may all be busy waiting for the upload.
            let offset = change == "append" ? "f.seek(0, 2)" : "f.seek(6 << 20)"
            let writer = try BackgroundProcess("python3", ["-c", """
                import time, sys
                time.sleep(3)
                with open(sys.argv[1], "r+b") as f:
                    \(offset)
                    f.write(b"\\xab" * (1 << 20))
                print("changed", flush=True)
                """, path.path])
            let r = try s.upload(folder, bucket: "ahi-change", extra: ["--concurrency", "1", "--multipart-threshold-mib", "5", "--part-size-mib", "5"])
            _ = await writer.wait(seconds: 30)
            #expect(writer.output.contains("changed"), "the writer did not run: \(writer.output)")
            #expect(r.status == 1, "\(change): \(r.out)\n\(r.err.suffix(1500))")
            #expect(r.err.contains("changed while it was being uploaded"), "\(change): \(r.err.suffix(1500))")
            let client = try await s.server.client()
            #expect(try await client.headObject(bucket: "ahi-change", key: "run/\(name)") == nil, "\(change): an object was stored")
            #expect(try await client.listMultipartUploads(bucket: "ahi-change", prefix: "run/").isEmpty)
            await client.shutdown()
        }
    }

    /// Hidden files are counted and named, not silently skipped; `--include-hidden` uploads them.
    @Test(.timeLimit(.minutes(3))) func hiddenFilesAreCountedOrUploaded() async throws {
        let s = try await ProxiedSeaweed(bucket: "ahi-hidden", proxyArguments: ["--every", "0"])
        defer { s.stop() }
        let folder = s.dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder.appendingPathComponent(".cache"), withIntermediateDirectories: true)
        for name in ["a.dcm", "b.dcm", ".DS_Store", ".cache/c.dcm"] { try Data(name.utf8).write(to: folder.appendingPathComponent(name)) }
        let r = try s.upload(folder, bucket: "ahi-hidden")
        #expect(r.status == 0 && r.out.contains("uploaded 2 of 2") && r.out.contains("skipped 2 hidden files or folders (--include-hidden"),
                "\(r.out)")
        let all = try s.upload(folder, bucket: "ahi-hidden", extra: ["--include-hidden"])
        #expect(all.status == 0 && all.out.contains("uploaded 4 of 4") && !all.out.contains("skipped"), "\(all.out)")
    }

    /// A server whose clock is 5 minutes ahead (and allows 1): the first answer is
    /// RequestTimeTooSkewed with the server's Date; the client takes the offset, signs again
    /// once, and every file is stored — no further attempt with the same bad time.
    @Test(.timeLimit(.minutes(3))) func clockSkewIsCorrectedOnce() async throws {
        let s = try await ProxiedSeaweed(bucket: "ahi-skew", proxyArguments: ["--every", "0", "--skew", "300", "--skew-tolerance", "60"])
        defer { s.stop() }
        let folder = s.dir.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for i in 0..<5 { try Data(testBytes(1_000 + i, seed: UInt64(i))).write(to: folder.appendingPathComponent("f\(i).bin")) }
        let r = try s.upload(folder, bucket: "ahi-skew", extra: ["--concurrency", "1"])
        #expect(r.status == 0 && r.out.contains("uploaded 5 of 5"), "\(r.out)\n\(r.err.suffix(2000))")
        #expect(r.err.contains("clock skew corrected by"), "\(r.err.suffix(2000))")
        #expect(r.err.components(separatedBy: "RequestTimeTooSkewed").count - 1 <= 2, "one refusal, then corrected: \(r.err.suffix(2000))")
        #expect(!r.err.contains("debug: retry"), "\(r.err.suffix(2000))")
    }
}
