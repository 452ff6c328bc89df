import ArgumentParser
import DICOMCore
import Foundation
import ImportPipeline
import Uploader

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Validate, upload and import a folder of DICOM files into a HealthImaging data store (the default command).",
        discussion: """
            Files with validation errors are skipped and reported (--force imports them anyway); \
            findings across files (the same SOP Instance UID with different bytes, patient or \
            study attributes that disagree within a study) are reported as warnings. Instances \
            the data store already holds are reported as already imported and not sent again \
            (--no-skip-existing to send them). The rest is planned into import jobs (per study, \
            within --max-files-per-job and --max-bytes-per-job), uploaded to \
            s3://BUCKET/PREFIX/<run-id>/job-NNNNNN/, and each job is started once (a throttled \
            start is waited out) and followed to its end; its manifests are read and every line \
            mapped back to a local file.

            --via stow-rs sends the files with DICOMweb STOW-RS instead (no bucket, no role, no \
            job): multipart requests of up to --stow-max-instances instances and \
            --stow-max-request-mib MiB, --concurrency at a time, streamed from the files; each \
            instance is reported stored (with HealthImaging's warning code), refused (with the \
            FailureReason) or unconfirmed (sent once more, then reported failed). \
            --dicomweb-endpoint-url with --dicomweb-auth basic|none sends to another DICOMweb \
            server (Orthanc, dcm4chee) without AWS credentials.

            Defaults for --datastore, --bucket, --prefix, --role-arn, --region, --profile, \
            --endpoint-url and --s3-endpoint-url come, in this order, from the flag, the \
            environment (AHI_DATASTORE, AHI_BUCKET, AHI_PREFIX, AHI_ROLE_ARN, AHI_REGION, \
            AHI_PROFILE, AHI_ENDPOINT_URL, AHI_S3_ENDPOINT_URL) and the config file \
            ~/.config/ahi-upload/config (AHI_UPLOAD_CONFIG to move it; lines such as \
            `datastore = 0123…`, `bucket = my-bucket`, `role-arn = arn:aws:iam::…`).

            --local runs everything against a local HealthImaging started in this process \
            (no AWS account): data under ~/.local/state/ahi-upload/local (--local-dir).

            --shard K/N imports only the studies of shard K (of N machines sharing the folder).

            Exit status: 0 when every file was imported (now or before); 1 when a valid file was \
            not imported (refused by HealthImaging, its job failed, or its upload failed); 2 when \
            every valid file was imported but some files were skipped as invalid.
            """)

    @Argument(help: "The folder (or files) to import.")
    var paths: [String]

    @OptionGroup var service: ServiceOptions

    @OptionGroup var destination: DestinationOptions

    @OptionGroup var delivery: DeliveryOptions

    @OptionGroup var limits: JobLimitOptions

    @OptionGroup var sharding: ShardOptions

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

    @OptionGroup var output: OutputOptions

    @Option(help: "Write the JSON report to this file.")
    var report: String?

    @Flag(name: .shortAndLong, help: "Only errors and the summary.")
    var quiet = false

    @Flag(name: .shortAndLong, help: "Every file's outcome, not only the failed ones.")
    var verbose = false

    @Flag(name: .customLong("show-phi"), help: "Show patient names, IDs and birth dates in messages.")
    var showPHI = false

    func run() async throws {
        try Paths.require(paths)
        let shard = try sharding.resolve()
        let interactive = isatty(2) == 1 && !quiet
        let quiet = self.quiet
        let progress: @Sendable (String) -> Void = { line in
            if quiet { return }
            if interactive { printError("\r\u{1B}[K" + line, terminator: "") } else { printError(line) }
        }

        let via = try delivery.delivery()
        // Read every file once: parse, validate, UIDs, size, CRC-32C (for S3's checksum).
        progress("validate: walking \(paths.joined(separator: ", "))\(shard.count > 1 ? " (shard \(shard))" : "")")
        let (found, problems) = FileWalker.files(under: paths)
        let candidates = await ImportCandidate.readAll(found, options: .init(force: force, showPHI: showPHI,
                                                                             checksum: !dryRun && via == .s3Import, shard: shard))
        let accepted = candidates.filter(\.isAccepted).count
        progress("validate: \(accepted) files to import, \(candidates.count - accepted + problems.count) skipped")
        if interactive { printError("") }

        var settings = Importer.Settings()
        settings.maxFilesPerJob = max(1, limits.maxFilesPerJob)
        settings.maxBytesPerJob = max(1, limits.maxBytesPerJob)
        settings.wait = !noWait
        settings.dryRun = dryRun
        settings.cleanup = cleanup
        settings.skipExisting = skipExisting
        settings.shard = shard
        settings.showPHI = showPHI
        let paths = self.paths
        let unreadable = problems.map { ($0.path, $0.reason) }
        let inFlight = max(1, limits.concurrency)
        let result: ImportReport
        if delivery.needsNoAWS(via) {
            // STOW-RS to a DICOMweb server with basic or no authentication: no AWS credentials.
            let stow = try delivery.stow(nil, inFlight: inFlight, log: progress, debug: service.aws.debugLog)
            if skipExisting { progress("import: --skip-existing needs HealthImaging's index; every instance is sent") }
            result = try await Importer(pipeline: nil, stow: stow, settings: settings)
                .run(candidates, unreadable: unreadable, relativePath: { Self.relative($0, to: paths) })
        } else {
            let connection = try await service.connect(connections: max(4, limits.concurrency), log: progress)
            result = try await connection.use { c in
                let pipeline = ImportPipeline(healthImaging: c.healthImaging, s3: c.s3,
                                              destination: try destination.destination(c, required: !dryRun && via == .s3Import),
                                              settings: limits.pipeline, log: progress, interactive: interactive)
                let stow = via == .stowRS ? try delivery.stow(c, inFlight: inFlight, log: progress, debug: service.aws.debugLog) : nil
                return try await Importer(pipeline: pipeline, stow: stow, settings: settings)
                    .run(candidates, unreadable: unreadable, relativePath: { Self.relative($0, to: paths) })
            }
        }
        if interactive { printError("") }
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
        if let report { try encoder.encode(r).write(to: URL(fileURLWithPath: report)) }
        if output.json {
            try printJSON(r)
            return
        }
        if dryRun {
            for j in r.jobs { print("job \(j.number): \(j.files) files → \(j.inputS3Uri)") }
        }
        for j in r.jobs where j.jobId != nil || j.status == "NOT_STARTED" {
            print("job \(j.number) \(j.jobId ?? "-"): \(j.status)\(j.message.map { " — " + $0 } ?? "") (\(j.files) files)")
        }
        for w in r.crossFile { print(w.line) }
        let quietStatuses: [FileStatus] = [.imported, .alreadyImported, .planned, .submitted]
        for f in r.files where verbose || !quietStatuses.contains(f.status) {
            var line = "\(f.path): \(f.status.rawValue)"
            if let id = f.imageSetId { line += " → image set \(id)\(f.isPrimary == false ? " (not primary)" : "")" }
            if let reason = f.reason { line += ": \(reason)" }
            if f.status == .failed, let kind = f.failureKind { line += " (\(kind == .customer ? "the data" : "service side; worth retrying"))" }
            if let w = f.warnings { line += " [warnings: \(w.joined(separator: "; "))]" }
            print(line)
        }
        if verbose {
            for (study, sets) in r.studies.sorted(by: { $0.key < $1.key }) { print("study \(study): image sets \(sets.joined(separator: ", "))") }
        }
        let c = r.counts
        let parts: [String] = [FileStatus.imported, .alreadyImported, .failed, .skipped, .notUploaded, .submitted, .planned].compactMap { k in
            c[k.rawValue].map { "\($0) \(k.rawValue)" }
        }
        var tail = r.via == .stowRS ? "STOW-RS to \(r.datastoreId)"
            : "\(r.jobs.count) job\(r.jobs.count == 1 ? "" : "s"); data store \(r.datastoreId); run \(r.runId)"
        if let shard = r.shard { tail += "; shard \(shard)" }
        if !r.crossFile.isEmpty { tail = "\(r.crossFile.count) cross-file warning\(r.crossFile.count == 1 ? "" : "s"); " + tail }
        print("\(r.files.count) files: \(parts.joined(separator: ", ")); \(tail)")
        if isatty(1) == 1 && !quiet { for line in nextSteps(r) { print(line) } }
    }

    /// On a terminal, after something was imported: the commands that prove it worked.
    func nextSteps(_ r: ImportReport) -> [String] {
        guard let first = r.files.first(where: { $0.status == .imported || $0.status == .alreadyImported }) else { return [] }
        func quote(_ s: String) -> String {
            s.allSatisfy { $0.isLetter || $0.isNumber || "/._-+=:,@".contains($0) } ? s : "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'"
        }
        var target: [String] = []
        if service.local {
            target = ["--local"] + (service.localDir.map { ["--local-dir", quote($0)] } ?? [])
        } else {
            target = ["--datastore", r.datastoreId]
            for (flag, value) in [("--region", service.aws.region), ("--profile", service.aws.profile), ("--endpoint-url", service.endpointURL),
                                  ("--s3-endpoint-url", service.aws.s3EndpointURL)] {
                if let value { target += [flag, quote(value)] }
            }
        }
        let png = ((first.path as NSString).lastPathComponent as NSString).deletingPathExtension + ".png"
        return ["", "Next steps:",
                "  ahi-upload verify \(paths.map(quote).joined(separator: " ")) \(target.joined(separator: " "))   # every stored frame's checksum against the source",
                "  ahi-upload render \(quote(first.path)) --png \(quote(png))   # look at one imported frame"]
    }
}
