import Foundation
import TestSupport
import Testing
@testable import Uploader

/// moto (S3 + STS + IAM) on 127.0.0.1 with signature checking on (Tests/Oracle/moto_server.py):
/// its STS hands out session credentials that its S3 then checks, token included.
final class MotoServer: @unchecked Sendable {
    let process: BackgroundProcess
    let accessKey: String, secretKey: String, roleArn: String, port: Int

    /// Starts moto; `arguments` go to moto_server.py (`--put-delay 0.4`: a slow link).
    init(arguments: [String] = []) async throws {
        process = try BackgroundProcess("python3", [packageRoot.appendingPathComponent("Tests/Oracle/moto_server.py").path] + arguments)
        guard let port = try await process.listeningPort(seconds: 60),
              let user = try await process.waitForLine(startingWith: "user ")?.split(separator: " "), user.count == 3,
              let role = try await process.waitForLine(startingWith: "role ")?.split(separator: " ").last else {
            process.stop()
            throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: "moto did not start"])
        }
        (self.port, accessKey, secretKey, roleArn) = (port, String(user[1]), String(user[2]), String(role))
    }

    var endpoint: String { "http://127.0.0.1:\(port)" }
    func stop() { process.stop() }

    /// A HOME whose ~/.aws/config holds `base` (the IAM user's keys) and role profiles on top of it.
    func home(extra: String = "") throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-sts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".aws"), withIntermediateDirectories: true)
        let config = """
            [profile base]
            aws_access_key_id = \(accessKey)
            aws_secret_access_key = \(secretKey)

            [profile uploader]
            role_arn = \(roleArn)
            source_profile = base
            role_session_name = ahi-test
            duration_seconds = 900

            [profile chained]
            role_arn = \(roleArn)
            source_profile = uploader

            [profile from-env]
            role_arn = \(roleArn)
            credential_source = Environment

            [profile loop-a]
            role_arn = \(roleArn)
            source_profile = loop-b

            [profile loop-b]
            role_arn = \(roleArn)
            source_profile = loop-a

            """ + extra
        try config.write(to: dir.appendingPathComponent(".aws/config"), atomically: true, encoding: .utf8)
        return dir
    }
}

/// Puts, reads back and lists with `client`; the credentials are good if moto let it.
private func roundTrip(_ client: S3Client, bucket: String) async throws {
    try await client.createBucket(bucket)
    let body = testBytes(70_000, seed: 9)
    try await client.putObject(bucket: bucket, key: "a/b.bin", body: body)
    #expect(try await client.getObject(bucket: bucket, key: "a/b.bin") == body)
}

@Suite struct STSCredentialsTests {
    @Test(.timeLimit(.minutes(3))) func assumeRoleFromSourceProfile() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let dir = try moto.home()
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = ["HOME": dir.path, "AWS_ENDPOINT_URL_STS": moto.endpoint, "AWS_REGION": "us-east-1",
                   "AWS_EC2_METADATA_DISABLED": "true"]

        let role = try await CredentialChain(environment: env, profile: "uploader").resolveAll()
        #expect(role.accessKeyId != moto.accessKey && role.sessionToken != nil && role.expiration != nil, "\(role)")
        #expect(role.source.contains("assume role"))
        let client = try await S3Setup.makeClient(endpointURL: moto.endpoint, region: nil, profile: "uploader",
                                                  connections: 4, environment: env)
        try await roundTrip(client, bucket: "sts-role")
        await client.shutdown()

        // A role assumed with another role's session credentials.
        let chained = try await CredentialChain(environment: env, profile: "chained").resolveAll()
        #expect(chained.accessKeyId != role.accessKeyId && chained.sessionToken != nil)

        // moto checks the session token: the same keys without their token are refused.
        let transport = AWSTransport(endpoint: try #require(Endpoint(moto.endpoint)), region: "us-east-1", service: "s3",
                                     credentials: { AWSCredentials(accessKeyId: role.accessKeyId, secretAccessKey: role.secretAccessKey,
                                                                   sessionToken: "not-the-token") })
        let forged = S3Client(transport: transport, pathStyle: true, makeTransport: { _, _ in transport })
        await #expect(throws: AWSError.self) { try await forged.listObjects(bucket: "sts-role", prefix: "") }
        await forged.shutdown()

        // credential_source = Environment signs AssumeRole with the environment's keys.
        let fromEnv = try await CredentialChain(environment: env.merging(["AWS_ACCESS_KEY_ID": moto.accessKey,
                                                                          "AWS_SECRET_ACCESS_KEY": moto.secretKey]) { $1 },
                                                profile: "from-env").resolveAll()
        #expect(fromEnv.sessionToken != nil && fromEnv.accessKeyId != moto.accessKey)
    }

    @Test(.timeLimit(.minutes(3))) func assumeRoleErrorsAreClearAndHideSecrets() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let dir = try moto.home(extra: """

            [profile wrong-secret]
            aws_access_key_id = \(moto.accessKey)
            aws_secret_access_key = wrong-secret-value

            [profile bad-role]
            role_arn = \(moto.roleArn)
            source_profile = wrong-secret

            [profile half]
            role_arn = \(moto.roleArn)

            """)
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = ["HOME": dir.path, "AWS_ENDPOINT_URL_STS": moto.endpoint, "AWS_REGION": "us-east-1"]
        for (profile, expected) in [("bad-role", "SignatureDoesNotMatch"), ("loop-a", "loops"),
                                    ("half", "source_profile or credential_source")] {
            do {
                _ = try await CredentialChain(environment: env, profile: profile).resolveAll()
                Issue.record("\(profile) resolved")
            } catch {
                #expect("\(error)".contains(expected), "\(profile): \(error)")
                #expect(!"\(error)".contains("wrong-secret-value") && !"\(error)".contains(moto.secretKey))
            }
        }
        // As a user meets it: the command names the role and STS's error code, and no secret.
        let r = try run(toolPath(), [fixture("sample-study"), "--profile", "bad-role", "--datastore", String(repeating: "0", count: 32),
                                     "--bucket", "ahi-bucket", "--role-arn", "arn:aws:iam::123456789012:role/HealthImagingImport"],
                        environment: env.merging(["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"]) { a, _ in a })
        #expect(r.status != 0)
        #expect(r.err.contains("cannot assume role \(moto.roleArn): STS answered SignatureDoesNotMatch"), "\(r.err)")
        #expect(!r.err.contains("wrong-secret-value") && !r.err.contains(moto.secretKey))
    }

    @Test(.timeLimit(.minutes(3))) func webIdentityRefreshesFromTheTokenFile() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-wi-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let tokenFile = dir.appendingPathComponent("token")
        try "eyJhbGciOiJSUzI1NiJ9.first.signature".write(to: tokenFile, atomically: true, encoding: .utf8)
        let env = ["HOME": dir.path, "AWS_ENDPOINT_URL_STS": moto.endpoint, "AWS_REGION": "us-east-1",
                   "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile.path, "AWS_ROLE_ARN": moto.roleArn,
                   "AWS_ROLE_SESSION_NAME": "ci-job", "AWS_EC2_METADATA_DISABLED": "true"]
        let chain = CredentialChain(environment: env)
        let first = try await chain.resolveAll()
        #expect(first.source.hasPrefix("web identity") && first.sessionToken != nil, "\(first)")
        let client = try await S3Setup.makeClient(endpointURL: moto.endpoint, region: nil, profile: nil,
                                                  connections: 4, environment: env)
        try await roundTrip(client, bucket: "sts-web")
        await client.shutdown()

        // Credentials that expire within the refresh window are fetched again, with the token re-read.
        let provider = CredentialProvider(chain: chain, refreshAhead: 4 * 3600, lifetimeFraction: 1)
        let a = try await provider.credentials()
        try "eyJhbGciOiJSUzI1NiJ9.second.signature".write(to: tokenFile, atomically: true, encoding: .utf8)
        let b = try await provider.credentials()
        #expect(a.accessKeyId != b.accessKeyId)
        #expect(await provider.resolutions == 2)

        // A missing token file is reported, naming the file.
        try FileManager.default.removeItem(at: tokenFile)
        do {
            _ = try await chain.resolveAll()
            Issue.record("a missing token file was accepted")
        } catch {
            #expect("\(error)".contains(tokenFile.path), "\(error)")
        }
    }

    /// The user's way: `ahi-upload upload --profile uploader` with a role profile.
    @Test(.timeLimit(.minutes(3))) func uploadCommandWithRoleProfile() async throws {
        let moto = try await MotoServer()
        defer { moto.stop() }
        let dir = try moto.home()
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = ["HOME": dir.path, "AWS_ENDPOINT_URL_STS": moto.endpoint, "AWS_REGION": "us-east-1",
                   "AWS_EC2_METADATA_DISABLED": "true"]
        let client = try await S3Setup.makeClient(endpointURL: moto.endpoint, region: nil, profile: "uploader",
                                                  connections: 4, environment: env)
        try await client.createBucket("sts-cli")
        let r = try run(toolPath(), ["upload", packageRoot.appendingPathComponent("Fixtures").path, "s3://sts-cli/study",
                                     "--s3-endpoint-url", moto.endpoint, "--profile", "uploader", "--debug"], environment: env)
        #expect(r.status == 0, "\(r.out)\(r.err.suffix(2000))")
        #expect(r.err.contains("assume role"), "\(r.err.prefix(2000))")
        #expect(!r.err.contains(moto.secretKey) && !r.out.contains(moto.secretKey))
        let objects = try await client.listObjects(bucket: "sts-cli", prefix: "study/")
        #expect(objects.contains { $0.key == "study/ct_explicit_le.dcm" })
        await client.shutdown()
    }
}
