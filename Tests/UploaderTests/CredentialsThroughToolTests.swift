import Foundation
import TestSupport
import Testing
@testable import Uploader

/// Credentials and region settings as a user meets them: `ahi-upload upload` against moto
/// on 127.0.0.1 with signature checking, and expired session keys refused as S3 refuses them.
@Suite struct CredentialsThroughToolTests {
    /// `count` small files in a new folder.
    func files(_ count: Int) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-files-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for i in 0..<count {
            try Data(testBytes(300, seed: UInt64(i))).write(to: dir.appendingPathComponent(String(format: "f%02d.bin", i)))
        }
        return dir
    }

    /// The user's PATH (for python3 and sh in helpers), moto's endpoint for STS, no instance metadata.
    func environment(_ home: URL) -> [String: String] {
        ["HOME": home.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
         "AWS_EC2_METADATA_DISABLED": "true"]
    }

    /// A `credential_process` handing out moto session keys that live 20 s, on an upload of
    /// 60 files that takes longer: the process runs again before they expire, no ExpiredToken.
    @Test(.timeLimit(.minutes(3))) func uploadOutlivesTwentySecondCredentials() async throws {
        let moto = try await MotoServer(arguments: ["--put-delay", "0.4"])
        defer { moto.stop() }
        let folder = try files(60)
        defer { try? FileManager.default.removeItem(at: folder) }
        let counter = folder.deletingLastPathComponent().appendingPathComponent("runs-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: counter) }
        let helper = folder.deletingLastPathComponent().appendingPathComponent("helper-\(UUID().uuidString).py")
        defer { try? FileManager.default.removeItem(at: helper) }
        try Data("""
            import json, sys
            import boto3, botocore.config
            with open(sys.argv[1], "a") as f:
                f.write("run\\n")
            sts = boto3.client("sts", endpoint_url=sys.argv[2], region_name="us-east-1", aws_access_key_id=sys.argv[3],
                               aws_secret_access_key=sys.argv[4], config=botocore.config.Config(parameter_validation=False))
            c = sts.assume_role(RoleArn=sys.argv[5], RoleSessionName="short-lived", DurationSeconds=20)["Credentials"]
            print(json.dumps({"Version": 1, "AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
                              "SessionToken": c["SessionToken"], "Expiration": c["Expiration"].isoformat()}))

            """.utf8).write(to: helper)
        let home = try moto.home(extra: """

            [profile short]
            credential_process = python3 \(helper.path) \(counter.path) \(moto.endpoint) \(moto.accessKey) \(moto.secretKey) \(moto.roleArn)

            """)
        defer { try? FileManager.default.removeItem(at: home) }
        let env = environment(home)
        let setup = try await S3Setup.makeClient(endpointURL: moto.endpoint, region: nil, profile: "base", connections: 1, environment: env)
        try await setup.createBucket("short-lived")

        let started = Date()
        let r = try run(toolPath(), ["upload", folder.path, "s3://short-lived/study", "--s3-endpoint-url", moto.endpoint,
                                     "--profile", "short", "--concurrency", "1"], environment: env)
        let seconds = Date().timeIntervalSince(started)
        let runs = ((try? String(contentsOf: counter, encoding: .utf8)) ?? "").split(separator: "\n").count
        #expect(r.status == 0 && !r.err.contains("ExpiredToken"), "\(r.out)\(r.err.suffix(3000))")
        #expect(seconds > 22, "the upload took \(seconds) s: not longer than the credentials' life")
        #expect((2...5).contains(runs), "credential_process ran \(runs) times in \(seconds) s")
        #expect(try await setup.listObjects(bucket: "short-lived", prefix: "study/").count == 60)
        // This server refuses keys past their expiry, as S3 does: an upload that kept them would fail.
        let base = AWSCredentials(accessKeyId: moto.accessKey, secretAccessKey: moto.secretKey)
        let endpoint = try #require(Endpoint(moto.endpoint))
        let brief = try await STSCredentials.assumeRole(roleArn: moto.roleArn, sessionName: "brief", externalId: nil, durationSeconds: "1",
                                                        sourceCredentials: base, endpoint: endpoint, region: "us-east-1", source: "test")
        try await Task.sleep(for: .milliseconds(1500))
        let transport = AWSTransport(endpoint: endpoint, region: "us-east-1", service: "s3", credentials: { brief })
        let stale = S3Client(transport: transport, pathStyle: true, makeTransport: { _, _ in transport })
        do {
            try await stale.putObject(bucket: "short-lived", key: "stale.bin", body: [1, 2, 3])
            Issue.record("expired keys accepted")
        } catch {
            #expect("\(error)".contains("ExpiredToken"), "\(error)")
        }
        await stale.shutdown()
        await setup.shutdown()
    }

    /// Config mistakes stop the command before any request, naming the file and line or the
    /// variable; an empty `region =` is unset; a failing helper's stderr is shown.
    @Test(.timeLimit(.minutes(3))) func configMistakesThroughTheTool() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let folder = try files(2)
        defer { try? FileManager.default.removeItem(at: folder) }
        let home = try moto.home(extra: """

            [profile empty-region]
            region =
            aws_access_key_id = \(moto.accessKey)
            aws_secret_access_key = \(moto.secretKey)

            [profile bad-region]
            region = eu_west_1
            aws_access_key_id = \(moto.accessKey)
            aws_secret_access_key = \(moto.secretKey)

            [profile mfa]
            credential_process = sh -c 'echo "MFA token required" >&2; exit 1'

            """)
        defer { try? FileManager.default.removeItem(at: home) }
        let config = home.appendingPathComponent(".aws/config").path
        let lines = try String(contentsOfFile: config, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        func line(_ text: String) -> Int { (lines.firstIndex { $0 == Substring(text) } ?? -1) + 1 }
        let env = environment(home)
        let setup = try await S3Setup.makeClient(endpointURL: moto.endpoint, region: nil, profile: "base", connections: 1, environment: env)
        try await setup.createBucket("config-cases")
        func upload(_ profile: String, _ extra: [String: String] = [:]) throws -> (status: Int32, out: String, err: String) {
            try run(toolPath(), ["upload", folder.path, "s3://config-cases/\(profile)", "--s3-endpoint-url", moto.endpoint,
                                 "--profile", profile], environment: env.merging(extra) { $1 })
        }

        let empty = try upload("empty-region")
        #expect(empty.status == 0, "\(empty.err)")
        let bad = try upload("bad-region")
        #expect(bad.status != 0 && bad.err.contains("profile bad-region in \(config) line \(line("region = eu_west_1")): "
                                                    + "region \"eu_west_1\" is not a region name"), "\(bad.err)")
        let badVariable = try upload("empty-region", ["AWS_REGION": "eu-west-1 "])
        #expect(badVariable.status != 0 && badVariable.err.contains("AWS_REGION: region \"eu-west-1 \" is not a region name"), "\(badVariable.err)")
        let mfa = try upload("mfa")
        #expect(mfa.status != 0 && mfa.err.contains("exited with status 1; its stderr:\n    MFA token required"), "\(mfa.err)")
        // A secret with a carriage return fails at once, naming the variable, not after retries.
        let cr = try run(toolPath(), ["upload", folder.path, "s3://config-cases/cr", "--s3-endpoint-url", moto.endpoint],
                         environment: env.merging(["AWS_ACCESS_KEY_ID": moto.accessKey, "AWS_SECRET_ACCESS_KEY": moto.secretKey + "\r"]) { $1 })
        #expect(cr.status != 0 && cr.err.contains("AWS_SECRET_ACCESS_KEY ends with a carriage return"), "\(cr.err)")
        #expect(!cr.err.contains(moto.secretKey))
        // An indented region under a key (which botocore folds into the key's value) stops the run.
        let indentedHome = try moto.home(extra: """

            [profile indented]
            aws_access_key_id = \(moto.accessKey)
            aws_secret_access_key = \(moto.secretKey)
              region = eu-west-1

            """)
        defer { try? FileManager.default.removeItem(at: indentedHome) }
        let indentedConfig = indentedHome.appendingPathComponent(".aws/config").path
        let indentedLines = try String(contentsOfFile: indentedConfig, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
        let regionLine = (indentedLines.firstIndex { $0 == "  region = eu-west-1" } ?? -1) + 1
        let indented = try run(toolPath(), ["upload", folder.path, "s3://config-cases/indented", "--s3-endpoint-url", moto.endpoint,
                                            "--profile", "indented"], environment: environment(indentedHome))
        #expect(indented.status != 0 && indented.err.contains("\(indentedConfig) line \(regionLine): this indented key = value line "
                                                              + "continues the value of aws_secret_access_key"), "\(indented.err)")
        #expect(!indented.err.contains(moto.secretKey))
        #expect(try await setup.listObjects(bucket: "config-cases", prefix: "").map(\.key).sorted()
                == ["empty-region/f00.bin", "empty-region/f01.bin"])
        await setup.shutdown()
    }
}
