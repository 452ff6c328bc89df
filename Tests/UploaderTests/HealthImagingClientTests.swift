import Foundation
import NIOHTTP1
import Testing
@testable import Uploader

/// Endpoints from the model's rule set: control and `runtime-` hosts, FIPS, dual-stack,
/// and custom endpoints (host prefix only before DNS names, never before an IP).
@Test func healthImagingEndpoints() throws {
    func hosts(_ region: String, _ url: String? = nil, fips: Bool = false, dual: Bool = false,
               env: [String: String] = [:]) throws -> [String] {
        let (c, r) = try HealthImagingClient.endpoints(region: region, endpointURL: url, fips: fips, dualStack: dual, environment: env)
        return [c.description, r.description]
    }
    #expect(try hosts("us-east-1") == ["https://medical-imaging.us-east-1.amazonaws.com",
                                       "https://runtime-medical-imaging.us-east-1.amazonaws.com"])
    #expect(try hosts("us-west-2", fips: true) == ["https://medical-imaging-fips.us-west-2.amazonaws.com",
                                                   "https://runtime-medical-imaging-fips.us-west-2.amazonaws.com"])
    #expect(try hosts("eu-west-2", dual: true) == ["https://medical-imaging.eu-west-2.api.aws",
                                                   "https://runtime-medical-imaging.eu-west-2.api.aws"])
    #expect(try hosts("us-east-1", "http://127.0.0.1:8790") == ["http://127.0.0.1:8790", "http://127.0.0.1:8790"])
    #expect(try hosts("us-east-1", "https://vpce.example.com") == ["https://vpce.example.com", "https://runtime-vpce.example.com"])
    #expect(try hosts("us-east-1", "https://vpce.example.com", env: ["AWS_DISABLE_HOST_PREFIX_INJECTION": "true"])
            == ["https://vpce.example.com", "https://vpce.example.com"])
}

/// rest-json errors: the code from x-amzn-ErrorType (`Code:extra`) or `__type` (`ns#Code`),
/// the message from `message`; 402 without a body is ServiceQuotaExceededException.
@Test func restJSONErrors() {
    let t = AWSTransport(endpoint: Endpoint(scheme: "https", host: "medical-imaging.us-east-1.amazonaws.com"), region: "us-east-1",
                         service: "medical-imaging", credentials: { AWSCredentials(accessKeyId: "a", secretAccessKey: "b") })
    func error(_ status: Int, _ headers: [(String, String)], _ body: String) -> AWSError {
        t.serviceError(AWSResponse(status: status, headers: HTTPHeaders(headers), body: Array(body.utf8)), operation: "Op")
    }
    let a = error(404, [("x-amzn-ErrorType", "ResourceNotFoundException:http://internal.amazon.com/")], #"{"message":"no such job"}"#)
    #expect(a.code == "ResourceNotFoundException" && "\(a)".contains("no such job"))
    let b = error(429, [], #"{"__type":"com.amazonaws.medicalimaging#ThrottlingException","message":"slow down"}"#)
    #expect(b.code == "ThrottlingException" && RetryPolicy.isRetryable(b))
    let c = error(402, [], "")
    #expect(c.code == "ServiceQuotaExceededException" && !RetryPolicy.isRetryable(c))
    let d = error(400, [("x-amzn-ErrorType", "ValidationException")], #"{"Message":"bad"}"#)
    #expect(d.code == "ValidationException" && !RetryPolicy.isRetryable(d))
}

/// Unknown enum values decode and are kept.
@Test func openEnumsDecodeUnknownValues() throws {
    let json = #"{"jobId":"j1","jobStatus":"CANCELLING","datastoreId":"d","submittedAt":1700000000.5}"#
    let job = try JSONDecoder().decode(DICOMImportJobProperties.self, from: Data(json.utf8))
    #expect(job.jobStatus.rawValue == "CANCELLING" && !job.jobStatus.isTerminal)
    #expect(JobStatus.completed.isTerminal && JobStatus.failed.isTerminal)
}

/// Jobs stay within the quotas, studies stay whole where they fit, each job has its own
/// prefix under the run, and the client token is stable for a (data store, run, job).
@Test func importPlanning() {
    func files(_ study: String, _ count: Int, size: Int = 100) -> [ImportFile] {
        (0..<count).map { ImportFile(path: "/d/\(study)/\($0)", relativePath: "\(study)/\($0).dcm", size: size,
                                     studyInstanceUID: study, seriesInstanceUID: "\(study).1", sopInstanceUID: "\(study).1.\($0)") }
    }
    let all = files("1.1", 2) + files("1.2", 2) + files("1.3", 7)
    let plans = ImportPlanner.plan(all, runId: "RUN", prefix: "in", maxFiles: 4, maxBytes: 10_000)
    #expect(plans.allSatisfy { $0.files.count <= 4 })
    #expect(plans.map(\.files.count).reduce(0, +) == all.count)
    #expect(plans[0].studies == ["1.1", "1.2"])  // two small studies share a job
    #expect(plans.filter { $0.studies.contains("1.3") }.count == 2)  // the big one is split
    #expect(plans[0].prefix == "in/RUN/job-0001/" && plans[0].key(of: plans[0].files[0]) == "in/RUN/job-0001/1.1/0.dcm")
    let bySize = ImportPlanner.plan(files("2.1", 5, size: 400), runId: "R", prefix: "", maxFiles: 100, maxBytes: 1_000)
    #expect(bySize.allSatisfy { $0.bytes <= 1_000 } && bySize.count == 3)
    let token = ImportPlanner.clientToken(datastoreId: "d", runId: "RUN", job: 1)
    #expect(token == ImportPlanner.clientToken(datastoreId: "d", runId: "RUN", job: 1))
    #expect(token != ImportPlanner.clientToken(datastoreId: "d", runId: "RUN", job: 2))
    #expect(token.count <= 64 && token.allSatisfy { $0.isHexDigit })
    #expect(Importer.expandedOutput("s3://b/o", datastoreId: "D", jobId: "J") == "s3://b/o/D-DicomImport-J/")
    #expect(Importer.expandedOutput("s3://b/o/D-DicomImport-J/", datastoreId: "D", jobId: "J") == "s3://b/o/D-DicomImport-J/")
}

/// The quotas of §3.1, and how many jobs a run needs under them.
@Test func importJobQuotas() {
    #expect(ImportJobQuotas.maxFilesPerJob == 5_000 && ImportJobQuotas.maxBytesPerJob == 10_000_000_000)
    #expect(ImportJobQuotas.jobsNeeded(files: 0, bytes: 0) == 0)
    #expect(ImportJobQuotas.jobsNeeded(files: 5_000, bytes: 10_000_000_000) == 1)
    #expect(ImportJobQuotas.jobsNeeded(files: 5_001, bytes: 1) == 2)
    #expect(ImportJobQuotas.jobsNeeded(files: 3, bytes: 25_000_000_000) == 3)
    #expect(ImportJobQuotas.jobsNeeded(files: 10, bytes: 10, maxFiles: 3, maxBytes: 100) == 4)
}
