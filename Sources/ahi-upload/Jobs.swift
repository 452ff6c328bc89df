import ArgumentParser
import Foundation
import ImportPipeline
import Uploader

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "jobs", abstract: "List a data store's import jobs, newest first.")

    @OptionGroup var service: ServiceOptions

    @Option(help: "Only jobs in this status (SUBMITTED, IN_PROGRESS, COMPLETED, FAILED).")
    var status: String?

    @OptionGroup var output: OutputOptions

    func run() async throws {
        let jobs = try await service.connect().use { c in
            try await c.healthImaging.listDICOMImportJobs(datastoreId: c.datastore, status: status.map { JobStatus(rawValue: $0.uppercased()) })
        }.sorted { ($0.submittedAt ?? 0) > ($1.submittedAt ?? 0) }
        if output.json { return try printJSON(jobs) }
        for j in jobs {
            let when = j.submittedAt.map { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: $0)) } ?? "-"
            print("\(j.jobId)  \(j.jobStatus.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0))  \(when)  \(j.jobName ?? "")\(j.message.map { "  " + $0 } ?? "")")
        }
        print("\(jobs.count) job\(jobs.count == 1 ? "" : "s")")
    }
}

struct Job: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "job", abstract: "Show one import job and the summary of its output manifest.")

    @Argument(help: "The import job id.")
    var jobId: String

    @OptionGroup var service: ServiceOptions

    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        let job: DICOMImportJobProperties
        let outputS3Uri: String?
        let summary: ImportManifest.Summary?
    }

    func run() async throws {
        let report = try await service.connect().use { c in
            let j = try await c.healthImaging.getDICOMImportJob(datastoreId: c.datastore, jobId: jobId)
            let output = j.outputS3Uri.map { ImportManifest.expandedOutput($0, datastoreId: c.datastore, jobId: j.jobId) }
            var summary: ImportManifest.Summary?
            if j.jobStatus == .completed, let output {
                summary = (try? await ImportManifest.read(output, s3: c.s3, timeout: 0))?.summary
            }
            return Report(job: j, outputS3Uri: output, summary: summary)
        }
        if output.json { return try printJSON(report) }
        let j = report.job
        print("job        \(j.jobId) \(j.jobName.map { "(\($0))" } ?? "")")
        print("status     \(j.jobStatus.rawValue)\(j.message.map { " — " + $0 } ?? "")")
        if let s = j.submittedAt { print("submitted  \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: s)))") }
        if let e = j.endedAt { print("ended      \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: e)))") }
        print("input      \(j.inputS3Uri ?? "-")")
        guard let out = report.outputS3Uri else { return }
        print("output     \(out)")
        guard let s = report.summary else {
            print("manifest   not available")
            return
        }
        let counts: [(String, Int?)] = [("numberOfScannedFiles", s.numberOfScannedFiles), ("numberOfImportedFiles", s.numberOfImportedFiles),
                                        ("numberOfFilesWithCustomerError", s.numberOfFilesWithCustomerError),
                                        ("numberOfFilesWithServerError", s.numberOfFilesWithServerError),
                                        ("numberOfGeneratedImageSets", s.numberOfGeneratedImageSets)]
        for (k, v) in counts { print("\(k): \(v.map(String.init) ?? "-")") }
        for set in s.imageSetsSummary ?? [] {
            print("  image set \(set.imageSetId ?? "?"): \(set.numberOfMatchedSOPInstances.map(String.init) ?? "?") instances\(set.isPrimary == false ? " (not primary)" : "")")
        }
    }
}
