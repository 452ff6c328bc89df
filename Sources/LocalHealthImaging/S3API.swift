import ByteCoding
import Crypto
import Foundation
import Uploader

/// The S3 subset the importer and the AWS CLI use, path-style: buckets (create,
/// head, list), objects (put, get with Range, head, delete, ListObjectsV2,
/// DeleteObjects) and multipart uploads. `x-amz-checksum-*` and Content-MD5 are
/// verified (BadDigest); aws-chunked bodies are decoded.
///
/// Keys are whatever UTF-8 S3 accepts, up to 1,024 bytes (longer: `KeyTooLongError`).
/// In answers they are written three ways: listings asked for with `encoding-type=url`
/// percent-encode them (every character, NUL included, survives and the XML is always
/// well-formed); other listings XML-escape them and write the characters XML 1.0
/// cannot hold as character references (lossless, but strict parsers refuse it, as S3
/// documents); answers that only echo a key the client sent (multipart, DeleteObjects,
/// errors) replace those characters with U+FFFD so that every client can parse them.
struct S3API {
    let store: S3Store

    func handle(_ request: HTTPRequest) async -> HTTPResponse {
        do {
            return try await route(request)
        } catch let e as S3Error {
            let (status, code, message) = e.wire
            if case .noSuchKey(let key) = e { return Self.error(status, code, message, details: "<Key>\(Self.echo(key))</Key>") }
            return Self.error(status, code, message)
        } catch {
            return Self.error(500, "InternalError", "\(error)")
        }
    }

    /// An S3 error document; `details` are extra elements (already escaped), such as `<Key>`.
    static func error(_ status: Int, _ code: String, _ message: String, details: String = "") -> HTTPResponse {
        let id = UUID().uuidString
        let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>\(code)</Code><Message>\(echo(message))</Message>\(details)<RequestId>\(id)</RequestId></Error>"
        return HTTPResponse(status: status, headers: [("Content-Type", "application/xml"), ("x-amz-request-id", id)], body: Array(xml.utf8))
    }

    static func xml(_ body: String, status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/xml")],
                     body: Array(("<?xml version=\"1.0\" encoding=\"UTF-8\"?>" + body).utf8))
    }

    /// Text a client sent, echoed in an answer that has no `encoding-type`: escaped, with
    /// characters XML 1.0 cannot hold replaced so that the document stays well-formed.
    static func echo(_ text: String) -> String { XML.escape(text, unrepresentable: .replacementCharacter) }

    /// A key, prefix, delimiter or marker in a listing: percent-encoded (UTF-8, `/` kept)
    /// under `encoding-type=url`, else escaped with character references.
    static func listed(_ text: String, urlEncoded: Bool) -> String {
        urlEncoded ? SigV4Signer.uriEncode(text, keepSlash: true) : XML.escape(text)
    }

    /// True for `encoding-type=url`, false without it; S3's error for any other value.
    static func urlEncoding(_ q: [String: String]) throws -> Bool {
        guard let type = q["encoding-type"] else { return false }
        guard type == "url" else { throw S3Error.invalidArgument("Invalid Encoding Method specified in Request") }
        return true
    }

    /// `/bucket/key` split on bytes (a key may start with a combining mark, which a split on
    /// `Character`s would glue to the `/`); the key keeps `//`, `..` and a trailing `/`.
    /// Nil when either part is not UTF-8.
    static func bucketAndKey(_ rawPath: Substring) -> (bucket: String, key: String)? {
        let path = SigV4Signer.percentDecodedBytes(rawPath).drop { $0 == UInt8(ascii: "/") }
        let bucket = path.prefix { $0 != UInt8(ascii: "/") }
        guard let b = String(validating: bucket, as: UTF8.self),
              let k = String(validating: path.dropFirst(bucket.count + 1), as: UTF8.self) else { return nil }
        return (b, k)
    }

    private func route(_ r: HTTPRequest) async throws -> HTTPResponse {
        guard let (bucket, key) = Self.bucketAndKey(r.rawPath) else { throw S3Error.invalidURI }
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
            return Self.xml("<ListPartsResult><Bucket>\(XML.escape(bucket))</Bucket><Key>\(Self.echo(key))</Key><UploadId>\(id)</UploadId><IsTruncated>false</IsTruncated>\(items.joined())</ListPartsResult>")
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
            return Self.xml("<InitiateMultipartUploadResult><Bucket>\(XML.escape(bucket))</Bucket><Key>\(Self.echo(key))</Key><UploadId>\(id)</UploadId></InitiateMultipartUploadResult>")
        case ("POST", let id?, _):
            let text = XML.document(r.body)
            var parts: [(number: Int, etag: String)] = []
            for block in XML.blocks("Part", in: text[...]) {
                guard let n = XML.value("PartNumber", in: block).flatMap({ Int($0) }), let etag = XML.value("ETag", in: block) else {
                    throw S3Error.invalidArgument("malformed CompleteMultipartUpload")
                }
                parts.append((n, etag.trimmingCharacters(in: CharacterSet(charactersIn: "\""))))
            }
            let object = try await store.complete(bucket: bucket, key: key, uploadId: id, parts: parts)
            return Self.xml("<CompleteMultipartUploadResult><Bucket>\(XML.escape(bucket))</Bucket><Key>\(Self.echo(key))</Key><ETag>\"\(object.etag)\"</ETag></CompleteMultipartUploadResult>")
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
            let url = try Self.urlEncoding(q)
            let prefix = q["prefix"] ?? ""
            let items = await store.openUploads(bucket: bucket, prefix: prefix).map {
                "<Upload><Key>\(Self.listed($0.key, urlEncoded: url))</Key><UploadId>\($0.uploadId)</UploadId></Upload>"
            }
            var xml = "<ListMultipartUploadsResult><Bucket>\(XML.escape(bucket))</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>"
            xml += "<Prefix>\(Self.listed(prefix, urlEncoded: url))</Prefix><MaxUploads>1000</MaxUploads><IsTruncated>false</IsTruncated>"
            if url { xml += "<EncodingType>url</EncodingType>" }
            return Self.xml(xml + items.joined() + "</ListMultipartUploadsResult>")
        case "GET" where q["location"] != nil:
            return Self.xml("<LocationConstraint/>")
        case "GET":
            return try await list(bucket: bucket, q: q)
        case "POST" where q["delete"] != nil:
            guard await store.hasBucket(bucket) else { throw S3Error.noSuchBucket(bucket) }
            // As an XML processor reads it: a raw CR in a key arrives as LF, so a key with a CR
            // must be sent as `&#13;` (S3's key guidelines say the same).
            let text = XML.document(r.body)
            var deleted = ""
            for block in XML.blocks("Object", in: text[...]) {
                guard let key = XML.value("Key", in: block) else { continue }
                await store.delete(bucket: bucket, key: key)
                deleted += "<Deleted><Key>\(Self.echo(key))</Key></Deleted>"
            }
            let quiet = XML.value("Quiet", in: text[...]) == "true"
            return Self.xml("<DeleteResult>\(quiet ? "" : deleted)</DeleteResult>")
        default:
            return Self.error(405, "MethodNotAllowed", "\(r.method) on a bucket is not supported")
        }
    }

    /// ListObjectsV2 (and v1 with `marker`), with prefix, delimiter, max-keys, continuation
    /// and `encoding-type=url`. Keys are matched and ordered by their UTF-8 bytes. The
    /// fields encoded are the ones botocore decodes (`handlers.py` `decode_list_object_v2`:
    /// Delimiter, Prefix, StartAfter, Contents/Key, CommonPrefixes/Prefix; for v1
    /// `decode_list_object`: Delimiter, Marker, NextMarker and the same two lists).
    private func list(bucket: String, q: [String: String]) async throws -> HTTPResponse {
        let url = try Self.urlEncoding(q)
        let prefix = q["prefix"] ?? ""
        let delimiter = q["delimiter"] ?? ""
        let maxKeys = max(0, min(Int(q["max-keys"] ?? "") ?? 1000, 1000))
        let v2 = q["list-type"] == "2"
        let after: String
        if v2, let token = q["continuation-token"] {
            guard let bytes = Base64.decode(token), let key = String(validating: bytes, as: UTF8.self) else {
                throw S3Error.invalidArgument("The continuation token provided is incorrect")
            }
            after = key
        } else {
            after = (v2 ? q["start-after"] : q["marker"]) ?? ""
        }
        let afterBytes = KeyBytes(after), delimiterBytes = KeyBytes(delimiter), skip = prefix.utf8.count
        var contents: [S3Store.Object] = []
        var prefixes: [KeyBytes] = []
        var truncated = false
        var last = KeyBytes("")
        for object in try await store.list(bucket: bucket, prefix: prefix) {
            let key = KeyBytes(object.key)
            let common = key.rolledUp(skipping: skip, delimiter: delimiterBytes)
            // Past the marker; a common prefix that ended the previous page is not given again.
            guard afterBytes < key, common == nil || common != afterBytes else { continue }
            if let common, prefixes.last == common { continue }
            if contents.count + prefixes.count == maxKeys { truncated = true; break }
            if let common { prefixes.append(common); last = common } else { contents.append(object); last = key }
        }
        let text = { (s: String) in Self.listed(s, urlEncoded: url) }
        var xml = "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>\(XML.escape(bucket))</Name>"
        // botocore decodes Prefix for v2 only.
        xml += "<Prefix>\(v2 ? text(prefix) : XML.escape(prefix))</Prefix><MaxKeys>\(maxKeys)</MaxKeys><IsTruncated>\(truncated)</IsTruncated>"
        if v2 {
            xml += "<KeyCount>\(contents.count + prefixes.count)</KeyCount>"
            if let token = q["continuation-token"] { xml += "<ContinuationToken>\(XML.escape(token))</ContinuationToken>" }
            if let start = q["start-after"] { xml += "<StartAfter>\(text(start))</StartAfter>" }
            if truncated { xml += "<NextContinuationToken>\(Base64.encode(last.utf8))</NextContinuationToken>" }
        } else {
            xml += "<Marker>\(text(after))</Marker>"
            if truncated { xml += "<NextMarker>\(text(last.string))</NextMarker>" }
        }
        if !delimiter.isEmpty { xml += "<Delimiter>\(text(delimiter))</Delimiter>" }
        if url { xml += "<EncodingType>url</EncodingType>" }
        for o in contents {
            xml += "<Contents><Key>\(text(o.key))</Key><LastModified>\(iso(o.lastModified))</LastModified><ETag>\"\(o.etag)\"</ETag><Size>\(o.size)</Size><StorageClass>STANDARD</StorageClass></Contents>"
        }
        for p in prefixes { xml += "<CommonPrefixes><Prefix>\(text(p.string))</Prefix></CommonPrefixes>" }
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
