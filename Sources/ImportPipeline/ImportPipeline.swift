import DICOMCore
import Foundation
import Uploader

/// Where the pipeline records each step as it happens: validated → uploaded (with
/// parts, through ``UploadJournal``) → started → settled. `import` keeps it in memory
/// (``ImportReportJournal``, which builds its report); `sync` writes it to its SQLite
/// ledger. Every method throws when the record cannot be written; the pipeline then
/// stops and rethrows, so nothing is acknowledged that was not recorded.
public protocol ImportJournal: UploadJournal {
    /// A file was read: accepted, or rejected with its reason.
    func validated(_ candidate: ImportCandidate) async throws
    /// StartDICOMImportJob answered for this job (its files are now being imported).
    func jobStarted(_ job: PlannedImportJob, _ started: StartedImportJob) async throws
    /// StartDICOMImportJob failed for good (not throttling: that is waited out).
    func jobNotStarted(_ job: PlannedImportJob, error: Error) async throws
    /// The job ended: its properties and, unless it FAILED, its manifests.
    func jobEnded(_ job: ImportJobIdentity, jobId: String, properties: DICOMImportJobProperties, manifest: ImportManifest?) async throws
}

/// The steps every front end (`import`, `sync`, `watch`) shares once it has its files:
/// upload a job's files under the job's own prefix (CRC-32C from the read, multipart
/// for large files, resumable through the journal), start each job once through the
/// ``ImportJobStarter``, follow the jobs to their end with the ``ImportJobPoller`` and
/// read their manifests (``ImportManifest``). What happens to each file is told to the
/// ``ImportJournal``.
public struct ImportPipeline: Sendable {
    /// How uploads and polling run.
    public struct Settings: Sendable {
        /// Requests in flight at once (files and parts together).
        public var concurrency = 10
        /// Files at least this large (bytes) are uploaded in parts.
        public var multipartThreshold = 16 << 20
        /// Preferred part size in bytes (at least 5 MiB).
        public var partSize = 8 << 20
        /// Seconds to wait for a job's manifests after it ends.
        public var manifestTimeout = 120.0
        /// The longest pause between two polls, in seconds.
        public var maxPollInterval = 15.0
        /// Creates default settings.
        public init() {}
    }

    public let healthImaging: HealthImagingClient
    public let s3: S3Client
    public let destination: ImportDestination
    public let settings: Settings
    public let starter: ImportJobStarter
    /// Progress lines.
    public let log: (@Sendable (String) -> Void)?
    /// Whether progress lines are for a terminal (redrawn) or a log.
    public let interactive: Bool

    /// Creates a pipeline. `starter` defaults to one on `healthImaging` (one per process is enough).
    public init(healthImaging: HealthImagingClient, s3: S3Client, destination: ImportDestination, settings: Settings = Settings(),
                starter: ImportJobStarter? = nil, shouldStop: @escaping @Sendable () -> Bool = { false },
                log: (@Sendable (String) -> Void)? = nil, interactive: Bool = false) {
        self.healthImaging = healthImaging
        self.s3 = s3
        self.destination = destination
        self.settings = settings
        self.starter = starter ?? ImportJobStarter(client: healthImaging, shouldStop: shouldStop, log: log)
        self.log = log
        self.interactive = interactive
    }

    /// The planned job of a group of files.
    public func job(_ identity: ImportJobIdentity, files: [ImportFile]) -> PlannedImportJob {
        PlannedImportJob(identity: identity, prefix: destination.inputPrefix(identity), files: files)
    }

    /// Uploads the files of `jobs` (each under its job's prefix).
    /// - Returns: every file's result (a failed upload carries its error; the others go on).
    /// - Throws: the journal's error when it could not record a step.
    public func upload(_ jobs: [PlannedImportJob], journal: any ImportJournal) async throws -> [FolderUploader.Result] {
        let carryChecksum = s3.checksumAlgorithm == .crc32c
        let items = jobs.flatMap { job in
            job.files.map { FolderUploader.Item(path: $0.path, key: job.key(of: $0), checksum: carryChecksum ? $0.checksum : nil) }
        }
        guard !items.isEmpty else { return [] }
        let uploader = FolderUploader(client: s3, concurrency: settings.concurrency, multipartThreshold: settings.multipartThreshold,
                                      partSize: settings.partSize)
        return try await uploader.upload(items, bucket: destination.bucket, progress: { line in log?("upload: " + line) },
                                         interactive: interactive, journal: journal)
    }

    /// Starts a job once (paced, throttling waited out) and tells the journal.
    /// - Returns: the started job, or nil when the start failed for good (told to the journal).
    /// - Throws: the journal's error, or `CancellationError`.
    public func start(_ job: PlannedImportJob, journal: any ImportJournal) async throws -> StartedImportJob? {
        let started: StartedImportJob
        do {
            started = try await starter.start(destination.startRequest(job))
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            try await journal.jobNotStarted(job, error: error)
            return nil
        }
        try await journal.jobStarted(job, started)
        return started
    }

    /// Follows started jobs to their end (`once`: one round), reads each ended job's
    /// manifests and tells the journal.
    /// - Throws: the journal's error, S3's when a manifest cannot be read, or a
    ///   non-retryable HealthImaging error.
    public func follow(_ jobs: [(identity: ImportJobIdentity, jobId: String)], pauseFirst: Bool, once: Bool = false,
                       shouldStop: @escaping @Sendable () -> Bool = { false }, journal: any ImportJournal) async throws {
        let byJobId = Dictionary(jobs.map { ($0.jobId, $0.identity) }, uniquingKeysWith: { a, _ in a })
        let poller = ImportJobPoller(client: healthImaging, datastoreId: destination.datastoreId, maxInterval: settings.maxPollInterval,
                                     log: log)
        try await poller.poll(Array(byJobId.keys), pauseFirst: pauseFirst, once: once, shouldStop: shouldStop) { props in
            guard let identity = byJobId[props.jobId] else { return }
            log?("poll: job \(props.jobId) \(props.jobStatus.rawValue)\(props.message.map { ": " + $0 } ?? "")")
            var manifest: ImportManifest?
            if props.jobStatus != .failed {
                let output = ImportManifest.expandedOutput(props.outputS3Uri ?? destination.outputS3Uri(identity),
                                                           datastoreId: destination.datastoreId, jobId: props.jobId)
                manifest = try await ImportManifest.read(output, s3: s3, timeout: settings.manifestTimeout, progress: log)
            }
            try await journal.jobEnded(identity, jobId: props.jobId, properties: props, manifest: manifest)
        }
    }

    /// SOP Instance UID → image set, for every instance the data store already holds in these studies.
    public func existingInstances(studies: Set<String>) async throws -> [String: String] {
        var held: [String: String] = [:]
        for study in studies.sorted() {
            for set in try await healthImaging.searchImageSets(datastoreId: destination.datastoreId, attribute: "DICOMStudyInstanceUID",
                                                               equals: study) {
                let json = try await healthImaging.getImageSetMetadata(datastoreId: destination.datastoreId, imageSetId: set.imageSetId)
                for sop in ImageSetMetadataDocument.instances(json).keys where held[sop] == nil { held[sop] = set.imageSetId }
            }
        }
        return held
    }
}
