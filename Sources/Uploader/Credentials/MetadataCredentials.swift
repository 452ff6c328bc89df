import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Credentials from the ECS/EKS container endpoint and from EC2's instance
/// metadata service (IMDSv2), with short timeouts and clear errors.
enum MetadataCredentials {
    /// One GET/PUT with a short timeout; nil body on timeout/refusal is an error.
    static func fetch(_ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [],
                      timeout: Int64, source: String) async throws(CredentialError) -> (Int, String) {
        // Never through HTTP(S)_PROXY: the shared clients have no proxy.
        let client = HTTPClients.client(connections: 1, connectMilliseconds: timeout, readMilliseconds: timeout)
        do {
            var request = HTTPClientRequest(url: url)
            request.method = method
            for (k, v) in headers { request.headers.add(name: k, value: v) }
            let response = try await client.execute(request, timeout: .milliseconds(timeout))
            let body = try await response.body.collect(upTo: 1 << 20)
            return (Int(response.status.code), String(buffer: body))
        } catch {
            throw .invalid(source: source, reason: "\(url): \(error)")
        }
    }

    /// Parses the JSON both endpoints return: AccessKeyId, SecretAccessKey, Token, Expiration.
    static func parse(_ text: String, source: String) throws(CredentialError) -> AWSCredentials {
        guard let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any],
              let id = obj["AccessKeyId"] as? String, let secret = obj["SecretAccessKey"] as? String else {
            throw .invalid(source: source, reason: "the answer has no AccessKeyId/SecretAccessKey")
        }
        if let code = obj["Code"] as? String, code != "Success" {
            throw .invalid(source: source, reason: "the answer's Code is \(code)")
        }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: obj["Token"] as? String,
                              expiration: (obj["Expiration"] as? String).flatMap(parseISO8601), source: source)
    }

    /// `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI` (from 169.254.170.2) or `…_FULL_URI`, with the
    /// authorization token from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (re-read each time) or `…_TOKEN`.
    static func container(_ env: [String: String]) async throws(CredentialError) -> AWSCredentials? {
        let url: String
        if let relative = env["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = "http://169.254.170.2" + relative
        } else if let full = env["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            guard let host = URLComponents(string: full)?.host else {
                throw .invalid(source: "container", reason: "AWS_CONTAINER_CREDENTIALS_FULL_URI is not a URL")
            }
            let allowed = ["127.0.0.1", "localhost", "::1", "[::1]", "169.254.170.2", "169.254.170.23", "fd00:ec2::23", "[fd00:ec2::23]"]
            guard full.hasPrefix("https://") || allowed.contains(host) || host.hasPrefix("127.") else {
                throw .invalid(source: "container", reason: "AWS_CONTAINER_CREDENTIALS_FULL_URI must be https or a loopback/ECS/EKS address")
            }
            url = full
        } else {
            return nil
        }
        var headers: [(String, String)] = []
        if let file = env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], !file.isEmpty {
            guard let token = try? String(contentsOfFile: file, encoding: .utf8) else {
                throw .invalid(source: "container", reason: "cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
            }
            headers.append(("Authorization", token.trimmingCharacters(in: .whitespacesAndNewlines)))
        } else if let token = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"], !token.isEmpty {
            headers.append(("Authorization", token))
        }
        let (status, body) = try await fetch(url, headers: headers, timeout: 2000, source: "container")
        guard status == 200 else { throw .invalid(source: "container", reason: "\(url) answered HTTP \(status)") }
        return try parse(body, source: "container")
    }

    /// The IMDS base URL and its timeout from the environment.
    static func metadataEndpoint(_ env: [String: String]) -> (base: String, timeout: Int64) {
        var base = env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] ?? "http://169.254.169.254"
        while base.hasSuffix("/") { base.removeLast() }
        return (base, Int64((Double(env["AWS_METADATA_SERVICE_TIMEOUT"] ?? "") ?? 1) * 1000))
    }

    /// An IMDSv2 session token (PUT /latest/api/token), with the hop-limit hint when it times out.
    static func metadataToken(_ env: [String: String]) async throws(CredentialError) -> String {
        let (base, timeout) = metadataEndpoint(env)
        let tokenResult: (Int, String)
        do {
            tokenResult = try await fetch(base + "/latest/api/token", method: .PUT,
                                          headers: [("X-aws-ec2-metadata-token-ttl-seconds", "21600")],
                                          timeout: timeout, source: "instance metadata")
        } catch {
            throw .invalid(source: "instance metadata",
                           reason: "no IMDSv2 token from \(base) within \(timeout) ms — not on EC2, or in a container where the metadata hop limit (HttpPutResponseHopLimit) is 1: set it to 2")
        }
        guard tokenResult.0 == 200 else {
            throw .invalid(source: "instance metadata", reason: "the token request answered HTTP \(tokenResult.0)")
        }
        return tokenResult.1
    }

    /// The instance's region (`placement/region`), the last step of region resolution; nil off EC2.
    static func instanceRegion(_ env: [String: String]) async -> String? {
        if env["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        let (base, timeout) = metadataEndpoint(env)
        guard let token = try? await metadataToken(env),
              let (status, region) = try? await fetch(base + "/latest/meta-data/placement/region",
                                                      headers: [("X-aws-ec2-metadata-token", token)],
                                                      timeout: timeout, source: "instance metadata"),
              status == 200, !region.isEmpty else { return nil }
        return region.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// IMDSv2: a session token (PUT), the role name, then the role's credentials; 1 s timeouts.
    static func instanceMetadata(_ env: [String: String]) async throws(CredentialError) -> AWSCredentials? {
        if env["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" { return nil }
        let (base, timeout) = metadataEndpoint(env)
        let token = try await metadataToken(env)
        let auth = [("X-aws-ec2-metadata-token", token)]
        let (roleStatus, roles) = try await fetch(base + "/latest/meta-data/iam/security-credentials/", headers: auth,
                                                  timeout: timeout, source: "instance metadata")
        guard roleStatus == 200, let role = roles.split(separator: "\n").first.map(String.init), !role.isEmpty else {
            throw .invalid(source: "instance metadata", reason: "no instance role (HTTP \(roleStatus)); attach an IAM role to the instance")
        }
        let (status, body) = try await fetch(base + "/latest/meta-data/iam/security-credentials/" + role, headers: auth,
                                             timeout: timeout, source: "instance metadata")
        guard status == 200 else { throw .invalid(source: "instance metadata", reason: "role credentials answered HTTP \(status)") }
        return try parse(body, source: "instance metadata (\(role))")
    }
}
