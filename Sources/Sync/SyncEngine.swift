#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ByteCoding
import Crypto
import DICOMCore
import Foundation
import Uploader

/// What to do with a source file once HealthImaging's manifest confirms its import.
public enum OnSuccess: Sendable, Equatable, CustomStringConvertible {
    /// Leave it.
    case keep
    /// Move it to this folder, keeping its path below the synced folder.
    case move(String)
    /// Delete it.
    case delete

    /// Parses `keep`, `move:DIR` or `delete`.
    public init?(argument: String) {
        if argument == "keep" { self = .keep } else if argument == "delete" { self = .delete } else if argument.hasPrefix("move:"),
            argument.count > 5 {
            self = .move(String(argument.dropFirst(5)))
        } else { return nil }
    }

    public var description: String {
        switch self {
        case .keep: return "keep"
        case .delete: return "delete"
        case .move(let dir): return "move:\(dir)"
        }
    }
}

/// How `sync` and `watch` run.
public struct SyncSettings: Sendable {
    /// The folder (absolute).
    public var folder: String
    public var datastoreId: String
    public var bucket: String
    /// Key prefix; the ledger's objects live under `PREFIX/<ledger-id>/`.
    public var prefix: String
    public var roleArn: String
    /// A file is picked up once its size and mtime have not changed for this long.
    public var settle: Double = 30
    public var maxFilesPerJob = ImportJobQuotas.maxFilesPerJob
    public var maxBytesPerJob = ImportJobQuotas.maxBytesPerJob
    public var concurrency = 10
    public var multipartThreshold = 16 << 20
    public var partSize = 8 << 20
    /// Import files the validator finds errors in.
    public var force = false
    public var onSuccess: OnSuccess = .keep
    /// First retry delay after a server-side failure (doubles per attempt, at most 6 h).
    public var retryBase = 60.0
    /// Seconds to wait for manifests after a job ends.
    public var manifestTimeout = 120.0
    /// The longest pause between two polls.
    public var maxPollInterval = 15.0

    public init(folder: String, datastoreId: String, bucket: String, prefix: String, roleArn: String) {
        self.folder = folder
        self.datastoreId = datastoreId
        self.bucket = bucket
        self.prefix = prefix
        self.roleArn = roleArn
    }
}

/// What one pass did, for the summary line, `--output json` and the exit status.
public struct SyncSummary: Codable, Sendable {
    /// Files in the folder.
    public var found = 0
    /// New to the ledger, or changed since it last saw them.
    public var new = 0
    /// Still being written (or written less than `--settle` seconds ago).
    public var settling = 0
    public var validated = 0
    public var rejected = 0
    public var uploaded = 0
    public var jobsStarted = 0
    public var jobsEnded = 0
    public var imported = 0
    public var failed = 0
    /// Source files moved or deleted after import.
    public var disposed = 0
    /// Stale multipart uploads aborted.
    public var abortedUploads = 0
    /// Jobs still running when the pass ended (`--no-wait`, watch, or a stop).
    public var jobsRunning = 0
    /// `path: reason`, for every file that failed or was rejected in this pass.
    public var problems: [String] = []
    /// Stopped early by SIGTERM/SIGINT.
    public var interrupted = false

    public init() {}

    /// Adds another pass's counts.
    public mutating func add(_ o: SyncSummary) {
        found = o.found
        new += o.new
        settling = o.settling
        validated += o.validated
        rejected += o.rejected
        uploaded += o.uploaded
        jobsStarted += o.jobsStarted
        jobsEnded += o.jobsEnded
        imported += o.imported
        failed += o.failed
        disposed += o.disposed
        abortedUploads += o.abortedUploads
        jobsRunning = o.jobsRunning
        problems += o.problems
        interrupted = interrupted || o.interrupted
    }

    /// `found 12, new 3, settling 1, …`.
    public var line: String {
        var parts = ["found \(found)", "new \(new)"]
        for (name, n) in [("settling", settling), ("validated", validated), ("rejected", rejected), ("uploaded", uploaded),
                          ("jobs started", jobsStarted), ("jobs ended", jobsEnded), ("imported", imported), ("failed", failed),
                          ("disposed", disposed), ("stale uploads aborted", abortedUploads), ("jobs running", jobsRunning)] where n > 0 {
            parts.append("\(name) \(n)")
        }
        return parts.joined(separator: ", ")
    }
}

/// A stop flag set from a signal handler and read by the engine between steps.
public final class StopFlag: @unchecked Sendable {
    // @unchecked: one Bool under a lock.
    private let lock = NSLock()
    private var value = false
    public init() {}
    /// True once a stop was requested.
    public var isSet: Bool { lock.withLock { value } }
    /// Requests a stop.
    public func set() { lock.withLock { value = true } }
}

/// Moves files from a folder into HealthImaging exactly once, recording every step
/// in the ledger so a run killed at any moment is finished by the next: scan (new or
/// changed files), validate what has settled, plan batches (one job each), upload
/// (multipart parts recorded as S3 acknowledges them), abort stale multipart
/// uploads, start each batch's job once (its client token is fixed when the batch is
/// made), poll, read the manifests, act on imported sources.
public struct SyncEngine: Sendable {
    public let ledger: Ledger
    public let healthImaging: HealthImagingClient
    public let s3: S3Client
    public let settings: SyncSettings
    /// Progress lines.
    public let log: @Sendable (String) -> Void
    /// Set by SIGTERM/SIGINT: no new file or job is begun; the ledger stays consistent.
    public let stop: StopFlag
    /// With `--verify`: nil when the imported file's frames match the service's checksums, else why not.
    public let verifier: (@Sendable (LedgerFile) async -> String?)?

    public init(ledger: Ledger, healthImaging: HealthImagingClient, s3: S3Client, settings: SyncSettings, stop: StopFlag,
                verifier: (@Sendable (LedgerFile) async -> String?)? = nil, log: @escaping @Sendable (String) -> Void) {
        self.ledger = ledger
        self.healthImaging = healthImaging
        self.s3 = s3
        self.settings = settings
        self.stop = stop
        self.verifier = verifier
        self.log = log
    }

    /// `PREFIX/<ledger-id>/`: everything this ledger puts in the bucket.
    public var root: String {
        let p = settings.prefix
        return (p.isEmpty || p.hasSuffix("/") ? p : p + "/") + ledger.ledgerId + "/"
    }

    /// One pass. `plan` false keeps validated files waiting (watch's quiet period);
    /// `wait` polls started jobs to their end (else once).
    public func pass(plan: Bool = true, wait: Bool = true) async throws -> SyncSummary {
        var s = SyncSummary()
        try scan(&s)
        guard !stop.isSet else { s.interrupted = true; return s }
        await validate(&s)
        guard !stop.isSet else { s.interrupted = true; return s }
        if plan { try planBatches() }
        try await upload(&s)
        try await sweepStaleUploads(&s)
        guard !stop.isSet else { s.interrupted = true; return s }
        try await startJobs(&s)
        try await poll(&s, wait: wait)
        try await dispose(&s)
        s.interrupted = s.interrupted || stop.isSet
        return s
    }

    // MARK: Scan

    static func fileStat(_ path: String) -> (size: Int, mtimeNs: Int)? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (Int(st.st_size), Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec))
    }

    /// CRC-32C of a whole file (base64), over its mapping.
    static func contentChecksum(_ storage: ByteStorage) -> String {
        var crc = CRC32C()
        crc.update(UnsafeRawBufferPointer(start: storage.base, count: storage.count))
        return crc.base64
    }

    /// CRC-32C of the file at `path`, or nil when it cannot be mapped.
    static func contentChecksum(_ path: String) -> String? {
        (try? ByteStorage(mappingFileAt: path)).map { contentChecksum($0) }
    }

    /// Paths the scan must not pick up: the move target of `--on-success` when it is inside the folder.
    private func excluded(_ path: String) -> Bool {
        if case .move(let dir) = settings.onSuccess {
            let d = URL(fileURLWithPath: dir).standardizedFileURL.path
            return path == d || path.hasPrefix(d.hasSuffix("/") ? d : d + "/")
        }
        return false
    }

    private func relative(_ path: String) -> String {
        let root = settings.folder.hasSuffix("/") ? settings.folder : settings.folder + "/"
        return path.hasPrefix(root) ? String(path.dropFirst(root.count)) : (path as NSString).lastPathComponent
    }

    /// Records new files, and files whose size or mtime changed (as new, unless only
    /// touched: same content checksum); forgets unfinished files that vanished.
    func scan(_ s: inout SyncSummary) throws {
        let (paths, _) = FileWalker.files(under: [settings.folder])
        let now = Date().timeIntervalSince1970
        var present = Set<String>()
        var summary = s
        try ledger.transaction { t in
            for path in paths where !excluded(path) {
                guard let (size, mtime) = Self.fileStat(path) else { continue }
                present.insert(path)
                summary.found += 1
                guard var row = try t.file(path: path) else {
                    try t.save(LedgerFile(id: 0, path: path, relativePath: relative(path), size: size, mtimeNs: mtime, state: .seen,
                                          attempts: 0, disposed: false, firstSeen: now, updatedAt: now))
                    summary.new += 1
                    continue
                }
                guard row.size != size || row.mtimeNs != mtime else { continue }
                // Its job may be reading the old bytes: look again once the job has ended.
                if row.state == .importing { continue }
                if row.state == .imported, row.size == size, let old = row.checksum, Self.contentChecksum(path) == old {
                    row.mtimeNs = mtime  // touched, not changed
                    try t.save(row)
                    continue
                }
                // New bytes: a new life. An unfinished multipart upload of the old bytes is left to the stale sweep.
                try t.clearParts(file: row.id)
                row = LedgerFile(id: row.id, path: path, relativePath: relative(path), size: size, mtimeNs: mtime, state: .seen,
                                 attempts: 0, disposed: false, firstSeen: now, updatedAt: now)
                try t.save(row)
                summary.new += 1
            }
            // Unfinished rows whose file is gone: nothing left to import.
            for row in try t.files(in: [.seen, .validated, .uploaded, .failed]) where !present.contains(row.path) && !excluded(row.path) {
                var gone = row
                gone.state = .rejected
                gone.batchId = nil
                gone.errorKind = "customer"
                gone.lastError = "the file disappeared before it was imported"
                try t.clearParts(file: row.id)
                gone.uploadId = nil
                try t.save(gone)
            }
        }
        s = summary
    }

    // MARK: Validate

    private struct Checked: Sendable {
        var row: LedgerFile
        var valid: Bool
        var reason: String?
        var study: String?
        var series: String?
        var sop: String?
        var checksum: String?
    }

    /// Validates the files that have settled (mtime older than `settle`) and re-offers
    /// files whose server-side failure's retry time has come.
    func validate(_ s: inout SyncSummary) async {
        let now = Date().timeIntervalSince1970
        let rows = (try? ledger.read { try $0.files(in: [.seen]) }) ?? []
        var ready: [LedgerFile] = []
        for r in rows {
            if now - Double(r.mtimeNs) / 1e9 >= settings.settle, let st = Self.fileStat(r.path), st.size == r.size, st.mtimeNs == r.mtimeNs {
                ready.append(r)
            } else {
                s.settling += 1
            }
        }
        let force = settings.force
        let checked: [Checked] = await withTaskGroup(of: Checked.self) { group in
            var out: [Checked] = []
            var next = 0
            let width = max(1, ProcessInfo.processInfo.activeProcessorCount)
            func add(_ group: inout TaskGroup<Checked>) {
                let row = ready[next]
                next += 1
                group.addTask { Self.check(row, force: force) }
            }
            while next < min(width, ready.count) { add(&group) }
            while let c = await group.next() {
                out.append(c)
                if next < ready.count { add(&group) }
            }
            return out
        }
        var summary = s
        for c in checked {
            do {
                try ledger.transaction { t in
                    // The file may have changed while it was read: the next scan sees it.
                    guard var row = try t.file(id: c.row.id), row.size == c.row.size, row.mtimeNs == c.row.mtimeNs,
                          row.state == .seen else { return }
                    row.checksum = c.checksum
                    row.studyInstanceUID = c.study
                    row.seriesInstanceUID = c.series
                    row.sopInstanceUID = c.sop
                    if c.valid {
                        row.state = .validated
                        row.lastError = nil
                        row.errorKind = nil
                        summary.validated += 1
                    } else {
                        row.state = .rejected
                        row.lastError = c.reason
                        row.errorKind = "customer"
                        summary.rejected += 1
                        summary.problems.append("\(row.path): rejected: \(c.reason ?? "invalid")")
                    }
                    try t.save(row)
                }
            } catch {
                log("ledger: \(error)")
            }
        }
        // Server-side failures whose retry time has come go back to be planned again.
        _ = try? ledger.transaction { t in
            for var row in try t.files(in: [.failed]) where row.errorKind != "customer" && (row.retryAfter ?? 0) <= now {
                row.state = .validated
                row.batchId = nil
                try t.save(row)
            }
        }
        s = summary
    }

    private static func check(_ row: LedgerFile, force: Bool) -> Checked {
        var c = Checked(row: row, valid: false)
        do {
            // One mapping serves the checksum and the parse.
            let storage = try ByteStorage(mappingFileAt: row.path)
            c.checksum = contentChecksum(storage)
            let file = try DICOMFile.read(storage: storage, path: row.path, options: ParseOptions())
            let diagnostics = Validator.validate(file, options: ValidationOptions())
            let summary = InstanceSummary(path: row.path, file: file)
            c.study = summary.studyInstanceUID
            c.sop = summary.sopInstanceUID
            c.series = file.dataSet.string(Tag(0x0020_000E))
            let errors = diagnostics.filter { $0.severity == .error }
            if !errors.isEmpty && !force {
                c.reason = errors.first.map { "\($0.code): \($0.message)" }
            } else if c.study == nil || c.sop == nil || c.series == nil {
                c.reason = "not a DICOM instance with Study/Series/SOP Instance UIDs"
            } else {
                c.valid = true
            }
        } catch {
            let d = Validator.diagnostic(for: error)
            c.reason = "\(d.code): \(d.message)"
        }
        return c
    }

    // MARK: Plan

    /// Puts validated files without a batch into new batches (per study, within the job limits).
    func planBatches() throws {
        let datastore = settings.datastoreId, ledgerId = ledger.ledgerId, root = self.root
        try ledger.transaction { t in
            let waiting = try t.files(in: [.validated]).filter { $0.batchId == nil }
            guard !waiting.isEmpty else { return }
            let byPath = Dictionary(waiting.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
            let files = waiting.map {
                ImportFile(path: $0.path, relativePath: $0.relativePath, size: $0.size, studyInstanceUID: $0.studyInstanceUID ?? "",
                           seriesInstanceUID: $0.seriesInstanceUID ?? "", sopInstanceUID: $0.sopInstanceUID ?? "")
            }
            for plan in ImportPlanner.plan(files, runId: "", prefix: "", maxFiles: settings.maxFilesPerJob,
                                           maxBytes: settings.maxBytesPerJob) {
                let batch = try t.createBatch(
                    prefix: { root + String(format: "batch-%06d/", $0) },
                    token: { id in
                        SHA256.hash(data: Data("\(datastore)/\(ledgerId)/\(id)".utf8)).map { String(format: "%02x", $0) }.joined()
                    })
                for f in plan.files {
                    guard var row = byPath[f.path] else { continue }
                    row.batchId = batch.id
                    row.s3Key = batch.prefix + f.relativePath
                    try t.save(row)
                }
            }
        }
    }

    // MARK: Upload

    /// Records uploads in the ledger as S3 acknowledges them.
    final class Journal: UploadJournal, @unchecked Sendable {
        // @unchecked: counters under `lock`; the ledger serialises itself.
        let ledger: Ledger
        let stop: StopFlag
        let retryBase: Double
        let lock = NSLock()
        var uploaded = 0
        var failed: [String] = []
        init(ledger: Ledger, stop: StopFlag, retryBase: Double) {
            self.ledger = ledger
            self.stop = stop
            self.retryBase = retryBase
        }

        var stopRequested: Bool { stop.isSet }

        func openUpload(path: String, key: String) async -> String? {
            (try? ledger.read { try $0.file(path: path) })?.flatMap { $0.s3Key == key ? $0.uploadId : nil }
        }

        func multipartCreated(path: String, key: String, uploadId: String) async {
            _ = try? ledger.transaction { t in
                guard var row = try t.file(path: path) else { return }
                try t.clearParts(file: row.id)
                row.uploadId = uploadId
                try t.save(row)
            }
        }

        func partUploaded(path: String, key: String, uploadId: String, part: S3Part) async {
            _ = try? ledger.transaction { t in
                guard let row = try t.file(path: path), row.uploadId == uploadId else { return }
                try t.recordPart(file: row.id, uploadId: uploadId,
                                 part: LedgerPart(number: part.number, etag: part.etag, checksum: part.checksum, size: part.size ?? 0))
            }
        }

        func fileFinished(_ result: FolderUploader.Result) async {
            _ = try? ledger.transaction { t in
                guard var row = try t.file(path: result.path), row.s3Key == result.key, row.state == .validated else { return }
                try t.clearParts(file: row.id)
                row.uploadId = nil
                if let error = result.error {
                    row.state = .failed
                    row.errorKind = "server"
                    row.lastError = "upload: \(error)"
                    row.attempts += 1
                    row.retryAfter = Date().timeIntervalSince1970 + SyncEngine.backoff(base: retryBase, attempts: row.attempts)
                    row.batchId = nil
                    lock.withLock { failed.append("\(row.path): upload failed: \(error)") }
                } else if let st = SyncEngine.fileStat(row.path), st.size == row.size, st.mtimeNs == row.mtimeNs {
                    row.state = .uploaded
                    lock.withLock { uploaded += 1 }
                } else {
                    // Changed while it was sent: the object is removed from the batch before its job starts.
                    row.state = .seen
                    row.batchId = nil
                }
                try t.save(row)
            }
        }
    }

    /// Retry delay after `attempts` server-side failures: base × 2^(attempts−1), at most 6 h.
    public static func backoff(base: Double, attempts: Int) -> Double {
        min(6 * 3600, base * pow(2, Double(max(0, attempts - 1))))
    }

    /// Uploads the validated files of open batches (resuming recorded multipart uploads).
    func upload(_ s: inout SyncSummary) async throws {
        let todo = try ledger.read { t in
            try t.batches(.open).flatMap { b in try t.files(batch: b.id).filter { $0.state == .validated } }
        }
        guard !todo.isEmpty else { return }
        log("upload: \(todo.count) file\(todo.count == 1 ? "" : "s") to s3://\(settings.bucket)/\(root)")
        let journal = Journal(ledger: ledger, stop: stop, retryBase: settings.retryBase)
        let uploader = FolderUploader(client: s3, concurrency: settings.concurrency, multipartThreshold: settings.multipartThreshold,
                                      partSize: settings.partSize)
        _ = await uploader.upload(todo.compactMap { f in f.s3Key.map { (f.path, $0) } }, bucket: settings.bucket,
                                  progress: { self.log("upload: " + $0) }, journal: journal)
        journal.lock.withLock {
            s.uploaded += journal.uploaded
            s.failed += journal.failed.count
            s.problems += journal.failed
        }
    }

    /// Aborts multipart uploads under this ledger's prefix that no file needs any more
    /// (left by a run killed between CreateMultipartUpload and its ledger write, say).
    func sweepStaleUploads(_ s: inout SyncSummary) async throws {
        let open = try await s3.listMultipartUploads(bucket: settings.bucket, prefix: root)
        guard !open.isEmpty else { return }
        let needed = try ledger.read { try $0.openUploadIds() }
        for u in open where !needed.contains(u.uploadId) {
            try await s3.abortMultipartUpload(bucket: settings.bucket, key: u.key, uploadId: u.uploadId)
            s.abortedUploads += 1
        }
    }

    // MARK: Jobs

    /// Starts the job of every open batch whose files are all uploaded, at most one start
    /// per second. The batch's client token makes a repeated start return the same job.
    func startJobs(_ s: inout SyncSummary) async throws {
        var first = true
        for var batch in try ledger.read({ try $0.batches(.open) }) {
            guard !stop.isSet else { return }
            let files = try ledger.read { try $0.files(batch: batch.id) }
            if files.isEmpty {
                batch.state = .ended
                batch.message = "no files left"
                try ledger.transaction { try $0.save(batch) }
                continue
            }
            guard files.allSatisfy({ $0.state == .uploaded }) else { continue }
            // Only this batch's current files may be under its prefix.
            let keys = Set(files.compactMap(\.s3Key))
            let extra = try await s3.listObjects(bucket: settings.bucket, prefix: batch.prefix).map(\.key).filter { !keys.contains($0) }
            if !extra.isEmpty { try await s3.deleteObjects(bucket: settings.bucket, keys: extra) }
            if !first { try await Task.sleep(nanoseconds: 1_050_000_000) }
            first = false
            let job: StartedImportJob
            do {
                job = try await start(batch)
            } catch {
                s.problems.append("batch \(batch.id): StartDICOMImportJob failed: \(error)")
                s.failed += files.count
                batch.message = "\(error)"
                try ledger.transaction { try $0.save(batch) }
                continue
            }
            try ledger.transaction { t in
                batch.state = .started
                batch.jobId = job.jobId
                batch.jobStatus = job.jobStatus.rawValue
                try t.save(batch)
                for var f in files {
                    f.state = .importing
                    f.jobId = job.jobId
                    try t.save(f)
                }
            }
            s.jobsStarted += 1
            log("import: batch \(batch.id): job \(job.jobId) started (\(files.count) file\(files.count == 1 ? "" : "s"))")
        }
    }

    /// StartDICOMImportJob for a batch. Throttling outlasting the transport's retries
    /// (a killed run's starts count against the same 1/s) is waited out, a few times.
    private func start(_ batch: LedgerBatch) async throws -> StartedImportJob {
        var attempt = 0
        while true {
            do {
                return try await healthImaging.startDICOMImportJob(
                    datastoreId: settings.datastoreId, jobName: "ahi-upload-sync-\(ledger.ledgerId)-\(batch.id)", roleArn: settings.roleArn,
                    clientToken: batch.clientToken, inputS3Uri: "s3://\(settings.bucket)/\(batch.prefix)",
                    outputS3Uri: "s3://\(settings.bucket)/\(root)output/batch-\(batch.id)/")
            } catch let error as AWSError where error.code == "ThrottlingException" && attempt < 5 && !stop.isSet {
                attempt += 1
                log("import: batch \(batch.id): throttled; starting again in \(attempt * 2) s")
                try await Task.sleep(nanoseconds: UInt64(attempt) * 2_000_000_000)
            }
        }
    }

    /// Polls started jobs (to their end with `wait`, else once) and settles their files from the manifests.
    func poll(_ s: inout SyncSummary, wait: Bool) async throws {
        let started = try ledger.read { try $0.batches(.started) }
        let batches = Dictionary(started.compactMap { b in b.jobId.map { ($0, b) } }, uniquingKeysWith: { a, _ in a })
        let poller = ImportJobPoller(client: healthImaging, datastoreId: settings.datastoreId, maxInterval: settings.maxPollInterval, log: log)
        let stop = self.stop
        try await poller.poll(Array(batches.keys), pauseFirst: false, once: !wait, shouldStop: { stop.isSet }) { props in
            if let batch = batches[props.jobId] { try await finish(batch, props, &s) }
        }
        s.jobsRunning = try ledger.read { try $0.batches(.started) }.count
    }

    /// Exceptions that are the service's fault: retried on a later run.
    static let serverExceptions: Set<String> = ["InternalServerException", "ServiceUnavailableException", "ThrottlingException",
                                                "InternalFailure", "ServiceQuotaExceededException"]

    private func finish(_ batch: LedgerBatch, _ props: DICOMImportJobProperties, _ s: inout SyncSummary) async throws {
        let jobId = props.jobId
        var lines: (success: [Importer.ManifestLine], failure: [Importer.ManifestLine], warning: [Importer.ManifestLine]) = ([], [], [])
        if props.jobStatus != .failed {
            let output = Importer.expandedOutput(props.outputS3Uri ?? "s3://\(settings.bucket)/\(root)output/batch-\(batch.id)/",
                                                 datastoreId: settings.datastoreId, jobId: jobId)
            lines = try await Importer.readManifests(output, s3: s3, timeout: settings.manifestTimeout, progress: log)
        }
        let now = Date().timeIntervalSince1970
        var summary = s
        try ledger.transaction { t in
            var b = batch
            b.state = .ended
            b.jobStatus = props.jobStatus.rawValue
            b.message = props.message
            try t.save(b)
            let imported = Dictionary((lines.success + lines.warning).map { ($0.inputFile, $0) }, uniquingKeysWith: { a, _ in a })
            let failed = Dictionary(lines.failure.map { ($0.inputFile, $0) }, uniquingKeysWith: { a, _ in a })
            for var f in try t.files(batch: batch.id) where f.state == .importing {
                let key = f.s3Key ?? ""
                if let line = imported[key] {
                    f.state = .imported
                    f.imageSetId = line.imageSetId
                    f.lastError = nil
                    f.errorKind = nil
                    summary.imported += 1
                } else {
                    let customer: Bool
                    if props.jobStatus == .failed {
                        f.lastError = "import job \(jobId) FAILED: \(props.message ?? "no message")"
                        customer = false
                    } else if let line = failed[key] {
                        f.lastError = line.reason
                        customer = !Self.serverExceptions.contains(line.exceptionType ?? "")
                    } else {
                        f.lastError = "not in the manifests of job \(jobId)"
                        customer = false
                    }
                    f.errorKind = customer ? "customer" : "server"
                    f.attempts += 1
                    if customer {
                        f.state = .rejected
                        summary.rejected += 1
                    } else {
                        f.state = .failed
                        f.batchId = nil
                        f.retryAfter = now + Self.backoff(base: settings.retryBase, attempts: f.attempts)
                        summary.failed += 1
                    }
                    summary.problems.append("\(f.path): \(f.state.rawValue): \(f.lastError ?? "")")
                }
                try t.save(f)
            }
        }
        summary.jobsEnded += 1
        s = summary
        log("import: batch \(batch.id): job \(jobId) \(props.jobStatus.rawValue)\(props.message.map { " — " + $0 } ?? "")")
    }

    // MARK: After import

    /// Carries out `--on-success` on imported files (after `--verify` passed), once.
    func dispose(_ s: inout SyncSummary) async throws {
        guard settings.onSuccess != .keep || verifier != nil else { return }
        for var f in try ledger.read({ try $0.files(in: [.imported]) }) where !f.disposed {
            guard !stop.isSet else { return }
            guard let st = Self.fileStat(f.path) else {
                // Already moved or deleted (a killed run did it before recording it).
                f.disposed = true
                try ledger.transaction { try $0.save(f) }
                continue
            }
            // Changed since it was sent: the next scan imports the new bytes; leave it.
            guard st.size == f.size, st.mtimeNs == f.mtimeNs else { continue }
            if let verifier {
                if let mismatch = await verifier(f) {
                    f.state = .failed
                    f.errorKind = "server"
                    f.lastError = "verify: \(mismatch)"
                    f.attempts += 1
                    f.retryAfter = Date().timeIntervalSince1970 + Self.backoff(base: settings.retryBase, attempts: f.attempts)
                    f.batchId = nil
                    s.failed += 1
                    s.problems.append("\(f.path): verify: \(mismatch)")
                    try ledger.transaction { try $0.save(f) }
                    continue
                }
            }
            switch settings.onSuccess {
            case .keep:
                f.disposed = true
            case .delete:
                if unlink(f.path) == 0 || errno == ENOENT { f.disposed = true }
            case .move(let dir):
                let target = (dir as NSString).appendingPathComponent(f.relativePath)
                if Self.move(f.path, to: target) { f.disposed = true }
            }
            if f.disposed {
                try ledger.transaction { try $0.save(f) }
                if settings.onSuccess != .keep { s.disposed += 1 }
            } else {
                s.problems.append("\(f.path): --on-success \(settings.onSuccess): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// rename(2), or copy + fsync + unlink across file systems.
    static func move(_ from: String, to target: String) -> Bool {
        try? FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if rename(from, target) == 0 { return true }
        guard errno == EXDEV else { return false }
        let tmp = target + ".ahi-partial"
        do {
            try? FileManager.default.removeItem(atPath: tmp)
            try FileManager.default.copyItem(atPath: from, toPath: tmp)
            let fd = open(tmp, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
            guard rename(tmp, target) == 0 else { return false }
            return unlink(from) == 0
        } catch {
            return false
        }
    }
}
