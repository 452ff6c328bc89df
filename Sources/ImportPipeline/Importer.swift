import DICOMCore
import DICOMweb
import Foundation
import Uploader

/// What happened to one local file.
public struct FileOutcome: Codable, Sendable {
    /// `imported`, `already-imported`, `failed`, `skipped`, `not-uploaded`, `planned` (dry run), `submitted` (--no-wait).
    public var status: FileStatus
    /// The local path.
    public var path: String
    /// The object key it was uploaded to.
    public var key: String?
    /// The image set it went into.
    public var imageSetId: String?
    /// Whether that image set is the primary one of its series.
    public var isPrimary: Bool?
    /// The import job.
    public var jobId: String?
    /// HealthImaging's warnings, `TYPE (CODE): message`.
    public var warnings: [String]?
    /// Why it failed or was skipped.
    public var reason: String?
    /// For a failure: `customer` (the data) or `server` (worth retrying).
    public var failureKind: FailureKind?
    /// StudyInstanceUID (not PHI).
    public var studyInstanceUID: String?

    /// Creates an outcome.
    public init(status: FileStatus, path: String, key: String? = nil, imageSetId: String? = nil, isPrimary: Bool? = nil,
                jobId: String? = nil, warnings: [String]? = nil, reason: String? = nil, failureKind: FailureKind? = nil,
                studyInstanceUID: String? = nil) {
        self.status = status
        self.path = path
        self.key = key
        self.imageSetId = imageSetId
        self.isPrimary = isPrimary
        self.jobId = jobId
        self.warnings = warnings
        self.reason = reason
        self.failureKind = failureKind
        self.studyInstanceUID = studyInstanceUID
    }
}

/// One import job's end.
public struct JobOutcome: Codable, Sendable {
    /// 1-based number within the run.
    public var number: Int
    /// HealthImaging's job id.
    public var jobId: String?
    /// The final status (or the one seen with --no-wait; PLANNED, NOT_STARTED before that).
    public var status: String
    /// HealthImaging's message for FAILED jobs, or why the job was not started.
    public var message: String?
    /// Files in the job.
    public var files: Int
    /// The S3 prefix the job read.
    public var inputS3Uri: String
    /// The expanded output URI (manifests).
    public var outputS3Uri: String?
}

/// The whole run, for `--report FILE.json` and the summary.
public struct ImportReport: Codable, Sendable {
    /// The run id (the scope of every job's identity and S3 prefix).
    public var runId: String
    /// The data store.
    public var datastoreId: String
    /// `K/N` when the run worked one shard of the folder.
    public var shard: String?
    /// Every file, by path.
    public var files: [FileOutcome]
    /// Every job.
    public var jobs: [JobOutcome]
    /// Study → its image sets.
    public var studies: [String: [String]]
    /// Findings across the accepted files (duplicate SOP instances, disagreeing patient/study attributes).
    public var crossFile: [CrossFileWarning]
    /// How the files were delivered (`s3-import` or `stow-rs`); nil in reports of earlier versions.
    public var via: Delivery?

    /// Counts by status (raw values).
    public var counts: [String: Int] { Dictionary(grouping: files, by: \.status.rawValue).mapValues(\.count) }
    /// True when every file that validated was imported (now or before), planned or submitted.
    public var succeeded: Bool {
        files.allSatisfy { [.imported, .alreadyImported, .planned, .submitted, .skipped].contains($0.status) }
    }

    /// True when some file was skipped as invalid.
    public var skippedAny: Bool { files.contains { $0.status == .skipped } }
}

/// `import`'s journal: kept in memory, it is the run's report.
final class ImportReportJournal: ImportJournal, @unchecked Sendable {
    // @unchecked: all state under `lock`.
    private let lock = NSLock()
    private var outcomes: [String: FileOutcome] = [:]
    private var jobs: [Int: JobOutcome] = [:]
    private var studies: [String: Set<String>] = [:]
    private var keys: [String: (path: String, study: String)] = [:]

    var stopRequested: Bool { false }

    func set(_ o: FileOutcome) { lock.withLock { outcomes[o.path] = o } }
    func outcome(_ path: String) -> FileOutcome? { lock.withLock { outcomes[path] } }
    func setJob(_ j: JobOutcome) { lock.withLock { jobs[j.number] = j } }
    func addStudy(_ study: String, imageSet: String) { lock.withLock { _ = studies[study, default: []].insert(imageSet) } }

    func report(runId: String, datastoreId: String, shard: Shard, crossFile: [CrossFileWarning], via: Delivery) -> ImportReport {
        lock.withLock {
            ImportReport(runId: runId, datastoreId: datastoreId, shard: shard.count > 1 ? shard.description : nil,
                         files: outcomes.values.sorted { $0.path < $1.path }, jobs: jobs.values.sorted { $0.number < $1.number },
                         studies: studies.mapValues { $0.sorted() }, crossFile: crossFile, via: via)
        }
    }

    /// Records what STOW-RS answered for each file.
    func stored(_ outcomes: [(StoreItem, StoreOutcome)], files: [String: ImportFile]) {
        lock.withLock {
            for (item, outcome) in outcomes {
                let s = StowDelivery.settle(outcome)
                self.outcomes[item.path] = FileOutcome(status: s.stored ? .imported : .failed, path: item.path,
                                                       warnings: s.warnings.isEmpty ? nil : s.warnings, reason: s.reason,
                                                       failureKind: s.kind, studyInstanceUID: files[item.path]?.studyInstanceUID)
            }
        }
    }

    /// Records which job's keys belong to which files.
    func planned(_ job: PlannedImportJob, inputS3Uri: String) {
        lock.withLock {
            for f in job.files { keys[job.key(of: f)] = (f.path, f.studyInstanceUID) }
            jobs[job.number] = JobOutcome(number: job.number, jobId: nil, status: "PLANNED", files: job.files.count, inputS3Uri: inputS3Uri)
        }
    }

    // MARK: ImportJournal

    func validated(_ c: ImportCandidate) async throws {
        if let why = c.rejection { set(FileOutcome(status: .skipped, path: c.path, reason: why, studyInstanceUID: c.studyInstanceUID)) }
    }

    func openUpload(path: String, key: String) async throws -> String? { nil }
    func multipartCreated(path: String, key: String, uploadId: String) async throws {}
    func partUploaded(path: String, key: String, uploadId: String, part: S3Part) async throws {}

    func fileFinished(_ r: FolderUploader.Result) async throws {
        lock.withLock {
            if let error = r.error {
                outcomes[r.path] = FileOutcome(status: .notUploaded, path: r.path, key: r.key, reason: error, failureKind: .server,
                                               studyInstanceUID: keys[r.key]?.study)
            } else {
                outcomes[r.path] = FileOutcome(status: .uploaded, path: r.path, key: r.key, studyInstanceUID: keys[r.key]?.study)
            }
        }
    }

    func jobStarted(_ job: PlannedImportJob, _ started: StartedImportJob) async throws {
        lock.withLock {
            jobs[job.number]?.jobId = started.jobId
            jobs[job.number]?.status = started.jobStatus.rawValue
            for f in job.files where outcomes[f.path]?.status == .uploaded {
                outcomes[f.path]?.status = .submitted
                outcomes[f.path]?.jobId = started.jobId
            }
        }
    }

    func jobNotStarted(_ job: PlannedImportJob, error: Error) async throws {
        lock.withLock {
            jobs[job.number]?.status = "NOT_STARTED"
            jobs[job.number]?.message = "\(error)"
            for f in job.files where outcomes[f.path]?.status == .uploaded {
                outcomes[f.path]?.status = .failed
                outcomes[f.path]?.reason = "StartDICOMImportJob: \(error)"
                outcomes[f.path]?.failureKind = .server
            }
        }
    }

    func jobEnded(_ job: ImportJobIdentity, jobId: String, properties props: DICOMImportJobProperties, manifest: ImportManifest?) async throws {
        lock.withLock {
            jobs[job.number]?.status = props.jobStatus.rawValue
            jobs[job.number]?.message = props.message
            if let out = props.outputS3Uri {
                jobs[job.number]?.outputS3Uri = ImportManifest.expandedOutput(out, datastoreId: props.datastoreId, jobId: jobId)
            }
            let submitted = keys.filter { outcomes[$0.value.path]?.jobId == jobId && outcomes[$0.value.path]?.status == .submitted }
            for (key, file) in submitted {
                guard let manifest else {
                    outcomes[file.path]?.status = .failed
                    outcomes[file.path]?.reason = "import job \(jobId) FAILED: \(props.message ?? "no message")"
                    outcomes[file.path]?.failureKind = .server
                    continue
                }
                switch manifest.outcome(of: key) {
                case .imported(let imageSetId, let isPrimary, let warnings):
                    outcomes[file.path]?.status = .imported
                    outcomes[file.path]?.imageSetId = imageSetId
                    outcomes[file.path]?.isPrimary = isPrimary
                    if !warnings.isEmpty { outcomes[file.path]?.warnings = warnings }
                    if let imageSetId { studies[file.study, default: []].insert(imageSetId) }
                case .failed(let reason, let kind):
                    outcomes[file.path]?.status = .failed
                    outcomes[file.path]?.reason = reason
                    outcomes[file.path]?.failureKind = kind
                case .missing:
                    outcomes[file.path]?.status = .failed
                    outcomes[file.path]?.reason = "not in the job's manifests"
                    outcomes[file.path]?.failureKind = .server
                }
            }
        }
    }
}

/// `import`: candidates in, report out. Skips what the data store already holds, then
/// either groups the rest into jobs (per study, within the quotas) and runs them through
/// the ``ImportPipeline`` (upload, start each job once, poll, read the manifests, map every
/// line back to its local file), or sends them with STOW-RS (``StowDelivery``) and reads
/// each instance's outcome from the answers.
public struct Importer: Sendable {
    /// What `import` does beyond the pipeline.
    public struct Settings: Sendable {
        public var maxFilesPerJob = ImportJobQuotas.maxFilesPerJob
        public var maxBytesPerJob = ImportJobQuotas.maxBytesPerJob
        /// Follow the jobs to their end (else start them and return).
        public var wait = true
        /// Plan only.
        public var dryRun = false
        /// Delete a job's objects once all its files are imported.
        public var cleanup = false
        /// Report instances the data store already holds instead of sending them again.
        public var skipExisting = true
        /// The shard the candidates were read for (recorded in the report).
        public var shard = Shard.all
        /// Show patient-identifying values in cross-file findings.
        public var showPHI = false
        public init() {}
    }

    /// S3 and HealthImaging: the import jobs, and the data store's index for `skipExisting`
    /// (nil when files go by STOW-RS to a server that is not HealthImaging).
    public let pipeline: ImportPipeline?
    /// When set, files go by STOW-RS instead of import jobs.
    public let stow: StowDelivery?
    public let settings: Settings

    /// An importer through import jobs (`stow` nil) or STOW-RS; one of the two must be given.
    public init(pipeline: ImportPipeline?, stow: StowDelivery? = nil, settings: Settings) {
        precondition(pipeline != nil || stow != nil, "an importer needs a pipeline or a STOW-RS delivery")
        self.pipeline = pipeline
        self.stow = stow
        self.settings = settings
    }

    /// Imports the accepted candidates; rejected ones (and `unreadable`, the walk's problems)
    /// are reported as skipped. `relativePath` gives a file's key tail.
    /// - Throws: HealthImaging or S3 errors that end the whole run (not per-file failures).
    public func run(_ candidates: [ImportCandidate], unreadable: [(path: String, reason: String)] = [],
                    relativePath: (String) -> String, runId: String = ImportGrouping.newRunId()) async throws -> ImportReport {
        let journal = ImportReportJournal()
        let datastoreId = pipeline?.destination.datastoreId ?? stow?.client.baseURL ?? ""
        for p in unreadable { journal.set(FileOutcome(status: .skipped, path: p.path, reason: p.reason)) }
        var files: [ImportFile] = []
        for c in candidates where c.verdict != .otherShard {
            try await journal.validated(c)
            if let f = c.importFile(relativePath: relativePath(c.path)) { files.append(f) }
        }
        let crossFile = ImportCandidate.crossFileWarnings(candidates, showPHI: settings.showPHI).map(CrossFileWarning.init)
        let log = pipeline?.log ?? stow?.log
        for w in crossFile { log?("validate: \(w.line)") }

        if settings.skipExisting && !settings.dryRun && !files.isEmpty, let pipeline {
            log?("import: asking the data store which instances it already holds")
            let held = try await pipeline.existingInstances(studies: Set(files.map(\.studyInstanceUID)))
            files = files.filter { f in
                guard let setId = held[f.sopInstanceUID] else { return true }
                journal.set(FileOutcome(status: .alreadyImported, path: f.path, imageSetId: setId, studyInstanceUID: f.studyInstanceUID))
                journal.addStudy(f.studyInstanceUID, imageSet: setId)
                return false
            }
        }
        if let stow {
            func finish() -> ImportReport {
                journal.report(runId: runId, datastoreId: datastoreId, shard: settings.shard, crossFile: crossFile, via: .stowRS)
            }
            if settings.dryRun {
                for f in files { journal.set(FileOutcome(status: .planned, path: f.path, studyInstanceUID: f.studyInstanceUID)) }
                return finish()
            }
            let byPath = Dictionary(files.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
            let total = files.count, bytes = files.reduce(0) { $0 + $1.size }
            log?("stow-rs: \(total) instance\(total == 1 ? "" : "s") (\(bytes) bytes) to \(stow.client.baseURL)")
            let progress = StoreProgress(total: total)
            try await stow.client.store(files.map(StowDelivery.item), limits: stow.limits) { outcomes in
                journal.stored(outcomes, files: byPath)
                let (done, stored) = progress.add(outcomes)
                log?("stow-rs: \(done)/\(total) answered, \(stored) stored")
            }
            return finish()
        }
        guard let pipeline else { return journal.report(runId: runId, datastoreId: datastoreId, shard: settings.shard, crossFile: crossFile, via: .s3Import) }
        let destination = pipeline.destination
        let jobs = ImportGrouping.group(files, maxFiles: settings.maxFilesPerJob, maxBytes: settings.maxBytesPerJob)
            .enumerated().map { i, group in
                pipeline.job(ImportJobIdentity(datastoreId: destination.datastoreId, scope: runId, number: i + 1), files: group)
            }
        for job in jobs { journal.planned(job, inputS3Uri: destination.inputS3Uri(job.identity)) }
        func finish() -> ImportReport {
            journal.report(runId: runId, datastoreId: destination.datastoreId, shard: settings.shard, crossFile: crossFile, via: .s3Import)
        }
        if settings.dryRun {
            for job in jobs { for f in job.files {
                journal.set(FileOutcome(status: .planned, path: f.path, key: job.key(of: f), studyInstanceUID: f.studyInstanceUID))
            } }
            return finish()
        }

        _ = try await pipeline.upload(jobs, journal: journal)
        var started: [(identity: ImportJobIdentity, jobId: String)] = []
        for job in jobs {
            guard job.files.contains(where: { journal.outcome($0.path)?.status == .uploaded }) else {
                journal.setJob(JobOutcome(number: job.number, jobId: nil, status: "NOT_STARTED", message: "no file was uploaded",
                                          files: job.files.count, inputS3Uri: destination.inputS3Uri(job.identity)))
                continue
            }
            if let s = try await pipeline.start(job, journal: journal) {
                log?("import: job \(job.number)/\(jobs.count) started: \(s.jobId) (\(job.files.count) files)")
                started.append((job.identity, s.jobId))
            }
        }
        guard settings.wait else { return finish() }
        try await pipeline.follow(started, pauseFirst: true, journal: journal)
        if settings.cleanup {
            for job in jobs where job.files.allSatisfy({ journal.outcome($0.path)?.status == .imported }) {
                try? await pipeline.s3.deleteObjects(bucket: destination.bucket, keys: job.files.map { job.key(of: $0) })
            }
        }
        return finish()
    }
}

/// Counts STOW-RS answers for progress lines.
final class StoreProgress: @unchecked Sendable {
    // @unchecked: counters under `lock`.
    private let lock = NSLock()
    private var done = 0, stored = 0
    let total: Int
    init(total: Int) { self.total = total }
    func add(_ outcomes: [(StoreItem, StoreOutcome)]) -> (done: Int, stored: Int) {
        lock.withLock {
            done += outcomes.count
            stored += outcomes.filter { $0.1.isStored }.count
            return (done, stored)
        }
    }
}
