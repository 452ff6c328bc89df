import ArgumentParser
import Foundation
import Uploader

/// Options shared by the commands that only talk to HealthImaging.
struct ServiceOptions: ParsableArguments {
    @Option(help: "HealthImaging data store id (or AHI_DATASTORE, or the config file).")
    var datastore: String?

    @Option(help: "AWS region.")
    var region: String?

    @Option(help: "AWS profile.")
    var profile: String?

    @Option(name: .customLong("endpoint-url"), help: "A HealthImaging endpoint (e.g. ahi-local's).")
    var endpointURL: String?

    @Option(name: .customLong("s3-endpoint-url"), help: "An S3 endpoint (path-style).")
    var s3EndpointURL: String?

    @Flag(help: "Print every request, retry and the credential source (never secrets).")
    var debug = false

    /// The data store id and clients.
    func connect(connections: Int = 4) async throws -> (datastore: String, client: HealthImagingClient, s3: S3Client) {
        let env = ProcessInfo.processInfo.environment
        let file = ImportDefaults.configFile(env)
        func pick(_ flag: String?, _ name: String) -> String? { ImportDefaults.pick(flag, name, env: env, file: file) }
        guard let id = pick(datastore, "datastore") else { throw ValidationError("--datastore is required (or AHI_DATASTORE)") }
        var debugLog: (@Sendable (String) -> Void)?
        if debug { debugLog = { printError("debug: " + $0) } }
        let chain = CredentialChain(environment: env, profile: pick(profile, "profile"))
        let provider = CredentialProvider(chain: chain)
        guard let regionName = await resolveRegionIncludingInstanceMetadata(explicit: pick(region, "region"), environment: env,
                                                                             profile: chain.profileName) else {
            throw ValidationError("no region: pass --region, set AWS_REGION, or add region to the profile")
        }
        let client = try HealthImagingClient.make(region: regionName, endpointURL: pick(endpointURL, "endpoint-url"), connections: connections,
                                                  environment: env, credentials: { try await provider.credentials() }, debug: debugLog)
        let s3 = try await S3Setup.makeClient(endpointURL: pick(s3EndpointURL, "s3-endpoint-url"), region: regionName,
                                              profile: pick(profile, "profile"), connections: connections, environment: env, debug: debugLog)
        return (id, client, s3)
    }
}

struct Jobs: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List a data store's import jobs, newest first.")

    @OptionGroup var service: ServiceOptions

    @Option(help: "Only jobs in this status (SUBMITTED, IN_PROGRESS, COMPLETED, FAILED).")
    var status: String?

    func run() async throws {
        let (datastore, client, _) = try await service.connect()
        let jobs = try await client.listDICOMImportJobs(datastoreId: datastore, status: status.map { JobStatus(rawValue: $0.uppercased()) })
        for j in jobs.sorted(by: { ($0.submittedAt ?? 0) > ($1.submittedAt ?? 0) }) {
            let when = j.submittedAt.map { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: $0)) } ?? "-"
            print("\(j.jobId)  \(j.jobStatus.rawValue.padding(toLength: 11, withPad: " ", startingAt: 0))  \(when)  \(j.jobName ?? "")\(j.message.map { "  " + $0 } ?? "")")
        }
        print("\(jobs.count) job\(jobs.count == 1 ? "" : "s")")
    }
}

struct Job: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show one import job and the summary of its output manifest.")

    @Argument(help: "The import job id.")
    var jobId: String

    @OptionGroup var service: ServiceOptions

    func run() async throws {
        let (datastore, client, s3) = try await service.connect()
        let j = try await client.getDICOMImportJob(datastoreId: datastore, jobId: jobId)
        print("job        \(j.jobId) \(j.jobName.map { "(\($0))" } ?? "")")
        print("status     \(j.jobStatus.rawValue)\(j.message.map { " — " + $0 } ?? "")")
        if let s = j.submittedAt { print("submitted  \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: s)))") }
        if let e = j.endedAt { print("ended      \(ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: e)))") }
        print("input      \(j.inputS3Uri ?? "-")")
        guard let out = j.outputS3Uri else { return }
        let output = Importer.expandedOutput(out, datastoreId: datastore, jobId: j.jobId)
        print("output     \(output)")
        guard j.jobStatus == .completed, let manifestURI = S3URI(output)?.appending("job-output-manifest.json"),
              (try? await s3.headObject(bucket: manifestURI.bucket, key: manifestURI.key)) != nil,
              let body = try? await s3.getObject(bucket: manifestURI.bucket, key: manifestURI.key),
              let manifest = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
              let summary = manifest["jobSummary"] as? [String: Any] else {
            print("manifest   not available")
            return
        }
        for k in ["numberOfScannedFiles", "numberOfImportedFiles", "numberOfFilesWithCustomerError", "numberOfFilesWithServerError",
                  "numberOfGeneratedImageSets"] {
            print("\(k): \(summary[k].map { "\($0)" } ?? "-")")
        }
        for case let s as [String: Any] in summary["imageSetsSummary"] as? [Any] ?? [] {
            print("  image set \(s["imageSetId"] ?? "?"): \(s["numberOfMatchedSOPInstances"] ?? "?") instances\((s["isPrimary"] as? Bool) == false ? " (not primary)" : "")")
        }
    }
}
