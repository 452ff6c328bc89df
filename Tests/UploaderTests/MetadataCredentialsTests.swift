import Foundation
import TestSupport
import Testing
@testable import Uploader

/// Starts Tests/Oracle/metadata_server.py on a free loopback port.
private func startMetadataServer() async throws -> (BackgroundProcess, Int) {
    let server = try BackgroundProcess("python3", [packageRoot.appendingPathComponent("Tests/Oracle/metadata_server.py").path])
    guard let port = try await server.listeningPort() else {
        server.stop()
        throw CredentialError.invalid(source: "test", reason: "metadata_server.py did not start")
    }
    return (server, port)
}

/// IMDSv2 token flow, and a refresh when temporary credentials near their expiry.
@Test(.timeLimit(.minutes(2))) func instanceMetadataCredentialsRefresh() async throws {
    let (server, port) = try await startMetadataServer()
    defer { server.stop() }
    let env = ["HOME": "/nonexistent", "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(port)"]
    // Refreshed ahead by their whole lifetime: every call fetches new ones.
    let provider = CredentialProvider(chain: CredentialChain(environment: env), lifetimeFraction: 1)
    let first = try await provider.credentials()
    #expect(first.accessKeyId == "ASIAIMDS1" && first.sessionToken == "token-imds-1")
    #expect(first.source.contains("instance metadata"))
    let second = try await provider.credentials()
    #expect(second.accessKeyId == "ASIAIMDS2")
    #expect(await provider.resolutions == 2)
    // By default they expire in 60 s and are refreshed 15 s ahead (a quarter of that): reused now.
    let lasting = CredentialProvider(chain: CredentialChain(environment: env))
    let a = try await lasting.credentials(), b = try await lasting.credentials()
    #expect(a == b)
}

/// The container endpoint with an authorization token file.
@Test(.timeLimit(.minutes(2))) func containerCredentials() async throws {
    let (server, port) = try await startMetadataServer()
    defer { server.stop() }
    let tokenFile = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-token-\(UUID().uuidString)")
    try "container-secret\n".write(to: tokenFile, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: tokenFile) }
    let env = ["HOME": "/nonexistent", "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:\(port)/container-creds",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile.path, "AWS_EC2_METADATA_DISABLED": "true"]
    let c = try await CredentialChain(environment: env).resolveAll()
    #expect(c.accessKeyId == "ASIACONTAINER1" && c.source == "container")
    var wrong = env
    wrong["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = nil
    wrong["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "nope"
    await #expect(throws: CredentialError.self) { try await CredentialChain(environment: wrong).resolveAll() }
    // A full URI that is neither https nor loopback is refused before any request.
    var remote = env
    remote["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://203.0.113.7/creds"
    await #expect(throws: CredentialError.self) { try await CredentialChain(environment: remote).resolveAll() }
}

/// No metadata service answering: a short timeout and a message about the hop limit.
@Test(.timeLimit(.minutes(1))) func instanceMetadataTimeoutMentionsHopLimit() async throws {
    // Port 9 on loopback: nothing listens; the connection is refused at once.
    let env = ["HOME": "/nonexistent", "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:9"]
    do {
        _ = try await CredentialChain(environment: env).resolveAll()
        Issue.record("credentials from nowhere")
    } catch {
        #expect("\(error)".contains("hop limit"), "\(error)")
    }
}

/// The last step of region resolution is the instance's placement/region (IMDSv2).
@Test(.timeLimit(.minutes(1))) func regionFromInstanceMetadata() async throws {
    let (server, port) = try await startMetadataServer()
    defer { server.stop() }
    let env = ["HOME": "/nonexistent", "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(port)"]
    #expect(try await resolveRegionIncludingInstanceMetadata(explicit: nil, environment: env, profile: "default") == "eu-central-1")
    #expect(try await resolveRegionIncludingInstanceMetadata(explicit: nil, environment: env.merging(["AWS_REGION": "us-west-1"]) { $1 },
                                                         profile: "default") == "us-west-1")
    #expect(try await resolveRegionIncludingInstanceMetadata(explicit: nil, environment: env.merging(["AWS_EC2_METADATA_DISABLED": "true"]) { $1 },
                                                         profile: "default") == nil)
}
