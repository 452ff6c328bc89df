import ByteCoding
import Crypto
import Foundation
import Uploader

/// The S3 subset the importer and the AWS CLI use, path-style: buckets (create,
/// head, list), objects (put, get with Range, head, delete, ListObjectsV2,
/// DeleteObjects) and multipart uploads. `x-amz-checksum-*` and Content-MD5 are
/// verified (BadDigest); aws-chunked bodies are decoded.
struct S3API {
    let store: S3Store

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        do {
            return try await route(request)
        } catch let e as S3Error {
            let (status, code, message) = e.wire
            return Self.error(status, code, message)
        } catch {
            return Self.error(500, "InternalError", "\(error)")
        }
    }

    static func error(_ status: Int, _ code: String, _ message: String) -> HTTPResponse {
        let id = UUID().uuidString
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>\(code)</Code><Message>\(XML.escape(message))</Message><RequestId>\(id)</RequestId></Error>"
        return HTTPResponse(status: status, headers: [("Content-Type", "application/xml"), ("x-amz-request-id", id)], body: Array(xml.utf8))
    }

    static func xml(_ body: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/xml")],
                     body: Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + body).utf8))
    }

    private func route(_ r: HTTPRequest) async throws -> HTTPResponse {
        let path = SigV4Signer.percentDecode(r.rawPath)
        let trimmed = path.drop { $0 == "/" }
        let bucket = String(trimmed.prefix { $0 != "/" })
        let key = String(trimmed.dropFirst(bucket.count + 1))
        let q = Dictionary(r.query, uniquingKeysWith: { a, _ in a })
        if bucket.isEmpty {
            guard r.method == "GET" else { return Self.error(405, "MethodNotAllowed", "not allowed on the service") }
            let names = await store.bucketNames().map { "<Bucket><Name>\(XML.escape($0))</Name><CreationDate>\(iso(Date()))</CreationDate></Bucket>" }
            return Self.xml("<ListAllMyBucketsResult><Owner><ID>ahi-local</ID></Owner><Buckets>\(names.joined())</Buckets></ListAllMyBucketsResult>")
        }
        if key.isEmpty { return try await bucketOperation(r, bucket: bucket, q: q) }
        guard await store.hasBucket(bucket) else { throw S3Error.noSuchBucket(bucket) }
        switch (r.method, q["uploadId"], q["partNumber"]) {
        case ("PUT", let id?, let n?):
            guard let number = Int(n) else { throw S3Error.invalidArgument("partNumber") }
            let body = try decodedBody(r)
            try verifyChecksums(r, body)
            let etag = try await store.putPart(bucket: bucket, key: key, uploadId: id, number: number, body: body)
            return HTTPResponse(status: 200, headers: [("ETag", "\"\(etag)\"")] + echoedChecksums(r))
        case ("PUT", nil, _):
            if r.header("x-amz-copy-source") != nil { return Self.error(501, "NotImplemented", "CopyObject is not supported by ahi-local") }
            let body = try decodedBody(r)
            let checksums = try verifyChecksums(r, body)
            let object = try await store.put(bucket: bucket, key: key, body: body,
                                             contentType: r.header("Content-Type") ?? "binary/octet-stream", checksums: checksums)
            return HTTPResponse(status: 200, headers: [("ETag", "\"\(object.etag)\"")] + echoedChecksums(r))
        case ("GET", let id?, _):
            let parts = try await store.parts(bucket: bucket, key: key, uploadId: id)
            let items = parts.map { "<Part><PartNumber>\($0.number)</PartNumber><ETag>\"\($0.etag)\"</ETag><Size>\($0.size)</Size></Part>" }
            return Self.xml("<ListPartsResult><Bucket>\(XML.escape(bucket))</Bucket><Key>\(XML.escape(key))</Key><UploadId>\(id)</UploadId><IsTruncated>false</IsTruncated>\(items.joined())</ListPartsResult>")
        case ("GET", nil, _), ("HEAD", nil, _):
            guard let (object, body) = await store.get(bucket: bucket, key: key) else {
                if r.method == "HEAD" { return HTTPResponse(status: 404) }
                throw S3Error.noSuchKey(key)
            }
            var headers = [("ETag", "\"\(object.etag)\""), ("Content-Type", object.contentType),
                           ("Last-Modified", httpDate(object.lastModified)), ("Accept-Ranges", "bytes")]
            if q["x-amz-checksum-mode"] != nil || r.header("x-amz-checksum-mode") != nil {
                headers += object.checksums.map { ("x-amz-checksum-\($0.key.lowercased())", $0.value) }
            }
            if r.method == "HEAD" { return HTTPResponse(status: 200, headers: headers + [("Content-Length", String(object.size))]) }
            if let range = r.header("Range"), let (start, end) = Self.parseRange(range, size: body.count) {
                return HTTPResponse(status: 206, headers: headers + [("Content-Range", "bytes \(start)-\(end)/\(body.count)")],
                                    body: Array(body[start...end]))
            }
            return HTTPResponse(status: 200, headers: headers, body: body)
        case ("DELETE", let id?, _):
            guard await store.hasUpload(id) else { throw S3Error.noSuchUpload }
            await store.abort(uploadId: id)
            return HTTPResponse(status: 204)
        case ("DELETE", nil, _):
            await store.delete(bucket: bucket, key: key)
            return HTTPResponse(status: 204)
        case ("POST", _, _) where q["uploads"] != nil:
            let id = try await store.createUpload(bucket: bucket, key: key, contentType: r.header("Content-Type") ?? "binary/octet-stream")
            return Self.xml("<InitiateMultipartUploadResult><Bucket>\(XML.escape(bucket))</Bucket><Key>\(XML.escape(key))</Key><UploadId>\(id)</UploadId></InitiateMultipartUploadResult>")
        case ("POST", let id?, _):
            let text = String(decoding: r.body, as: UTF8.self)
            var parts: [(number: Int, etag: String)] = []
            for block in XML.blocks("Part", in: text[...]) {
                guard let n = XML.value("PartNumber", in: block).flatMap({ Int($0) }), let etag = XML.value("ETag", in: block) else {
                    throw S3Error.invalidArgument("malformed CompleteMultipartUpload")
                }
                parts.append((n, etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))))
            }
            let object = try await store.complete(bucket: bucket, key: key, uploadId: id, parts: parts)
            return Self.xml("<CompleteMultipartUploadResult><Bucket>\(XML.escape(bucket))</Bucket><Key>\(XML.escape(key))</Key><ETag>\"\(object.etag)\"</ETag></CompleteMultipartUploadResult>")
        default:
            return Self.error(405, "MethodNotAllowed", "\(r.method) is not supported here")
        }
    }

    private func bucketOperation(_ r: HTTPRequest, bucket: String, q: [String: String]) async throws -> HTTPResponse {
        switch r.method {
        case "PUT":
            if let problem = S3URI.bucketNameProblem(bucket) { return Self.error(400, "InvalidBucketName", "\(problem)") }
            if try await store.createBucket(bucket) { return HTTPResponse(status: 200, headers: [("Location", "/\(bucket)")]) }
            return Self.error(409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.")
        case "HEAD":
            return HTTPResponse(status: await store.hasBucket(bucket) ? 200 : 404, headers: [("x-amz-bucket-region", "us-east-1")])
        case "GET" where q["uploads"] != nil:
            guard await store.hasBucket(bucket) else { throw S3Error.noSuchBucket(bucket) }
            let items = await store.openUploads(bucket: bucket, prefix: q["prefix"] ?? "").map {
                "<Upload><Key>\(XML.escape($0.key))</Key><UploadId>\($0.uploadId)</UploadId></Upload>"
            }
            return Self.xml("<ListMultipartUploadsResult><Bucket>\(XML.escape(bucket))</Bucket><IsTruncated>false</IsTruncated>\(items.joined())</ListMultipartUploadsResult>")
        case "GET" where q["location"] != nil:
            return Self.xml("<LocationConstraint/>")
        case "GET":
            return try await list(bucket: bucket, q: q)
        case "POST" where q["delete"] != nil:
            let text = String(decoding: r.body, as: UTF8.self)
            for block in XML.blocks("Object", in: text[...]) {
                if let key = XML.value("Key", in: block) { await store.delete(bucket: bucket, key: key) }
            }
            return Self.xml("<DeleteResult></DeleteResult>")
        default:
            return Self.error(405, "MethodNotAllowed", "\(r.method) on a bucket is not supported")
        }
    }

    /// ListObjectsV2 (and v1 with `marker`), with prefix, delimiter, max-keys and continuation.
    private func list(bucket: String, q: [String: String]) async throws -> HTTPResponse {
        let prefix = q["prefix"] ?? ""
        let delimiter = q["delimiter"] ?? ""
        let maxKeys = min(Int(q["max-keys"] ?? "") ?? 1000, 1000)
        let v2 = q["list-type"] == "2"
        let after = v2 ? (q["continuation-token"].flatMap { Base64.decode($0) }.map { String(decoding: $0, as: UTF8.self) } ?? q["start-after"] ?? "")
                       : (q["marker"] ?? "")
        var contents: [S3Store.Object] = []
        var prefixes: [String] = []
        var truncated = false
        var last = ""
        for object in try await store.list(bucket: bucket, prefix: prefix) where object.key > after {
            if contents.count + prefixes.count == maxKeys { truncated = true; break }
            if !delimiter.isEmpty, let range = object.key.dropFirst(prefix.count).range(of: delimiter) {
                let common = String(object.key[..<range.upperBound])
                if prefixes.last != common { prefixes.append(common) }
                last = object.key
                continue
            }
            contents.append(object)
            last = object.key
        }
        var xml = "<ListBucketResult><Name>\(XML.escape(bucket))</Name><Prefix>\(XML.escape(prefix))</Prefix><MaxKeys>\(maxKeys)</MaxKeys>"
        xml += "<IsTruncated>\(truncated)</IsTruncated><KeyCount>\(contents.count + prefixes.count)</KeyCount>"
        if !delimiter.isEmpty { xml += "<Delimiter>\(XML.escape(delimiter))</Delimiter>" }
        if truncated {
            xml += v2 ? "<NextContinuationToken>\(Base64.encode(last.utf8))</NextContinuationToken>"
                      : "<NextMarker>\(XML.escape(last))</NextMarker>"
        }
        for o in contents {
            xml += "<Contents><Key>\(XML.escape(o.key))</Key><LastModified>\(iso(o.lastModified))</LastModified><ETag>\"\(o.etag)\"</ETag><Size>\(o.size)</Size><StorageClass>STANDARD</StorageClass></Contents>"
        }
        for p in prefixes { xml += "<CommonPrefixes><Prefix>\(XML.escape(p))</Prefix></CommonPrefixes>" }
        return Self.xml(xml + "</ListBucketResult>")
    }

    /// The body with aws-chunked framing removed (chunk signatures are not re-checked).
    private func decodedBody(_ r: HTTPRequest) throws -> [UInt8] {
        let sha = r.header("x-amz-content-sha256") ?? ""
        let chunked = sha.hasPrefix("STREAMING-") || (r.header("Content-Encoding")?.contains("aws-chunked") ?? false)
        guard chunked else { return r.body }
        var out: [UInt8] = []
        var i = 0
        let b = r.body
        while i < b.count {
            guard let lineEnd = (i..<(b.count - 1)).first(where: { b[$0] == 0x0D && b[$0 + 1] == 0x0A }) else {
                throw S3Error.invalidArgument("malformed aws-chunked body")
            }
            let header = String(decoding: b[i..<lineEnd], as: UTF8.self)
            guard let size = Int(header.prefix { $0 != ";" }, radix: 16) else { throw S3Error.invalidArgument("malformed chunk size") }
            i = lineEnd + 2
            if size == 0 { break }  // trailers (x-amz-checksum-*) follow; not needed
            guard i + size <= b.count else { throw S3Error.invalidArgument("chunk past the end of the body") }
            out.append(contentsOf: b[i..<(i + size)])
            i += size + 2
        }
        if let declared = r.header("x-amz-decoded-content-length").flatMap({ Int($0) }), declared != out.count {
            throw S3Error.invalidArgument("x-amz-decoded-content-length does not match the body")
        }
        return out
    }

    /// Checks Content-MD5 and `x-amz-checksum-{crc32,crc32c,sha256}`; returns the checksums to keep.
    @discardableResult
    private func verifyChecksums(_ r: HTTPRequest, _ body: [UInt8]) throws -> [String: String] {
        if let md5 = r.header("Content-MD5") {
            guard md5 == Base64.encode(Insecure.MD5.hash(data: body)) else {
                throw S3Error.badDigest("The Content-MD5 you specified did not match what we received.")
            }
        }
        var kept: [String: String] = [:]
        for (name, value) in r.headers {
            let lower = name.lowercased()
            guard lower.hasPrefix("x-amz-checksum-"), lower != "x-amz-checksum-algorithm", lower != "x-amz-checksum-mode",
                  lower != "x-amz-checksum-type" else { continue }
            let algorithm = String(lower.dropFirst("x-amz-checksum-".count)).uppercased()
            let computed: String?
            switch algorithm {
            case "CRC32": computed = ChecksumAlgorithm.crc32.checksum(body)
            case "CRC32C": computed = ChecksumAlgorithm.crc32c.checksum(body)
            case "SHA256": computed = Base64.encode(SHA256.hash(data: body))
            default: computed = nil
            }
            if let computed, computed != value {
                throw S3Error.badDigest("The \(algorithm) you specified did not match the calculated checksum.")
            }
            kept[algorithm] = value
        }
        return kept
    }

    private func echoedChecksums(_ r: HTTPRequest) -> [(String, String)] {
        r.headers.filter { $0.0.lowercased().hasPrefix("x-amz-checksum-") && $0.0.lowercased() != "x-amz-checksum-algorithm" }
    }

    /// `bytes=a-b`, `bytes=a-`, `bytes=-n` → inclusive (start, end).
    static func parseRange(_ header: String, size: Int) -> (Int, Int)? {
        guard header.hasPrefix("bytes="), size > 0 else { return nil }
        let spec = header.dropFirst(6).split(separator: ",").first ?? ""
        let parts = spec.split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { return nil }
        if parts[0].isEmpty, let n = Int(parts[1]) { return (max(0, size - n), size - 1) }
        guard let start = Int(parts[0]), start < size else { return nil }
        let end = parts[1].isEmpty ? size - 1 : min(Int(parts[1]) ?? size - 1, size - 1)
        return start <= end ? (start, end) : nil
    }
}

/// `2026-11-23T10:15:00.000Z`.
func iso(_ d: Date) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    return f.string(from: d)
}

/// `Mon, 23 Nov 2026 10:15:00 GMT`.
func httpDate(_ d: Date) -> String {
    let f = DateFormatter()
    f.locale = Locale(identifier: "en_US_POSIX")
    f.timeZone = TimeZone(identifier: "GMT")
    f.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
    return f.string(from: d)
}
