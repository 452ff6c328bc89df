import AsyncHTTPClient
import ByteCoding
import Foundation
import NIOCore
import NIOHTTP1

/// An endpoint: scheme, host and port.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    /// `http` or `https`.
    public let scheme: String
    /// The host name or address.
    public let host: String
    /// The port, if not the scheme's default.
    public let port: Int?

    /// Parses `http://127.0.0.1:8333` or `https://s3.eu-west-1.amazonaws.com`.
    public init?(_ url: String) {
        guard let u = URLComponents(string: url), let scheme = u.scheme?.lowercased(), scheme == "http" || scheme == "https",
              let host = u.host, !host.isEmpty else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = u.port
    }

    /// Creates an endpoint from its parts.
    public init(scheme: String, host: String, port: Int? = nil) {
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    /// True over TLS.
    public var isSecure: Bool { scheme == "https" }
    /// The `Host` header: host, and `:port` when it is not the default.
    public var hostHeader: String {
        guard let port, port != (isSecure ? 443 : 80) else { return host }
        return "\(host):\(port)"
    }
    /// `scheme://host[:port]`.
    public var description: String { "\(scheme)://\(hostHeader)" }
}

/// One request to an AWS service, before signing.
public struct AWSRequest: Sendable {
    /// The operation name, for errors and logs (e.g. `PutObject`).
    public var operation: String
    /// The HTTP method.
    public var method: String
    /// The path, not percent-encoded.
    public var path: String
    /// Query parameters, not percent-encoded.
    public var query: [(String, String?)]
    /// Extra headers (the transport adds host, date, content hash and authorization).
    public var headers: [(String, String)]
    /// The body (a file's bytes are read straight into it, and sent without another copy).
    public var body: ByteBuffer
    /// A body produced while it is sent, instead of `body` (STOW-RS requests built from files).
    public var streamedBody: StreamedBody?

    /// Creates a request.
    public init(operation: String, method: String, path: String, query: [(String, String?)] = [],
                headers: [(String, String)] = [], body: [UInt8] = []) {
        self.init(operation: operation, method: method, path: path, query: query, headers: headers,
                  buffer: ByteBuffer(bytes: body))
    }

    /// Creates a request whose body is a buffer.
    public init(operation: String, method: String, path: String, query: [(String, String?)] = [],
                headers: [(String, String)] = [], buffer: ByteBuffer) {
        self.operation = operation
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = buffer
    }
}

/// A request body produced while it is sent: never held whole in memory.
public struct StreamedBody: Sendable {
    /// Its length in bytes (sent as Content-Length).
    public let length: Int
    /// The lower-case hex SHA-256 of every byte, for SigV4's payload hash; nil when the
    /// request is not signed (unsigned and basic-auth transports).
    public let sha256: String?
    /// Makes the chunks, from the start; called once per attempt (a retry sends it again).
    public let makeChunks: @Sendable () -> AsyncThrowingStream<ByteBuffer, any Error>

    public init(length: Int, sha256: String?, makeChunks: @escaping @Sendable () -> AsyncThrowingStream<ByteBuffer, any Error>) {
        self.length = length
        self.sha256 = sha256
        self.makeChunks = makeChunks
    }
}

/// How a transport proves who it is.
public enum TransportAuthentication: Sendable {
    /// AWS Signature Version 4 with the transport's credentials (every AWS service).
    case sigV4
    /// HTTP Basic (RFC 7617), for DICOMweb servers other than HealthImaging; TLS unless the user said `http://`.
    case basic(user: String, password: String)
    /// No authentication (a DICOMweb server on a trusted network).
    case none
}

/// A service's answer.
public struct AWSResponse: Sendable {
    /// The HTTP status.
    public let status: Int
    /// The headers.
    public let headers: HTTPHeaders
    /// The body (bounded; S3 answers other than GetObject are small).
    public let body: [UInt8]

    /// The first value of a header.
    public func header(_ name: String) -> String? { headers.first(name: name) }
    /// The body as text.
    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// Sends signed requests with one retry policy, a connection pool sized to the
/// work, and clock-skew correction from the server's `Date`.
public final class AWSTransport: @unchecked Sendable {
    // @unchecked: `skew` is guarded by `lock`; everything else is immutable.
    /// The endpoint requests go to.
    public let endpoint: Endpoint
    /// The signing region.
    public let region: String
    /// The signing name of the service.
    public let service: String
    /// The retry policy shared by every request of this transport.
    public let retry: RetryPolicy
    /// SigV4 (AWS), basic or none (other DICOMweb servers).
    public let authentication: TransportAuthentication
    private let client: HTTPClient
    private let credentials: @Sendable () async throws -> AWSCredentials
    private let debug: (@Sendable (String) -> Void)?
    private let lock = NSLock()
    private var skew: TimeInterval = 0

    /// Creates a transport with `connections` pooled connections per host.
    public init(endpoint: Endpoint, region: String, service: String, connections: Int = 16,
                connectTimeout: Int64 = 10, readTimeout: Int64 = 120, retry: RetryPolicy = .processDefault(),
                authentication: TransportAuthentication = .sigV4,
                credentials: @escaping @Sendable () async throws -> AWSCredentials,
                debug: (@Sendable (String) -> Void)? = nil) {
        self.endpoint = endpoint
        self.authentication = authentication
        self.region = region
        self.service = service
        self.retry = retry
        self.credentials = credentials
        self.debug = debug
        client = HTTPClients.client(connections: connections, connectMilliseconds: connectTimeout * 1000,
                                    readMilliseconds: readTimeout * 1000)
    }

    /// Done with this transport. The connection pool is the process's and is shared
    /// by transports of the same shape; its idle connections close by themselves.
    public func shutdown() async {}

    /// Sends `request`, retrying what the policy allows. Throws `AWSError` for
    /// any answer outside 2xx (`allowedStatuses` adds others, e.g. 404 for HeadObject;
    /// `returnIf` lets the caller take an answer itself, e.g. a bucket-region redirect).
    ///
    /// With `consumeBody`, a 2xx answer's body is not collected: it is handed to
    /// `consumeBody` as it arrives (a WADO-RS answer streamed to files), and the returned
    /// response has an empty body. Answers outside 2xx are collected and retried as usual;
    /// once `consumeBody` has started, nothing is retried (its error is thrown).
    public func send(_ request: AWSRequest, allowedStatuses: Set<Int> = [],
                     returnIf: ((AWSResponse) -> Bool)? = nil,
                     consumeBody: (@Sendable (_ status: Int, _ headers: HTTPHeaders, _ body: HTTPClientResponse.Body) async throws -> Void)? = nil)
        async throws -> AWSResponse {
        var attempt = 1, skewCorrected = false
        // S3's SlowDown storms are waited out together (fewer requests in flight); HealthImaging's
        // throttling is per operation and handled by the callers (the job starter, the poller).
        let gate: ThrottleGate? = service == "s3" ? retry.gate : nil
        while true {
            let generation = await gate?.enter() ?? 0
            var throttled = false
            do {
                let response: AWSResponse
                do {
                    response = try await sendOnce(request, attempt: attempt, consumeBody: consumeBody)
                } catch {
                    await gate?.leave(generation: generation, throttled: false)
                    throw error
                }
                if ((200..<300).contains(response.status) && !Self.isErrorIn200(response, operation: request.operation))
                    || allowedStatuses.contains(response.status) || returnIf?(response) == true {
                    await gate?.leave(generation: generation, throttled: false)
                    retry.recordSuccess()
                    return response
                }
                let error = serviceError(response, operation: request.operation)
                // A clock off by more than the server allows: take the offset from its Date, re-sign, once.
                if !skewCorrected, correctSkew(response, error) {
                    skewCorrected = true
                    await gate?.leave(generation: generation, throttled: false)
                    debug?("clock skew corrected by \(Int(currentSkew)) s from the server's Date (\(error.code ?? "")); signing again")
                    continue
                }
                throttled = RetryPolicy.isThrottling(error)
                if let gate {
                    await gate.leave(generation: generation, throttled: throttled)
                    if throttled, await gate.allowed != Int.max {
                        debug?("throttled (\(error.code ?? "")): \(await gate.allowed) request(s) in flight at most for now")
                    }
                }
                throw error
            } catch let failure as ConsumerFailure {
                throw failure.error
            } catch let error as AWSError {
                guard attempt < retry.maxAttempts, RetryPolicy.isRetryable(error), retry.acquire(for: error) else {
                    throw error
                }
                let wait = retry.delay(beforeRetry: attempt, after: error)
                debug?("retry \(attempt)/\(retry.maxAttempts - 1) of \(request.operation) \(request.path) in \(String(format: "%.2f", wait)) s after: \(error)")
                try await Task.sleep(nanoseconds: UInt64(wait * 1e9))
                attempt += 1
            }
        }
    }

    private func sendOnce(_ request: AWSRequest, attempt: Int,
                          consumeBody: (@Sendable (Int, HTTPHeaders, HTTPClientResponse.Body) async throws -> Void)?) async throws -> AWSResponse {
        var headers = request.headers.filter { $0.0.lowercased() != "x-amz-content-sha256" }
        switch authentication {
        case .sigV4:
            let creds = try await credentials()
            let signer = SigV4Signer(credentials: creds, region: region, service: service,
                                     normalizePath: service != "s3", signsContentSHA256Header: service == "s3")
            // A caller may give the payload hash itself (x-amz-content-sha256); otherwise S3 over TLS
            // sends UNSIGNED-PAYLOAD (TLS protects the body, the checksum header proves it) and
            // everything else the body's SHA-256.
            let given = request.headers.first { $0.0.lowercased() == "x-amz-content-sha256" }?.1
            let payloadHash = given ?? request.streamedBody.map { $0.sha256 ?? SigV4Signer.unsignedPayload }
                ?? (service == "s3" && endpoint.isSecure ? SigV4Signer.unsignedPayload : request.body.withUnsafeReadableBytes { SigV4Signer.sha256Hex($0) })
            var signable = SigV4Signer.Request(method: request.method, path: request.path, query: request.query,
                                               headers: [("Host", endpoint.hostHeader)] + headers,
                                               payloadHash: payloadHash)
            signer.sign(&signable, date: Date().addingTimeInterval(currentSkew))
            headers = signable.headers
        case .basic(let user, let password):
            headers = [("Host", endpoint.hostHeader)] + headers
                + [("Authorization", "Basic " + Base64.encode(Array("\(user):\(password)".utf8)))]
        case .none:
            headers = [("Host", endpoint.hostHeader)] + headers
        }
        var url = endpoint.description + SigV4Signer.canonicalPath(request.path, normalize: false)
        let query = SigV4Signer.canonicalQuery(request.query)
        if !query.isEmpty { url += "?" + query }
        var http = HTTPClientRequest(url: url)
        http.method = HTTPMethod(rawValue: request.method)
        for (name, value) in headers { http.headers.add(name: name, value: value) }
        let length: Int
        if let streamed = request.streamedBody {
            http.body = .stream(streamed.makeChunks(), length: .known(Int64(streamed.length)))
            length = streamed.length
        } else {
            if request.body.readableBytes > 0 || request.method == "PUT" || request.method == "POST" {
                http.body = .bytes(request.body)
            }
            length = request.body.readableBytes
        }
        debug?("\(request.method) \(url) (\(request.operation), attempt \(attempt), \(length) bytes)")
        let response: HTTPClientResponse
        do {
            response = try await client.execute(http, timeout: .seconds(600))
        } catch {
            throw AWSError.transport(operation: request.operation, reason: "\(error)")
        }
        let status = Int(response.status.code)
        if let consumeBody, (200..<300).contains(status) {
            debug?("\(status) for \(request.operation) \(request.path): streaming the body")
            do {
                try await consumeBody(status, response.headers, response.body)
            } catch {
                throw ConsumerFailure(error: error)
            }
            return AWSResponse(status: status, headers: response.headers, body: [])
        }
        let body: ByteBuffer
        do {
            body = try await response.body.collect(upTo: 64 << 20)
        } catch {
            throw AWSError.transport(operation: request.operation, reason: "reading the response: \(error)")
        }
        let result = AWSResponse(status: status, headers: response.headers, body: Array(buffer: body))
        debug?("\(result.status) for \(request.operation) \(request.path) [request id \(result.header("x-amz-request-id") ?? result.header("x-amzn-RequestId") ?? "-")]")
        return result
    }

    /// An error of a body consumer: thrown to the caller as it is, never retried.
    private struct ConsumerFailure: Error { let error: any Error }

    private var currentSkew: TimeInterval {
        lock.lock()
        defer { lock.unlock() }
        return skew
    }

    private func setSkew(_ value: TimeInterval) {
        lock.lock()
        skew = value
        lock.unlock()
    }

    /// Answers that mean the request's time was refused (botocore's list).
    static let clockSkewCodes: Set<String> = ["RequestTimeTooSkewed", "RequestExpired", "InvalidSignatureException",
                                              "SignatureDoesNotMatch", "AuthFailure", "RequestInTheFuture"]

    /// When `error` is a time refusal and the server's `Date` is more than 4 minutes from
    /// this clock (with the skew already applied), remembers the offset and says so.
    func correctSkew(_ r: AWSResponse, _ error: AWSError) -> Bool {
        guard r.status == 400 || r.status == 403, Self.clockSkewCodes.contains(error.code ?? ""),
              let date = r.header("Date").flatMap(Self.parseHTTPDate) else { return false }
        let offset = date.timeIntervalSinceNow
        guard abs(offset - currentSkew) > 240 else { return false }
        setSkew(offset)
        return true
    }

    /// S3's CompleteMultipartUpload, CopyObject and UploadPartCopy can answer HTTP 200 and
    /// then an `<Error>` document (the status is sent before the work ends): that is an
    /// error, classified (and retried) by its code like any other.
    static func isErrorIn200(_ r: AWSResponse, operation: String) -> Bool {
        guard ["CompleteMultipartUpload", "CopyObject", "UploadPartCopy"].contains(operation) else { return false }
        let head = r.body.prefix(512)
        return String(decoding: head, as: UTF8.self).contains("<Error>")
    }

    func serviceError(_ r: AWSResponse, operation: String) -> AWSError {
        // rest-json (HealthImaging): x-amzn-ErrorType (`Code:extra`) or `__type` (`ns#Code`), and `message`.
        if r.body.first == UInt8(ascii: "{") || r.header("x-amzn-ErrorType") != nil {
            let object = (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:]
            let raw = r.header("x-amzn-ErrorType") ?? object["__type"] as? String ?? object["code"] as? String
            let code = raw.map { String($0.split(separator: ":").first ?? "").split(separator: "#").last.map(String.init) ?? "" }
            let message = object["message"] as? String ?? object["Message"] as? String ?? ""
            return .service(status: r.status, code: code.flatMap { $0.isEmpty ? nil : $0 } ?? Self.codeForStatus(r.status),
                            message: message, requestId: r.header("x-amzn-RequestId") ?? r.header("x-amz-request-id"),
                            operation: operation)
        }
        let text = r.text[...]
        let code = XML.value("Code", in: text) ?? Self.codeForStatus(r.status)
        return .service(status: r.status, code: code, message: XML.value("Message", in: text) ?? "",
                        requestId: XML.value("RequestId", in: text) ?? r.header("x-amz-request-id"), operation: operation)
    }

    static func codeForStatus(_ status: Int) -> String {
        switch status {
        case 301: return "PermanentRedirect"
        case 400: return "BadRequest"
        case 403: return "Forbidden"
        case 404: return "NotFound"
        case 409: return "Conflict"
        case 412: return "PreconditionFailed"
        case 402: return "ServiceQuotaExceededException"
        case 429: return "TooManyRequests"
        case 500: return "InternalError"
        case 503: return "ServiceUnavailable"
        default: return "HTTP\(status)"
        }
    }

    /// Parses an RFC 1123 date (`Mon, 23 Nov 2026 08:00:00 GMT`).
    static func parseHTTPDate(_ s: String) -> Date? {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "GMT")
        f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        return f.date(from: s)
    }
}
