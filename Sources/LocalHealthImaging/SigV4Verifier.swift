import Foundation
import Uploader

/// Checks SigV4 header signatures the way AWS does, for the local server: the
/// signature is recomputed over the headers the client named, the request-target it
/// sent and the payload hash; the date must be within 15 minutes; S3 requests must
/// carry `x-amz-content-sha256`, and a hash that is not the body's is refused.
public struct SigV4Verifier: Sendable {
    /// The one key pair the server accepts.
    public let accessKeyId: String
    /// Its secret.
    public let secretAccessKey: String

    /// Creates a verifier for one key pair.
    public init(accessKeyId: String, secretAccessKey: String) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
    }

    /// Why a request was refused: the AWS error code, the HTTP status and a message.
    public struct Failure: Error, Sendable {
        /// `SignatureDoesNotMatch`, `InvalidAccessKeyId`, …
        public let code: String
        /// 400 or 403.
        public let status: Int
        /// For the client.
        public let message: String
    }

    /// The service and region a request was signed for, when it verifies.
    public struct Scope: Sendable {
        /// `s3` or `medical-imaging`.
        public let service: String
        /// The signing region.
        public let region: String
    }

    /// Verifies `request`; `now` is the server's clock.
    public func verify(_ request: HTTPRequest, now: Date = Date()) -> Result<Scope, Failure> {
        guard let auth = request.header("Authorization") else {
            if request.queryValue("X-Amz-Algorithm") != nil {
                return .failure(Failure(code: "AccessDenied", status: 403, message: "presigned URLs are not supported by ahi-local"))
            }
            return .failure(Failure(code: "AccessDenied", status: 403, message: "anonymous requests are not allowed: sign with SigV4"))
        }
        guard auth.hasPrefix("AWS4-HMAC-SHA256 ") else {
            return .failure(Failure(code: "InvalidRequest", status: 400, message: "only AWS4-HMAC-SHA256 is supported"))
        }
        var fields: [String: String] = [:]
        for part in auth.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        guard let credential = fields["Credential"], let signedHeaders = fields["SignedHeaders"],
              let signature = fields["Signature"] else {
            return .failure(Failure(code: "AuthorizationHeaderMalformed", status: 400, message: "Credential, SignedHeaders or Signature missing"))
        }
        let scope = credential.split(separator: "/")
        guard scope.count == 5, scope[4] == "aws4_request" else {
            return .failure(Failure(code: "AuthorizationHeaderMalformed", status: 400, message: "malformed credential scope"))
        }
        guard scope[0] == accessKeyId else {
            return .failure(Failure(code: "InvalidAccessKeyId", status: 403,
                                    message: "The AWS Access Key Id you provided does not exist in our records."))
        }
        let region = String(scope[2]), service = String(scope[3])
        guard let amzDate = request.header("x-amz-date"), let date = SigV4Signer.parseAmzDate(amzDate) else {
            return .failure(Failure(code: "AccessDenied", status: 403, message: "x-amz-date is missing or malformed"))
        }
        guard abs(date.timeIntervalSince(now)) <= 15 * 60 else {
            return .failure(Failure(code: "RequestTimeTooSkewed", status: 403,
                                    message: "The difference between the request time and the current time is too large."))
        }
        guard amzDate.hasPrefix(scope[1]) else {
            return .failure(Failure(code: "SignatureDoesNotMatch", status: 403, message: "the credential scope date is not the request date"))
        }
        let payloadHash: String
        if service == "s3" {
            guard let declared = request.header("x-amz-content-sha256") else {
                return .failure(Failure(code: "InvalidRequest", status: 400, message: "Missing required header for this request: x-amz-content-sha256"))
            }
            if declared != SigV4Signer.unsignedPayload && !declared.hasPrefix("STREAMING-") {
                guard declared == SigV4Signer.sha256Hex(request.body) else {
                    return .failure(Failure(code: "XAmzContentSHA256Mismatch", status: 400,
                                            message: "The provided 'x-amz-content-sha256' header does not match what was computed."))
                }
            }
            payloadHash = declared
        } else {
            let declared = request.header("x-amz-content-sha256")
            // A declared hash of the payload (DICOMweb clients send one) must be the body's.
            if let declared, declared.count == 64, declared.allSatisfy(\.isHexDigit), declared != SigV4Signer.sha256Hex(request.body) {
                return .failure(Failure(code: "XAmzContentSHA256Mismatch", status: 400,
                                        message: "The provided 'x-amz-content-sha256' header does not match what was computed."))
            }
            payloadHash = declared ?? SigV4Signer.sha256Hex(request.body)
        }
        let names = Set(signedHeaders.split(separator: ";").map { String($0) })
        guard names.contains("host") else {
            return .failure(Failure(code: "AccessDenied", status: 403, message: "host must be a signed header"))
        }
        // Every x-amz-* header sent must be signed, as S3 requires.
        for (name, _) in request.headers where name.lowercased().hasPrefix("x-amz-") && !names.contains(name.lowercased()) {
            if name.lowercased() != "x-amz-content-sha256" || service == "s3" {
                return .failure(Failure(code: "AccessDenied", status: 403, message: "There were headers present in the request which were not signed: \(name.lowercased())"))
            }
        }
        let headers = request.headers.filter { names.contains($0.0.lowercased()) && $0.0.lowercased() != "x-amz-date" }
        let query = request.rawQuery.split(separator: "&", omittingEmptySubsequences: true).map { pair -> (String, String?) in
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            return (SigV4Signer.percentDecode(kv[0]), kv.count > 1 ? SigV4Signer.percentDecode(kv[1]) : "")
        }
        var signable = SigV4Signer.Request(method: request.method, path: SigV4Signer.percentDecode(request.rawPath), query: query,
                                           headers: headers, payloadHash: payloadHash)
        let signer = SigV4Signer(credentials: AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey),
                                 region: region, service: service, normalizePath: service != "s3",
                                 signsContentSHA256Header: false)
        let expected = signer.sign(&signable, date: date)
        guard expected.signedHeaders == signedHeaders, expected.signature == signature else {
            return .failure(Failure(code: "SignatureDoesNotMatch", status: 403,
                                    message: "The request signature we calculated does not match the signature you provided. Check your key and signing method."))
        }
        return .success(Scope(service: service, region: region))
    }
}
