import Crypto
import DICOMCore
import Foundation

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
public final class S3Client: @unchecked Sendable {
    // @unchecked: `transports` is guarded by `lock`.
    /// True for path-style addressing.
    public let pathStyle: Bool
    /// The checksum sent with every object and part (CRC-32C by default).
    public let checksumAlgorithm: ChecksumAlgorithm
    private let base: AWSTransport
    private let makeTransport: @Sendable (Endpoint) -> AWSTransport
    private let lock = NSLock()
    private var transports: [String: AWSTransport] = [:]

    /// Creates a client. `transport` is used as is for path-style requests; for
    /// virtual-hosted ones `makeTransport` builds one per bucket host.
    public init(transport: AWSTransport, pathStyle: Bool, checksumAlgorithm: ChecksumAlgorithm = .crc32c,
                makeTransport: @escaping @Sendable (Endpoint) -> AWSTransport) {
        base = transport
        self.pathStyle = pathStyle
        self.checksumAlgorithm = checksumAlgorithm
        self.makeTransport = makeTransport
    }

    /// Closes every connection pool.
    public func shutdown() async {
        let all = lock.withLock { Array(transports.values) } + [base]
        for t in all { await t.shutdown() }
    }

    /// The retries made so far, over every transport.
    public var retryCount: Int { base.retry.retryCount }

    private func route(_ bucket: String, _ key: String) -> (AWSTransport, String) {
        if pathStyle { return (base, "/\(bucket)" + (key.isEmpty ? "" : "/\(key)")) }
        let t: AWSTransport = lock.withLock {
            if let t = transports[bucket] { return t }
            let host = "\(bucket).\(base.endpoint.host)"
            let t = makeTransport(Endpoint(scheme: base.endpoint.scheme, host: host, port: base.endpoint.port))
            transports[bucket] = t
            return t
        }
        return (t, "/" + key)
    }

    // MARK: Buckets and objects

    /// CreateBucket (for tests and local servers).
    public func createBucket(_ bucket: String) async throws {
        let (t, path) = route(bucket, "")
        _ = try await t.send(AWSRequest(operation: "CreateBucket", method: "PUT", path: path), allowedStatuses: [409])
    }

    /// PutObject with a checksum the server verifies (`checksum` overrides the computed one). Returns the ETag.
    @discardableResult
    public func putObject(bucket: String, key: String, body: [UInt8], checksum: String? = nil,
                          contentType: String = "application/dicom") async throws -> String {
        let (t, path) = route(bucket, key)
        let crc = checksum ?? checksumAlgorithm.checksum(body)
        let r = try await t.send(AWSRequest(operation: "PutObject", method: "PUT", path: path,
                                            headers: [("Content-Type", contentType), (checksumAlgorithm.header, crc)],
                                            body: body))
        return Self.unquote(r.header("ETag") ?? "")
    }

    /// HeadObject: size and ETag, or nil when there is no such object.
    public func headObject(bucket: String, key: String) async throws -> (size: Int, etag: String)? {
        let (t, path) = route(bucket, key)
        let r = try await t.send(AWSRequest(operation: "HeadObject", method: "HEAD", path: path), allowedStatuses: [404])
        if r.status == 404 { return nil }
        return (Int(r.header("Content-Length") ?? "") ?? 0, Self.unquote(r.header("ETag") ?? ""))
    }

    /// GetObject: the whole body (objects of this tool are at most a few GB; tests read small ones).
    public func getObject(bucket: String, key: String) async throws -> [UInt8] {
        let (t, path) = route(bucket, key)
        return try await t.send(AWSRequest(operation: "GetObject", method: "GET", path: path)).body
    }

    /// ListObjectsV2, every page.
    public func listObjects(bucket: String, prefix: String) async throws -> [S3Object] {
        let (t, path) = route(bucket, "")
        var out: [S3Object] = []
        var token: String?
        repeat {
            var query: [(String, String?)] = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            let r = try await t.send(AWSRequest(operation: "ListObjectsV2", method: "GET", path: path.isEmpty ? "/" : path, query: query))
            let text = r.text[...]
            for block in XML.blocks("Contents", in: text) {
                out.append(S3Object(key: XML.value("Key", in: block) ?? "", size: Int(XML.value("Size", in: block) ?? "") ?? 0,
                                    etag: Self.unquote(XML.value("ETag", in: block) ?? "")))
            }
            token = XML.value("IsTruncated", in: text) == "true" ? XML.value("NextContinuationToken", in: text) : nil
        } while token != nil
        return out
    }

    /// DeleteObjects, 1,000 keys per request.
    public func deleteObjects(bucket: String, keys: [String]) async throws {
        let (t, path) = route(bucket, "")
        for start in stride(from: 0, to: keys.count, by: 1000) {
            let batch = keys[start..<min(start + 1000, keys.count)]
            let xml = "<Delete><Quiet>true</Quiet>" + batch.map { "<Object><Key>\(XML.escape($0))</Key></Object>" }.joined() + "</Delete>"
            let body = Array(xml.utf8)
            let md5 = Base64.encode(Array(Insecure.MD5.hash(data: body)))
            _ = try await t.send(AWSRequest(operation: "DeleteObjects", method: "POST", path: path.isEmpty ? "/" : path,
                                            query: [("delete", nil)], headers: [("Content-MD5", md5)], body: body))
        }
    }

    // MARK: Multipart

    /// CreateMultipartUpload with per-part checksums. Returns the upload id.
    public func createMultipartUpload(bucket: String, key: String, contentType: String = "application/dicom") async throws -> String {
        let (t, path) = route(bucket, key)
        let r = try await t.send(AWSRequest(operation: "CreateMultipartUpload", method: "POST", path: path,
                                            query: [("uploads", nil)],
                                            headers: [("Content-Type", contentType), ("x-amz-checksum-algorithm", checksumAlgorithm.rawValue)]))
        guard let id = XML.value("UploadId", in: r.text[...]), !id.isEmpty else {
            throw AWSError.invalidResponse(operation: "CreateMultipartUpload", reason: "no UploadId")
        }
        return id
    }

    /// UploadPart with its checksum.
    public func uploadPart(bucket: String, key: String, uploadId: String, number: Int, body: [UInt8]) async throws -> S3Part {
        let (t, path) = route(bucket, key)
        let crc = checksumAlgorithm.checksum(body)
        let r = try await t.send(AWSRequest(operation: "UploadPart", method: "PUT", path: path,
                                            query: [("partNumber", String(number)), ("uploadId", uploadId)],
                                            headers: [(checksumAlgorithm.header, crc)], body: body))
        return S3Part(number: number, etag: Self.unquote(r.header("ETag") ?? ""), checksum: crc, size: body.count)
    }

    /// CompleteMultipartUpload. S3 can answer 200 with an error document; that is an error here.
    @discardableResult
    public func completeMultipartUpload(bucket: String, key: String, uploadId: String, parts: [S3Part]) async throws -> String {
        let (t, path) = route(bucket, key)
        let element = checksumAlgorithm.xmlElement
        let xml = "<CompleteMultipartUpload>" + parts.sorted { $0.number < $1.number }.map { p in
            "<Part><PartNumber>\(p.number)</PartNumber><ETag>\"\(XML.escape(p.etag))\"</ETag>"
                + (p.checksum.map { "<\(element)>\($0)</\(element)>" } ?? "") + "</Part>"
        }.joined() + "</CompleteMultipartUpload>"
        let r = try await t.send(AWSRequest(operation: "CompleteMultipartUpload", method: "POST", path: path,
                                            query: [("uploadId", uploadId)], body: Array(xml.utf8)))
        let text = r.text[...]
        if text.contains("<Error>") { throw t.serviceError(r, operation: "CompleteMultipartUpload") }
        return Self.unquote(XML.value("ETag", in: text) ?? "")
    }

    /// AbortMultipartUpload (404 means it is already gone).
    public func abortMultipartUpload(bucket: String, key: String, uploadId: String) async throws {
        let (t, path) = route(bucket, key)
        _ = try await t.send(AWSRequest(operation: "AbortMultipartUpload", method: "DELETE", path: path,
                                        query: [("uploadId", uploadId)]), allowedStatuses: [404])
    }

    /// ListParts: the parts a server holds for an upload, every page.
    public func listParts(bucket: String, key: String, uploadId: String) async throws -> [S3Part] {
        let (t, path) = route(bucket, key)
        var out: [S3Part] = []
        var marker: String?
        repeat {
            var query: [(String, String?)] = [("uploadId", uploadId)]
            if let marker { query.append(("part-number-marker", marker)) }
            let r = try await t.send(AWSRequest(operation: "ListParts", method: "GET", path: path, query: query))
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

    /// ListMultipartUploads under a prefix: (key, upload id) of each upload in progress.
    public func listMultipartUploads(bucket: String, prefix: String) async throws -> [(key: String, uploadId: String)] {
        let (t, path) = route(bucket, "")
        let r = try await t.send(AWSRequest(operation: "ListMultipartUploads", method: "GET", path: path.isEmpty ? "/" : path,
                                            query: [("uploads", nil), ("prefix", prefix)]))
        return XML.blocks("Upload", in: r.text[...]).map {
            (XML.value("Key", in: $0) ?? "", XML.value("UploadId", in: $0) ?? "")
        }
    }

    static func unquote(_ s: String) -> String { s.trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
}
