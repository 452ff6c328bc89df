import ByteCoding
import Crypto
import Foundation
import NIOCore

/// Limits how many requests (and so how many part buffers) are in flight. Waiters
/// are served lowest priority value first (the file's index), so earlier files
/// finish first and their CompleteMultipartUpload overlaps later files' parts.
actor AsyncSemaphore {
    private var free: Int
    private var waiters: [(priority: Int, order: Int, continuation: CheckedContinuation<Void, Never>)] = []
    private var arrivals = 0

    init(_ count: Int) { free = max(1, count) }

    func acquire(priority: Int = 0) async {
        if free > 0 && waiters.isEmpty { free -= 1; return }
        arrivals += 1
        let order = arrivals
        await withCheckedContinuation { c in
            let i = waiters.firstIndex { ($0.priority, $0.order) > (priority, order) } ?? waiters.endIndex
            waiters.insert((priority, order, c), at: i)
        }
    }

    func release() {
        if waiters.isEmpty { free += 1 } else { waiters.removeFirst().continuation.resume() }
    }
}

/// Counts what has been uploaded, for the progress line and the summary.
public actor UploadProgress {
    /// Files finished (uploaded or failed).
    public private(set) var filesDone = 0
    /// Bytes sent and acknowledged.
    public private(set) var bytesDone = 0
    let totalFiles: Int
    let totalBytes: Int
    let start = Date()
    private var lastPrint = Date.distantPast
    private let report: (@Sendable (String) -> Void)?
    private let interactive: Bool

    init(totalFiles: Int, totalBytes: Int, interactive: Bool, report: (@Sendable (String) -> Void)?) {
        self.totalFiles = totalFiles
        self.totalBytes = totalBytes
        self.interactive = interactive
        self.report = report
    }

    func add(bytes: Int) { bytesDone += bytes; tick() }
    func fileDone() { filesDone += 1; tick() }

    /// `files 12/300, 48.1/157.3 MB, 210.4 MB/s, ETA 1 s`, after a bar on a terminal.
    public var line: String {
        let elapsed = max(Date().timeIntervalSince(start), 0.001)
        let rate = Double(bytesDone) / elapsed
        let eta = rate > 0 ? Double(totalBytes - bytesDone) / rate : 0
        let text = String(format: "files %d/%d, %.1f/%.1f MB, %.1f MB/s, ETA %.0f s", filesDone, totalFiles,
                          Double(bytesDone) / 1e6, Double(totalBytes) / 1e6, rate / 1e6, eta)
        guard interactive else { return text }
        let fraction = totalBytes > 0 ? min(1, Double(bytesDone) / Double(totalBytes)) : 1
        let filled = Int(fraction * 30)
        return "[" + String(repeating: "#", count: filled) + String(repeating: " ", count: 30 - filled) + "] " + text
    }

    private func tick() {
        guard let report else { return }
        let now = Date()
        let interval = interactive ? 0.2 : 5
        guard now.timeIntervalSince(lastPrint) >= interval || filesDone == totalFiles else { return }
        lastPrint = now
        report(line)
    }
}

/// Where an uploader records its progress as it goes (the sync ledger), so a run
/// killed at any moment can be resumed from what was acknowledged.
///
/// Recording methods throw when the journal cannot write (a full disk, a broken
/// ledger): the uploader then begins no further file, and `upload` rethrows the error
/// once the files under way have ended, so nothing is acknowledged that was not recorded.
public protocol UploadJournal: Sendable {
    /// The multipart upload recorded for this file, to resume (confirmed with ListParts).
    func openUpload(path: String, key: String) async throws -> String?
    /// CreateMultipartUpload answered.
    func multipartCreated(path: String, key: String, uploadId: String) async throws
    /// A part is in S3 (sent now, or found by ListParts with the same size and MD5).
    func partUploaded(path: String, key: String, uploadId: String, part: S3Part) async throws
    /// The file's upload ended: its object is complete, or it failed (and any upload was aborted).
    func fileFinished(_ result: FolderUploader.Result) async throws
    /// True once the run should start no more files (SIGTERM): those not begun are left as they are.
    var stopRequested: Bool { get }
}

/// Uploads files to S3: PutObject for small ones, multipart (with a checksum per
/// part) for large ones, with one bound on requests — and so on bytes — in flight.
public struct FolderUploader: Sendable {
    /// Where to upload.
    public let client: S3Client
    /// Requests in flight at once (files and parts together).
    public let concurrency: Int
    /// Files at least this large use multipart.
    public let multipartThreshold: Int
    /// The preferred part size; raised so a file never needs more than 10,000 parts.
    public let partSize: Int

    /// One file's outcome.
    public struct Result: Sendable {
        /// The local path.
        public let path: String
        /// The key it went to.
        public let key: String
        /// Its size.
        public let size: Int
        /// The error, if it failed.
        public let error: String?
        /// True when it failed because the file changed while it was being uploaded
        /// (nothing was stored; upload it again once it has settled).
        public var fileChanged = false
    }

    /// One file to upload.
    public struct Item: Sendable {
        /// The local path.
        public let path: String
        /// The object key.
        public let key: String
        /// The file's whole-object checksum (base64, in the client's algorithm), taken
        /// when it was read; sent as is so the bytes are not checksummed again (PutObject only).
        public let checksum: String?
        /// Creates an item.
        public init(path: String, key: String, checksum: String? = nil) {
            self.path = path
            self.key = key
            self.checksum = checksum
        }
    }

    /// Creates an uploader (defaults: 10 in flight, multipart from 16 MiB, 8 MiB parts).
    public init(client: S3Client, concurrency: Int = 10, multipartThreshold: Int = 16 << 20, partSize: Int = 8 << 20) {
        self.client = client
        self.concurrency = max(1, concurrency)
        self.multipartThreshold = max(1, multipartThreshold)
        self.partSize = max(5 << 20, partSize)
    }

    /// The part size for a file: at least 5 MiB, and large enough for ≤ 10,000 parts.
    public static func partSize(for size: Int, preferred: Int) -> Int {
        let minimum = (size + 9_999) / 10_000
        let mib = 1 << 20
        return max(max(5 * mib, preferred), (minimum + mib - 1) / mib * mib)
    }

    /// Uploads `files` (path → key). Failures are reported per file; the others go on.
    public func upload(_ files: [(path: String, key: String)], bucket: String,
                       progress report: (@Sendable (String) -> Void)? = nil, interactive: Bool = false) async -> [Result] {
        await run(files.map { Item(path: $0.path, key: $0.key) }, bucket: bucket, progress: report, interactive: interactive,
                  journal: nil).results
    }

    /// Uploads `items`, reporting every created upload, part and finished file to
    /// `journal` as it happens; open multipart uploads come from it (not from a listing).
    /// - Throws: the first error the journal threw, after the files under way ended.
    public func upload(_ items: [Item], bucket: String, progress report: (@Sendable (String) -> Void)? = nil,
                       interactive: Bool = false, journal: (any UploadJournal)?) async throws -> [Result] {
        let (results, failure) = await run(items, bucket: bucket, progress: report, interactive: interactive, journal: journal)
        if let failure { throw failure }
        return results
    }

    /// The first journal failure of a run; once set, no further file is begun.
    private final class JournalFailure: @unchecked Sendable {
        // @unchecked: one optional under a lock.
        private let lock = NSLock()
        private var error: Error?
        var value: Error? { lock.withLock { error } }
        func set(_ e: Error) { lock.withLock { if error == nil { error = e } } }
    }

    private func run(_ files: [Item], bucket: String, progress report: (@Sendable (String) -> Void)?, interactive: Bool,
                     journal: (any UploadJournal)?) async -> (results: [Result], failure: Error?) {
        let sizes = files.map { (try? FileManager.default.attributesOfItem(atPath: $0.path)[.size] as? Int) ?? 0 }
        let progress = UploadProgress(totalFiles: files.count, totalBytes: sizes.reduce(0, +), interactive: interactive, report: report)
        let permits = AsyncSemaphore(concurrency)
        let failure = JournalFailure()
        var open: [String: [String]] = [:]
        if let journal {
            do {
                for f in files { if let id = try await journal.openUpload(path: f.path, key: f.key) { open[f.key] = [id] } }
            } catch {
                return ([], error)
            }
        } else {
            open = await unfinishedUploads(files.map { ($0.path, $0.key) }, sizes: sizes, bucket: bucket)
        }
        let pending = open
        // At most `concurrency` files in flight, each result taken as it ends: a finished
        // child task is released at once (memory stays flat however many files there are).
        let results = await withTaskGroup(of: (Int, Result).self) { group in
            var results = [Result?](repeating: nil, count: files.count)
            var next = 0
            func startNext(_ group: inout TaskGroup<(Int, Result)>) -> Bool {
                guard next < files.count, journal?.stopRequested != true, failure.value == nil else { return false }
                let i = next, file = files[i]
                next += 1
                group.addTask {
                    let r = await uploadOne(file, index: i, bucket: bucket, unfinished: pending[file.key] ?? [],
                                            permits: permits, progress: progress, journal: journal, failure: failure)
                    do { try await journal?.fileFinished(r) } catch { failure.set(error) }
                    await progress.fileDone()
                    return (i, r)
                }
                return true
            }
            while next < concurrency, startNext(&group) {}
            while let (i, r) = await group.next() {
                results[i] = r
                _ = startNext(&group)
            }
            return results.compactMap { $0 }
        }
        return (results, failure.value)
    }

    /// Multipart uploads left open under the keys' common prefix by an earlier,
    /// interrupted run (killed, say), by key: they are resumed, not left behind.
    private func unfinishedUploads(_ files: [(path: String, key: String)], sizes: [Int],
                                   bucket: String) async -> [String: [String]] {
        let large = zip(files, sizes).filter { $0.1 >= multipartThreshold }.map(\.0.key)
        guard var prefix = large.first else { return [:] }
        for key in large.dropFirst() {
            prefix = String(zip(prefix, key).prefix { $0 == $1 }.map(\.0))
        }
        let wanted = Set(large)
        guard let open = try? await client.listMultipartUploads(bucket: bucket, prefix: prefix) else { return [:] }
        var out: [String: [String]] = [:]
        for u in open where wanted.contains(u.key) { out[u.key, default: []].append(u.uploadId) }
        return out
    }

    private func uploadOne(_ item: Item, index: Int, bucket: String, unfinished: [String], permits: AsyncSemaphore,
                           progress: UploadProgress, journal: (any UploadJournal)?, failure: JournalFailure) async -> Result {
        let path = item.path, key = item.key
        var size = 0
        do {
            let file = try FileBytes(path: path)
            size = file.size
            if file.size < multipartThreshold {
                await permits.acquire(priority: index)
                do {
                    // A corrupted transfer (BadDigest) is sent once more, the bytes read again.
                    for attempt in 1...2 {
                        let body = try file.read(offset: 0, count: file.size)
                        try file.checkUnchanged()  // the buffer is the file as it was: no mix of old and new bytes
                        do {
                            try await client.putObject(bucket: bucket, key: key, buffer: body, checksum: item.checksum)
                            break
                        } catch let e as AWSError where attempt == 1 && Self.isCorruptedTransfer(e) && item.checksum == nil {
                            client.debug?("\(key): \(e); sending it again")
                        }
                    }
                } catch {
                    await permits.release()
                    throw error
                }
                await permits.release()
                await progress.add(bytes: file.size)
            } else {
                try await multipart(file, key: key, index: index, bucket: bucket, unfinished: unfinished,
                                    permits: permits, progress: progress, journal: journal, failure: failure)
            }
            return Result(path: path, key: key, size: size, error: nil)
        } catch {
            var r = Result(path: path, key: key, size: size, error: "\(error)")
            r.fileChanged = error is FileBytes.ChangedError
            return r
        }
    }

    /// The server received other bytes than were sent (a corrupted transfer): worth one more try.
    static func isCorruptedTransfer(_ e: AWSError) -> Bool {
        ["BadDigest", "XAmzContentSHA256Mismatch", "InvalidDigest"].contains(e.code ?? "")
    }

    /// Uploads a file in parts, each read when its turn comes (memory: the parts in
    /// flight); on any failure the upload is aborted, so no part is left behind. An
    /// upload an interrupted run left open is resumed: parts already there with the
    /// same size and MD5 (their ETag) are kept, the rest sent; other open uploads of
    /// the key are aborted.
    private func multipart(_ file: borrowing FileBytes, key: String, index: Int, bucket: String, unfinished: [String],
                           permits: AsyncSemaphore, progress: UploadProgress, journal: (any UploadJournal)?,
                           failure: JournalFailure) async throws {
        let size = Self.partSize(for: file.size, preferred: partSize)
        let total = file.size, path = file.path, identity = file.identity
        // Keep the open upload with the most parts; abort the others.
        var candidates: [(id: String, parts: [S3Part])] = []
        for id in unfinished {
            if let parts = try? await client.listParts(bucket: bucket, key: key, uploadId: id) { candidates.append((id, parts)) }
        }
        let kept = candidates.max { $0.parts.count < $1.parts.count }
        for id in unfinished where id != kept?.id {
            try? await client.abortMultipartUpload(bucket: bucket, key: key, uploadId: id)
        }
        var uploadId = kept?.id ?? ""
        var existing: [Int: S3Part] = [:]
        for p in kept?.parts ?? [] { existing[p.number] = p }
        if uploadId.isEmpty {
            uploadId = try await client.createMultipartUpload(bucket: bucket, key: key)
            do {
                try await journal?.multipartCreated(path: path, key: key, uploadId: uploadId)
            } catch {
                failure.set(error)
                try? await client.abortMultipartUpload(bucket: bucket, key: key, uploadId: uploadId)
                throw error
            }
        } else {
            client.debug?("resuming the multipart upload of \(key): \(existing.count) part(s) already there")
        }
        let known = existing, id = uploadId
        do {
            let count = max(1, (total + size - 1) / size)
            let parts = try await withThrowingTaskGroup(of: S3Part.self) { group in
                for n in 0..<count {
                    group.addTask {
                        await permits.acquire(priority: index)
                        do {
                            let length = min(size, total - n * size)
                            // Each part is read from the file as it was when the upload began, or not at all.
                            let reader = try FileBytes(path: path)
                            guard reader.identity == identity else {
                                throw FileBytes.ChangedError(path: path, before: identity, now: reader.identity)
                            }
                            var part: S3Part?
                            for attempt in 1...2 where part == nil {
                                let body = try reader.read(offset: n * size, count: length)
                                try reader.checkUnchanged()
                                if let old = known[n + 1], old.size == length, old.etag == Self.md5Hex(body) {
                                    part = S3Part(number: n + 1, etag: old.etag, checksum: client.checksumAlgorithm.checksum(body), size: length)
                                } else {
                                    do {
                                        part = try await client.uploadPart(bucket: bucket, key: key, uploadId: id, number: n + 1, buffer: body)
                                    } catch let e as AWSError where attempt == 1 && Self.isCorruptedTransfer(e) {
                                        client.debug?("\(key) part \(n + 1): \(e); sending it again")
                                    }
                                }
                            }
                            guard let part else { throw AWSError.invalidResponse(operation: "UploadPart", reason: "no part") }
                            do {
                                try await journal?.partUploaded(path: path, key: key, uploadId: id, part: part)
                            } catch {
                                failure.set(error)
                                throw error
                            }
                            await permits.release()
                            await progress.add(bytes: length)
                            return part
                        } catch {
                            await permits.release()
                            throw error
                        }
                    }
                }
                var parts: [S3Part] = []
                for try await p in group { parts.append(p) }
                return parts
            }
            // The parts are the file as it was when the upload began only if it has not changed since.
            try file.checkUnchanged()
            try await client.completeMultipartUpload(bucket: bucket, key: key, uploadId: id, parts: parts)
        } catch {
            try? await client.abortMultipartUpload(bucket: bucket, key: key, uploadId: id)
            throw error
        }
    }

    /// Hex MD5 of a buffer: the ETag S3 gives an unencrypted part.
    static func md5Hex(_ buffer: ByteBuffer) -> String {
        Hex.encode(buffer.withUnsafeReadableBytes { Insecure.MD5.hash(data: $0) })
    }
}
