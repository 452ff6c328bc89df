import ByteCoding
import Crypto
import Foundation

/// The objects of the local S3, kept under `<data>/s3/`: one folder per bucket, each
/// object a file named by the SHA-256 of its key with a JSON sidecar (key, size,
/// ETag, content type, time), so keys of any length and any characters are safe.
/// Multipart parts wait under `<data>/s3-uploads/<upload id>/`.
public actor S3Store {
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
    private var buckets: [String: [String: Object]] = [:]
    private var uploads: [String: Upload] = [:]

    /// Opens (or creates) the store under `dataDirectory` and loads its index.
    public init(dataDirectory: URL) throws {
        root = dataDirectory
        let fm = FileManager.default
        try fm.createDirectory(at: root.appendingPathComponent("s3"), withIntermediateDirectories: true)
        try fm.createDirectory(at: root.appendingPathComponent("s3-uploads"), withIntermediateDirectories: true)
        var loaded: [String: [String: Object]] = [:]
        let decoder = JSONDecoder()
        for bucket in (try? fm.contentsOfDirectory(atPath: root.appendingPathComponent("s3").path)) ?? [] {
            var objects: [String: Object] = [:]
            let dir = root.appendingPathComponent("s3/\(bucket)")
            for name in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] where name.hasSuffix(".json") {
                if let data = fm.contents(atPath: dir.appendingPathComponent(name).path),
                   let object = try? decoder.decode(Object.self, from: data) {
                    objects[object.key] = object
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
        let url = objectURL(bucket, key)
        try Data(body).write(to: url, options: .atomic)
        let md5 = etag ?? Hex.encode(Insecure.MD5.hash(data: body))
        let object = Object(key: key, size: body.count, etag: md5, contentType: contentType, lastModified: Date(), checksums: checksums)
        try JSONEncoder().encode(object).write(to: url.appendingPathExtension("json"), options: .atomic)
        buckets[bucket]?[key] = object
        return object
    }

    /// An object's description, or nil.
    public func head(bucket: String, key: String) -> Object? { buckets[bucket]?[key] }

    /// The file that holds an object's bytes (for readers that map files), or nil.
    public func fileURL(bucket: String, key: String) -> URL? {
        buckets[bucket]?[key] == nil ? nil : objectURL(bucket, key)
    }

    /// An object's bytes, or nil.
    public func get(bucket: String, key: String) -> (Object, [UInt8])? {
        guard let object = buckets[bucket]?[key],
              let data = FileManager.default.contents(atPath: objectURL(bucket, key).path) else { return nil }
        return (object, [UInt8](data))
    }

    /// Deletes an object (no error when absent).
    public func delete(bucket: String, key: String) {
        guard buckets[bucket]?[key] != nil else { return }
        let url = objectURL(bucket, key)
        try? FileManager.default.removeItem(at: url)
        try? FileManager.default.removeItem(at: url.appendingPathExtension("json"))
        buckets[bucket]?[key] = nil
    }

    /// Objects under `prefix`, sorted by key.
    public func list(bucket: String, prefix: String) throws -> [Object] {
        guard let objects = buckets[bucket] else { throw S3Error.noSuchBucket(bucket) }
        return objects.values.filter { $0.key.hasPrefix(prefix) }.sorted { $0.key < $1.key }
    }

    // MARK: Multipart

    /// Starts a multipart upload; returns its id.
    public func createUpload(bucket: String, key: String, contentType: String) throws -> String {
        guard buckets[bucket] != nil else { throw S3Error.noSuchBucket(bucket) }
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
        guard let u = uploads[uploadId], u.bucket == bucket, u.key == key else { throw S3Error.noSuchUpload }
        guard (1...10_000).contains(number) else { throw S3Error.invalidArgument("part numbers are 1 to 10000") }
        try Data(body).write(to: root.appendingPathComponent("s3-uploads/\(uploadId)/\(number)"), options: .atomic)
        return Hex.encode(Insecure.MD5.hash(data: body))
    }

    /// Parts uploaded so far: (number, ETag, size), by number.
    public func parts(bucket: String, key: String, uploadId: String) throws -> [(number: Int, etag: String, size: Int)] {
        guard let u = uploads[uploadId], u.bucket == bucket, u.key == key else { throw S3Error.noSuchUpload }
        let dir = root.appendingPathComponent("s3-uploads/\(uploadId)")
        var out: [(number: Int, etag: String, size: Int)] = []
        for name in (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? [] {
            guard let n = Int(name), let data = FileManager.default.contents(atPath: dir.appendingPathComponent(name).path) else { continue }
            out.append((n, Hex.encode(Insecure.MD5.hash(data: data)), data.count))
        }
        return out.sorted { $0.number < $1.number }
    }

    /// Uploads in progress under `prefix`: (key, id).
    public func openUploads(bucket: String, prefix: String) -> [(key: String, uploadId: String)] {
        uploads.filter { $0.value.bucket == bucket && $0.value.key.hasPrefix(prefix) }
            .map { ($0.value.key, $0.key) }.sorted { ($0.key, $0.uploadId) < ($1.key, $1.uploadId) }
    }

    /// Joins the named parts (ascending, ETags matching, all but the last ≥ 5 MiB) into the object.
    public func complete(bucket: String, key: String, uploadId: String, parts: [(number: Int, etag: String)]) throws -> Object {
        guard let u = uploads[uploadId], u.bucket == bucket, u.key == key else { throw S3Error.noSuchUpload }
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

    /// (HTTP status, code, message).
    var wire: (Int, String, String) {
        switch self {
        case .noSuchBucket(let b): return (404, "NoSuchBucket", "The specified bucket does not exist: \(b)")
        case .noSuchKey(let k): return (404, "NoSuchKey", "The specified key does not exist: \(k)")
        case .noSuchUpload: return (404, "NoSuchUpload", "The specified multipart upload does not exist.")
        case .invalidPart(let n): return (400, "InvalidPart", "Part \(n) is missing or its ETag does not match.")
        case .invalidPartOrder: return (400, "InvalidPartOrder", "The list of parts was not in ascending order.")
        case .entityTooSmall: return (400, "EntityTooSmall", "Your proposed upload is smaller than the minimum allowed object size.")
        case .invalidArgument(let m): return (400, "InvalidArgument", m)
        case .badDigest(let m): return (400, "BadDigest", m)
        }
    }
}
