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

