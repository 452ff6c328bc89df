import Foundation
import Testing
@testable import Uploader

/// A temporary HOME with ~/.aws/credentials and ~/.aws/config.
private func home(credentials: String, config: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-home-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir.appendingPathComponent(".aws"), withIntermediateDirectories: true)
    try credentials.write(to: dir.appendingPathComponent(".aws/credentials"), atomically: true, encoding: .utf8)
    try config.write(to: dir.appendingPathComponent(".aws/config"), atomically: true, encoding: .utf8)
    return dir
}

private let credentialsFile = """
# a comment
[default]
aws_access_key_id = AKIDDEFAULT
aws_secret_access_key = secret/default+key   ; an inline comment

[prod]
aws_access_key_id=AKIDPROD
aws_secret_access_key=secretprod
aws_session_token = tokenprod
"""

private let configFile = """
[default]
region = eu-west-1
s3 =
  max_concurrent_requests = 20

[profile tools]
region = us-east-2
credential_process = printf '{"Version": 1, "AccessKeyId": "AKIDPROC", "SecretAccessKey": "secretproc", "SessionToken": "tokproc", "Expiration": "2030-01-01T00:00:00Z"}'

[profile broken]
credential_process = sh -c 'exit 3'

[profile assumer]
role_arn = arn:aws:iam::123456789012:role/x
source_profile = default

[sso-session corp]
sso_region = us-east-1
"""

@Test func environmentComesFirstUnlessAProfileIsNamed() throws {
    let dir = try home(credentials: credentialsFile, config: configFile)
    defer { try? FileManager.default.removeItem(at: dir) }
    let env = ["HOME": dir.path, "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "secretenv",
               "AWS_SESSION_TOKEN": "tokenenv", "AWS_PROFILE": "prod"]
    let fromEnv = try CredentialChain(environment: env).resolve()
    #expect(fromEnv.accessKeyId == "AKIDENV" && fromEnv.sessionToken == "tokenenv" && fromEnv.source == "environment")
    let named = try CredentialChain(environment: env, profile: "prod").resolve()
    #expect(named.accessKeyId == "AKIDPROD" && named.sessionToken == "tokenprod")
}

@Test func profilesFromBothFiles() throws {
    let dir = try home(credentials: credentialsFile, config: configFile)
    defer { try? FileManager.default.removeItem(at: dir) }
    let env = ["HOME": dir.path]
    let def = try CredentialChain(environment: env).resolve()
    #expect(def.accessKeyId == "AKIDDEFAULT" && def.secretAccessKey == "secret/default+key")
    #expect(try resolveRegion(explicit: nil, environment: env, profile: "default") == "eu-west-1")
    #expect(try resolveRegion(explicit: nil, environment: env.merging(["AWS_DEFAULT_REGION": "ap-south-1"]) { $1 }, profile: "default") == "ap-south-1")
    #expect(try resolveRegion(explicit: nil, environment: env.merging(["AWS_REGION": "sa-east-1", "AWS_DEFAULT_REGION": "x"]) { $1 }, profile: "default") == "sa-east-1")
    #expect(try resolveRegion(explicit: "us-west-2", environment: env.merging(["AWS_REGION": "sa-east-1"]) { $1 }, profile: "default") == "us-west-2")
    // Files named by variables instead of ~/.aws.
    let moved = ["HOME": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": dir.appendingPathComponent(".aws/credentials").path,
                 "AWS_CONFIG_FILE": dir.appendingPathComponent(".aws/config").path, "AWS_PROFILE": "prod"]
    #expect(try CredentialChain(environment: moved).resolve().accessKeyId == "AKIDPROD")
}

@Test func credentialProcess() throws {
    let dir = try home(credentials: credentialsFile, config: configFile)
    defer { try? FileManager.default.removeItem(at: dir) }
    let c = try CredentialChain(environment: ["HOME": dir.path], profile: "tools").resolve()
    #expect(c.accessKeyId == "AKIDPROC" && c.sessionToken == "tokproc")
    #expect(c.expiration == parseISO8601("2030-01-01T00:00:00Z"))
    #expect(throws: CredentialError.self) { try CredentialChain(environment: ["HOME": dir.path], profile: "broken").resolve() }
}

@Test func clearErrorsWithoutSecrets() throws {
    let dir = try home(credentials: credentialsFile, config: configFile)
    defer { try? FileManager.default.removeItem(at: dir) }
    do {
        _ = try CredentialChain(environment: ["HOME": dir.path], profile: "nosuch").resolve()
        Issue.record("missing profile accepted")
    } catch {
        #expect("\(error)".contains("nosuch"))
    }
    do {
        _ = try CredentialChain(environment: ["HOME": dir.path], profile: "assumer").resolve()
        Issue.record("role_arn accepted")
    } catch {
        #expect("\(error)".contains("role_arn"))
    }
    do {
        _ = try CredentialChain(environment: ["HOME": "/nonexistent"]).resolve()
        Issue.record("no credentials accepted")
    } catch {
        #expect("\(error)".contains("no AWS credentials"))
    }
    do {
        _ = try CredentialChain(environment: ["AWS_ACCESS_KEY_ID": "AKIDONLY"]).resolve()
        Issue.record("half the keys accepted")
    } catch {
        #expect(!"\(error)".contains("secret"))
    }
}
