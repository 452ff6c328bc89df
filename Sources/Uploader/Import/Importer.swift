import Foundation

/// What happened to one local file.
public struct FileOutcome: Codable, Sendable {
    /// `imported`, `already-imported`, `failed` (HealthImaging refused it or its job failed),
    /// `skipped` (the validator found errors), `not-uploaded`, `planned` (dry run), `submitted` (--no-wait).
    public var status: String
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
    /// HealthImaging's warnings.
    public var warnings: [String]?
    /// Why it failed or was skipped.
    public var reason: String?
    /// StudyInstanceUID (not PHI).
    public var studyInstanceUID: String?

    /// Creates an outcome.
    public init(status: String, path: String, key: String? = nil, imageSetId: String? = nil, isPrimary: Bool? = nil,
                jobId: String? = nil, warnings: [String]? = nil, reason: String? = nil, studyInstanceUID: String? = nil) {
        self.status = status
        self.path = path
        self.key = key
        self.imageSetId = imageSetId
        self.isPrimary = isPrimary
        self.jobId = jobId
        self.warnings = warnings
        self.reason = reason
        self.studyInstanceUID = studyInstanceUID
    }
}

/// One import job's end.
public struct JobOutcome: Codable, Sendable {
    /// 1-based number within the run.
    public var number: Int
    /// HealthImaging's job id.
    public var jobId: String?
    /// The final status (or the one seen with --no-wait).
    public var status: String
    /// HealthImaging's message for FAILED jobs.
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
    /// The run id (part of every job's S3 prefix).
    public var runId: String
    /// The data store.
    public var datastoreId: String
    /// Every file, in walk order.
    public var files: [FileOutcome]
    /// Every job.
    public var jobs: [JobOutcome]
    /// Study → its image sets.
    public var studies: [String: [String]]

    /// Counts by status.
    public var counts: [String: Int] { Dictionary(grouping: files, by: \.status).mapValues(\.count) }
    /// True when every file that validated was imported (now or before).
    public var succeeded: Bool {
        files.allSatisfy { ["imported", "already-imported", "planned", "submitted", "skipped"].contains($0.status) }
    }

    /// True when some file was skipped as invalid.
    public var skippedAny: Bool { files.contains { $0.status == "skipped" } }
}

/// Runs an import end to end: skip what the data store already holds, plan jobs,
/// upload, start each job once (deterministic client token, 1 start per second),
/// poll with backoff, read the manifests (waiting for them if they lag) and map
/// every line back to its local file.
public struct Importer: Sendable {
    /// What to run against.
    public struct Settings: Sendable {
        public var datastoreId: String
        public var bucket: String
        public var prefix: String
        public var roleArn: String
        public var maxFilesPerJob = ImportJobQuotas.maxFilesPerJob
        public var maxBytesPerJob = ImportJobQuotas.maxBytesPerJob
        public var concurrency = 10
        public var wait = true
        public var dryRun = false
        public var cleanup = false
        public var skipExisting = true
        /// Seconds to wait for manifests after a job ends.
        public var manifestTimeout = 120.0
        /// The longest pause between two polls of one job.
        public var maxPollInterval = 15.0
        public init(datastoreId: String, bucket: String, prefix: String, roleArn: String) {
            self.datastoreId = datastoreId
            self.bucket = bucket
            self.prefix = prefix
            self.roleArn = roleArn
        }
    }

    public let healthImaging: HealthImagingClient
    public let s3: S3Client
    public let settings: Settings
    /// Phase and progress lines (`validate`, `upload`, `import`, `poll`).
    public let progress: (@Sendable (String) -> Void)?
    /// Whether progress lines are for a terminal (redrawn) or a log.
    public let interactive: Bool

    public init(healthImaging: HealthImagingClient, s3: S3Client, settings: Settings,
                progress: (@Sendable (String) -> Void)? = nil, interactive: Bool = false) {
        self.healthImaging = healthImaging
        self.s3 = s3
        self.settings = settings
        self.progress = progress
        self.interactive = interactive
    }

    /// Imports `files` (already validated; `skipped` carries the outcomes of files that were not).
    public func run(_ files: [ImportFile], skipped: [FileOutcome], runId: String = ImportPlanner.newRunId()) async throws -> ImportReport {
        var outcomes: [String: FileOutcome] = [:]
        for s in skipped { outcomes[s.path] = s }
        var studies: [String: Set<String>] = [:]
        var toImport = files
        if settings.skipExisting && !settings.dryRun {
            progress?("import: asking the data store which instances it already holds")
            let held = try await existingInstances(studies: Set(files.map(\.studyInstanceUID)))
            toImport = files.filter { f in
                guard let setId = held[f.sopInstanceUID] else { return true }
                outcomes[f.path] = FileOutcome(status: "already-imported", path: f.path, imageSetId: setId,
                                               studyInstanceUID: f.studyInstanceUID)
                studies[f.studyInstanceUID, default: []].insert(setId)
                return false
            }
        }
        let plans = ImportPlanner.plan(toImport, runId: runId, prefix: settings.prefix, maxFiles: settings.maxFilesPerJob,
                                       maxBytes: settings.maxBytesPerJob)
        var jobs = plans.map { JobOutcome(number: $0.number, jobId: nil, status: "PLANNED", files: $0.files.count,
                                          inputS3Uri: "s3://\(settings.bucket)/\($0.prefix)") }
        func finish() -> ImportReport {
            ImportReport(runId: runId, datastoreId: settings.datastoreId,
                         files: (files.map(\.path) + skipped.map(\.path)).compactMap { outcomes[$0] }
                            .sorted { $0.path < $1.path },
                         jobs: jobs, studies: studies.mapValues { $0.sorted() })
        }
        if settings.dryRun {
            for p in plans { for f in p.files {
                outcomes[f.path] = FileOutcome(status: "planned", path: f.path, key: p.key(of: f), studyInstanceUID: f.studyInstanceUID)
            } }
            return finish()
        }

        // Upload every job's files.
        let uploads = plans.flatMap { p in p.files.map { (path: $0.path, key: p.key(of: $0)) } }
        if !uploads.isEmpty {
            let uploader = FolderUploader(client: s3, concurrency: settings.concurrency)
            let results = await uploader.upload(uploads, bucket: settings.bucket, progress: { line in progress?("upload: " + line) },
                                                interactive: interactive)
            for r in results where r.error != nil {
                outcomes[r.path] = FileOutcome(status: "not-uploaded", path: r.path, key: r.key, reason: r.error)
            }
        }

        // Start each job once, at most one start per second.
        var started: [(plan: ImportJobPlan, jobId: String)] = []
        for (i, p) in plans.enumerated() {
            let uploaded = p.files.filter { outcomes[$0.path]?.status != "not-uploaded" }
            guard !uploaded.isEmpty else { jobs[i].status = "NOT_STARTED"; continue }
            if !started.isEmpty { try await Task.sleep(nanoseconds: 1_050_000_000) }
            let job = try await healthImaging.startDICOMImportJob(
                datastoreId: settings.datastoreId, jobName: "ahi-upload-\(runId)-\(p.number)", roleArn: settings.roleArn,
                clientToken: ImportPlanner.clientToken(datastoreId: settings.datastoreId, runId: runId, job: p.number),
                inputS3Uri: "s3://\(settings.bucket)/\(p.prefix)", outputS3Uri: "s3://\(settings.bucket)/\(p.prefix)output/")
            progress?("import: job \(p.number)/\(plans.count) started: \(job.jobId) (\(uploaded.count) files)")
            jobs[i].jobId = job.jobId
            jobs[i].status = job.jobStatus.rawValue
            started.append((p, job.jobId))
            for f in uploaded {
                outcomes[f.path] = FileOutcome(status: "submitted", path: f.path, key: p.key(of: f), jobId: job.jobId,
                                               studyInstanceUID: f.studyInstanceUID)
            }
        }
        guard settings.wait else { return finish() }

        // Poll every job to its end.
        var ended: [String: DICOMImportJobProperties] = [:]
        let poller = ImportJobPoller(client: healthImaging, datastoreId: settings.datastoreId, maxInterval: settings.maxPollInterval,
                                     log: progress)
        try await poller.poll(started.map(\.jobId), pauseFirst: true) { props in
            ended[props.jobId] = props
            progress?("poll: job \(props.jobId) \(props.jobStatus)\(props.message.map { ": " + $0 } ?? "")")
        }

        // Read each job's manifests and map every line to its file.
        for (plan, jobId) in started {
            guard let props = ended[jobId], let i = jobs.firstIndex(where: { $0.number == plan.number }) else { continue }
            jobs[i].status = props.jobStatus.rawValue
            jobs[i].message = props.message
            let byKey = Dictionary(uniqueKeysWithValues: plan.files.map { (plan.key(of: $0), $0) })
            if props.jobStatus == .failed {
                for f in plan.files where outcomes[f.path]?.status == "submitted" {
                    outcomes[f.path]?.status = "failed"
                    outcomes[f.path]?.reason = "import job \(jobId) FAILED: \(props.message ?? "no message")"
                }
                continue
            }
            let output = Self.expandedOutput(props.outputS3Uri ?? "s3://\(settings.bucket)/\(plan.prefix)output/",
                                             datastoreId: settings.datastoreId, jobId: jobId)
            jobs[i].outputS3Uri = output
            let manifests = try await readManifests(output)
            for line in manifests.success + manifests.warning {
                guard let f = byKey[line.inputFile] else { continue }
                outcomes[f.path]?.status = "imported"
                outcomes[f.path]?.imageSetId = line.imageSetId
                outcomes[f.path]?.isPrimary = line.isPrimary
                if !line.warnings.isEmpty { outcomes[f.path]?.warnings = line.warnings }
                if let id = line.imageSetId { studies[f.studyInstanceUID, default: []].insert(id) }
            }
            for line in manifests.failure {
                guard let f = byKey[line.inputFile] else { continue }
                outcomes[f.path]?.status = "failed"
                outcomes[f.path]?.reason = line.reason
            }
            for f in plan.files where outcomes[f.path]?.status == "submitted" {
                outcomes[f.path]?.status = "failed"
                outcomes[f.path]?.reason = "not in the job's manifests"
            }
            if settings.cleanup, plan.files.allSatisfy({ outcomes[$0.path]?.status == "imported" }) {
                try? await s3.deleteObjects(bucket: settings.bucket, keys: plan.files.map { plan.key(of: $0) })
            }
        }
        return finish()
    }

    /// `outputS3Uri` as GetDICOMImportJob returns it, made to end in `<datastore>-DicomImport-<job>/`.
    public static func expandedOutput(_ uri: String, datastoreId: String, jobId: String) -> String {
        var u = uri.hasSuffix("/") ? uri : uri + "/"
        if !u.hasSuffix("-DicomImport-\(jobId)/") { u += "\(datastoreId)-DicomImport-\(jobId)/" }
        return u
    }

    /// One manifest line, reduced to what the report needs.
    public struct ManifestLine: Sendable {
        /// The object key (relative to the bucket) the line is about.
        public var inputFile: String
        /// The image set it went into.
        public var imageSetId: String?
        /// Whether that image set is primary.
        public var isPrimary: Bool?
        /// Warnings, `TYPE: message`.
        public var warnings: [String] = []
        /// Why it failed (`exceptionType: message`).
        public var reason: String?
        /// The failure's `exceptionType` (`ValidationException`, …).
        public var exceptionType: String?
    }

    /// Reads the three ndjson files after `job-output-manifest.json` appears (it may lag the job's end).
    public func readManifests(_ output: String) async throws -> (success: [ManifestLine], failure: [ManifestLine], warning: [ManifestLine]) {
        try await Self.readManifests(output, s3: s3, timeout: settings.manifestTimeout, progress: progress)
    }

    /// Reads a job's manifests under `output` (the expanded output URI), waiting up to
    /// `timeout` seconds for `job-output-manifest.json` to appear.
    public static func readManifests(_ output: String, s3: S3Client, timeout: Double, progress: (@Sendable (String) -> Void)?)
        async throws -> (success: [ManifestLine], failure: [ManifestLine], warning: [ManifestLine]) {
        let rest = output.dropFirst("s3://".count)
        let bucket = String(rest.prefix { $0 != "/" })
        let prefix = String(rest.dropFirst(bucket.count + 1))
        let deadline = Date().addingTimeInterval(timeout)
        while try await s3.headObject(bucket: bucket, key: prefix + "job-output-manifest.json") == nil {
            guard Date() < deadline else {
                throw AWSError.invalidResponse(operation: "GetObject",
                                               reason: "\(output)job-output-manifest.json did not appear within \(Int(timeout)) s")
            }
            progress?("poll: waiting for the manifests at \(output)")
            try await Task.sleep(nanoseconds: 1_000_000_000)
        }
        func lines(_ name: String) async throws -> [[String: Any]] {
            guard try await s3.headObject(bucket: bucket, key: prefix + name) != nil else { return [] }
            let text = String(decoding: try await s3.getObject(bucket: bucket, key: prefix + name), as: UTF8.self)
            return text.split(separator: "\n").compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
            }
        }
        func imported(_ o: [String: Any]) -> ManifestLine? {
            guard let file = o["inputFile"] as? String else { return nil }
            let r = o["importResponse"] as? [String: Any] ?? [:]
            let warnings = (r["warnings"] as? [[String: Any]] ?? []).map { w in
                [w["type"] as? String, w["message"] as? String].compactMap { $0 }.joined(separator: ": ")
            }
            return ManifestLine(inputFile: file, imageSetId: r["imageSetId"] as? String, isPrimary: r["isPrimary"] as? Bool,
                                warnings: warnings)
        }
        let success = try await lines("SUCCESS/success.ndjson").compactMap(imported)
        let warning = try await lines("WARNING/warning.ndjson").compactMap(imported)
        let failure = try await lines("FAILURE/failure.ndjson").compactMap { o -> ManifestLine? in
            guard let file = o["inputFile"] as? String else { return nil }
            let e = o["exception"] as? [String: Any] ?? [:]
            let reason = [e["exceptionType"] as? String, e["message"] as? String].compactMap { $0 }.joined(separator: ": ")
            return ManifestLine(inputFile: file, reason: reason.isEmpty ? "failed at import" : reason,
                                exceptionType: e["exceptionType"] as? String)
        }
        return (success, failure, warning)
    }

    /// SOP Instance UID → image set, for every instance the data store already holds in these studies.
    func existingInstances(studies: Set<String>) async throws -> [String: String] {
        var held: [String: String] = [:]
        for study in studies.sorted() {
            for set in try await healthImaging.searchImageSets(datastoreId: settings.datastoreId, attribute: "DICOMStudyInstanceUID",
                                                               equals: study) {
                let json = try await healthImaging.getImageSetMetadata(datastoreId: settings.datastoreId, imageSetId: set.imageSetId)
                for sop in ImageSetMetadataDocument.instances(json).keys where held[sop] == nil { held[sop] = set.imageSetId }
            }
        }
        return held
    }
}
