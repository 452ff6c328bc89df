import ByteCoding
import Crypto
import Foundation

/// AWS Signature Version 4 (header signing and presigned URLs).
///
/// The canonical request follows the SigV4 rules with S3's choices available:
/// the path is URI-encoded once (every byte but `A-Za-z0-9-_.~` and `/`),
/// optionally with dot segments and repeated slashes removed (`normalizePath`,
/// for services other than S3); query keys and values are decoded and
/// re-encoded strictly and sorted; header names lower-cased, values trimmed
/// with inner whitespace collapsed, repeated headers joined with commas.
public struct SigV4Signer: Sendable {
    /// The signing credentials.
    public var credentials: AWSCredentials
    /// The region of the scope, e.g. `us-east-1`.
    public var region: String
    /// The signing name of the service, e.g. `s3`, `medical-imaging`, `sts`.
    public var service: String
    /// Remove `.`/`..` segments and repeated slashes before encoding (never for S3).
    public var normalizePath: Bool
    /// Send and sign `x-amz-content-sha256` (always for S3).
    public var signsContentSHA256Header: Bool

    /// The SHA-256 of an empty body, in hex.
    public static let emptyPayloadHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    /// The payload hash S3 accepts over TLS instead of hashing the body.
    public static let unsignedPayload = "UNSIGNED-PAYLOAD"

    /// Creates a signer. For S3 use the defaults; other services pass `normalizePath: true`.
    public init(credentials: AWSCredentials, region: String, service: String,
                normalizePath: Bool = false, signsContentSHA256Header: Bool? = nil) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.normalizePath = normalizePath
        self.signsContentSHA256Header = signsContentSHA256Header ?? (service == "s3")
    }

    /// A request to sign: the parts the signature covers.
    public struct Request: Sendable {
        /// The HTTP method.
        public var method: String
        /// The path, not percent-encoded (an S3 key as it is, e.g. `/bucket/a b+c.dcm`).
        public var path: String
        /// Query parameters, not percent-encoded; nil value for a bare key (`?uploads`).
        public var query: [(String, String?)]
        /// Headers in the order they will be sent. Must include `host`.
        public var headers: [(String, String)]
        /// Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD` / a `STREAMING-…` literal.
        public var payloadHash: String

        /// Creates a request.
        public init(method: String, path: String, query: [(String, String?)] = [], headers: [(String, String)],
                    payloadHash: String = SigV4Signer.emptyPayloadHash) {
            self.method = method
            self.path = path
            self.query = query
            self.headers = headers
            self.payloadHash = payloadHash
        }

        /// The value of header `name` (case-insensitive), if present.
        public func header(_ name: String) -> String? {
            headers.first { SigV4Signer.asciiCaseInsensitiveEqual($0.0, name) }?.1
        }
    }

    /// The pieces of one signature, kept for tests and `--debug` (the secret is not among them).
    public struct Signature: Sendable {
        /// The canonical request.
        public let canonicalRequest: String
        /// The string to sign.
        public let stringToSign: String
        /// The hex signature.
        public let signature: String
        /// `;`-joined signed header names.
        public let signedHeaders: String
        /// The credential scope `YYYYMMDD/region/service/aws4_request`.
        public let scope: String
    }

    // MARK: Header signing

    /// Adds `x-amz-date`, `x-amz-content-sha256` (when configured), `x-amz-security-token`
    /// (unless `omitSessionToken`) and `Authorization` to `request.headers`.
    @discardableResult
    public func sign(_ request: inout Request, date: Date, omitSessionToken: Bool = false) -> Signature {
        let stamp = AmzDate(date)
        request.headers.removeAll { ["authorization", "x-amz-date"].contains($0.0.lowercased()) }
        request.headers.append(("X-Amz-Date", stamp.full))
        if signsContentSHA256Header && request.header("x-amz-content-sha256") == nil {
            request.headers.append(("X-Amz-Content-Sha256", request.payloadHash))
        }
        if let token = credentials.sessionToken, !omitSessionToken, request.header("x-amz-security-token") == nil {
            request.headers.append(("X-Amz-Security-Token", token))
        }
        let sig = signature(for: request, query: request.query, stamp: stamp)
        request.headers.append(("Authorization",
            "AWS4-HMAC-SHA256 Credential=\(credentials.accessKeyId)/\(sig.scope), SignedHeaders=\(sig.signedHeaders), Signature=\(sig.signature)"))
        return sig
    }

    // MARK: Presigned URLs

    /// The query parameters of a presigned request (PS: S3 uses `UNSIGNED-PAYLOAD` as payload
    /// hash), including `X-Amz-Signature`, in the order they should be appended.
    /// With `omitSessionToken`, the token is appended after signing (as STS expects for some callers).
    public func presign(_ request: Request, date: Date, expires: Int,
                        omitSessionToken: Bool = false) -> (query: [(String, String?)], signature: Signature) {
        let stamp = AmzDate(date)
        let scope = "\(stamp.day)/\(region)/\(service)/aws4_request"
        let signedHeaders = canonicalHeaders(request.headers).names
        var query = request.query
        query.append(("X-Amz-Algorithm", "AWS4-HMAC-SHA256"))
        query.append(("X-Amz-Credential", "\(credentials.accessKeyId)/\(scope)"))
        query.append(("X-Amz-Date", stamp.full))
        query.append(("X-Amz-SignedHeaders", signedHeaders))
        query.append(("X-Amz-Expires", String(expires)))
        if let token = credentials.sessionToken, !omitSessionToken { query.append(("X-Amz-Security-Token", token)) }
        let sig = signature(for: request, query: query, stamp: stamp)
        if let token = credentials.sessionToken, omitSessionToken { query.append(("X-Amz-Security-Token", token)) }
        query.append(("X-Amz-Signature", sig.signature))
        return (query, sig)
    }

    // MARK: aws-chunked (STREAMING-AWS4-HMAC-SHA256-PAYLOAD)

    /// The signature of one chunk of an aws-chunked body: each chunk signs the
    /// previous signature (the seed is the request's own) and the chunk's hash.
    public func chunkSignature(previous: String, chunk: some DataProtocol, date: Date) -> String {
        let stamp = AmzDate(date)
        let scope = "\(stamp.day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256-PAYLOAD", stamp.full, scope, previous, Self.emptyPayloadHash,
                            Self.sha256Hex(chunk)].joined(separator: "\n")
        return Hex.encode(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: signingKey(day: stamp.day)))
    }

    /// Bytes an aws-chunked body adds around `size` bytes of payload cut in `chunkSize` chunks
    /// (each chunk `hex;chunk-signature=<64>\r\n…\r\n`, then the empty final chunk).
    public static func awsChunkedLength(payload size: Int, chunkSize: Int) -> Int {
        func frame(_ n: Int) -> Int { String(n, radix: 16).count + ";chunk-signature=".count + 64 + 4 + n }
        let full = size / chunkSize, rest = size % chunkSize
        return full * frame(chunkSize) + (rest > 0 ? frame(rest) : 0) + frame(0)
    }

    // MARK: Canonical forms

    func signature(for request: Request, query: [(String, String?)], stamp: AmzDate) -> Signature {
        let scope = "\(stamp.day)/\(region)/\(service)/aws4_request"
        let headers = canonicalHeaders(request.headers)
        let canonical = [
            request.method,
            Self.canonicalPath(request.path, normalize: normalizePath),
            Self.canonicalQuery(query),
            headers.block,
            headers.names,
            request.payloadHash,
        ].joined(separator: "\n")
        let stringToSign = [
            "AWS4-HMAC-SHA256", stamp.full, scope, Hex.encode(SHA256.hash(data: Data(canonical.utf8))),
        ].joined(separator: "\n")
        let key = signingKey(day: stamp.day)
        let mac = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key)
        return Signature(canonicalRequest: canonical, stringToSign: stringToSign, signature: Hex.encode(mac),
                         signedHeaders: headers.names, scope: scope)
    }

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4"+secret, day), region), service), "aws4_request"),
    /// derived once per (secret, day, region, service) and kept.
    func signingKey(day: String) -> SymmetricKey {
        let cacheKey = SigningKeyCache.Key(secret: credentials.secretAccessKey, day: day, region: region, service: service)
        if let key = SigningKeyCache.shared.key(for: cacheKey) { return key }
        var key = SymmetricKey(data: Data(("AWS4" + credentials.secretAccessKey).utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        SigningKeyCache.shared.store(key, for: cacheKey)
        return key
    }

    /// ASCII case-insensitive equality of header names, without Foundation.
    static func asciiCaseInsensitiveEqual(_ a: String, _ b: String) -> Bool {
        guard a.utf8.count == b.utf8.count else { return false }
        for (x, y) in zip(a.utf8, b.utf8) where x != y {
            let lx = (65...90).contains(x) ? x | 0x20 : x, ly = (65...90).contains(y) ? y | 0x20 : y
            if lx != ly { return false }
        }
        return true
    }

    /// Headers that are never signed: proxies and some servers drop or rewrite them.
    static let unsignedHeaders: Set<String> = ["authorization", "user-agent", "expect", "transfer-encoding",
                                               "connection", "x-amzn-trace-id"]

    /// The canonical header block and the signed header names.
    func canonicalHeaders(_ headers: [(String, String)]) -> (block: String, names: String) {
        var merged: [String: [String]] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            if Self.unsignedHeaders.contains(lower) { continue }
            merged[lower, default: []].append(Self.collapseWhitespace(value))
        }
        let names = merged.keys.sorted()
        let block = names.map { "\($0):\(merged[$0, default: []].joined(separator: ","))\n" }.joined()
        return (block, names.joined(separator: ";"))
    }

    /// Trims a header value and collapses every run of whitespace (line breaks included) to one space.
    static func collapseWhitespace(_ value: String) -> String {
        var out = ""
        var pendingSpace = false
        for c in value.unicodeScalars {
            if c == " " || c == "\t" || c == "\n" || c == "\r" {
                pendingSpace = !out.isEmpty
            } else {
                if pendingSpace { out.append(" ") }
                pendingSpace = false
                out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The path URI-encoded once, `/` kept; with `normalize`, dot segments and empty segments removed.
    public static func canonicalPath(_ path: String, normalize: Bool) -> String {
        var p = path.isEmpty ? "/" : path
        if normalize {
            var out: [Substring] = []
            for seg in p.split(separator: "/", omittingEmptySubsequences: true) {
                if seg == "." { continue }
                if seg == ".." { if !out.isEmpty { out.removeLast() }; continue }
                out.append(seg)
            }
            let trailing = p.hasSuffix("/") && !out.isEmpty
            p = "/" + out.joined(separator: "/") + (trailing ? "/" : "")
        }
        return uriEncode(p, keepSlash: true)
    }

    /// Query parameters encoded strictly and sorted by key, then value; a bare key becomes `key=`.
    public static func canonicalQuery(_ query: [(String, String?)]) -> String {
        var pairs: [(key: String, value: String)] = []
        pairs.reserveCapacity(query.count)
        for (key, value) in query {
            pairs.append((uriEncode(key, keepSlash: false), uriEncode(value ?? "", keepSlash: false)))
        }
        pairs.sort { a, b in a.key == b.key ? a.value < b.value : a.key < b.key }
        return pairs.map { $0.key + "=" + $0.value }.joined(separator: "&")
    }

    /// RFC 3986 encoding as SigV4 wants it: unreserved characters as they are,
    /// every other UTF-8 byte as `%XX` (upper-case hex); `/` kept when asked.
    public static func uriEncode(_ s: String, keepSlash: Bool) -> String {
        var out = [UInt8]()
        out.reserveCapacity(s.utf8.count)
        for b in s.utf8 {
            if unreserved[Int(b)] || (keepSlash && b == 0x2F) {
                out.append(b)
            } else {
                out.append(0x25)
                Hex.append(b, uppercase: true, to: &out)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `A-Z a-z 0-9 - . _ ~`, by byte value.
    static let unreserved: [Bool] = (0..<256).map { (b: Int) -> Bool in
        let alnum = (65...90).contains(b) || (97...122).contains(b) || (48...57).contains(b)
        return alnum || b == 45 || b == 46 || b == 95 || b == 126
    }

    /// Decodes `%XX` escapes (a malformed escape is kept as it is).
    /// With `plusIsSpace`, `+` is a space (form-encoded query strings).
    /// Bytes that are not UTF-8 become U+FFFD; ``percentDecodedBytes(_:plusIsSpace:)`` keeps them.
    public static func percentDecode(_ s: Substring, plusIsSpace: Bool = false) -> String {
        String(decoding: percentDecodedBytes(s, plusIsSpace: plusIsSpace), as: UTF8.self)
    }

    /// The bytes `%XX` escapes stand for, as sent (for callers that must refuse what is not UTF-8).
    public static func percentDecodedBytes(_ s: Substring, plusIsSpace: Bool = false) -> [UInt8] {
        var out = [UInt8]()
        let bytes = Array(s.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == 0x25, i + 2 < bytes.count, let h = Hex.value(ofDigit: bytes[i + 1]), let l = Hex.value(ofDigit: bytes[i + 2]) {
                out.append(h << 4 | l)
                i += 3
            } else {
                out.append(plusIsSpace && bytes[i] == 0x2B ? 0x20 : bytes[i])
                i += 1
            }
        }
        return out
    }

    /// Hex SHA-256 of bytes (for `x-amz-content-sha256` over plain HTTP).
    public static func sha256Hex<D: DataProtocol>(_ data: D) -> String { Hex.encode(SHA256.hash(data: data)) }

    /// Lower-case hex SHA-256 of raw bytes.
    public static func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String { Hex.encode(SHA256.hash(data: bytes)) }
}

/// `YYYYMMDD'T'HHMMSS'Z'` and `YYYYMMDD` of a date, in UTC.
struct AmzDate {
    let full: String
    let day: String

    init(_ date: Date) {
        var t = time_t(date.timeIntervalSince1970.rounded(.down))
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        day = "\(tm.tm_year + 1900)\(two(tm.tm_mon + 1))\(two(tm.tm_mday))"
        full = "\(day)T\(two(tm.tm_hour))\(two(tm.tm_min))\(two(tm.tm_sec))Z"
    }
}

extension SigV4Signer {
    /// The date of an `X-Amz-Date` value (`20261123T101500Z`), the inverse of the signer's
    /// formatting; nil when it is not exactly that form.
    public static func parseAmzDate(_ s: String) -> Date? {
        let b = Array(s.utf8)
        guard b.count == 16, b[8] == UInt8(ascii: "T"), b[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int32? {
            var v: Int32 = 0
            for i in range {
                guard (48...57).contains(b[i]) else { return nil }
                v = v * 10 + Int32(b[i] - 48)
            }
            return v
        }
        guard let year = number(0..<4), let month = number(4..<6), let day = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
              (1...12).contains(month), (1...31).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        var t = tm()
        t.tm_year = year - 1900
        t.tm_mon = month - 1
        t.tm_mday = day
        t.tm_hour = hour
        t.tm_min = minute
        t.tm_sec = second
        return Date(timeIntervalSince1970: TimeInterval(timegm(&t)))
    }
}

/// Derived signing keys, a handful at most (one per credentials, day, region and service).
final class SigningKeyCache: @unchecked Sendable {
    // @unchecked: `keys` is guarded by `lock`.
    struct Key: Hashable {
        let secret: String
        let day: String
        let region: String
        let service: String
    }

    static let shared = SigningKeyCache()
    private let lock = NSLock()
    private var keys: [Key: SymmetricKey] = [:]

    func key(for k: Key) -> SymmetricKey? { lock.withLock { keys[k] } }

    func store(_ key: SymmetricKey, for k: Key) {
        lock.withLock {
            if keys.count > 64 { keys.removeAll() }  // rotated credentials: start over
            keys[k] = key
        }
    }
}
