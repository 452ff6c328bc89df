import AsyncHTTPClient
import Foundation
import NIOCore

/// Temporary credentials from AWS STS: `AssumeRole` (signed with source
/// credentials, for `role_arn` profiles) and `AssumeRoleWithWebIdentity`
/// (unsigned, the token file is the proof; EKS IRSA, CI OIDC).
enum STSCredentials {
    /// The STS endpoint: `AWS_ENDPOINT_URL_STS`, `AWS_ENDPOINT_URL`, the profile's
    /// `endpoint_url`, else the regional endpoint (the global one without a region).
    static func endpoint(environment: [String: String], profile: [String: String], region: String?) -> Endpoint? {
        for url in [environment["AWS_ENDPOINT_URL_STS"], environment["AWS_ENDPOINT_URL"], profile["endpoint_url"]] {
            if let url, !url.isEmpty { return Endpoint(url) }
        }
        guard let region else { return Endpoint(scheme: "https", host: "sts.amazonaws.com") }
        let suffix = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return Endpoint(scheme: "https", host: "sts.\(region).\(suffix)")
    }

    /// `application/x-www-form-urlencoded` with RFC 3986 escaping, as the Query protocol wants.
    static func form(_ fields: [(String, String)]) -> [UInt8] {
        let text = fields.map { k, v in "\(k)=\(SigV4Signer.uriEncode(v, keepSlash: false))" }.joined(separator: "&")
        return Array(text.utf8)
    }

    /// The `<Credentials>` of an AssumeRole* answer.
    static func parse(_ text: String, source: String) throws(CredentialError) -> AWSCredentials {
        let xml = text[...]
        guard let block = XML.blocks("Credentials", in: xml).first,
              let id = XML.value("AccessKeyId", in: block), let secret = XML.value("SecretAccessKey", in: block),
              let token = XML.value("SessionToken", in: block) else {
            throw .invalid(source: source, reason: "STS answered without credentials")
        }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token,
                              expiration: XML.value("Expiration", in: block).flatMap(parseISO8601), source: source)
    }

    /// A session name when the profile has none: `ahi-upload-<unix time>`.
    static var defaultSessionName: String { "ahi-upload-\(Int(Date().timeIntervalSince1970))" }

    /// STS AssumeRole, signed with `sourceCredentials`.
    static func assumeRole(roleArn: String, sessionName: String?, externalId: String?, durationSeconds: String?,
                           sourceCredentials: AWSCredentials, endpoint: Endpoint, region: String,
                           source: String) async throws(CredentialError) -> AWSCredentials {
        var fields = [("Action", "AssumeRole"), ("Version", "2011-06-15"), ("RoleArn", roleArn),
                      ("RoleSessionName", sessionName ?? defaultSessionName)]
        if let externalId { fields.append(("ExternalId", externalId)) }
        if let durationSeconds {
            guard Int(durationSeconds) != nil else { throw .invalid(source: source, reason: "duration_seconds is not a number") }
            fields.append(("DurationSeconds", durationSeconds))
        }
        let transport = AWSTransport(endpoint: endpoint, region: region, service: "sts", connections: 1,
                                     connectTimeout: 5, readTimeout: 30, credentials: { sourceCredentials })
        let request = AWSRequest(operation: "AssumeRole", method: "POST", path: "/",
                                 headers: [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
                                 body: form(fields))
        let response: AWSResponse
        do {
            response = try await transport.send(request)
        } catch let error as AWSError {
            if case .service(let status, let code, let message, _, _) = error {
                throw .invalid(source: source, reason: "cannot assume role \(roleArn): STS answered \(code) (HTTP \(status))"
                                   + (message.isEmpty ? "" : ": \(message)"))
            }
            throw .invalid(source: source, reason: "cannot assume role \(roleArn): \(error)")
        } catch {
            throw .invalid(source: source, reason: "cannot assume role \(roleArn): \(error)")
        }
        return try parse(response.text, source: source)
    }

    /// STS AssumeRoleWithWebIdentity with the token read from `tokenFile` (re-read on every refresh).
    static func assumeRoleWithWebIdentity(roleArn: String, sessionName: String?, tokenFile: String,
                                          endpoint: Endpoint, source: String) async throws(CredentialError) -> AWSCredentials {
        guard let token = try? String(contentsOfFile: tokenFile, encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines), !token.isEmpty else {
            throw .invalid(source: source, reason: "cannot read the web identity token file \(tokenFile)")
        }
        let body = form([("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", roleArn),
                         ("RoleSessionName", sessionName ?? defaultSessionName), ("WebIdentityToken", token)])
        let client = HTTPClients.client(connections: 1, connectMilliseconds: 5_000, readMilliseconds: 30_000)
        var request = HTTPClientRequest(url: endpoint.description + "/")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded; charset=utf-8")
        request.body = .bytes(ByteBuffer(bytes: body))
        let status: Int, text: String
        do {
            let response = try await client.execute(request, timeout: .seconds(30))
            let buffer = try await response.body.collect(upTo: 1 << 20)
            status = Int(response.status.code)
            text = String(buffer: buffer)
        } catch {
            throw .invalid(source: source, reason: "AssumeRoleWithWebIdentity at \(endpoint): \(error)")
        }
        guard status == 200 else {
            let code = XML.value("Code", in: text[...]) ?? "HTTP \(status)"
            let message = XML.value("Message", in: text[...]) ?? ""
            throw .invalid(source: source, reason: "AssumeRoleWithWebIdentity failed: \(code) \(message)")
        }
        return try parse(text, source: source)
    }
}
