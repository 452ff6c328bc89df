import ByteCoding
import Foundation

/// An open enum: the documented values as constants, any other value kept as it
/// came (the service adds values over time; decoding never fails on one).
public struct JobStatus: RawRepresentable, Codable, Hashable, Sendable, CustomStringConvertible {
    /// The wire value.
    public let rawValue: String
    /// Wraps a wire value.
    public init(rawValue: String) { self.rawValue = rawValue }
    public init(from decoder: any Decoder) throws { rawValue = try decoder.singleValueContainer().decode(String.self) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(rawValue)
    }
    public static let submitted = JobStatus(rawValue: "SUBMITTED")
    public static let inProgress = JobStatus(rawValue: "IN_PROGRESS")
    public static let completed = JobStatus(rawValue: "COMPLETED")
    public static let failed = JobStatus(rawValue: "FAILED")
    /// COMPLETED or FAILED.
    public var isTerminal: Bool { self == .completed || self == .failed }
    public var description: String { rawValue }
}

/// A data store (GetDatastore / ListDatastores).
public struct DatastoreProperties: Codable, Sendable {
    public let datastoreId: String
    public let datastoreName: String?
    public let datastoreStatus: String
    public let datastoreArn: String?
    public let createdAt: Double?
    public let updatedAt: Double?
}

/// An import job (GetDICOMImportJob / ListDICOMImportJobs).
public struct DICOMImportJobProperties: Codable, Sendable {
    public let jobId: String
    public let jobName: String?
    public let jobStatus: JobStatus
    public let datastoreId: String
    public let dataAccessRoleArn: String?
    public let endedAt: Double?
    public let submittedAt: Double?
    public let inputS3Uri: String?
    public let outputS3Uri: String?
    public let message: String?
}

/// What StartDICOMImportJob answers.
public struct StartedImportJob: Codable, Sendable {
    public let datastoreId: String
    public let jobId: String
    public let jobStatus: JobStatus
    public let submittedAt: Double?
}

/// One SearchImageSets result.
public struct ImageSetSummary: Codable, Sendable {
    public let imageSetId: String
    public let version: Int?
    public let isPrimary: Bool?
    public let createdAt: Double?
    public let updatedAt: Double?
    public let DICOMTags: [String: JSONScalar]?
}

/// GetImageSet's answer.
public struct ImageSetProperties: Codable, Sendable {
    public let datastoreId: String
    public let imageSetId: String
    public let versionId: String
    public let imageSetState: String
    public let imageSetWorkflowStatus: String?
    public let isPrimary: Bool?
    public let message: String?
}

/// A JSON string, number or boolean (the values of `DICOMTags`).
public enum JSONScalar: Codable, Sendable, Hashable {
    case string(String), number(Double), bool(Bool), null
    public init(from decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        if c.decodeNil() { self = .null }
        else if let b = try? c.decode(Bool.self) { self = .bool(b) }
        else if let n = try? c.decode(Double.self) { self = .number(n) }
        else { self = .string(try c.decode(String.self)) }
    }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .string(let s): try c.encode(s)
        case .number(let n): try c.encode(n)
        case .bool(let b): try c.encode(b)
        case .null: try c.encodeNil()
        }
    }
    /// The text, for strings.
    public var string: String? { if case .string(let s) = self { return s } else { return nil } }
}

/// AWS HealthImaging (`medical-imaging`, rest-json) with the same signing, retry
/// policy and errors as S3. Control-plane operations go to `medical-imaging.<region>`,
/// image-set reads to `runtime-medical-imaging.<region>` (the model's host prefix);
/// FIPS and dual-stack endpoints on request. A custom endpoint is used as given for
/// both, with `runtime-` put before DNS names only (never before an IP address or
/// `localhost`, nor with `AWS_DISABLE_HOST_PREFIX_INJECTION=true`).
public struct HealthImagingClient: Sendable {
    /// Control-plane transport.
    public let control: AWSTransport
    /// Data-plane (`runtime-`) transport.
    public let runtime: AWSTransport

    /// Creates a client from its two transports.
    public init(control: AWSTransport, runtime: AWSTransport) {
        self.control = control
        self.runtime = runtime
    }

    /// The control and runtime endpoints for a region (or a custom endpoint).
    public static func endpoints(region: String, endpointURL: String?, fips: Bool = false, dualStack: Bool = false,
                                 environment: [String: String] = ProcessInfo.processInfo.environment) throws -> (Endpoint, Endpoint) {
        if let endpointURL {
            guard let e = Endpoint(endpointURL) else { throw S3Setup.SetupError(description: "\(endpointURL): not an http(s) URL") }
            let isIP = e.host.allSatisfy { $0.isNumber || $0 == "." } || e.host.contains(":") || e.host == "localhost"
            let disabled = environment["AWS_DISABLE_HOST_PREFIX_INJECTION"]?.lowercased() == "true"
            let runtime = isIP || disabled ? e : Endpoint(scheme: e.scheme, host: "runtime-" + e.host, port: e.port)
            return (e, runtime)
        }
        let suffix = dualStack ? "api.aws" : (region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com")
        let name = fips ? "medical-imaging-fips" : "medical-imaging"
        return (Endpoint(scheme: "https", host: "\(name).\(region).\(suffix)"),
                Endpoint(scheme: "https", host: "runtime-\(name).\(region).\(suffix)"))
    }

    /// A client for `region` (or `endpointURL`) signing with `credentials`.
    public static func make(region: String, endpointURL: String?, fips: Bool = false, dualStack: Bool = false,
                            connections: Int = 8, environment: [String: String] = ProcessInfo.processInfo.environment,
                            credentials: @escaping @Sendable () async throws -> AWSCredentials,
                            debug: (@Sendable (String) -> Void)? = nil) throws -> HealthImagingClient {
        let (c, r) = try endpoints(region: region, endpointURL: endpointURL, fips: fips, dualStack: dualStack, environment: environment)
        return HealthImagingClient(
            control: AWSTransport(endpoint: c, region: region, service: "medical-imaging", connections: connections,
                                  credentials: credentials, debug: debug),
            runtime: AWSTransport(endpoint: r, region: region, service: "medical-imaging", connections: connections,
                                  credentials: credentials, debug: debug))
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ r: AWSResponse, _ operation: String) throws -> T {
        do {
            return try JSONDecoder().decode(T.self, from: Data(r.body))
        } catch {
            throw AWSError.invalidResponse(operation: operation, reason: "\(error)")
        }
    }

    private static func body(_ object: [String: Any]) -> [UInt8] {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { [UInt8]($0) } ?? []
    }

    private static let json = [("Content-Type", "application/json")]

    // MARK: Data stores

    /// CreateDatastore (idempotent by client token).
    public func createDatastore(name: String, clientToken: String) async throws -> (id: String, status: String) {
        let r = try await control.send(AWSRequest(operation: "CreateDatastore", method: "POST", path: "/datastore", headers: Self.json,
                                                  body: Self.body(["datastoreName": name, "clientToken": clientToken])))
        struct Out: Decodable { let datastoreId: String; let datastoreStatus: String }
        let out = try Self.decode(Out.self, r, "CreateDatastore")
        return (out.datastoreId, out.datastoreStatus)
    }

    /// GetDatastore.
    public func getDatastore(_ id: String) async throws -> DatastoreProperties {
        let r = try await control.send(AWSRequest(operation: "GetDatastore", method: "GET", path: "/datastore/\(id)"))
        struct Out: Decodable { let datastoreProperties: DatastoreProperties }
        return try Self.decode(Out.self, r, "GetDatastore").datastoreProperties
    }

    /// ListDatastores, every page.
    public func listDatastores() async throws -> [DatastoreProperties] {
        struct Out: Decodable { let datastoreSummaries: [DatastoreProperties]?; let nextToken: String? }
        var all: [DatastoreProperties] = [], token: String?
        repeat {
            var query: [(String, String?)] = [("maxResults", "50")]
            if let token { query.append(("nextToken", token)) }
            let r = try await control.send(AWSRequest(operation: "ListDatastores", method: "GET", path: "/datastore", query: query))
            let out = try Self.decode(Out.self, r, "ListDatastores")
            all += out.datastoreSummaries ?? []
            token = out.nextToken
        } while token != nil
        return all
    }

    // MARK: Import jobs

    /// StartDICOMImportJob. The same `clientToken` never starts a second job.
    public func startDICOMImportJob(datastoreId: String, jobName: String, roleArn: String, clientToken: String,
                                    inputS3Uri: String, outputS3Uri: String, inputOwnerAccountId: String? = nil) async throws -> StartedImportJob {
        var fields: [String: Any] = ["jobName": jobName, "dataAccessRoleArn": roleArn, "clientToken": clientToken,
                                     "inputS3Uri": inputS3Uri, "outputS3Uri": outputS3Uri]
        if let inputOwnerAccountId, !inputOwnerAccountId.isEmpty { fields["inputOwnerAccountId"] = inputOwnerAccountId }
        let r = try await control.send(AWSRequest(operation: "StartDICOMImportJob", method: "POST",
                                                  path: "/startDICOMImportJob/datastore/\(datastoreId)", headers: Self.json,
                                                  body: Self.body(fields)))
        return try Self.decode(StartedImportJob.self, r, "StartDICOMImportJob")
    }

    /// GetDICOMImportJob.
    public func getDICOMImportJob(datastoreId: String, jobId: String) async throws -> DICOMImportJobProperties {
        let r = try await control.send(AWSRequest(operation: "GetDICOMImportJob", method: "GET",
                                                  path: "/getDICOMImportJob/datastore/\(datastoreId)/job/\(jobId)"))
        struct Out: Decodable { let jobProperties: DICOMImportJobProperties }
        return try Self.decode(Out.self, r, "GetDICOMImportJob").jobProperties
    }

    /// ListDICOMImportJobs, every page (optionally one status).
    public func listDICOMImportJobs(datastoreId: String, status: JobStatus? = nil) async throws -> [DICOMImportJobProperties] {
        struct Out: Decodable { let jobSummaries: [DICOMImportJobProperties]; let nextToken: String? }
        var all: [DICOMImportJobProperties] = [], token: String?
        repeat {
            var query: [(String, String?)] = [("maxResults", "50")]
            if let status { query.append(("jobStatus", status.rawValue)) }
            if let token { query.append(("nextToken", token)) }
            let r = try await control.send(AWSRequest(operation: "ListDICOMImportJobs", method: "GET",
                                                      path: "/listDICOMImportJobs/datastore/\(datastoreId)", query: query))
            let out = try Self.decode(Out.self, r, "ListDICOMImportJobs")
            all += out.jobSummaries
            token = out.nextToken
        } while token != nil
        return all
    }

    // MARK: Image sets

    /// SearchImageSets with one EQUAL filter (e.g. `DICOMStudyInstanceUID`), every page.
    public func searchImageSets(datastoreId: String, attribute: String, equals value: String) async throws -> [ImageSetSummary] {
        struct Out: Decodable { let imageSetsMetadataSummaries: [ImageSetSummary]; let nextToken: String? }
        var all: [ImageSetSummary] = [], token: String?
        let criteria = Self.body(["filters": [["values": [[attribute: value]], "operator": "EQUAL"]]])
        repeat {
            var query: [(String, String?)] = [("maxResults", "50")]
            if let token { query.append(("nextToken", token)) }
            let r = try await runtime.send(AWSRequest(operation: "SearchImageSets", method: "POST",
                                                      path: "/datastore/\(datastoreId)/searchImageSets", query: query,
                                                      headers: Self.json, body: criteria))
            let out = try Self.decode(Out.self, r, "SearchImageSets")
            all += out.imageSetsMetadataSummaries
            token = out.nextToken
        } while token != nil
        return all
    }

    /// GetImageSet.
    public func getImageSet(datastoreId: String, imageSetId: String) async throws -> ImageSetProperties {
        let r = try await runtime.send(AWSRequest(operation: "GetImageSet", method: "POST",
                                                  path: "/datastore/\(datastoreId)/imageSet/\(imageSetId)/getImageSet"))
        return try Self.decode(ImageSetProperties.self, r, "GetImageSet")
    }

    /// GetImageSetMetadata: the JSON document, inflated once (only when it is gzip).
    public func getImageSetMetadata(datastoreId: String, imageSetId: String, version: String? = nil) async throws -> [UInt8] {
        let r = try await runtime.send(AWSRequest(operation: "GetImageSetMetadata", method: "POST",
                                                  path: "/datastore/\(datastoreId)/imageSet/\(imageSetId)/getImageSetMetadata",
                                                  query: version.map { [("version", $0)] } ?? []))
        guard r.body.count >= 2, r.body[0] == 0x1F, r.body[1] == 0x8B else { return r.body }
        do {
            return try Zlib.inflate(r.body, format: .gzip, limit: 1 << 30)
        } catch {
            throw AWSError.invalidResponse(operation: "GetImageSetMetadata", reason: "the gzip body does not inflate: \(error)")
        }
    }

    /// GetImageFrame: the frame's bytes as stored, and their Content-Type.
    public func getImageFrame(datastoreId: String, imageSetId: String, imageFrameId: String) async throws -> (bytes: [UInt8], contentType: String) {
        let r = try await runtime.send(AWSRequest(operation: "GetImageFrame", method: "POST",
                                                  path: "/datastore/\(datastoreId)/imageSet/\(imageSetId)/getImageFrame",
                                                  headers: Self.json, body: Self.body(["imageFrameId": imageFrameId])))
        return (r.body, r.header("Content-Type") ?? "application/octet-stream")
    }
}
