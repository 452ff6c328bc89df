/// An error answered by an AWS (or S3-compatible) service, or a transport failure.
public enum AWSError: Error, Sendable, CustomStringConvertible {
    /// The service answered with an error document.
    case service(status: Int, code: String, message: String, requestId: String?, operation: String)
    /// The request never got an answer (connection refused or dropped, timeout).
    case transport(operation: String, reason: String)
    /// The answer could not be understood.
    case invalidResponse(operation: String, reason: String)

    /// The service's error code (e.g. `SignatureDoesNotMatch`), if any.
    public var code: String? {
        if case .service(_, let code, _, _, _) = self { return code }
        return nil
    }

    /// One line for the user: the operation, the code and message, the request id, and a hint for the usual mistakes.
    public var description: String {
        switch self {
        case .service(let status, let code, let message, let requestId, let operation):
            var s = "\(operation) failed: \(code) (HTTP \(status))"
            if !message.isEmpty { s += ": \(message)" }
            if let requestId { s += " [request id \(requestId)]" }
            switch code {
            case "SignatureDoesNotMatch":
                s += " — signature does not match: check the credentials (secret access key) and the clock"
            case "InvalidAccessKeyId":
                s += " — the access key id is not known to this endpoint: check the credentials and --profile"
            case "RequestTimeTooSkewed":
                s += " — the local clock is too far from the server's"
            case "BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest":
                s += " — the server received different bytes than were sent"
            default: break
            }
            return s
        case .transport(let operation, let reason): return "\(operation) failed: \(reason)"
        case .invalidResponse(let operation, let reason): return "\(operation): invalid response: \(reason)"
        }
    }
}
