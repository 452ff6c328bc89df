import Foundation
import ImportPipeline
import LocalHealthImaging
import TestSupport
import Testing
@testable import Uploader

/// A generated folder (Tests/Oracle/make_import_folder.py) and what it should become.
struct ImportFolder {
    struct Entry: Decodable { let path: String; let study: String; let series: String; let sop: String; let conflict: Bool }
    let root: URL
    let entries: [Entry]

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-e2e-\(UUID().uuidString)")
        let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/make_import_folder.py").path, root.path])
        guard r.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: r.err]) }
        entries = try r.out.split(separator: "\n").map { try JSONDecoder().decode(Entry.self, from: Data($0.utf8)) }
    }

    /// Where `--report` goes, beside the folder.
    var report: URL { root.appendingPathExtension("report.json") }

    func remove() {
        try? FileManager.default.removeItem(at: root)
        try? FileManager.default.removeItem(at: report)
    }
}

/// The report `ahi-upload --report` wrote.
func readReport(_ url: URL) throws -> ImportReport {
    try JSONDecoder().decode(ImportReport.self, from: Data(contentsOf: url))
}

/// A client for an ahi-local endpoint.
func localClient(_ endpoint: String) throws -> HealthImagingClient {
    let creds = AWSCredentials(accessKeyId: LocalHealthImagingServer.defaultAccessKeyId,
                               secretAccessKey: LocalHealthImagingServer.defaultSecretAccessKey)
    return try HealthImagingClient.make(region: "us-east-1", endpointURL: endpoint, credentials: { creds })
}

/// The arguments and environment of `ahi-upload` against an ahi-local process.
func importArguments(_ folder: ImportFolder, server: AHILocalProcess, datastore: String, report: URL, extra: [String] = []) -> [String] {
    [folder.root.path, "--datastore", datastore, "--bucket", "e2e-bucket", "--role-arn", "arn:aws:iam::123456789012:role/ahi",
     "--endpoint-url", server.endpoint, "--s3-endpoint-url", server.endpoint, "--region", "us-east-1",
     "--max-files-per-job", "3", "--report", report.path] + extra
}

func createDatastoreAndBucket(_ server: AHILocalProcess) async throws -> String {
    let client = try localClient(server.endpoint)
    let id = try await client.createDatastore(name: "e2e", clientToken: UUID().uuidString).id
    let s3 = try S3Setup.makeClient(endpointURL: server.endpoint, region: "us-east-1",
                                    credentials: AWSCredentials(accessKeyId: LocalHealthImagingServer.defaultAccessKeyId,
                                                                secretAccessKey: LocalHealthImagingServer.defaultSecretAccessKey),
                                    connections: 2)
    try await s3.createBucket("e2e-bucket")
    return id
}

@Suite(.serialized) struct ImportEndToEndTests {
    /// Several studies and series, a bad file, a conflicting file, a study split over two
    /// jobs: every file has the right outcome, the image sets hold exactly the instances
    /// sent, and a re-run sends nothing again.
    @Test(.timeLimit(.minutes(5))) func importsAFolderAndSkipsWhatIsThereOnReRun() async throws {
        let folder = try ImportFolder()
        defer { folder.remove() }
        let server = try await AHILocalProcess()
        defer { server.stop() }
        let datastore = try await createDatastoreAndBucket(server)
        let reportURL = folder.report
        let r = try run(toolPath(), importArguments(folder, server: server, datastore: datastore, report: reportURL),
                        environment: server.clientEnvironment)
        #expect(r.status == 2, "valid files imported, one skipped: \(r.out)\n\(r.err.suffix(2000))")
        let report = try readReport(reportURL)
        #expect(report.files.count == folder.entries.count + 1)
        let broken = report.files.first { $0.path.hasSuffix("broken.dcm") }
        #expect(broken?.status.rawValue == "skipped" && broken?.reason != nil)
        for e in folder.entries {
            let f = try #require(report.files.first { $0.path == e.path })
            #expect(f.status.rawValue == "imported", "\(e.path): \(f.status) \(f.reason ?? "")")
            #expect(f.isPrimary == !e.conflict, "\(e.path)")
        }
        // The conflicting file's PatientID is named by the cross-file check before anything is sent,
        // without the value itself (no --show-phi), in the report and the summary.
        let conflicts = folder.entries.filter(\.conflict).map(\.path)
        let patient = report.crossFile.filter { $0.code == "study.inconsistent-patient" }
        #expect(!conflicts.isEmpty && conflicts.allSatisfy { c in patient.contains { $0.paths.last == c } }, "\(report.crossFile)")
        #expect(!patient.contains { $0.message.contains("OTHER-0002") })
        #expect(r.out.contains("study.inconsistent-patient") && r.out.contains("cross-file warning"))
        // study-b's 4 files did not fit one job of 3.
        #expect(report.jobs.count >= 3 && report.jobs.allSatisfy { $0.status == "COMPLETED" && $0.files <= 3 })

        // Each image set holds exactly the SOP instances the report says went into it.
        let client = try localClient(server.endpoint)
        let bySet = Dictionary(grouping: report.files.filter { $0.imageSetId != nil }, by: { $0.imageSetId ?? "" })
        for (setId, files) in bySet {
            let json = try await client.getImageSetMetadata(datastoreId: datastore, imageSetId: setId)
            let meta = try #require(try JSONSerialization.jsonObject(with: Data(json)) as? [String: Any])
            let series = try #require((meta["Study"] as? [String: Any])?["Series"] as? [String: Any])
            let sops = Set(series.values.compactMap { ($0 as? [String: Any])?["Instances"] as? [String: Any] }.flatMap(\.keys))
            let expected = Set(files.compactMap { f in folder.entries.first { $0.path == f.path }?.sop })
            #expect(sops == expected, "image set \(setId)")
        }

        // Again: everything is already there; no job, no upload.
        let again = try run(toolPath(), importArguments(folder, server: server, datastore: datastore, report: reportURL, extra: ["--debug"]),
                            environment: server.clientEnvironment)
        #expect(again.status == 2, "\(again.out)")
        let second = try readReport(reportURL)
        #expect(second.jobs.isEmpty)
        #expect(second.files.filter { $0.status.rawValue == "already-imported" }.count == folder.entries.count)
        #expect(!again.err.contains("(PutObject,") && !again.err.contains("(UploadPart,"))
    }

    /// Throttling on start and poll, a job that ends FAILED, manifests that arrive late:
    /// the run completes and the report says which files failed and why. (The manifests lag
    /// 8 s: more than a throttled poll can take with the SDKs' 1 s throttling backoff, so
    /// the late-manifest wait is always exercised.)
    @Test(.timeLimit(.minutes(5))) func throttlingFailedJobAndLateManifests() async throws {
        let folder = try ImportFolder()
        defer { folder.remove() }
        let server = try await AHILocalProcess(arguments: ["--fault", "throttle=2", "--fault", "fail-job=2", "--fault", "manifest-delay=8"])
        defer { server.stop() }
        let datastore = try await createDatastoreAndBucket(server)
        let reportURL = folder.report
        let r = try run(toolPath(), importArguments(folder, server: server, datastore: datastore, report: reportURL, extra: ["--debug"]),
                        environment: server.clientEnvironment)
        #expect(r.status == 1, "a failed job fails the run: \(r.out)")
        #expect(r.err.contains("ThrottlingException") && r.err.contains("debug: retry"), "\(r.err.suffix(1500))")
        #expect(r.err.contains("waiting for the manifests"))
        let report = try readReport(reportURL)
        let failedJob = try #require(report.jobs.first { $0.number == 2 })
        #expect(failedJob.status == "FAILED" && failedJob.message?.contains("Injected failure") == true)
        for f in report.files where f.jobId == failedJob.jobId {
            #expect(f.status.rawValue == "failed" && f.reason?.contains("FAILED") == true, "\(f.path)")
        }
        let others = report.files.filter { $0.jobId != nil && $0.jobId != failedJob.jobId }
        #expect(!others.isEmpty && others.allSatisfy { $0.status.rawValue == "imported" })
        #expect(r.out.contains("FAILED"))
    }

    /// The first six StartDICOMImportJob calls are throttled (429), past the transport's own
    /// retries: the starter waits them out, every valid file is imported, and the data store
    /// holds exactly one job per planned job (the client token never made a second).
    @Test(.timeLimit(.minutes(5))) func throttledStartsAreWaitedOut() async throws {
        let folder = try ImportFolder()
        defer { folder.remove() }
        let server = try await AHILocalProcess(arguments: ["--fault", "throttle-starts=6"])
        defer { server.stop() }
        let datastore = try await createDatastoreAndBucket(server)
        let reportURL = folder.report
        let r = try run(toolPath(), importArguments(folder, server: server, datastore: datastore, report: reportURL),
                        environment: server.clientEnvironment)
        #expect(r.status == 2, "valid files imported, one skipped: \(r.out)\n\(r.err.suffix(2000))")
        #expect(r.err.contains("throttled"), "\(r.err.suffix(1500))")
        let report = try readReport(reportURL)
        #expect(folder.entries.allSatisfy { e in report.files.contains { $0.path == e.path && $0.status.rawValue == "imported" } },
                "\(report.files.map { "\($0.path): \($0.status) \($0.reason ?? "")" })")
        let jobs = try await localClient(server.endpoint).listDICOMImportJobs(datastoreId: datastore)
        #expect(jobs.count == report.jobs.count && report.jobs.count >= 3, "\(jobs.map(\.jobName)) vs \(report.jobs.map(\.number))")
        #expect(Set(jobs.compactMap(\.jobName)).count == jobs.count)
        #expect(Set(jobs.map(\.jobId)) == Set(report.jobs.compactMap(\.jobId)))
    }

    /// ahi-local stopped and started again while a job runs: the job resumes, the importer
    /// keeps polling, and every file is imported.
    @Test(.timeLimit(.minutes(5))) func serverRestartedInTheMiddleOfAJob() async throws {
        let folder = try ImportFolder()
        defer { folder.remove() }
        let server = try await AHILocalProcess(arguments: ["--fault", "job-delay=3"])
        let datastore = try await createDatastoreAndBucket(server)
        let reportURL = folder.report
        let importer = try BackgroundProcess(toolPath(), importArguments(folder, server: server, datastore: datastore, report: reportURL,
                                                                          extra: ["--max-files-per-job", "100"]),
                                             environment: server.clientEnvironment)
        // Once the job is started (and sleeping in IN_PROGRESS), restart the server on the same port.
        let deadline = Date().addingTimeInterval(60)
        while try await localJobs(server.endpoint, datastore).isEmpty && Date() < deadline {
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        server.stop(keepData: true)
        let restarted = try await AHILocalProcess(arguments: ["--port", String(server.port)], dataDirectory: server.dataDirectory)
        defer { restarted.stop() }
        let status = await importer.wait(seconds: 120)
        #expect(status == 2, "\(importer.output)")
        let report = try readReport(reportURL)
        #expect(report.files.filter { $0.status.rawValue == "imported" }.count == folder.entries.count, "\(importer.output)")
    }
}

func localJobs(_ endpoint: String, _ datastore: String) async throws -> [DICOMImportJobProperties] {
    (try? await localClient(endpoint).listDICOMImportJobs(datastoreId: datastore)) ?? []
}

/// The README's first command: the sample study into a local HealthImaging, no AWS account.
@Test(.timeLimit(.minutes(3))) func localImportOfTheSampleStudy() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-local-cli-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let sample = packageRoot.appendingPathComponent("Fixtures/sample-study").path
    let r = try run(toolPath(), [sample, "--local", "--local-dir", dir.path], environment: ["HOME": dir.path])
    #expect(r.status == 0, "\(r.out)\n\(r.err)")
    #expect(r.out.contains("6 files: 6 imported"), "\(r.out)")
    #expect(!r.out.contains("Sample^Study") && !r.err.contains("Sample^Study") && !r.err.contains("SAMPLE-0001"))
    let dry = try run(toolPath(), ["import", sample, "--local", "--local-dir", dir.path, "--dry-run", "--no-skip-existing"],
                      environment: ["HOME": dir.path])
    #expect(dry.status == 0 && dry.out.contains("job 1: 6 files"), "\(dry.out)\n\(dry.err)")
    // Every command that talks to HealthImaging follows with --local on the same data.
    let verify = try run(toolPath(), ["verify", sample, "--local", "--local-dir", dir.path], environment: ["HOME": dir.path])
    #expect(verify.status == 0 && verify.out.contains("0 problems") && !verify.out.contains(" 0 frames"), "\(verify.out)\n\(verify.err)")
    let jobs = try run(toolPath(), ["jobs", "--local", "--local-dir", dir.path, "--output", "json"], environment: ["HOME": dir.path])
    let listed = try JSONSerialization.jsonObject(with: Data(jobs.out.utf8)) as? [[String: Any]]
    #expect(jobs.status == 0 && listed?.count == 1 && listed?.first?["jobStatus"] as? String == "COMPLETED", "\(jobs.out)\n\(jobs.err)")
    let jobId = try #require(listed?.first?["jobId"] as? String)
    let job = try run(toolPath(), ["job", jobId, "--local", "--local-dir", dir.path, "--output", "json"], environment: ["HOME": dir.path])
    let summary = (try JSONSerialization.jsonObject(with: Data(job.out.utf8)) as? [String: Any])?["summary"] as? [String: Any]
    #expect(job.status == 0 && summary?["numberOfImportedFiles"] as? Int == 6, "\(job.out)\n\(job.err)")
}

/// `ahi-upload jobs` and `ahi-upload job` against ahi-local.
@Test(.timeLimit(.minutes(3))) func jobsAndJobCommands() async throws {
    let folder = try ImportFolder()
    defer { folder.remove() }
    let server = try await AHILocalProcess()
    defer { server.stop() }
    let datastore = try await createDatastoreAndBucket(server)
    let reportURL = folder.report
    let started = try run(toolPath(), importArguments(folder, server: server, datastore: datastore, report: reportURL,
                                                      extra: ["--no-wait", "--max-files-per-job", "100"]),
                          environment: server.clientEnvironment)
    #expect(started.status == 2, "\(started.out)\n\(started.err)")
    let jobId = try #require(try readReport(reportURL).jobs.first?.jobId)
    let service = ["--datastore", datastore, "--endpoint-url", server.endpoint, "--s3-endpoint-url", server.endpoint, "--region", "us-east-1"]
    let deadline = Date().addingTimeInterval(60)
    var shown = ""
    while Date() < deadline {
        shown = try run(toolPath(), ["job", jobId] + service, environment: server.clientEnvironment).out
        if shown.contains("numberOfImportedFiles") { break }
        try await Task.sleep(nanoseconds: 300_000_000)
    }
    #expect(shown.contains("COMPLETED") && shown.contains("numberOfImportedFiles: 10"), "\(shown)")
    let list = try run(toolPath(), ["jobs"] + service, environment: server.clientEnvironment)
    #expect(list.status == 0 && list.out.contains(jobId) && list.out.contains("1 job"), "\(list.out)\(list.err)")
}
