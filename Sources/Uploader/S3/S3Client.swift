import ByteCoding
import Crypto
import Foundation
import NIOCore

/// An object listed by ListObjectsV2.
public struct S3Object: Sendable, Hashable {
    /// The key.
    public let key: String
    /// The size in bytes.
    public let size: Int
    /// The ETag, without quotes.
    public let etag: String
}

/// A part of a multipart upload, as uploaded or listed.
public struct S3Part: Sendable, Hashable {
    /// The part number (1…10,000).
    public let number: Int
    /// The ETag, without quotes.
    public let etag: String
    /// The part's checksum (base64, in the client's algorithm), when it was sent with one.
    public let checksum: String?
    /// The size in bytes (from ListParts).
    public let size: Int?
}

/// S3 operations on one endpoint. With a custom endpoint (`--s3-endpoint-url`)
/// requests are path-style (`/bucket/key`); on AWS they are virtual-hosted and
/// each bucket gets its own transport to `bucket.s3.region.amazonaws.com`.
/// A bucket in another region (S3 answers 301, or 400 AuthorizationHeaderMalformed,
/// with `x-amz-bucket-region`) is re-signed for its region and remembered.
public final class S3Client: @unchecked Sendable {
    // @unchecked: `transports` is guarded by `lock`.
    /// True for path-style addressing.
    public let pathStyle: Bool
    /// The checksum sent with every object and part (CRC-32C by default).
    public let checksumAlgorithm: ChecksumAlgorithm
    private let base: AWSTransport
    private let makeTransport: @Sendable (Endpoint, String) -> AWSTransport
    /// Where `--debug` lines go.
    let debug: (@Sendable (String) -> Void)?
    private let lock = NSLock()
    private var transports: [String: AWSTransport] = [:]

    /// Creates a client. `transport` is used as is for path-style requests; for
    /// virtual-hosted ones, and for buckets in another region, `makeTransport`
    /// builds one from an endpoint and a signing region.
    public init(transport: AWSTransport, pathStyle: Bool, checksumAlgorithm: ChecksumAlgorithm = .crc32c,
                debug: (@Sendable (String) -> Void)? = nil,
                makeTransport: @escaping @Sendable (Endpoint, String) -> AWSTransport) {
        base = transport
        self.pathStyle = pathStyle
        self.checksumAlgorithm = checksumAlgorithm
        self.debug = debug
        self.makeTransport = makeTransport
    }

    /// Closes every connection pool.
    public func shutdown() async {
        let all = lock.withLock { Array(transports.values) } + [base]
        for t in all { await t.shutdown() }
    }

    /// The retries made so far, over every transport.
    public var retryCount: Int {
        let all = lock.withLock { Array(transports.values) }
        return all.reduce(base.retry.retryCount) { $0 + ($1 === base ? 0 : $1.retry.retryCount) }
    }

    private func path(_ bucket: String, _ key: String) -> String {
        pathStyle ? "/\(bucket)" + (key.isEmpty ? "" : "/\(key)") : "/" + key
    }

    /// The transport for a bucket: the base one (path-style), one per bucket host
    /// (virtual-hosted), or one re-made for the bucket's region after a redirect.
    private func transport(for bucket: String) -> AWSTransport {
        lock.withLock {
            if let t = transports[bucket] { return t }
            let t = pathStyle ? base : makeTransport(endpoint(for: bucket, region: base.region), base.region)
            transports[bucket] = t
            return t
        }
    }

    func endpoint(for bucket: String, region: String) -> Endpoint {
        var host = base.endpoint.host
        // s3.<old>.amazonaws.com → s3.<new>.amazonaws.com; a custom endpoint keeps its host.
        if host.hasPrefix("s3."), host.hasSuffix(".amazonaws.com") || host.hasSuffix(".amazonaws.com.cn") {
            let parts = host.split(separator: ".", omittingEmptySubsequences: false)
            if parts.count >= 4 { host = (["s3", Substring(region)] + parts.dropFirst(2)).joined(separator: ".") }
        }
        if !pathStyle { host = "\(bucket).\(host)" }
        return Endpoint(scheme: base.endpoint.scheme, host: host, port: base.endpoint.port)
    }

    /// The region S3 says a bucket is in, from a redirect or a wrong-region answer.
    static func redirectRegion(_ r: AWSResponse) -> String? {
        guard [301, 307, 400].contains(r.status) else { return nil }
        if let region = r.header("x-amz-bucket-region"), !region.isEmpty { return region }
        let text = r.text[...]
        guard let code = XML.value("Code", in: text),
              ["PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"].contains(code) else { return nil }
        return XML.value("Region", in: text)
    }

    /// Sends a request for `bucket`/`key`, following a bucket-region redirect once.
    private func perform(_ bucket: String, _ key: String, allowedStatuses: Set<Int> = [],
                         _ make: (String) -> AWSRequest) async throws -> AWSResponse {
        let request = make(path(bucket, key))
        let t = transport(for: bucket)
        let r = try await t.send(request, allowedStatuses: allowedStatuses, returnIf: { Self.redirectRegion($0) != nil })
        if let region = Self.redirectRegion(r), region != t.region {
            debug?("bucket \(bucket) is in \(region), not \(t.region): signing for \(region)")
            let moved = lock.withLock {
                let m = makeTransport(endpoint(for: bucket, region: region), region)
                transports[bucket] = m
                return m
            }
            return try check(try await moved.send(request, allowedStatuses: allowedStatuses), allowedStatuses,
                             operation: request.operation)
        }
        return try check(r, allowedStatuses, operation: request.operation)
    }

    private func check(_ r: AWSResponse, _ allowed: Set<Int>, operation: String) throws -> AWSResponse {
        if (200..<300).contains(r.status) || allowed.contains(r.status) { return r }
        throw base.serviceError(r, operation: operation)
    }

    // MARK: Buckets and objects

    /// CreateBucket (for tests and local servers).
    public func createBucket(_ bucket: String) async throws {
        _ = try await perform(bucket, "", allowedStatuses: [409]) { AWSRequest(operation: "CreateBucket", method: "PUT", path: $0) }
    }

    /// PutObject with a checksum the server verifies (`checksum` overrides the computed one). Returns the ETag.
    @discardableResult
    public func putObject(bucket: String, key: String, body: [UInt8], checksum: String? = nil,
                          contentType: String = "application/dicom") async throws -> String {
        try await putObject(bucket: bucket, key: key, buffer: ByteBuffer(bytes: body), checksum: checksum, contentType: contentType)
    }

    /// PutObject of a buffer (a file read straight into memory, sent without another copy).
    @discardableResult
    public func putObject(bucket: String, key: String, buffer: ByteBuffer, checksum: String? = nil,
                          contentType: String = "application/dicom") async throws -> String {
        let crc = checksum ?? checksumAlgorithm.checksum(buffer)
        let r = try await perform(bucket, key) {
            AWSRequest(operation: "PutObject", method: "PUT", path: $0,
                       headers: [("Content-Type", contentType), (checksumAlgorithm.header, crc)], buffer: buffer)
        }
        return Self.unquote(r.header("ETag") ?? "")
    }

    /// HeadObject: size and ETag, or nil when there is no such object.
    public func headObject(bucket: String, key: String) async throws -> (size: Int, etag: String)? {
        let r = try await perform(bucket, key, allowedStatuses: [404]) { AWSRequest(operation: "HeadObject", method: "HEAD", path: $0) }
        if r.status == 404 { return nil }
        return (Int(r.header("Content-Length") ?? "") ?? 0, Self.unquote(r.header("ETag") ?? ""))
    }

    /// GetObject: the whole body (objects of this tool are at most a few GB; tests read small ones).
    public func getObject(bucket: String, key: String) async throws -> [UInt8] {
        try await perform(bucket, key) { AWSRequest(operation: "GetObject", method: "GET", path: $0) }.body
    }

    /// ListObjectsV2, every page.
    public func listObjects(bucket: String, prefix: String) async throws -> [S3Object] {
        var out: [S3Object] = []
        var token: String?
        repeat {
            // encoding-type=url: keys come back percent-encoded, so any key S3 accepts (control
            // characters included) survives the XML; decoded as botocore does (unquote_plus).
            var query: [(String, String?)] = [("list-type", "2"), ("prefix", prefix), ("encoding-type", "url")]
            if let token { query.append(("continuation-token", token)) }
            let r = try await perform(bucket, "") { AWSRequest(operation: "ListObjectsV2", method: "GET", path: $0, query: query) }
            let text = r.text[...]
            let encoded = XML.value("EncodingType", in: text)?.lowercased() == "url"
            for block in XML.blocks("Contents", in: text) {
                out.append(S3Object(key: Self.key(XML.value("Key", in: block), encoded: encoded), size: Int(XML.value("Size", in: block) ?? "") ?? 0,
                                    etag: Self.unquote(XML.value("ETag", in: block) ?? "")))
            }
            token = XML.value("IsTruncated", in: text) == "true" ? XML.value("NextContinuationToken", in: text) : nil
        } while token != nil
        return out
    }

    /// DeleteObjects, 1,000 keys per request.
    public func deleteObjects(bucket: String, keys: [String]) async throws {
        for start in stride(from: 0, to: keys.count, by: 1000) {
            let batch = keys[start..<min(start + 1000, keys.count)]
            let xml = "<Delete><Quiet>true</Quiet>" + batch.map { "<Object><Key>\(XML.escape($0))</Key></Object>" }.joined() + "</Delete>"
            let body = Array(xml.utf8)
            let md5 = Base64.encode(Array(Insecure.MD5.hash(data: body)))
            _ = try await perform(bucket, "") {
                AWSRequest(operation: "DeleteObjects", method: "POST", path: $0, query: [("delete", nil)],
                           headers: [("Content-MD5", md5)], body: body)
            }
        }
    }

    // MARK: Multipart

    /// CreateMultipartUpload with per-part checksums. Returns the upload id.
    public func createMultipartUpload(bucket: String, key: String, contentType: String = "application/dicom") async throws -> String {
        let r = try await perform(bucket, key) {
            AWSRequest(operation: "CreateMultipartUpload", method: "POST", path: $0, query: [("uploads", nil)],
                       headers: [("Content-Type", contentType), ("x-amz-checksum-algorithm", checksumAlgorithm.rawValue)])
        }
        guard let id = XML.value("UploadId", in: r.text[...]), !id.isEmpty else {
            throw AWSError.invalidResponse(operation: "CreateMultipartUpload", reason: "no UploadId")
        }
        return id
    }

    /// UploadPart with its checksum.
    public func uploadPart(bucket: String, key: String, uploadId: String, number: Int, body: [UInt8]) async throws -> S3Part {
        try await uploadPart(bucket: bucket, key: key, uploadId: uploadId, number: number, buffer: ByteBuffer(bytes: body))
    }

    /// UploadPart of a buffer.
    public func uploadPart(bucket: String, key: String, uploadId: String, number: Int, buffer: ByteBuffer) async throws -> S3Part {
        let crc = checksumAlgorithm.checksum(buffer)
        let r = try await perform(bucket, key) {
            AWSRequest(operation: "UploadPart", method: "PUT", path: $0, query: [("partNumber", String(number)), ("uploadId", uploadId)],
                       headers: [(checksumAlgorithm.header, crc)], buffer: buffer)
        }
        return S3Part(number: number, etag: Self.unquote(r.header("ETag") ?? ""), checksum: crc, size: buffer.readableBytes)
    }

    /// CompleteMultipartUpload. S3 can answer 200 with an error document; that is an error here.
    @discardableResult
    public func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [S3Part]) async throws -> String {
        let element = checksumAlgorithm.xmlElement
        let xml = "<CompleteMultipartUpload>" + parts.sorted { $0.number < $1.number }.map { p in
            "<Part><PartNumber>\(p.number)</PartNumber><ETag>\"\(XML.escape(p.etag))\"</ETag>"
                + (p.checksum.map { "<\(element)>\($0)</\(element)>" } ?? "") + "</Part>"
        }.joined() + "</CompleteMultipartUpload>"
        let r = try await perform(bucket, key) {
            AWSRequest(operation: "CompleteMultipartUpload", method: "POST", path: $0, query: [("uploadId", uploadId)], body: Array(xml.utf8))
        }
        // An `<Error>` in a 200 answer is thrown (and retried) by the transport.
        return Self.unquote(XML.value("ETag", in: r.text[...]) ?? "")
    }

    /// AbortMultipartUpload (404 means it is already gone).
    public func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws {
        _ = try await perform(bucket, key, allowedStatuses: [404]) {
            AWSRequest(operation: "AbortMultipartUpload", method: "DELETE", path: $0, query: [("uploadId", uploadId)])
        }
    }

    /// ListParts: the parts a server holds for an upload, every page.
    public func listParts(bucket: String, key: String, uploadId: String) async throws -> [S3Part] {
        var out: [S3Part] = []
        var marker: String?
        repeat {
            var query: [(String, String?)] = [("uploadId", uploadId)]
            if let marker { query.append(("part-number-marker", marker)) }
            let r = try await perform(bucket, key) { AWSRequest(operation: "ListParts", method: "GET", path: $0, query: query) }
            let text = r.text[...]
            for block in XML.blocks("Part", in: text) {
                out.append(S3Part(number: Int(XML.value("PartNumber", in: block) ?? "") ?? 0,
                                  etag: Self.unquote(XML.value("ETag", in: block) ?? ""),
                                  checksum: XML.value(checksumAlgorithm.xmlElement, in: block),
                                  size: Int(XML.value("Size", in: block) ?? "")))
            }
            marker = XML.value("IsTruncated", in: text) == "true" ? XML.value("NextPartNumberMarker", in: text) : nil
        } while marker != nil
        return out
    }

    /// ListMultipartUploads under a prefix, every page: (key, upload id) of each upload in progress.
    public func listMultipartUploads(bucket: String, prefix: String) async throws -> [(key: String, uploadId: String)] {
        var out: [(key: String, uploadId: String)] = []
        var markers: (key: String, id: String)?
        repeat {
            // As botocore: no encoding-type here (some servers echo it without encoding `+`);
            // a key is decoded only if the answer says it was encoded.
            var query: [(String, String?)] = [("uploads", nil), ("prefix", prefix)]
            if let markers { query += [("key-marker", markers.key), ("upload-id-marker", markers.id)] }
            let r = try await perform(bucket, "") { AWSRequest(operation: "ListMultipartUploads", method: "GET", path: $0, query: query) }
            let text = r.text[...]
            let encoded = XML.value("EncodingType", in: text)?.lowercased() == "url"
            out += XML.blocks("Upload", in: text).map { (Self.key(XML.value("Key", in: $0), encoded: encoded), XML.value("UploadId", in: $0) ?? "") }
            if XML.value("IsTruncated", in: text) == "true", let key = XML.value("NextKeyMarker", in: text).map({ Self.key($0, encoded: encoded) }),
               let id = XML.value("NextUploadIdMarker", in: text), (key, id) != (markers?.key ?? "", markers?.id ?? "") {
                markers = (key, id)
            } else {
                markers = nil
            }
        } while markers != nil
        return out
    }

    /// A key from a listing: URL-decoded (`+` is a space, as botocore's unquote_plus reads it)
    /// when the answer says `<EncodingType>url</EncodingType>` — servers that ignore the
    /// parameter send keys as they are, and botocore decodes only on that word too.
    static func key(_ s: String?, encoded: Bool) -> String {
        encoded ? SigV4Signer.percentDecode((s ?? "")[...], plusIsSpace: true) : s ?? ""
    }

    static func unquote(_ s: String) -> String { s.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
}
