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

extension AWSCredentials {
    /// What is wrong with a key, secret or token as it is loaded, or nil: AWS never
    /// issues one with whitespace or control characters, and one that has them (a
    /// carriage return from a Windows editor, a value continued on an indented line)
    /// would only fail later as a bad signature or an HTTP header the client refuses,
    /// after pointless retries. Names `name` (a variable or setting) and the character,
    /// never the value.
    static func keyProblem(_ value: String, name: String) -> String? {
        let scalars = value.unicodeScalars
        guard let index = scalars.firstIndex(where: { $0.properties.isWhitespace || $0.properties.generalCategory == .control })
        else { return nil }
        let scalar = scalars[index]
        let position = scalars.distance(from: scalars.startIndex, to: index)
        let place = position == scalars.count - 1 ? "ends with" : position == 0 ? "starts with" : "has, at character \(position + 1) of \(scalars.count),"
        var reason = "\(name) \(place) \(characterName(scalar)); AWS keys never contain whitespace or control characters"
        if scalar == "\n" {
            reason += " (in a shared file: an indented line below it continues its value; remove that line's indentation)"
        } else if scalar == "\r" {
            reason += " (Windows line endings? save it with plain \\n)"
        }
        return reason
    }

    /// `a carriage return (U+000D)`, for messages that must not show the value around it.
    static func characterName(_ s: Unicode.Scalar) -> String {
        let code = "U+" + String(s.value, radix: 16, uppercase: true).leftPadded(to: 4)
        switch s {
        case "\r": return "a carriage return (\(code))"
        case "\n": return "a line feed (\(code))"
        case "\t": return "a tab (\(code))"
        case " ": return "a space (\(code))"
        default: return "the character \(code)"
        }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
