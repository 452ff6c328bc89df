#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DICOMCore
import DICOMweb
import Foundation
import ImportPipeline
import Uploader

/// Moves files from a folder into HealthImaging exactly once, recording every step in
/// the ledger so a run killed at any moment is finished by the next: scan (new or
/// changed files), read what has settled (``ImportCandidate``), plan batches (one job
/// each, with an ``ImportJobIdentity`` scoped by the ledger), then the shared
/// ``ImportPipeline``: upload (multipart parts recorded as S3 acknowledges them), start
/// each batch's job once, poll, read the manifests; then act on imported sources.
public struct SyncEngine: Sendable {
    public let ledger: Ledger
    public let pipeline: ImportPipeline
    public let settings: SyncSettings
    /// Progress lines.
    public let log: @Sendable (String) -> Void
    /// Set by SIGTERM/SIGINT: no new file or job is begun; the ledger stays consistent.
    public let stop: StopFlag
    /// When set, validated files go by STOW-RS instead of import jobs (jobs a run through S3
    /// started before are still followed to their end).
    public let stow: StowDelivery?

    public init(ledger: Ledger, pipeline: ImportPipeline, stow: StowDelivery? = nil, settings: SyncSettings, stop: StopFlag,
                log: @escaping @Sendable (String) -> Void) {
        self.ledger = ledger
        self.pipeline = pipeline
        self.stow = stow
        self.settings = settings
        self.stop = stop
        self.log = log
    }

    var destination: ImportDestination { pipeline.destination }

    /// `PREFIX/<ledger-id>/`: everything this ledger puts in the bucket.
    public var root: String { destination.root(scope: ledger.ledgerId) }

    /// One pass. `plan` false keeps validated files waiting (watch's quiet period);
    /// `wait` polls started jobs to their end (else once).
    /// - Throws: a ledger write that failed (the run must stop), or S3/HealthImaging errors that end the pass.
    public func pass(plan: Bool = true, wait: Bool = true) async throws -> SyncSummary {
        let journal = LedgerJournal(ledger: ledger, stop: stop, retryBase: settings.retryBase)
        var s = SyncSummary()
        func done() -> SyncSummary {
            var out = s
            let counted = journal.counted
            for (k, v) in [(\SyncSummary.validated, counted.validated), (\.rejected, counted.rejected), (\.uploaded, counted.uploaded),
                           (\.jobsStarted, counted.jobsStarted), (\.jobsEnded, counted.jobsEnded), (\.imported, counted.imported),
                           (\.failed, counted.failed)] as [(WritableKeyPath<SyncSummary, Int>, Int)] {
                out[keyPath: k] += v
            }
            out.problems = counted.problems + s.problems
            out.interrupted = s.interrupted || stop.isSet
            return out
        }
        try scan(&s)
        guard !stop.isSet else { return done() }
        try await validate(&s, journal: journal)
        guard !stop.isSet else { return done() }
        if let stow {
            if plan { try await send(stow, journal: journal) }
        } else {
            if plan { try planBatches() }
            try await upload(journal: journal)
            try await sweepStaleUploads(&s)
            guard !stop.isSet else { return done() }
            try await startJobs(journal: journal)
        }
        try await poll(&s, wait: wait, journal: journal)
        try await dispose(&s)
        return done()
    }

    // MARK: Scan

    static func fileStat(_ path: String) -> (size: Int, mtimeNs: Int)? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        return (Int(st.st_size), Int(st.st_mtim.tv_sec) * 1_000_000_000 + Int(st.st_mtim.tv_nsec))
    }

    /// Paths the scan must not pick up: the move target of `--on-success` when it is inside the folder.
    private func excluded(_ path: String) -> Bool {
        if case .move(let dir) = settings.onSuccess {
            let d = URL(fileURLWithPath: dir).standardizedFileURL.path
            return path == d || path.hasPrefix(d.hasSuffix("/") ? d : d + "/")
        }
        return false
    }

    func relative(_ path: String) -> String {
        let root = settings.folder.hasSuffix("/") ? settings.folder : settings.folder + "/"
        return path.hasPrefix(root) ? String(path.dropFirst(root.count)) : (path as NSString).lastPathComponent
    }

    /// Records new files, and files whose size or mtime changed (as new, unless only
    /// touched: same content checksum); forgets unfinished files that vanished. Files
    /// already found to be another shard's are passed over while unchanged.
    func scan(_ s: inout SyncSummary) throws {
        let (paths, _) = FileWalker.files(under: [settings.folder])
        let now = Date().timeIntervalSince1970
        var present = Set<String>()
        var summary = s
        try ledger.transaction { t in
            for path in paths where !excluded(path) {
                guard let (size, mtime) = Self.fileStat(path) else { continue }
                present.insert(path)
                if settings.shard.count > 1, try t.isOtherShard(path: path, size: size, mtimeNs: mtime) { continue }
                summary.found += 1
                if try Self.record(path: path, relativePath: relative(path), size: size, mtimeNs: mtime, now: now, in: t) {
                    summary.new += 1
                }
            }
            // Unfinished rows whose file is gone: nothing left to import.
            // (Looked at again now: a file written after the listing — `receive` records its files as it
            // keeps them — is not gone.)
            for var gone in try t.files(in: [.seen, .validated, .uploaded, .failed])
            where !present.contains(gone.path) && !excluded(gone.path) && Self.fileStat(gone.path) == nil {
                gone.state = .rejected
                gone.batchId = nil
                gone.errorKind = .customer
                gone.lastError = "the file disappeared before it was imported"
                try t.clearParts(file: gone.id)
                gone.uploadId = nil
                try t.save(gone)
            }
        }
        s = summary
    }

    /// Records one file found (or received) in the folder: a new row, or a new life for a row
    /// whose size or mtime changed (unless only touched: same content checksum, or its job may
    /// still be reading it). True when the file is new to the ledger in this form.
    static func record(path: String, relativePath: String, size: Int, mtimeNs mtime: Int, now: Double,
                       in t: Ledger.Transaction) throws -> Bool {
        guard var row = try t.file(path: path) else {
            try t.save(LedgerFile(id: 0, path: path, relativePath: relativePath, size: size, mtimeNs: mtime, state: .seen,
                                  attempts: 0, disposed: false, firstSeen: now, updatedAt: now))
            return true
        }
        guard row.size != size || row.mtimeNs != mtime else { return false }
        // Its job may be reading the old bytes: look again once the job has ended.
        if row.state == .importing { return false }
        if row.state == .imported, row.size == size, let old = row.checksum,
           ImportCandidate.checksum(path: path) == old {
            row.mtimeNs = mtime  // touched, not changed
            try t.save(row)
            return false
        }
        // New bytes: a new life. An unfinished multipart upload of the old bytes is left to the stale sweep.
        try t.clearParts(file: row.id)
        row = LedgerFile(id: row.id, path: path, relativePath: relativePath, size: size, mtimeNs: mtime, state: .seen,
                         attempts: 0, disposed: false, firstSeen: now, updatedAt: now)
        try t.save(row)
        return true
    }

    // MARK: Validate

    /// Reads the files that have settled (mtime older than `settle`), records each
    /// verdict, runs the cross-file checks over the accepted ones, and re-offers files
    /// whose server-side failure's retry time has come.
    func validate(_ s: inout SyncSummary, journal: LedgerJournal) async throws {
        let now = Date().timeIntervalSince1970
        var ready: [String] = []
        for r in try ledger.read({ try $0.files(in: [.seen]) }) {
            if now - Double(r.mtimeNs) / 1e9 >= settings.settle, let st = Self.fileStat(r.path), st.size == r.size, st.mtimeNs == r.mtimeNs {
                ready.append(r.path)
            } else {
                s.settling += 1
            }
        }
        let options = ImportCandidate.Options(force: settings.force, showPHI: settings.showPHI, checksum: true, shard: settings.shard)
        let candidates = await ImportCandidate.readAll(ready, options: options)
        for c in candidates { try await journal.validated(c) }
        s.crossFile = ImportCandidate.crossFileWarnings(candidates, showPHI: settings.showPHI).map(CrossFileWarning.init)
        for w in s.crossFile { log("validate: \(w.line)") }
        // Server-side failures whose retry time has come go back to be planned again.
        try ledger.transaction { t in
            for var row in try t.files(in: [.failed]) where row.errorKind != .customer && (row.retryAfter ?? 0) <= now {
                row.state = .validated
                row.batchId = nil
                try t.save(row)
            }
        }
    }

    // MARK: Plan

    /// Puts validated files without a batch into new batches (grouped per study within
    /// the job limits); each batch's prefix and client token come from its job identity.
    func planBatches() throws {
        let destination = self.destination, scope = ledger.ledgerId
        func identity(_ id: Int) -> ImportJobIdentity { ImportJobIdentity(datastoreId: destination.datastoreId, scope: scope, number: id) }
        try ledger.transaction { t in
            let waiting = try t.files(in: [.validated]).filter { $0.batchId == nil }
            guard !waiting.isEmpty else { return }
            let byPath = Dictionary(waiting.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
            let files = waiting.map {
                ImportFile(path: $0.path, relativePath: $0.relativePath, size: $0.size, studyInstanceUID: $0.studyInstanceUID ?? "",
                           seriesInstanceUID: $0.seriesInstanceUID ?? "", sopInstanceUID: $0.sopInstanceUID ?? "")
            }
            for group in ImportGrouping.group(files, maxFiles: settings.maxFilesPerJob, maxBytes: settings.maxBytesPerJob) {
                let batch = try t.createBatch(prefix: { destination.inputPrefix(identity($0)) }, token: { identity($0).clientToken })
                for f in group {
                    guard var row = byPath[f.path] else { continue }
                    row.batchId = batch.id
                    row.s3Key = batch.prefix + f.relativePath
                    try t.save(row)
                }
            }
        }
    }

    /// A batch as the pipeline's job: its identity, recorded prefix and files.
    func job(_ batch: LedgerBatch, files rows: [LedgerFile]) -> PlannedImportJob {
        let files = rows.map {
            ImportFile(path: $0.path, relativePath: $0.relativePath, size: $0.size, studyInstanceUID: $0.studyInstanceUID ?? "",
                       seriesInstanceUID: $0.seriesInstanceUID ?? "", sopInstanceUID: $0.sopInstanceUID ?? "", checksum: $0.checksum)
        }
        return PlannedImportJob(identity: ImportJobIdentity(datastoreId: destination.datastoreId, scope: ledger.ledgerId, number: batch.id),
                                prefix: batch.prefix, files: files)
    }

    // MARK: STOW-RS

    /// Sends the validated files (and files of batches whose job never started) with STOW-RS,
    /// recording each request's answer before the next group is begun; a stop request ends
    /// the pass between groups of requests.
    func send(_ stow: StowDelivery, journal: LedgerJournal) async throws {
        let rows = try ledger.read { t in
            let open = Set(try t.batches(.open).map(\.id))
            return try t.files(in: [.validated, .uploaded]).filter { r in r.batchId.map(open.contains) ?? true }
        }
        guard !rows.isEmpty else { return }
        let bytes = rows.reduce(0) { $0 + $1.size }
        log("stow-rs: \(rows.count) file\(rows.count == 1 ? "" : "s") (\(bytes) bytes) to \(stow.client.baseURL)")
        let items = rows.map { StoreItem(path: $0.path, size: $0.size, sopInstanceUID: $0.sopInstanceUID ?? "") }
        let group = max(1, stow.limits.requestsInFlight * stow.limits.maxInstancesPerRequest)
        var start = 0
        while start < items.count, !stop.isSet {
            let slice = Array(items[start..<min(start + group, items.count)])
            try await stow.client.store(slice, limits: stow.limits) { outcomes in try await journal.stored(outcomes) }
            start += slice.count
        }
    }

    // MARK: Upload

    /// Retry delay after `attempts` server-side failures: base × 2^(attempts−1), at most 6 h.
    public static func backoff(base: Double, attempts: Int) -> Double {
        min(6 * 3600, base * pow(2, Double(max(0, attempts - 1))))
    }

    /// Uploads the validated files of open batches (resuming recorded multipart uploads).
    func upload(journal: LedgerJournal) async throws {
        let jobs = try ledger.read { t in
            try t.batches(.open).map { b in job(b, files: try t.files(batch: b.id).filter { $0.state == .validated }) }
        }.filter { !$0.files.isEmpty }
        guard !jobs.isEmpty else { return }
        let n = jobs.reduce(0) { $0 + $1.files.count }
        log("upload: \(n) file\(n == 1 ? "" : "s") to \(destination.uri(root))")
        _ = try await pipeline.upload(jobs, journal: journal)
    }

    /// Aborts multipart uploads under this ledger's prefix that no file needs any more
    /// (left by a run killed between CreateMultipartUpload and its ledger write, say).
    func sweepStaleUploads(_ s: inout SyncSummary) async throws {
        let open = try await pipeline.s3.listMultipartUploads(bucket: destination.bucket, prefix: root)
        guard !open.isEmpty else { return }
        let needed = try ledger.read { try $0.openUploadIds() }
        for u in open where !needed.contains(u.uploadId) {
            try await pipeline.s3.abortMultipartUpload(bucket: destination.bucket, key: u.key, uploadId: u.uploadId)
            s.abortedUploads += 1
        }
    }

    // MARK: Jobs

    /// Starts the job of every open batch whose files are all uploaded (paced and
    /// throttling waited out by the pipeline's starter; the identity's client token makes
    /// a repeated start return the same job).
    func startJobs(journal: LedgerJournal) async throws {
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
            let extra = try await pipeline.s3.listObjects(bucket: destination.bucket, prefix: batch.prefix).map(\.key).filter { !keys.contains($0) }
            if !extra.isEmpty { try await pipeline.s3.deleteObjects(bucket: destination.bucket, keys: extra) }
            if let started = try await pipeline.start(job(batch, files: files), journal: journal) {
                log("import: batch \(batch.id): job \(started.jobId) started (\(files.count) file\(files.count == 1 ? "" : "s"))")
            }
        }
    }

    /// Polls started jobs (to their end with `wait`, else once) and settles their files from the manifests.
    func poll(_ s: inout SyncSummary, wait: Bool, journal: LedgerJournal) async throws {
        let started = try ledger.read { try $0.batches(.started) }.compactMap { b in
            b.jobId.map { (identity: ImportJobIdentity(datastoreId: destination.datastoreId, scope: ledger.ledgerId, number: b.id), jobId: $0) }
        }
        let stop = self.stop
        try await pipeline.follow(started, pauseFirst: false, once: !wait, shouldStop: { stop.isSet }, journal: journal)
        s.jobsRunning = try ledger.read { try $0.batches(.started) }.count
    }
}
