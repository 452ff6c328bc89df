import AsyncHTTPClient
import DICOMCore
import NIOHTTP1
import Uploader

/// Why a WADO-RS or QIDO-RS request failed (STOW-RS reports per instance instead).
public enum DICOMwebError: Error, CustomStringConvertible, Sendable {
    /// The server answered with an error status (after the transport's retries of 429/503/5xx).
    /// `resource` names what was asked for (e.g. `study 1.2.3`), `detail` is the server's message, if any.
    case http(status: Int, operation: String, resource: String, detail: String)
    /// The request never got an answer (connection refused or dropped, timeout).
    case unreachable(operation: String, resource: String, reason: String)
    /// The answer could not be used (not multipart, not DICOM JSON, a part that is not a data set, …).
    case invalidAnswer(operation: String, resource: String, reason: String)
    /// A caller's argument cannot be sent (a UID that is not a UID, a frame number below 1).
    case invalidArgument(String)

    /// The HTTP status, when the server answered.
    public var status: Int? {
        if case .http(let status, _, _, _) = self { return status }
        return nil
    }

    public var description: String {
        switch self {
        case .http(let status, let operation, let resource, let detail):
            var s = "\(operation) of \(resource) failed: HTTP \(status)"
            switch status {
            case 401: s += " Unauthorized — the server wants credentials, or refused the ones given"
            case 403: s += " Forbidden — the credentials are not allowed to do this"
            case 404: s += " Not Found — the server has no \(resource)"
            case 406: s += " Not Acceptable — the server cannot send the requested media type or transfer syntax"
            case 413: s += " — the request is too broad; narrow it"
            default: break
            }
            if !detail.isEmpty { s += " (\(detail))" }
            return s
        case .unreachable(let operation, let resource, let reason):
            return "\(operation) of \(resource) failed: no answer (\(reason))"
        case .invalidAnswer(let operation, let resource, let reason):
            return "\(operation) of \(resource): the answer cannot be used: \(reason)"
        case .invalidArgument(let reason):
            return reason
        }
    }
}

extension DICOMwebClient {
    /// Sends through the transport, turning its errors into ``DICOMwebError`` that name `resource`.
    func send(_ request: AWSRequest, resource: String, allowedStatuses: Set<Int> = [],
              consumeBody: (@Sendable (_ status: Int, _ headers: HTTPHeaders, _ body: HTTPClientResponse.Body) async throws -> Void)? = nil)
        async throws -> AWSResponse {
        do {
            return try await transport.send(request, allowedStatuses: allowedStatuses, consumeBody: consumeBody)
        } catch let error as AWSError {
            switch error {
            case .service(let status, _, let message, _, let operation):
                throw DICOMwebError.http(status: status, operation: operation, resource: resource, detail: message)
            case .transport(let operation, let reason):
                throw DICOMwebError.unreachable(operation: operation, resource: resource, reason: reason)
            case .invalidResponse(let operation, let reason):
                throw DICOMwebError.invalidAnswer(operation: operation, resource: resource, reason: reason)
            }
        }
    }

    /// Refuses a UID that is not one (PS3.5 §9.1) before it goes into a URL path.
    static func checkUID(_ uid: String, _ name: String) throws {
        if let problem = Validator.uidProblem(uid) {
            throw DICOMwebError.invalidArgument("the \(name) \(uid.debugDescription) is not a UID (\(problem))")
        }
    }

    /// `study S`, `series SE of study S`, `instance I of series SE of study S`: for messages.
    static func describe(study: String?, series: String?, instance: String?) -> String {
        guard let study else { return "all studies" }
        var parts: [String] = []
        if let instance { parts.append("instance \(instance)") }
        if let series { parts.append("series \(series)") }
        parts.append("study \(study)")
        return parts.joined(separator: " of ")
    }
}
