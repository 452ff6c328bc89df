import Foundation
import Testing
@testable import Uploader

/// An S3-compatible server a test starts on 127.0.0.1 (SeaweedFS, the JuiceFS gateway),
/// with the well-known example key pair, killed and its directory removed by `stop()`.
protocol LocalS3Server: AnyObject, Sendable {
    /// The server process.
    var process: Process { get }
    /// Its data directory.
    var dir: URL { get }
    /// The S3 port.
    var port: Int { get }
}

let localAccessKey = "AKIAIOSFODNN7EXAMPLE"
let localSecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

extension LocalS3Server {
    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// SIGKILL: SIGTERM is blocked in children of the test runner.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: dir)
    }

    /// Starts `arguments` (through /usr/bin/env) with its output discarded.
    func launch(_ arguments: [String], environment: [String: String]? = nil) throws {
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment { process.environment = environment }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    func client(secret: String = localSecretKey, checksumAlgorithm: ChecksumAlgorithm = .crc32c) async throws -> S3Client {
        let env = ["AWS_ACCESS_KEY_ID": localAccessKey, "AWS_SECRET_ACCESS_KEY": secret, "HOME": "/nonexistent"]
        return try await S3Setup.makeClient(endpointURL: endpoint, region: "us-east-1", profile: nil, connections: 8,
                                            checksumAlgorithm: checksumAlgorithm, environment: env)
    }

    /// Waits until the server answers (up to a minute), creating `bucket`.
    func waitUntilReady(bucket: String) async throws {
        let c = try await client()
        // `weed mini` starts four servers; on a loaded 2-core machine (the whole suite at once) that can take minutes.
        let deadline = Date().addingTimeInterval(180)
        while true {
            do {
                try await c.createBucket(bucket)
                await c.shutdown()
                return
            } catch {
                if Date() > deadline { await c.shutdown(); throw error }
                try await Task.sleep(nanoseconds: 300_000_000)
            }
        }
    }
}
