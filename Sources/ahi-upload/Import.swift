import ArgumentParser
import DICOMCore
import Foundation
import LocalHealthImaging
import Uploader

/// Settings that can come from flags, environment variables or the config file.
struct ImportDefaults {
    /// `~/.config/ahi-upload/config` (or `AHI_UPLOAD_CONFIG`): `key = value` lines, `#` comments.
    static func configFile(_ env: [String: String]) -> [String: String] {
        let home = env["HOME"] ?? NSHomeDirectory()
        let path = env["AHI_UPLOAD_CONFIG"] ?? "\(home)/.config/ahi-upload/config"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var out: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty, !t.hasPrefix("#"), let eq = t.firstIndex(of: "=") else { continue }
            out[t[..<eq].trimmingCharacters(in: .whitespaces)] = t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// Flag, else `AHI_<NAME>`, else the config file's `name`.
    static func pick(_ flag: String?, _ name: String, env: [String: String], file: [String: String]) -> String? {
        if let flag, !flag.isEmpty { return flag }
        let variable = "AHI_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
        if let v = env[variable], !v.isEmpty { return v }
        return file[name]
    }
}

/// Where uploads go and the role HealthImaging reads them with (`import`, `sync`, `watch`).
struct DestinationOptions: ParsableArguments {
    @Option(help: "S3 bucket for the upload (HealthImaging reads it with the data access role; or AHI_BUCKET).")
    var bucket: String?

    @Option(help: "Key prefix in the bucket (default: ahi-upload; or AHI_PREFIX).")
    var prefix: String?

    @Option(name: .customLong("role-arn"), help: "The data access role HealthImaging assumes to read the bucket (or AHI_ROLE_ARN).")
    var roleArn: String?
}

/// How much is in flight and how big a job gets (`import`, `sync`, `watch`).
struct JobLimitOptions: ParsableArguments {
    @Option(help: "Requests in flight at once.")
    var concurrency = 10

    @Option(name: .customLong("max-files-per-job"), help: "Files per import job (HealthImaging's quota: 5,000).")
    var maxFilesPerJob = ImportJobQuotas.maxFilesPerJob

    @Option(name: .customLong("max-bytes-per-job"), help: "Bytes per import job (HealthImaging's quota: 10 GB).")
    var maxBytesPerJob = ImportJobQuotas.maxBytesPerJob
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate, upload and import a folder of DICOM files into a HealthImaging data store (the default command).",
        discussion: """
            Files with validation errors are skipped and reported (--force imports them anyway). \
            Instances the data store already holds are reported as already imported and not sent \
            again (--no-skip-existing to send them). The rest is planned into import jobs (per \
            study, within --max-files-per-job and --max-bytes-per-job), uploaded to \
            s3://BUCKET/PREFIX/<run-id>/job-NNNN/, and each job is started once and followed to \
            its end; its manifests are read and every line mapped back to a local file.

            Defaults for --datastore, --bucket, --prefix, --role-arn, --region, --profile, \
            --endpoint-url and --s3-endpoint-url come, in this order, from the flag, the \
            environment (AHI_DATASTORE, AHI_BUCKET, AHI_PREFIX, AHI_ROLE_ARN, AHI_REGION, \
            AHI_PROFILE, AHI_ENDPOINT_URL, AHI_S3_ENDPOINT_URL) and the config file \
            ~/.config/ahi-upload/config (AHI_UPLOAD_CONFIG to move it; lines such as \
            `datastore = 0123…`, `bucket = my-bucket`, `role-arn = arn:aws:iam::…`).

            --local runs everything against a local HealthImaging started in this process \
            (no AWS account): data under ~/.local/state/ahi-upload/local (--local-dir).

            Exit status: 0 when every file was imported (now or before); 1 when a valid file was \
            not imported (refused by HealthImaging, its job failed, or its upload failed); 2 when \
            every valid file was imported but some files were skipped as invalid.
            """)

    @Argument(help: "The folder (or files) to import.")
    var paths: [String]

    @OptionGroup var service: ServiceOptions

    @OptionGroup var destination: DestinationOptions
    var bucket: String? { destination.bucket }
    var prefix: String? { destination.prefix }
    var roleArn: String? { destination.roleArn }

    @Flag(help: "Use HealthImaging's FIPS endpoint.")
    var fips = false

    @Flag(name: .customLong("dual-stack"), help: "Use the dual-stack (IPv6) endpoint.")
    var dualStack = false

    @OptionGroup var limits: JobLimitOptions
    var concurrency: Int { limits.concurrency }
    var maxFilesPerJob: Int { limits.maxFilesPerJob }
    var maxBytesPerJob: Int { limits.maxBytesPerJob }

    @Flag(name: .customLong("dry-run"), help: "Validate and plan; print the jobs; upload nothing.")
    var dryRun = false

    @Flag(name: .customLong("no-wait"), help: "Start the jobs, print their ids and exit.")
    var noWait = false

    @Flag(help: "Delete a job's uploaded objects once all its files are imported.")
    var cleanup = false

    @Flag(inversion: .prefixedNo, help: "Report instances the data store already holds instead of sending them again.")
    var skipExisting = true

    @Flag(help: "Import files even when the validator finds errors.")
    var force = false

    @Option(help: "Output: text (summary) or json (the report).")
    var output: Validate.Output = .text

    @Option(help: "Write the JSON report to this file.")
    var report: String?

    @Flag(name: .shortAndLong, help: "Only errors and the summary.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Every file's outcome, not only the failed ones.")
    var verbose = false

    @Flag(name: .customLong("show-phi"), help: "Show patient names, IDs and birth dates in messages.")
    var showPHI = false

    @Flag(help: "Start a local HealthImaging in this process and import into it (no AWS account needed).")
    var local = false

    @Option(name: .customLong("local-dir"), help: "Where --local keeps its data (default: ~/.local/state/ahi-upload/local).")
    var localDir: String?


    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        let file = ImportDefaults.configFile(env)
        func pick(_ flag: String?, _ name: String) -> String? { ImportDefaults.pick(flag, name, env: env, file: file) }
        let interactive = isatty(2) == 1 && !quiet
        let progress: @Sendable (String) -> Void = { line in
            if quiet { return }
            if interactive { printError("\r\u{1B}[K" + line, terminator: "") } else { printError(line) }
        }
        var debugLog: (@Sendable (String) -> Void)?
        if service.debug { debugLog = { printError("debug: " + $0) } }

        // Validate.
        progress("validate: walking \(paths.joined(separator: ", "))")
        let (found, problems) = FileWalker.files(under: paths)
        let results = await Validate.validateAll(found, options: ValidationOptions(showPHI: showPHI),
                                                 jobs: ProcessInfo.processInfo.activeProcessorCount)
        var skipped = problems.map { FileOutcome(status: "skipped", path: $0.path, reason: $0.reason) }
        var files: [ImportFile] = []
        for r in results {
            let errors = r.diagnostics.filter { $0.severity == .error }
            guard let s = r.summary, let study = s.studyInstanceUID, let sop = s.sopInstanceUID, let series = r.seriesInstanceUID,
                  errors.isEmpty || force else {
                skipped.append(FileOutcome(status: "skipped", path: r.path,
                                           reason: errors.first.map { "\($0.code): \($0.message)" } ?? "not a DICOM instance with Study/Series/SOP Instance UIDs"))
                continue
            }
            files.append(ImportFile(path: r.path, relativePath: Self.relative(r.path, to: paths), size: s.size,
                                    studyInstanceUID: study, seriesInstanceUID: series, sopInstanceUID: sop))
        }
        progress("validate: \(files.count) files to import, \(skipped.count) skipped")
        if interactive { printError("") }

        // Where to.
        var server: LocalHealthImagingServer?
        let healthImaging: HealthImagingClient, s3: S3Client
        var settings: Importer.Settings
        if local {
            let home = env["HOME"] ?? NSHomeDirectory()
            let dir = URL(fileURLWithPath: localDir ?? "\(home)/.local/state/ahi-upload/local")
            let started = try await LocalHealthImagingServer.start(LocalHealthImagingServer.Configuration(dataDirectory: dir))
            server = started
            let creds = AWSCredentials(accessKeyId: LocalHealthImagingServer.defaultAccessKeyId,
                                       secretAccessKey: LocalHealthImagingServer.defaultSecretAccessKey, source: "ahi-local")
            healthImaging = try HealthImagingClient.make(region: "us-east-1", endpointURL: started.endpoint, credentials: { creds },
                                                         debug: debugLog)
            s3 = try S3Setup.makeClient(endpointURL: started.endpoint, region: "us-east-1", credentials: creds,
                                        connections: concurrency, debug: debugLog)
            try await s3.createBucket("ahi-local-imports")
            var datastoreId = service.datastore
            if datastoreId == nil {
                datastoreId = try await healthImaging.listDatastores().first { $0.datastoreStatus == "ACTIVE" }?.datastoreId
            }
            if datastoreId == nil {
                datastoreId = try await healthImaging.createDatastore(name: "ahi-local", clientToken: "ahi-upload-local-default").id
            }
            settings = Importer.Settings(datastoreId: datastoreId ?? "", bucket: "ahi-local-imports", prefix: prefix ?? "ahi-upload",
                                         roleArn: "arn:aws:iam::000000000000:role/ahi-local")
            progress("local: HealthImaging at \(started.endpoint), data in \(dir.path), data store \(settings.datastoreId)")
        } else {
            guard let datastoreId = pick(service.datastore, "datastore") else {
                throw ValidationError("--datastore is required (or AHI_DATASTORE, or datastore = … in the config file); --local needs none")
            }
            let bucketName = pick(bucket, "bucket"), role = pick(roleArn, "role-arn")
            if !dryRun {
                guard bucketName != nil else { throw ValidationError("--bucket is required to upload (or AHI_BUCKET)") }
                guard role != nil else { throw ValidationError("--role-arn (the data access role) is required (or AHI_ROLE_ARN)") }
            }
            let profileName = pick(service.profile, "profile")
            let chain = CredentialChain(environment: env, profile: profileName)
            let provider = CredentialProvider(chain: chain)
            guard let regionName = await resolveRegionIncludingInstanceMetadata(explicit: pick(service.region, "region"), environment: env,
                                                                                 profile: chain.profileName) else {
                throw ValidationError("no region: pass --region, set AWS_REGION, or add region to the profile")
            }
            healthImaging = try HealthImagingClient.make(region: regionName, endpointURL: pick(service.endpointURL, "endpoint-url"), fips: fips,
                                                         dualStack: dualStack, connections: concurrency, environment: env,
                                                         credentials: { try await provider.credentials() }, debug: debugLog)
            s3 = try await S3Setup.makeClient(endpointURL: pick(service.s3EndpointURL, "s3-endpoint-url"), region: regionName,
                                              profile: profileName, connections: concurrency, environment: env, debug: debugLog)
            settings = Importer.Settings(datastoreId: datastoreId, bucket: bucketName ?? "", prefix: pick(prefix, "prefix") ?? "ahi-upload",
                                         roleArn: role ?? "")
        }
        settings.maxFilesPerJob = max(1, maxFilesPerJob)
        settings.maxBytesPerJob = max(1, maxBytesPerJob)
        settings.concurrency = max(1, concurrency)
        settings.wait = !noWait
        settings.dryRun = dryRun
        settings.cleanup = cleanup
        settings.skipExisting = skipExisting

        let importer = Importer(healthImaging: healthImaging, s3: s3, settings: settings, progress: progress, interactive: interactive)
        let result: ImportReport
        do {
            result = try await importer.run(files, skipped: skipped)
        } catch {
            await server?.stop()
            throw error
        }
        if interactive { printError("") }
        await server?.stop()
        try emit(result)
        if !result.succeeded { throw ExitCode(1) }
        if result.skippedAny { throw ExitCode(2) }
    }

    /// The path relative to the folder argument it was found under.
    static func relative(_ path: String, to roots: [String]) -> String {
        for root in roots {
            let r = root.hasSuffix("/") ? root : root + "/"
            if path.hasPrefix(r) { return String(path.dropFirst(r.count)) }
        }
        return (path as NSString).lastPathComponent
    }

    func emit(_ r: ImportReport) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let json = try encoder.encode(r)
        if let report { try json.write(to: URL(fileURLWithPath: report)) }
        if output == .json {
            print(String(decoding: json, as: UTF8.self))
            return
        }
        if dryRun {
            for j in r.jobs { print("job \(j.number): \(j.files) files → \(j.inputS3Uri)") }
        }
        for j in r.jobs where j.jobId != nil {
            print("job \(j.number) \(j.jobId ?? ""): \(j.status)\(j.message.map { " — " + $0 } ?? "") (\(j.files) files)")
        }
        for f in r.files where verbose || !["imported", "already-imported", "planned", "submitted"].contains(f.status) {
            var line = "\(f.path): \(f.status)"
            if let id = f.imageSetId { line += " → image set \(id)\(f.isPrimary == false ? " (not primary)" : "")" }
            if let reason = f.reason { line += ": \(reason)" }
            if let w = f.warnings { line += " [warnings: \(w.joined(separator: "; "))]" }
            print(line)
        }
        if verbose {
            for (study, sets) in r.studies.sorted(by: { $0.key < $1.key }) { print("study \(study): image sets \(sets.joined(separator: ", "))") }
        }
        let c = r.counts
        let parts = ["imported", "already-imported", "failed", "skipped", "not-uploaded", "submitted", "planned"].compactMap { k in
            c[k].map { "\($0) \(k)" }
        }
        print("\(r.files.count) files: \(parts.joined(separator: ", ")); \(r.jobs.count) job\(r.jobs.count == 1 ? "" : "s"); data store \(r.datastoreId); run \(r.runId)")
    }
}
