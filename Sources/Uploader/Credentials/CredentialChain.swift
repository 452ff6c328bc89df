import Foundation

/// Why no credentials could be had. Messages name the provider and never hold a secret.
public enum CredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No provider in the chain had credentials: each source tried, with why it gave none.
    case notFound(tried: [String])
    /// The named profile is in neither file (`searched`: the files, whether they exist).
    case profileNotFound(String, searched: String)
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
            return "no AWS credentials found. Tried, in order:\n" + tried.map { "  - " + $0 }.joined(separator: "\n")
                + "\nTo fix: run `aws configure` (writes ~/.aws/credentials), choose a profile with AWS_PROFILE or --profile, "
                + "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; to try ahi-upload without AWS, add --local."
        case .profileNotFound(let p, let searched):
            return "profile \"\(p)\" (from --profile or AWS_PROFILE): \(searched); create it with `aws configure --profile \(p)`"
        case .invalid(let s, let r): return "\(s): \(r)"
        case .process(let c, let r): return "credential_process \"\(c)\": \(r)"
        case .unsupported(let s, let w): return "\(s): \(w) is not supported yet"
        }
    }
}

/// The AWS SDKs' credential chain: `--profile` (skips the environment), then
/// environment variables, then the profile (`AWS_PROFILE` or `default`) from the
/// shared files: `role_arn` (STS AssumeRole), web identity, static keys or
/// `credential_process`; then the container endpoint and EC2 instance metadata.
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

    /// Resolves the sources that need no network (environment, a profile's static
    /// keys or `credential_process`) now; `resolveAll()` is the whole chain.
    public func resolve() throws(CredentialError) -> AWSCredentials {
        var tried: [String] = []
        if explicitProfile == nil {
            if let c = try fromEnvironment() { return c }
            tried.append(Self.environmentNotSet)
        }
        let files = try ProfileFiles.load(environment: environment)
        guard let settings = files.settings(of: profileName) else {
            if explicitProfile != nil || environment["AWS_PROFILE"] != nil { throw .profileNotFound(profileName, searched: files.searched) }
            throw .notFound(tried: tried + ["profile \(profileName): \(files.searched)"])
        }
        return try fromProfile(settings, name: profileName, files: files)
    }

    static let environmentNotSet = "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"

    /// The whole chain, in the SDKs' order: environment (unless a profile was
    /// named), `role_arn` through STS AssumeRole, web identity (profile or
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN`) through STS, the profile's
    /// static keys or `credential_process`, then the container endpoint and EC2
    /// instance metadata when no profile had credentials.
    ///
    /// When no source has credentials, the error lists every source tried and why each
    /// gave none (the container and instance-metadata failures included), never a secret.
    public func resolveAll() async throws(CredentialError) -> AWSCredentials {
        var tried: [String] = []
        if explicitProfile == nil {
            if let c = try fromEnvironment() { return c }
            tried.append(Self.environmentNotSet)
        }
        let files = try ProfileFiles.load(environment: environment)
        let settings = files.settings(of: profileName)
        if let s = settings, s["role_arn"] != nil, s["web_identity_token_file"] == nil {
            return try await assumeRole(profile: profileName, files: files, visited: [])
        }
        if let c = try await webIdentity(settings ?? [:]) { return c }
        tried.append("web identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set")
        if let s = settings { return try fromProfile(s, name: profileName, files: files) }
        if explicitProfile != nil || environment["AWS_PROFILE"] != nil { throw .profileNotFound(profileName, searched: files.searched) }
        tried.append("profile \(profileName): \(files.searched)")
        do {
            if let c = try await MetadataCredentials.container(environment) { return c }
            tried.append("container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set")
        } catch {
            tried.append("container endpoint: \(Self.reason(error))")
        }
        if environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true" {
            tried.append("instance metadata: disabled (AWS_EC2_METADATA_DISABLED=true)")
        } else {
            do {
                if let c = try await MetadataCredentials.instanceMetadata(environment) { return c }
                tried.append("instance metadata: no credentials")
            } catch {
                tried.append("instance metadata: \(Self.reason(error))")
            }
        }
        throw .notFound(tried: tried)
    }

    /// A provider's failure without its source name (the list already says it).
    static func reason(_ e: CredentialError) -> String {
        if case .invalid(_, let reason) = e { return reason }
        return e.description
    }

    /// `role_arn` with `source_profile` (followed recursively, cycles refused) or
    /// `credential_source` (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`), through STS AssumeRole.
    func assumeRole(profile name: String, files: ProfileFiles, visited: Set<String>) async throws(CredentialError) -> AWSCredentials {
        let source = "profile \(name) (assume role)"
        guard let s = files.settings(of: name) else { throw .profileNotFound(name, searched: files.searched) }
        guard let roleArn = s["role_arn"] else { return try fromProfile(s, name: name, files: files) }
        if s["mfa_serial"] != nil {
            throw .unsupported(source: source, what: "mfa_serial (an interactive MFA code; use credential_process)")
        }
        let sourceCredentials: AWSCredentials
        switch (s["source_profile"], s["credential_source"]) {
        case (let sourceProfile?, nil):
            guard !visited.contains(sourceProfile) else {
                throw .invalid(source: source, reason: "source_profile chain loops back to \(sourceProfile)")
            }
            guard let sourceSettings = files.settings(of: sourceProfile) else {
                throw .profileNotFound(sourceProfile, searched: files.searched)
            }
            if sourceProfile != name, sourceSettings["role_arn"] != nil {
                sourceCredentials = try await assumeRole(profile: sourceProfile, files: files, visited: visited.union([name]))
            } else {
                sourceCredentials = try fromProfile(sourceSettings, name: sourceProfile, files: files, allowRole: true)
            }
        case (nil, "Environment"?):
            guard let c = try fromEnvironment() else {
                throw .invalid(source: source, reason: "credential_source = Environment, but AWS_ACCESS_KEY_ID is not set")
            }
            sourceCredentials = c
        case (nil, "EcsContainer"?):
            guard let c = try await MetadataCredentials.container(environment) else {
                throw .invalid(source: source, reason: "credential_source = EcsContainer, but no container credentials URI is set")
            }
            sourceCredentials = c
        case (nil, "Ec2InstanceMetadata"?):
            guard let c = try await MetadataCredentials.instanceMetadata(environment) else {
                throw .invalid(source: source, reason: "credential_source = Ec2InstanceMetadata, but instance metadata is disabled")
            }
            sourceCredentials = c
        case (nil, let other?):
            throw .invalid(source: source, reason: "credential_source \"\(other)\" is not Environment, Ec2InstanceMetadata or EcsContainer")
        case (nil, nil):
            throw .invalid(source: source, reason: "role_arn needs source_profile or credential_source")
        case (_?, _?):
            throw .invalid(source: source, reason: "source_profile and credential_source are mutually exclusive")
        }
        let region = try configuredRegion(explicit: nil, environment: environment, profile: name, files: files)
        guard let endpoint = STSCredentials.endpoint(environment: environment, profile: s, region: region) else {
            throw .invalid(source: source, reason: "the STS endpoint URL is not an http(s) URL")
        }
        return try await STSCredentials.assumeRole(
            roleArn: roleArn, sessionName: s["role_session_name"], externalId: s["external_id"],
            durationSeconds: s["duration_seconds"], sourceCredentials: sourceCredentials, endpoint: endpoint,
            region: region ?? "us-east-1", source: "\(source) \(roleArn)")
    }

    /// Web identity: the profile's `web_identity_token_file` + `role_arn`, else
    /// `AWS_WEB_IDENTITY_TOKEN_FILE` + `AWS_ROLE_ARN` (+ `AWS_ROLE_SESSION_NAME`); nil when neither is set.
    func webIdentity(_ s: [String: String]) async throws(CredentialError) -> AWSCredentials? {
        let tokenFile: String, roleArn: String, sessionName: String?
        if let file = s["web_identity_token_file"], let role = s["role_arn"] {
            (tokenFile, roleArn, sessionName) = (file, role, s["role_session_name"])
        } else if let file = environment["AWS_WEB_IDENTITY_TOKEN_FILE"], !file.isEmpty {
            guard let role = environment["AWS_ROLE_ARN"], !role.isEmpty else {
                throw .invalid(source: "web identity", reason: "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not")
            }
            (tokenFile, roleArn, sessionName) = (file, role, environment["AWS_ROLE_SESSION_NAME"])
        } else {
            return nil
        }
        let region = try resolveRegion(explicit: nil, environment: environment, profile: profileName)
        guard let endpoint = STSCredentials.endpoint(environment: environment, profile: s, region: region) else {
            throw .invalid(source: "web identity", reason: "the STS endpoint URL is not an http(s) URL")
        }
        return try await STSCredentials.assumeRoleWithWebIdentity(roleArn: roleArn, sessionName: sessionName,
                                                                  tokenFile: tokenFile, endpoint: endpoint,
                                                                  source: "web identity \(roleArn)")
    }

    /// `AWS_ACCESS_KEY_ID` + `AWS_SECRET_ACCESS_KEY` (+ `AWS_SESSION_TOKEN` or the legacy `AWS_SECURITY_TOKEN`).
    func fromEnvironment() throws(CredentialError) -> AWSCredentials? {
        let id = environment["AWS_ACCESS_KEY_ID"].flatMap { $0.isEmpty ? nil : $0 }
        let secret = environment["AWS_SECRET_ACCESS_KEY"].flatMap { $0.isEmpty ? nil : $0 }
        switch (id, secret) {
        case (nil, nil): return nil
        case (let id?, let secret?):
            let tokenVariable = environment["AWS_SESSION_TOKEN"].map { _ in "AWS_SESSION_TOKEN" } ?? "AWS_SECURITY_TOKEN"
            let token = environment[tokenVariable].flatMap { $0.isEmpty ? nil : $0 }
            for (name, value) in [("AWS_ACCESS_KEY_ID", id), ("AWS_SECRET_ACCESS_KEY", secret), (tokenVariable, token ?? "")] {
                if let problem = AWSCredentials.keyProblem(value, name: name) { throw .invalid(source: "environment", reason: problem) }
            }
            let expiration = environment["AWS_CREDENTIAL_EXPIRATION"].flatMap(parseISO8601)
            return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token,
                                  expiration: expiration, source: "environment")
        default:
            throw .invalid(source: "environment", reason: "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must both be set")
        }
    }

    /// Static keys or `credential_process` of a profile. Role profiles need `resolveAll()`
    /// (STS), except as their own `source_profile` (`allowRole`).
    func fromProfile(_ s: [String: String], name: String, files: ProfileFiles,
                     allowRole: Bool = false) throws(CredentialError) -> AWSCredentials {
        let source = "profile \(name)"
        if !allowRole, s["role_arn"] != nil || s["web_identity_token_file"] != nil {
            throw .invalid(source: source, reason: "role_arn needs STS: resolve the whole chain (resolveAll)")
        }
        if let id = s["aws_access_key_id"], let secret = s["aws_secret_access_key"] {
            for key in ["aws_access_key_id", "aws_secret_access_key", "aws_session_token"] {
                if let value = s[key], let problem = AWSCredentials.keyProblem(value, name: key) {
                    throw .invalid(source: files.origin(of: key, in: name), reason: problem)
                }
            }
            return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: s["aws_session_token"],
                                  source: source)
        }
        if let command = s["credential_process"] {
            return try ProcessCredentials.run(command, source: source)
        }
        if s["sso_session"] != nil || s["sso_start_url"] != nil {
            throw .unsupported(source: source,
                               what: "SSO (use credential_process = aws configure export-credentials --profile \(name) --format process)")
        }
        throw .invalid(source: source, reason: "no aws_access_key_id/aws_secret_access_key or credential_process")
    }
}

/// Parses `2026-11-23T12:00:00Z` (with or without fractional seconds).
func parseISO8601(_ s: String) -> Date? {
    let f = ISO8601DateFormatter()
    if let d = f.date(from: s) { return d }
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.date(from: s)
}
