import Foundation
import Uploader

/// Whose fault a failure is: decides whether it is retried.
public enum FailureKind: String, Sendable, Codable {
    /// The data (HealthImaging's customer error, or our validator): not retried until the file changes.
    case customer
    /// The service or the transport: retried later, with backoff.
    case server
}

/// An import job's output, read from its manifests (`job-output-manifest.json`,
/// `SUCCESS/success.ndjson`, `WARNING/warning.ndjson`, `FAILURE/failure.ndjson` under
/// the job's expanded output URI; shared/reference/healthimaging-import-outcomes.md §3).
/// Every field is decoded as optional; lines that are not JSON objects are skipped.
public struct ImportManifest: Sendable {
    /// `jobSummary` of `job-output-manifest.json`.
    public struct Summary: Codable, Sendable {
        public var jobId: String?
        public var datastoreId: String?
        public var inputS3Uri: String?
        public var outputS3Uri: String?
        public var numberOfScannedFiles: Int?
        public var numberOfImportedFiles: Int?
        public var numberOfFilesWithCustomerError: Int?
        public var numberOfFilesWithServerError: Int?
        public var numberOfGeneratedImageSets: Int?
        public var imageSetsSummary: [ImageSetSummary]?

        /// One image set the job wrote to.
        public struct ImageSetSummary: Codable, Sendable {
            public var imageSetId: String?
            public var numberOfMatchedSOPInstances: Int?
            public var imageSetVersion: Int?
            public var isPrimary: Bool?
        }
    }

    /// One warning on a stored instance. `warning_reason_code` is decimal (e.g. 45330).
    public struct Warning: Codable, Sendable, Equatable {
        public var warning_reason_code: Int?
        public var type: String?
        public var message: String?

        /// `TYPE (CODE): message`.
        public var text: String {
            var s = type ?? "warning"
            if let c = warning_reason_code { s += " (\(c))" }
            if let m = message, !m.isEmpty { s += ": " + m }
            return s
        }
    }

    /// A SUCCESS or WARNING line.
    public struct ImportedLine: Codable, Sendable {
        public var inputFile: String?
        public var importResponse: Response?
        public struct Response: Codable, Sendable {
            public var imageSetId: String?
            public var imageSetVersion: Int?
            public var isPrimary: Bool?
            public var warnings: [Warning]?
        }
    }

    /// A FAILURE line.
    public struct FailureLine: Codable, Sendable {
        public var inputFile: String?
        public var exception: Exception?
        public struct Exception: Codable, Sendable {
            public var exceptionType: String?
            public var message: String?
        }
    }

    /// What the manifests say of one object key.
    public enum Outcome: Sendable, Equatable {
        /// Stored, in this image set (warnings empty for a SUCCESS line).
        case imported(imageSetId: String?, isPrimary: Bool?, warnings: [String])
        /// Not stored: why, and whose fault.
        case failed(reason: String, kind: FailureKind)
        /// In no manifest file.
        case missing
    }

    public var summary: Summary?
    public var success: [ImportedLine] = []
    public var warning: [ImportedLine] = []
    public var failure: [FailureLine] = []

    /// Creates a manifest from its parts (tests, recorded manifests).
    public init(summary: Summary? = nil, success: [ImportedLine] = [], warning: [ImportedLine] = [], failure: [FailureLine] = []) {
        self.summary = summary
        self.success = success
        self.warning = warning
        self.failure = failure
    }

    /// Parses the files' texts (each ndjson: one object per line).
    public init(summaryJSON: [UInt8]?, success: String, warning: String, failure: String) {
        struct Top: Decodable { var jobSummary: Summary? }
        summary = summaryJSON.flatMap { try? JSONDecoder().decode(Top.self, from: Data($0)) }?.jobSummary
        self.success = Self.lines(success)
        self.warning = Self.lines(warning)
        self.failure = Self.lines(failure)
    }

    static func lines<T: Decodable>(_ text: String) -> [T] {
        let decoder = JSONDecoder()
        return text.split(whereSeparator: \.isNewline).compactMap { try? decoder.decode(T.self, from: Data($0.utf8)) }
    }

    /// Exception types that are the service's fault (retried later).
    public static let serverExceptions: Set<String> = [
        "InternalServerException", "ServiceUnavailableException", "ThrottlingException", "InternalFailure",
        "ServiceQuotaExceededException", "InternalError",
    ]

    /// Whose fault a FAILURE line is. `ValidationException` (the only type documented)
    /// and the documented "DICOM attribute … does not exist" messages are the data's; the
    /// server exception types are the service's. For anything else the job summary's
    /// counters decide when they can (only server errors counted → the service's);
    /// otherwise it is taken as the service's, so it is retried rather than dropped.
    public func kind(of line: FailureLine) -> FailureKind {
        let type = line.exception?.exceptionType ?? ""
        if Self.serverExceptions.contains(type) { return .server }
        if type == "ValidationException" || (line.exception?.message ?? "").hasPrefix("DICOM attribute") { return .customer }
        if let s = summary, let customer = s.numberOfFilesWithCustomerError, let server = s.numberOfFilesWithServerError {
            if customer == 0 && server > 0 { return .server }
            if server == 0 && customer > 0 { return .customer }
        }
        return .server
    }

    /// Every key's outcome, merged with the precedence failure > warning > success (§3.4).
    public var outcomes: [String: Outcome] {
        var out: [String: Outcome] = [:]
        for line in success {
            guard let key = line.inputFile else { continue }
            out[key] = .imported(imageSetId: line.importResponse?.imageSetId, isPrimary: line.importResponse?.isPrimary, warnings: [])
        }
        for line in warning {
            guard let key = line.inputFile else { continue }
            out[key] = .imported(imageSetId: line.importResponse?.imageSetId, isPrimary: line.importResponse?.isPrimary,
                                 warnings: (line.importResponse?.warnings ?? []).map(\.text))
        }
        for line in failure {
            guard let key = line.inputFile else { continue }
            let e = line.exception
            let reason = [e?.exceptionType, e?.message].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: ": ")
            out[key] = .failed(reason: reason.isEmpty ? "failed at import" : reason, kind: kind(of: line))
        }
        return out
    }

    /// The outcome of one object key.
    public func outcome(of key: String) -> Outcome { outcomes[key] ?? .missing }

    /// Image sets named in the SUCCESS and WARNING lines, in order, each once.
    public var imageSetIds: [String] {
        var seen = Set<String>(), out: [String] = []
        for line in success + warning {
            if let id = line.importResponse?.imageSetId, seen.insert(id).inserted { out.append(id) }
        }
        return out
    }

    /// `outputS3Uri` as GetDICOMImportJob returns it, made to end in `<datastore>-DicomImport-<job>/`.
    public static func expandedOutput(_ uri: String, datastoreId: String, jobId: String) -> String {
        var u = uri.hasSuffix("/") ? uri : uri + "/"
        if !u.hasSuffix("-DicomImport-\(jobId)/") { u += "\(datastoreId)-DicomImport-\(jobId)/" }
        return u
    }

    /// Reads a job's manifests under `output` (the expanded output URI), waiting up to
    /// `timeout` seconds for `job-output-manifest.json` to appear (it may lag the job's end).
    /// - Throws: ``AWSError`` from S3, or `invalidResponse` when the manifest never appears.
    public static func read(_ output: String, s3: S3Client, timeout: Double, progress: (@Sendable (String) -> Void)? = nil)
        async throws -> ImportManifest {
        let uri: S3URI
        do { uri = try S3URI(parsing: output).folder } catch {
            throw AWSError.invalidResponse(operation: "GetDICOMImportJob", reason: "outputS3Uri \(error)")
        }
        let bucket = uri.bucket, prefix = uri.key
        let deadline = Date().addingTimeInterval(timeout)
        while try await s3.headObject(bucket: bucket, key: prefix + "job-output-manifest.json") == nil {
            guard Date() < deadline else {
                throw AWSError.invalidResponse(operation: "GetObject",
                                               reason: "\(output)job-output-manifest.json did not appear within \(Int(timeout)) s")
            }
            progress?("poll: waiting for the manifests at \(output)")
            try await Task.sleep(nanoseconds: 1_000_000_000)
        }
        func text(_ name: String) async throws -> String {
            guard try await s3.headObject(bucket: bucket, key: prefix + name) != nil else { return "" }
            return String(decoding: try await s3.getObject(bucket: bucket, key: prefix + name), as: UTF8.self)
        }
        let summary = try await s3.getObject(bucket: bucket, key: prefix + "job-output-manifest.json")
        return ImportManifest(summaryJSON: summary, success: try await text("SUCCESS/success.ndjson"),
                              warning: try await text("WARNING/warning.ndjson"), failure: try await text("FAILURE/failure.ndjson"))
    }
}
