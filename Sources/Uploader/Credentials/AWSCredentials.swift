import Foundation

/// An AWS access key pair, with a session token for temporary credentials.
///
/// `description` never shows the secret or the token, so credentials can be
/// logged or put in an error without leaking them.
public struct AWSCredentials: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible {
    /// The access key id (AKIA… / ASIA…).
    public let accessKeyId: String
    /// The secret access key.
    public let secretAccessKey: String
    /// The session token of temporary credentials.
    public let sessionToken: String?
    /// When temporary credentials expire; nil for long-term keys.
    public let expiration: Date?
    /// Where they came from ("environment", "shared-credentials-file", "process", …), for `--debug`.
    public let source: String

    /// Creates credentials.
    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil,
                expiration: Date? = nil, source: String = "static") {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
        self.source = source
    }

    /// `AKIA…(from source)`: the key id and where it came from, never the secret.
    public var description: String {
        "\(accessKeyId) (\(source)\(sessionToken == nil ? "" : ", temporary")\(expiration.map { ", expires \($0)" } ?? ""))"
    }

    /// Same as `description`.
    public var debugDescription: String { description }
}
