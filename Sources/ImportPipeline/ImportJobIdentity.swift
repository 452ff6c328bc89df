import ByteCoding
import Crypto
import Foundation
import Uploader

/// One local file on its way into an import job: where it is, the UIDs that place it,
/// and the CRC-32C taken when it was read (sent with the upload, so the bytes are not
/// read a second time to checksum them and a file changed since is refused by S3).
public struct ImportFile: Sendable, Hashable {
    /// The path on disk.
    public let path: String
    /// The path relative to the folder given (the object key's tail).
    public let relativePath: String
    /// Size in bytes.
    public let size: Int
    /// StudyInstanceUID (0020,000D).
    public let studyInstanceUID: String
    /// SeriesInstanceUID (0020,000E).
    public let seriesInstanceUID: String
    /// SOPInstanceUID (0008,0018).
    public let sopInstanceUID: String
    /// CRC-32C of the whole file, base64 (as `x-amz-checksum-crc32c`); nil when not taken.
    public let checksum: String?

    /// Creates a file entry.
    public init(path: String, relativePath: String, size: Int, studyInstanceUID: String, seriesInstanceUID: String,
                sopInstanceUID: String, checksum: String? = nil) {
        self.path = path
        self.relativePath = relativePath
        self.size = size
        self.studyInstanceUID = studyInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.sopInstanceUID = sopInstanceUID
        self.checksum = checksum
    }
}

/// Where imports go: the data store, the bucket and key prefix HealthImaging reads,
/// and the data access role it reads them with.
public struct ImportDestination: Sendable, Hashable {
    /// The data store id (32 hex digits).
    public var datastoreId: String
    /// The S3 bucket the files are uploaded to.
    public var bucket: String
    /// Key prefix, without a leading slash ("" for the bucket's root).
    public var prefix: String
    /// The IAM role HealthImaging assumes to read the bucket.
    public var roleArn: String

    /// Creates a destination.
    public init(datastoreId: String, bucket: String, prefix: String, roleArn: String) {
        self.datastoreId = datastoreId
        self.bucket = bucket
        self.prefix = prefix
        self.roleArn = roleArn
    }

    /// `PREFIX/SCOPE/`: every object of one run (import) or one ledger (sync).
    public func root(scope: String) -> String {
        (prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/") + scope + "/"
    }

    /// `PREFIX/SCOPE/job-NNNNNN/`: the job's input prefix (no other job's files under it).
    public func inputPrefix(_ job: ImportJobIdentity) -> String {
        root(scope: job.scope) + "job-" + Self.sixDigits(job.number) + "/"
    }

    /// `s3://BUCKET/KEY`: the one place these URIs are written.
    public func uri(_ key: String) -> String { "s3://\(bucket)/\(key)" }

    /// `s3://BUCKET/PREFIX/SCOPE/job-NNNNNN/`.
    public func inputS3Uri(_ job: ImportJobIdentity) -> String { uri(inputPrefix(job)) }

    /// `s3://BUCKET/PREFIX/SCOPE/output/job-NNNNNN/`: beside the inputs, never under them.
    public func outputS3Uri(_ job: ImportJobIdentity) -> String {
        uri(root(scope: job.scope) + "output/job-" + Self.sixDigits(job.number) + "/")
    }

    /// The StartDICOMImportJob request for a planned job. Its input is the job's recorded
    /// prefix (the derived one for every job planned by this version; a ledger's older
    /// batches keep the prefix they were uploaded under).
    public func startRequest(_ job: PlannedImportJob) -> ImportJobStarter.Request {
        let id = job.identity
        return ImportJobStarter.Request(identity: id, jobName: id.jobName, roleArn: roleArn, clientToken: id.clientToken,
                                        inputS3Uri: uri(job.prefix), outputS3Uri: outputS3Uri(id))
    }

    static func sixDigits(_ n: Int) -> String {
        let s = String(n)
        return s.count >= 6 ? s : String(repeating: "0", count: 6 - s.count) + s
    }
}

/// Who a job is: its data store, its scope (an `import` run id, or a `sync` ledger id)
/// and its number within that scope. It alone derives the job's client token and
/// name, and (with an ``ImportDestination``) its S3 prefix and input/output URIs, so a
/// job started again after a crash is the same job (StartDICOMImportJob's client token).
public struct ImportJobIdentity: Sendable, Hashable, Codable, CustomStringConvertible {
    /// The data store.
    public let datastoreId: String
    /// `import`'s run id or `sync`'s ledger id.
    public let scope: String
    /// 1-based number within the scope.
    public let number: Int

    /// Creates an identity.
    public init(datastoreId: String, scope: String, number: Int) {
        self.datastoreId = datastoreId
        self.scope = scope
        self.number = number
    }

    /// SHA-256 of `DATASTORE/SCOPE/NUMBER` in lower-case hex (64 characters, within
    /// StartDICOMImportJob's 1–64): the same for every start of this job, different for any other.
    public var clientToken: String { Hex.encode(SHA256.hash(data: Data("\(datastoreId)/\(scope)/\(number)".utf8))) }

    /// `ahi-upload-SCOPE-NUMBER`, cut to the 64 characters a job name may have.
    public var jobName: String { String("ahi-upload-\(scope)-\(number)".prefix(64)) }

    /// `SCOPE job NUMBER`.
    public var description: String { "\(scope) job \(number)" }
}

/// One planned import job: its identity, its own S3 prefix, and its files.
public struct PlannedImportJob: Sendable {
    /// The job's identity.
    public let identity: ImportJobIdentity
    /// The job's input prefix (see ``ImportDestination/inputPrefix(_:)``).
    public let prefix: String
    /// The files, by study then series then path.
    public let files: [ImportFile]

    /// Creates a planned job.
    public init(identity: ImportJobIdentity, prefix: String, files: [ImportFile]) {
        self.identity = identity
        self.prefix = prefix
        self.files = files
    }

    /// 1-based number within its scope.
    public var number: Int { identity.number }
    /// Total bytes.
    public var bytes: Int { files.reduce(0) { $0 + $1.size } }
    /// The object key of a file.
    public func key(of file: ImportFile) -> String { prefix + file.relativePath }
}

/// Splits files into groups of one import job each: studies kept whole where they fit,
/// several small studies packed into one group, a study too big for one job split
/// between series first, never more than `maxFiles` files or `maxBytes` bytes per group.
/// Naming is not its business (see ``ImportJobIdentity``).
public enum ImportGrouping {
    /// The groups, in a stable order (by study, then series, then path).
    public static func group(_ files: [ImportFile], maxFiles: Int, maxBytes: Int) -> [[ImportFile]] {
        let byStudy = Dictionary(grouping: files, by: \.studyInstanceUID)
        var groups: [[ImportFile]] = []
        var current: [ImportFile] = [], currentBytes = 0
        func flush() {
            if !current.isEmpty { groups.append(current) }
            current = []
            currentBytes = 0
        }
        for study in byStudy.keys.sorted() {
            let studyFiles = (byStudy[study] ?? []).sorted { ($0.seriesInstanceUID, $0.relativePath) < ($1.seriesInstanceUID, $1.relativePath) }
            let studyBytes = studyFiles.reduce(0) { $0 + $1.size }
            // A study that fits in a fresh job but not in the current one starts a new job.
            if current.count + studyFiles.count > maxFiles || currentBytes + studyBytes > maxBytes,
               studyFiles.count <= maxFiles, studyBytes <= maxBytes {
                flush()
            }
            for f in studyFiles {
                if current.count + 1 > maxFiles || (currentBytes + f.size > maxBytes && !current.isEmpty) { flush() }
                current.append(f)
                currentBytes += f.size
            }
        }
        flush()
        return groups
    }

    /// A run id: UTC time and a random suffix (`20261123T113000Z-3f9a1c`).
    public static func newRunId(now: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: now) + "-" + String(UUID().uuidString.prefix(6)).lowercased()
    }
}
