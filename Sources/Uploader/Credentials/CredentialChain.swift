import Foundation

/// Why no credentials could be had. Messages name the provider and never hold a secret.
public enum CredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No provider in the chain had credentials.
    case notFound(tried: [String])
    /// The named profile is in neither file.
    case profileNotFound(String)
    /// A profile or variable is incomplete or malformed.
    case invalid(source: String, reason: String)
    /// `credential_process` failed.
    case process(command: String, reason: String)
    /// A provider this build does not implement yet.
    case unsupported(source: String, what: String)

    /// One line for the user.
    public var description: String {
        switch self {
        case .notFound(let tried):
            return "no AWS credentials found (tried: \(tried.joined(separator: ", "))); set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or use --profile"
        case .profileNotFound(let p): return "profile \"\(p)\" is not in ~/.aws/credentials or ~/.aws/config"
        case .invalid(let s, let r): return "\(s): \(r)"
        case .process(let c, let r): return "credential_process \"\(c)\": \(r)"
        case .unsupported(let s, let w): return "\(s): \(w) is not supported yet"
        }
    }
}

/// The AWS SDKs' credential chain: `--profile` (skips the environment), then
/// environment variables, then the profile (`AWS_PROFILE` or `default`) from the
/// shared files: static keys or `credential_process`.
public struct CredentialChain: Sendable {
    /// The environment to read (the process's by default; tests pass their own).
    public var environment: [String: String]
    /// A profile named on the command line (`--profile`), which skips the environment keys.
    public var explicitProfile: String?

    /// Creates a chain.
    public init(environment: [String: String] = ProcessInfo.processInfo.environment, profile: String? = nil) {
        self.environment = environment
        self.explicitProfile = profile
    }

    /// The profile in use: `--profile`, else `AWS_PROFILE` (or `AWS_DEFAULT_PROFILE`), else `default`.
    public var profileName: String {
        explicitProfile ?? environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"] ?? "default"
    }

    /// Resolves credentials now.
    public func resolve() throws(CredentialError) -> AWSCredentials {
        var tried: [String] = []
        if explicitProfile == nil {
            tried.append("environment")
            if let c = try fromEnvironment() { return c }
        }
        let files = ProfileFiles.load(environment: environment)
        tried.append("profile \(profileName)")
        guard let settings = files.settings(of: profileName) else {
            if explicitProfile != nil || environment["AWS_PROFILE"] != nil { throw .profileNotFound(profileName) }
            throw .notFound(tried: tried)
        }
        return try fromProfile(settings, name: profileName)
    }

    /// The whole chain: environment and profile as `resolve()`, then the container
    /// endpoint and EC2 instance metadata when no profile had credentials.
    public func resolveAll() async throws(CredentialError) -> AWSCredentials {
        do {
            return try resolve()
        } catch .notFound(let tried) {
            var tried = tried
            tried.append("container endpoint")
            if let c = try await MetadataCredentials.container(environment) { return c }
            if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() != "true" {
                tried.append("EC2 instance metadata")
                if let c = try await MetadataCredentials.instanceMetadata(environment) { return c }
            }
            throw .notFound(tried: tried)
        }
    }

    /// `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN` or the legacy `AWS_SECURITY_TOKEN`).
    func fromEnvironment() throws(CredentialError) -> AWSCredentials? {
        let id = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (id, secret) {
        case (nil, nil): return nil
        case (let id?, let secret?):
            let token = environment["AWS_SESSION_TOKEN"] ?? environment["AWS_SECURITY_TOKEN"]
            let expiration = environment["AWS_CREDENTIAL_EXPIRATION"].flatMap(parseISO8601)
            return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token?.isEmpty == true ? nil : token,
                                  expiration: expiration, source: "environment")
        default:
            throw .invalid(source: "environment", reason: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set")
        }
    }

    func fromProfile(_ s: [String: String], name: String) throws(CredentialError) -> AWSCredentials {
        let source = "profile \(name)"
        if s["role_arn"] != nil {
            throw .unsupported(source: source, what: "role_arn (STS AssumeRole)")
        }
        if s["web_identity_token_file"] != nil {
            throw .unsupported(source: source, what: "web_identity_token_file (STS AssumeRoleWithWebIdentity)")
        }
        if let id = s["aws_access_key_id"], let secret = s["aws_secret_access_key"] {
            return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: s["aws_session_token"],
                                  source: source)
        }
        if let command = s["credential_process"] {
            return try Self.runCredentialProcess(command, source: source)
        }
        if s["sso_session"] != nil || s["sso_start_url"] != nil {
            throw .unsupported(source: source,
                               what: "SSO (use credential_process = aws configure export-credentials --profile \(name) --format process)")
        }
        throw .invalid(source: source, reason: "no aws_access_key_id/aws_secret_access_key or credential_process")
    }

    /// Runs `credential_process` through `/bin/sh -c` and reads its JSON
    /// (`Version` 1, `AccessKeyId`, `SecretAccessKey`, optional `SessionToken`, `Expiration`).
    static func runCredentialProcess(_ command: String, source: String) throws(CredentialError) -> AWSCredentials {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", command]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        do { try p.run() } catch { throw .process(command: command, reason: "cannot start: \(error)") }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        _ = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw .process(command: command, reason: "exited with status \(p.terminationStatus)")
        }
        guard let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw .process(command: command, reason: "output is not a JSON object")
        }
        guard (obj["Version"] as? Int) == 1 else {
            throw .process(command: command, reason: "unsupported Version (expected 1)")
        }
        guard let id = obj["AccessKeyId"] as? String, let secret = obj["SecretAccessKey"] as? String else {
            throw .process(command: command, reason: "AccessKeyId or SecretAccessKey missing")
        }
        let expiration = (obj["Expiration"] as? String).flatMap(parseISO8601)
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: obj["SessionToken"] as? String,
                              expiration: expiration, source: "\(source) credential_process")
    }
}

/// Parses `2026-11-23T12:00:00Z` (with or without fractional seconds).
func parseISO8601(_ s: String) -> Date? {
    let f = ISO8601DateFormatter()
    if let d = f.date(from: s) { return d }
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.date(from: s)
}

/// The region, in the SDKs' order: `--region`, `AWS_REGION`, `AWS_DEFAULT_REGION`, the profile's `region`.
public func resolveRegion(explicit: String?, environment: [String: String], profile: String) -> String? {
    if let r = explicit, !r.isEmpty { return r }
    if let r = environment["AWS_REGION"], !r.isEmpty { return r }
    if let r = environment["AWS_DEFAULT_REGION"], !r.isEmpty { return r }
    return ProfileFiles.load(environment: environment).settings(of: profile)?["region"]
}
