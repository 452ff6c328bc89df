import Foundation
import ImportPipeline
import Testing
import Uploader

private let manifests = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/manifests")

private func recorded(_ name: String) throws -> ImportManifest {
    let dir = manifests.appendingPathComponent(name)
    func text(_ f: String) -> String { (try? String(contentsOf: dir.appendingPathComponent(f), encoding: .utf8)) ?? "" }
    let summary = try Data(contentsOf: dir.appendingPathComponent("job-output-manifest.json"))
    return ImportManifest(summaryJSON: [UInt8](summary), success: text("success.ndjson"), warning: text("warning.ndjson"),
                          failure: text("failure.ndjson"))
}

private func files(_ study: String, _ count: Int, size: Int = 100) -> [ImportFile] {
    (0..<count).map {
        ImportFile(path: "/d/\(study)/\($0)", relativePath: "\(study)/\($0).dcm", size: size, studyInstanceUID: study,
                   seriesInstanceUID: "\(study).1", sopInstanceUID: "\(study).1.\($0)")
    }
}

/// Groups stay within the quotas, studies stay whole where they fit, a big study is split.
@Test func groupingKeepsStudiesWholeWithinQuotas() {
    let all = files("1.1", 2) + files("1.2", 2) + files("1.3", 7)
    let groups = ImportGrouping.group(all, maxFiles: 4, maxBytes: 10_000)
    #expect(groups.allSatisfy { $0.count <= 4 })
    #expect(groups.map(\.count).reduce(0, +) == all.count)
    #expect(Set(groups[0].map(\.studyInstanceUID)) == ["1.1", "1.2"])  // two small studies share a job
    #expect(groups.filter { $0.contains { $0.studyInstanceUID == "1.3" } }.count == 2)  // the big one is split
    let bySize = ImportGrouping.group(files("2.1", 5, size: 400), maxFiles: 100, maxBytes: 1_000)
    #expect(bySize.allSatisfy { $0.reduce(0) { $0 + $1.size } <= 1_000 } && bySize.count == 3)
}

/// The identity alone derives token, name, prefix and URIs: `import` (scope = run id) and
/// `sync` (scope = ledger id) get the same token for the same scope and number, another otherwise.
@Test func jobIdentityDerivesEverything() {
    let dest = ImportDestination(datastoreId: "d", bucket: "b", prefix: "in", roleArn: "arn:aws:iam::123456789012:role/r")
    let a = ImportJobIdentity(datastoreId: "d", scope: "RUN", number: 1)
    #expect(a.clientToken == ImportJobIdentity(datastoreId: "d", scope: "RUN", number: 1).clientToken)
    for other in [ImportJobIdentity(datastoreId: "d", scope: "RUN", number: 2), ImportJobIdentity(datastoreId: "d", scope: "LEDGER", number: 1),
                  ImportJobIdentity(datastoreId: "e", scope: "RUN", number: 1)] {
        #expect(a.clientToken != other.clientToken)
    }
    // The token is SHA-256 of "d/RUN/1" (computed independently with sha256sum).
    #expect(a.clientToken == "a0f6d5c8c52cc4f3e5c6fb2ccdb72044a211aa6e5b0177e57ce5bf6eeeef34d1")
    #expect(dest.inputPrefix(a) == "in/RUN/job-000001/")
    #expect(dest.inputS3Uri(a) == "s3://b/in/RUN/job-000001/")
    #expect(dest.outputS3Uri(a) == "s3://b/in/RUN/output/job-000001/")
    #expect(!dest.outputS3Uri(a).hasPrefix(dest.inputS3Uri(a)))  // output never under the input
    #expect(a.jobName == "ahi-upload-RUN-1")
    #expect(ImportJobIdentity(datastoreId: "d", scope: String(repeating: "x", count: 80), number: 3).jobName.count == 64)
    let job = PlannedImportJob(identity: a, prefix: dest.inputPrefix(a), files: files("1.1", 1))
    #expect(job.key(of: job.files[0]) == "in/RUN/job-000001/1.1/0.dcm")
    let request = dest.startRequest(job)
    #expect(request.clientToken == a.clientToken && request.inputS3Uri == "s3://b/in/RUN/job-000001/" && request.roleArn == dest.roleArn)
    #expect(ImportManifest.expandedOutput("s3://b/o", datastoreId: "D", jobId: "J") == "s3://b/o/D-DicomImport-J/")
    #expect(ImportManifest.expandedOutput("s3://b/o/D-DicomImport-J/", datastoreId: "D", jobId: "J") == "s3://b/o/D-DicomImport-J/")
}

/// The documented manifests: SUCCESS and WARNING lines are imported (the warning with its
/// decimal code), the documented ValidationException lines are the data's fault.
@Test func documentedManifestsMapToOutcomes() throws {
    let m = try recorded("docs")
    #expect(m.summary?.numberOfScannedFiles == 5 && m.summary?.numberOfFilesWithCustomerError == 2)
    #expect(m.summary?.imageSetsSummary?.count == 2)
    #expect(m.outcome(of: "dicomInputFolder/1.3.51.5145.5142.20010109.1105620.1.0.1.dcm")
        == .imported(imageSetId: "12345612345612345678907890789012", isPrimary: true, warnings: []))
    guard case .imported(let set, _, let warnings) = m.outcome(of: "dicom_input/warningDicomFile1.dcm") else {
        Issue.record("the warned file is not imported")
        return
    }
    #expect(set == "12345612345612345678907890789012")
    #expect(warnings.count == 1 && warnings[0].hasPrefix("InvalidOffsetTable (45330): The file was imported"))
    #expect(m.outcome(of: "dicom_input/invalidDicomFile1.dcm")
        == .failed(reason: "ValidationException: DICOM attribute TransferSyntaxUID does not exist", kind: .customer))
    #expect(m.outcome(of: "dicom_input/invalidDicomFile2.dcm")
        == .failed(reason: "ValidationException: DICOM attributes does not exist", kind: .customer))
    #expect(m.outcome(of: "dicom_input/neverSent.dcm") == .missing)
    #expect(m.imageSetIds == ["12345612345612345678907890789012"])
}

/// A server exception is the service's fault; an undocumented type falls to the summary's
/// counters (only server errors counted → server); lines that are not JSON are skipped.
@Test func serverFailuresAreRetryable() throws {
    let m = try recorded("server-errors")
    #expect(m.failure.count == 2)
    #expect(m.outcome(of: "ahi-upload/run-42/ct/0002.dcm")
        == .failed(reason: "InternalServerException: An internal error occurred", kind: .server))
    #expect(m.outcome(of: "ahi-upload/run-42/ct/0003.dcm") == .failed(reason: "UnknownError: (free text)", kind: .server))
    // The same undocumented type in a job that counted only customer errors is the data's.
    var customer = m
    customer.summary?.numberOfFilesWithCustomerError = 2
    customer.summary?.numberOfFilesWithServerError = 0
    #expect(customer.outcome(of: "ahi-upload/run-42/ct/0003.dcm") == .failed(reason: "UnknownError: (free text)", kind: .customer))
    // A line in both SUCCESS and FAILURE counts as failed (failure > warning > success).
    var both = m
    both.success += ImportManifest(summaryJSON: nil, success: #"{"inputFile":"ahi-upload/run-42/ct/0002.dcm","importResponse":{"imageSetId":"x"}}"#,
                                   warning: "", failure: "").success
    if case .failed = both.outcome(of: "ahi-upload/run-42/ct/0002.dcm") {} else { Issue.record("failure must win over success") }
}

/// A virtual clock for the starter: `sleep` advances it, `now` reads it.
private final class Clock: @unchecked Sendable {
    private let lock = NSLock()
    private var t = 1_000.0
    var now: Double { lock.withLock { t } }
    func sleep(_ s: Double) { lock.withLock { t += max(0, s) } }
}

/// A scripted StartDICOMImportJob: answers from a list, records when each call came.
private final class Script: @unchecked Sendable {
    private let lock = NSLock()
    private var answers: [Result<StartedImportJob, AWSError>]
    private(set) var calls: [(time: Double, request: ImportJobStarter.Request)] = []
    init(_ answers: [Result<StartedImportJob, AWSError>]) { self.answers = answers }
    func call(_ r: ImportJobStarter.Request, at t: Double) throws -> StartedImportJob {
        try lock.withLock {
            calls.append((t, r))
            return try (answers.isEmpty ? .success(job("job-\(calls.count)")) : answers.removeFirst()).get()
        }
    }
    var times: [Double] { lock.withLock { calls.map(\.time) } }
    var tokens: [String] { lock.withLock { calls.map(\.request.clientToken) } }
}

private func job(_ id: String) -> StartedImportJob {
    try! JSONDecoder().decode(StartedImportJob.self, from: Data(#"{"datastoreId":"d","jobId":"\#(id)","jobStatus":"SUBMITTED"}"#.utf8))
}

private let throttled = AWSError.service(status: 400, code: "ThrottlingException", message: "Rate exceeded", requestId: nil,
                                         operation: "StartDICOMImportJob")
private let tooMany = AWSError.service(status: 429, code: "TooManyRequests", message: "", requestId: nil, operation: "StartDICOMImportJob")

private func starter(_ script: Script, _ clock: Clock, maxWait: Double = 900) -> ImportJobStarter {
    ImportJobStarter(start: { r in try script.call(r, at: clock.now) }, interval: 1.05, maxWait: maxWait, baseDelay: 1, maxDelay: 20,
                     now: { clock.now }, sleep: { clock.sleep($0) }, random: { 1 })
}

private func request(_ n: Int) -> ImportJobStarter.Request {
    let dest = ImportDestination(datastoreId: "d", bucket: "b", prefix: "", roleArn: "arn:aws:iam::123456789012:role/r")
    let id = ImportJobIdentity(datastoreId: "d", scope: "S", number: n)
    return dest.startRequest(PlannedImportJob(identity: id, prefix: dest.inputPrefix(id), files: []))
}

/// Starts are at least 1.05 s apart, even when asked for concurrently.
@Test func starterPacesStarts() async throws {
    let clock = Clock(), script = Script([])
    let s = starter(script, clock)
    try await withThrowingTaskGroup(of: Void.self) { group in
        for n in 1...4 { group.addTask { _ = try await s.start(request(n)) } }
        try await group.waitForAll()
    }
    let times = script.times.sorted()
    #expect(times.count == 4)
    for (a, b) in zip(times, times.dropFirst()) { #expect(b - a >= 1.05 - 1e-9) }
}

/// Throttling (ThrottlingException, or any HTTP 429) is waited out with growing pauses; the
/// same identity is started once; other errors are thrown at once.
@Test func starterWaitsOutThrottling() async throws {
    let clock = Clock()
    let script = Script([.failure(throttled), .failure(tooMany), .failure(throttled), .success(job("J1"))])
    let s = starter(script, clock)
    let first = try await s.start(request(1))
    #expect(first.jobId == "J1")
    let times = script.times
    #expect(times.count == 4)
    let gaps = zip(times, times.dropFirst()).map { $1 - $0 }
    #expect(gaps == [2, 4, 8])  // 1 s · 2ⁿ with the jitter fixed at 1
    #expect(Set(script.tokens).count == 1)  // the same client token every time
    let again = try await s.start(request(1))
    #expect(again.jobId == "J1" && script.times.count == 4)  // not started a second time
    let denied = Script([.failure(AWSError.service(status: 403, code: "AccessDeniedException", message: "no", requestId: nil,
                                                   operation: "StartDICOMImportJob"))])
    await #expect(throws: AWSError.self) { _ = try await starter(denied, clock).start(request(2)) }
    #expect(denied.times.count == 1)
    // Throttling that outlasts maxWait ends with the throttling error.
    let storm = Script(Array(repeating: .failure(throttled), count: 50))
    await #expect(throws: AWSError.self) { _ = try await starter(storm, clock, maxWait: 60).start(request(3)) }
    #expect(storm.times.count < 50 && (storm.times.last ?? 0) - (storm.times.first ?? 0) <= 60 + 20)
}

/// `--shard K/N`: parsed strictly, the environment's indices honoured, and every study in exactly one shard.
@Test func shardsSplitByStudy() throws {
    #expect(try Shard(parsing: "2/4") == (try Shard(index: 2, count: 4)))
    for bad in ["4/4", "-1/4", "1", "a/b", "1/0"] { #expect(throws: Shard.SpecError.self) { try Shard(parsing: bad) } }
    #expect(try Shard.resolve(flag: nil, count: 3, environment: ["AWS_BATCH_JOB_ARRAY_INDEX": "1"]) == (try Shard(index: 1, count: 3)))
    #expect(try Shard.resolve(flag: nil, count: nil, environment: ["JOB_COMPLETION_INDEX": "0", "AHI_SHARD_COUNT": "2"])
        == (try Shard(index: 0, count: 2)))
    #expect(throws: Shard.SpecError.self) { try Shard.resolve(flag: nil, count: nil, environment: ["JOB_COMPLETION_INDEX": "0"]) }
    #expect(try Shard.resolve(flag: nil, count: nil, environment: [:]) == .all)
    let shards = try (0..<4).map { try Shard(index: $0, count: 4) }
    var perShard = [0, 0, 0, 0]
    for i in 0..<400 {
        let uid = "1.2.826.0.1.3680043.8.498.\(i)"
        let owners = shards.filter { $0.contains(study: uid) }
        #expect(owners.count == 1)
        perShard[owners[0].index] += 1
    }
    #expect(perShard.allSatisfy { $0 > 60 })  // roughly even
}
