import ByteCoding
import Crypto
import Foundation

/// The objects of the local S3, kept under `<data>/s3/`: one folder per bucket, each
/// object a file named by the SHA-256 of its key's UTF-8 bytes with a JSON sidecar
/// (key, size, ETag, content type, time), so keys of any length and any characters
/// (NUL, `..`, `//`, a trailing `/`) are safe. Keys are told apart, ordered and
/// prefix-matched by their UTF-8 bytes, as S3 does: "é" (U+00E9) and "e\u{301}" are
/// two keys, although Swift's `String` calls them equal. Keys longer than
/// ``maxKeyLength`` bytes are refused wherever an object is created.
/// Multipart parts wait under `<data>/s3-uploads/<upload id>/`.
public actor S3Store {
    /// S3's limit on a key: 1,024 bytes of UTF-8.
    public static let maxKeyLength = 1024

    /// One stored object's description.
    public struct Object: Codable, Sendable {
        /// The key.
        public var key: String
        /// Size in bytes.
        public var size: Int
        /// Quoted-free ETag (MD5, or MD5-of-MD5s-N for multipart).
        public var etag: String
        /// Content-Type.
        public var contentType: String
        /// When it was written.
        public var lastModified: Date
        /// Checksums the client sent (`CRC32C` → base64), kept to echo back.
        public var checksums: [String: String]
    }

    /// A multipart upload in progress.
    struct Upload: Codable, Sendable {
        var bucket: String
        var key: String
        var contentType: String
        var initiated: Date
    }

    let root: URL
    private var buckets: [String: [KeyBytes: Object]] = [:]
    private var uploads: [String: Upload] = [:]

    /// Opens (or creates) the store under `dataDirectory` and loads its index.
    public init(dataDirectory: URL) throws {
        root = dataDirectory
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("s3"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("s3-uploads"), withIntermediateDirectories: true)
        var loaded: [String: [KeyBytes: Object]] = [:]
        let decoder = JSONDecoder()
        for bucket in (try? fm.contentsOfDirectory(atPath: root.appendingPathComponent("s3").path)) ?? [] {
            var objects: [KeyBytes: Object] = [:]
            let dir = root.appendingPathComponent("s3/\(bucket)")
            for name in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] where name.hasSuffix(".json") {
                if let data = fm.contents(atPath: dir.appendingPathComponent(name).path),
                   let object = try? decoder.decode(Object.self, from: data) {
                    objects[KeyBytes(object.key)] = object
                }
            }
            loaded[bucket] = objects
        }
        var pending: [String: Upload] = [:]
        let uploadsDir = root.appendingPathComponent("s3-uploads")
        for id in (try? fm.contentsOfDirectory(atPath: uploadsDir.path)) ?? [] {
            if let data = fm.contents(atPath: uploadsDir.appendingPathComponent("\(id)/upload.json").path),
               let upload = try? decoder.decode(Upload.self, from: data) {
                pending[id] = upload
            }
        }
        buckets = loaded
        uploads = pending
    }

    static func fileName(_ key: String) -> String { Hex.encode(SHA256.hash(data: Data(key.utf8))) }

    private func objectURL(_ bucket: String, _ key: String) -> URL {
        root.appendingPathComponent("s3/\(bucket)/\(Self.fileName(key))")
    }

    // MARK: Buckets

    /// True when the bucket exists.
    public func hasBucket(_ bucket: String) -> Bool { buckets[bucket] != nil }

    /// Creates a bucket; false when it already exists.
    @discardableResult
    public func createBucket(_ bucket: String) throws -> Bool {
        guard buckets[bucket] == nil else { return false }
        try FileManager.default.createDirectory(at: root.appendingPathComponent("s3/\(bucket)"), withIntermediateDirectories: true)
        buckets[bucket] = [:]
        return true
    }

    /// Bucket names, sorted.
    public func bucketNames() -> [String] { buckets.keys.sorted() }

    // MARK: Objects

    /// Stores an object (replacing any with the same key).
    @discardableResult
    public func put(bucket: String, key: String, body: [UInt8], contentType: String, checksums: [String: String] = [:],
                    etag: String? = nil) throws -> Object {
        guard buckets[bucket] != nil else { throw S3Error.noSuchBucket(bucket) }
        try Self.checkLength(key)
        let url = objectURL(bucket, key)
        try Data(body).write(to: url, options: .atomic)
        let md5 = etag ?? Hex.encode(Insecure.MD5.hash(data: body))
        let object = Object(key: key, size: body.count, etag: md5, contentType: contentType, lastModified: Date(), checksums: checksums)
        try JSONEncoder().encode(object).write(to: url.appendingPathExtension("json"), options: .atomic)
        buckets[bucket]?[KeyBytes(key)] = object
        return object
    }

    /// An object's description, or nil.
    public func head(bucket: String, key: String) -> Object? { buckets[bucket]?[KeyBytes(key)] }

    /// The file that holds an object's bytes (for readers that map files), or nil.
    public func fileURL(bucket: String, key: String) -> URL? {
        buckets[bucket]?[KeyBytes(key)] == nil ? nil : objectURL(bucket, key)
    }

    /// An object's bytes, or nil.
    public func get(bucket: String, key: String) -> (Object, [UInt8])? {
        guard let object = buckets[bucket]?[KeyBytes(key)],
              let data = FileManager.default.contents(atPath: objectURL(bucket, key).path) else { return nil }
        return (object, [UInt8](data))
    }

    /// Deletes an object (no error when absent).
    public func delete(bucket: String, key: String) {
        guard buckets[bucket]?[KeyBytes(key)] != nil else { return }
        let url = objectURL(bucket, key)
        try? FileManager.default.removeItem(at: url)
        try? FileManager.default.removeItem(at: url.appendingPathExtension("json"))
        buckets[bucket]?[KeyBytes(key)] = nil
    }

    /// Objects whose key's bytes start with `prefix`'s, in the byte order of their keys (S3's order).
    public func list(bucket: String, prefix: String) throws -> [Object] {
        guard let objects = buckets[bucket] else { throw S3Error.noSuchBucket(bucket) }
        let p = KeyBytes(prefix)
        return objects.filter { $0.key.hasPrefix(p) }.sorted { $0.key < $1.key }.map(\.value)
    }

    // MARK: Multipart

    /// Starts a multipart upload; returns its id.
    public func createUpload(bucket: String, key: String, contentType: String) throws -> String {
        guard buckets[bucket] != nil else { throw S3Error.noSuchBucket(bucket) }
        try Self.checkLength(key)
        let id = UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        let dir = root.appendingPathComponent("s3-uploads/\(id)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let upload = Upload(bucket: bucket, key: key, contentType: contentType, initiated: Date())
        try JSONEncoder().encode(upload).write(to: dir.appendingPathComponent("upload.json"))
        uploads[id] = upload
        return id
    }

    /// Stores a part; returns its ETag.
    public func putPart(bucket: String, key: String, uploadId: String, number: Int, body: [UInt8]) throws -> String {
        guard upload(uploadId, bucket: bucket, key: key) != nil else { throw S3Error.noSuchUpload }
        guard (1...10_000).contains(number) else { throw S3Error.invalidArgument("part numbers are 1 to 10000") }
        try Data(body).write(to: root.appendingPathComponent("s3-uploads/\(uploadId)/\(number)"), options: .atomic)
        return Hex.encode(Insecure.MD5.hash(data: body))
    }

    /// Parts uploaded so far: (number, ETag, size), by number.
    public func parts(bucket: String, key: String, uploadId: String) throws -> [(number: Int, etag: String, size: Int)] {
        guard upload(uploadId, bucket: bucket, key: key) != nil else { throw S3Error.noSuchUpload }
        let dir = root.appendingPathComponent("s3-uploads/\(uploadId)")
        var out: [(number: Int, etag: String, size: Int)] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] {
            guard let n = Int(name), let data = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) else { continue }
            out.append((n, Hex.encode(Insecure.MD5.hash(data: data)), data.count))
        }
        return out.sorted { $0.number < $1.number }
    }

    /// The upload `id` when it is for exactly this bucket and key (bytes compared).
    private func upload(_ id: String, bucket: String, key: String) -> Upload? {
        guard let u = uploads[id], u.bucket == bucket, KeyBytes(u.key) == KeyBytes(key) else { return nil }
        return u
    }

    /// Uploads in progress whose key's bytes start with `prefix`'s: (key, id), by key bytes, then id.
    public func openUploads(bucket: String, prefix: String) -> [(key: String, uploadId: String)] {
        let p = KeyBytes(prefix)
        var open: [(bytes: KeyBytes, key: String, uploadId: String)] = []
        for (id, upload) in uploads where upload.bucket == bucket {
            let bytes = KeyBytes(upload.key)
            if bytes.hasPrefix(p) { open.append((bytes, upload.key, id)) }
        }
        open.sort { a, b in a.bytes == b.bytes ? a.uploadId < b.uploadId : a.bytes < b.bytes }
        return open.map { ($0.key, $0.uploadId) }
    }

    /// Throws `KeyTooLongError` for a key over ``maxKeyLength`` bytes.
    static func checkLength(_ key: String) throws {
        if key.utf8.count > maxKeyLength { throw S3Error.keyTooLong }
    }

    /// Joins the named parts (ascending, ETags matching, all but the last ≥ 5 MiB) into the object.
    public func complete(bucket: String, key: String, uploadId: String, parts: [(number: Int, etag: String)]) throws -> Object {
        guard let u = upload(uploadId, bucket: bucket, key: key) else { throw S3Error.noSuchUpload }
        guard !parts.isEmpty, zip(parts, parts.dropFirst()).allSatisfy({ $0.number < $1.number }) else {
            throw S3Error.invalidPartOrder
        }
        let dir = root.appendingPathComponent("s3-uploads/\(uploadId)")
        var body: [UInt8] = []
        var digests = Data()
        for (i, p) in parts.enumerated() {
            guard let data = FileManager.default.contents(atPath: dir.appendingPathComponent(String(p.number)).path) else {
                throw S3Error.invalidPart(p.number)
            }
            let md5 = Insecure.MD5.hash(data: data)
            guard Hex.encode(md5) == p.etag else { throw S3Error.invalidPart(p.number) }
            if i < parts.count - 1 && data.count < 5 << 20 { throw S3Error.entityTooSmall }
            digests.append(contentsOf: md5)
            body.append(contentsOf: data)
        }
        let etag = Hex.encode(Insecure.MD5.hash(data: digests)) + "-\(parts.count)"
        let object = try put(bucket: bucket, key: key, body: body, contentType: u.contentType, etag: etag)
        abort(uploadId: uploadId)
        return object
    }

    /// Drops an upload and its parts.
    public func abort(uploadId: String) {
        uploads[uploadId] = nil
        try? FileManager.default.removeItem(at: root.appendingPathComponent("s3-uploads/\(uploadId)"))
    }

    /// True when the upload exists.
    public func hasUpload(_ id: String) -> Bool { uploads[id] != nil }
}

/// A key as S3 sees it: its UTF-8 bytes, compared and ordered byte by byte. (`String`'s
/// `==`, `<` and `hasPrefix` follow canonical equivalence and `Character`s instead.)
struct KeyBytes: Hashable, Comparable, Sendable {
    let utf8: [UInt8]

    init(_ key: String) { utf8 = Array(key.utf8) }

    init(utf8: ArraySlice<UInt8>) { self.utf8 = Array(utf8) }

    /// The key as text. Cuts made by ``rolledUp(skipping:delimiter:)`` fall between
    /// characters (UTF-8 is self-synchronising), so nothing is repaired here.
    var string: String { String(decoding: utf8, as: UTF8.self) }

    static func < (a: KeyBytes, b: KeyBytes) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    func hasPrefix(_ prefix: KeyBytes) -> Bool { utf8.starts(with: prefix.utf8) }

    /// The key up to and including the first `delimiter` after its first `skip` bytes
    /// (S3's common prefix for a listing with that prefix and delimiter), or nil.
    func rolledUp(skipping skip: Int, delimiter: KeyBytes) -> KeyBytes? {
        let d = delimiter.utf8
        guard let first = d.first, skip + d.count <= utf8.count else { return nil }
        var i = skip
        while i + d.count <= utf8.count {
            if utf8[i] == first && utf8[i..<(i + d.count)].elementsEqual(d) { return KeyBytes(utf8: utf8[..<(i + d.count)]) }
            i += 1
        }
        return nil
    }
}

/// S3 errors the local server answers with.
public enum S3Error: Error, Sendable {
    case noSuchBucket(String)
    case noSuchKey(String)
    case noSuchUpload
    case invalidPart(Int)
    case invalidPartOrder
    case entityTooSmall
    case invalidArgument(String)
    case badDigest(String)
    case keyTooLong
    case invalidURI

    /// (HTTP status, code, message).
    var wire: (Int, String, String) {
        switch self {
        case .noSuchBucket(let b): return (404, "NoSuchBucket", "The specified bucket does not exist: \(b)")
        case .noSuchKey: return (404, "NoSuchKey", "The specified key does not exist.")
        case .noSuchUpload: return (404, "NoSuchUpload", "The specified multipart upload does not exist.")
        case .invalidPart(let n): return (400, "InvalidPart", "Part \(n) is missing or its ETag does not match.")
        case .invalidPartOrder: return (400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        case .entityTooSmall: return (400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
        case .invalidArgument(let m): return (400, "InvalidArgument", m)
        case .badDigest(let m): return (400, "BadDigest", m)
        case .keyTooLong: return (400, "KeyTooLongError", "Your key is too long")
        case .invalidURI: return (400, "InvalidURI", "Couldn't parse the specified URI.")
        }
    }
}
