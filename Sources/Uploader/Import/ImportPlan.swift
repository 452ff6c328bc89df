import Crypto
import Foundation

/// One local file that will be imported: where it is and the UIDs that place it.
public struct ImportFile: Sendable, Hashable {
    /// The path on disk.
    public let path: String
    /// The path relative to the folder given (the object key's tail).
    public let relativePath: String
    /// Size in bytes.
    public let size: Int
    /// StudyInstanceUID.
    public let studyInstanceUID: String
    /// SeriesInstanceUID.
    public let seriesInstanceUID: String
    /// SOPInstanceUID.
    public let sopInstanceUID: String

    /// Creates a file entry.
    public init(path: String, relativePath: String, size: Int, studyInstanceUID: String, seriesInstanceUID: String, sopInstanceUID: String) {
        self.path = path
        self.relativePath = relativePath
        self.size = size
        self.studyInstanceUID = studyInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.sopInstanceUID = sopInstanceUID
    }
}

/// One planned import job: its files and its own S3 prefix, so no job ever scans another's files.
public struct ImportJobPlan: Sendable {
    /// 1-based number within the run.
    public let number: Int
    /// `PREFIX/<run-id>/job-0001/` (no leading slash).
    public let prefix: String
    /// The files, by study then series then path.
    public let files: [ImportFile]
    /// Total bytes.
    public var bytes: Int { files.reduce(0) { $0 + $1.size } }
    /// The studies it holds.
    public var studies: [String] { Array(Set(files.map(\.studyInstanceUID))).sorted() }
    /// The object key of a file.
    public func key(of file: ImportFile) -> String { prefix + file.relativePath }
}

/// Splits files into import jobs: studies kept whole where they fit, several small
/// studies packed into one job, a study too big for one job split between series
/// first, never more than `maxFiles` files or `maxBytes` bytes per job.
public enum ImportPlanner {
    /// The jobs for `files`.
    public static func plan(_ files: [ImportFile], runId: String, prefix: String, maxFiles: Int, maxBytes: Int) -> [ImportJobPlan] {
        let base = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        let byStudy = Dictionary(grouping: files, by: \.studyInstanceUID)
        var jobs: [[ImportFile]] = []
        var current: [ImportFile] = [], currentBytes = 0
        func flush() {
            if !current.isEmpty { jobs.append(current) }
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
        return jobs.enumerated().map { i, files in
            ImportJobPlan(number: i + 1, prefix: base + runId + "/" + String(format: "job-%04d/", i + 1), files: files)
        }
    }

    /// A run id: UTC time and a random suffix (`20261123T113000Z-3f9a1c`).
    public static func newRunId(now: Date = Date()) -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return f.string(from: now) + "-" + String(UUID().uuidString.prefix(6)).lowercased()
    }

    /// The deterministic client token of a job: a retried start never makes a second job.
    public static func clientToken(datastoreId: String, runId: String, job: Int) -> String {
        SHA256.hash(data: Data("\(datastoreId)/\(runId)/\(job)".utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
