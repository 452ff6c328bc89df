import Foundation
import LocalHealthImaging
import TestSupport
import Testing

/// `ahi-local` started the way a user starts it, on a free loopback port.
final class AHILocalProcess: @unchecked Sendable {
    let process: BackgroundProcess
    let dataDirectory: URL
    let port: Int

    init(arguments: [String] = [], dataDirectory: URL? = nil) async throws {
        let dir = dataDirectory ?? FileManager.default.temporaryDirectory.appendingPathComponent("ahi-local-\(UUID().uuidString)")
        self.dataDirectory = dir
        process = try BackgroundProcess(toolPath("ahi-local"), ["--port", "0", "--data-dir", dir.path] + arguments)
        guard let port = try await process.listeningPort() else {
            process.stop()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "ahi-local did not start"])
        }
        self.port = port
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }

    /// The environment an AWS CLI or boto3 client needs for it.
    var clientEnvironment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["AWS_ACCESS_KEY_ID"] = LocalHealthImagingServer.defaultAccessKeyId
        env["AWS_SECRET_ACCESS_KEY"] = LocalHealthImagingServer.defaultSecretAccessKey
        env["AWS_DISABLE_HOST_PREFIX_INJECTION"] = "true"
        env["AWS_DEFAULT_REGION"] = "us-east-1"
        env["AWS_EC2_METADATA_DISABLED"] = "true"
        env["AWS_CONFIG_FILE"] = "/nonexistent"
        env["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent"
        return env
    }

    func stop(keepData: Bool = false) {
        process.stop()
        if !keepData { try? FileManager.default.removeItem(at: dataDirectory) }
    }
}

/// boto3 and the AWS CLI judge ahi-local: S3 upload, datastore, import, poll, manifests,
/// search, image set, metadata and frames (compared with pydicom), wrong secrets refused.
@Test(.timeLimit(.minutes(5))) func boto3AndAWSCLIAgainstAHILocal() async throws {
    let server = try await AHILocalProcess()
    defer { server.stop() }
    let fixtures = packageRoot.appendingPathComponent("Fixtures")
    let names = ["ct_explicit_le.dcm", "ct_implicit_le.dcm", "ct_explicit_be.dcm", "ct_deflated.dcm", "multiframe_8frames.dcm",
                 "rle_with_bot.dcm", "j2k_two_fragments_per_frame.dcm", "nested_private.dcm", "charset_utf8.dcm", "ct_no_preamble.dcm"]
    let files = names.map { fixtures.appendingPathComponent($0).path }.filter { FileManager.default.fileExists(atPath: $0) }
    #expect(files.count == names.count, "fixtures missing: \(names)")
    let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/ahi_local_client.py").path, server.endpoint] + files,
                    environment: server.clientEnvironment)
    print(r.out)
    #expect(r.status == 0, "\(r.out)\n\(r.err.suffix(3000))")
    #expect(r.out.contains("all ok"))
}
