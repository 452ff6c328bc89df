import Foundation
import ImportPipeline
import Uploader

/// What to do with a source file once HealthImaging's manifest confirms its import.
public enum OnSuccess: Sendable, Equatable, CustomStringConvertible {
    /// Leave it.
    case keep
    /// Move it to this folder, keeping its path below the synced folder.
    case move(String)
    /// Delete it.
    case delete

    /// Parses `keep`, `move:DIR` or `delete`.
    public init?(argument: String) {
        if argument == "keep" { self = .keep } else if argument == "delete" { self = .delete } else if argument.hasPrefix("move:"),
            argument.count > 5 {
            self = .move(String(argument.dropFirst(5)))
        } else { return nil }
    }

    public var description: String {
        switch self {
        case .keep: return "keep"
        case .delete: return "delete"
        case .move(let dir): return "move:\(dir)"
        }
    }
}

/// How `sync` and `watch` run.
public struct SyncSettings: Sendable {
    /// The folder (absolute).
    public var folder: String
    /// The data store, bucket, prefix and role; the ledger's objects live under `PREFIX/<ledger-id>/`.
    public var destination: ImportDestination
    /// Uploads and polling.
    public var pipeline = ImportPipeline.Settings()
    /// A file is picked up once its size and mtime have not changed for this long (seconds).
    public var settle: Double = 30
    public var maxFilesPerJob = ImportJobQuotas.maxFilesPerJob
    public var maxBytesPerJob = ImportJobQuotas.maxBytesPerJob
    /// Import files the validator finds errors in.
    public var force = false
    public var onSuccess: OnSuccess = .keep
    /// Before `onSuccess` acts, compare every frame's checksum in the data store with the local file's.
    public var verify = false
    /// First retry delay after a server-side failure (doubles per attempt, at most 6 h).
    public var retryBase = 60.0
    /// Only this shard's studies are imported (the others are remembered and left alone).
    public var shard = Shard.all
    /// Show patient-identifying values in cross-file findings.
    public var showPHI = false

    public init(folder: String, destination: ImportDestination) {
        self.folder = folder
        self.destination = destination
    }
}

/// What one pass did, for the summary line, `--output json` and the exit status.
public struct SyncSummary: Codable, Sendable {
    /// Files in the folder.
    public var found = 0
    /// New to the ledger, or changed since it last saw them.
    public var new = 0
    /// Still being written (or written less than `--settle` seconds ago).
    public var settling = 0
    public var validated = 0
    public var rejected = 0
    public var uploaded = 0
    public var jobsStarted = 0
    public var jobsEnded = 0
    public var imported = 0
    public var failed = 0
    /// Source files moved or deleted after import.
    public var disposed = 0
    /// Stale multipart uploads aborted.
    public var abortedUploads = 0
    /// Jobs still running when the pass ended (`--no-wait`, watch, or a stop).
    public var jobsRunning = 0
    /// `path: reason`, for every file that failed or was rejected in this pass.
    public var problems: [String] = []
    /// Findings across the files validated in this pass (duplicate SOP instances, disagreeing patient/study attributes).
    public var crossFile: [CrossFileWarning] = []
    /// Stopped early by SIGTERM/SIGINT.
    public var interrupted = false

    public init() {}

    /// Adds another pass's counts.
    public mutating func add(_ o: SyncSummary) {
        found = o.found
        new += o.new
        settling = o.settling
        validated += o.validated
        rejected += o.rejected
        uploaded += o.uploaded
        jobsStarted += o.jobsStarted
        jobsEnded += o.jobsEnded
        imported += o.imported
        failed += o.failed
        disposed += o.disposed
        abortedUploads += o.abortedUploads
        jobsRunning = o.jobsRunning
        problems += o.problems
        crossFile += o.crossFile
        interrupted = interrupted || o.interrupted
    }

    /// `found 12, new 3, settling 1, …`.
    public var line: String {
        var parts = ["found \(found)", "new \(new)"]
        for (name, n) in [("settling", settling), ("validated", validated), ("rejected", rejected), ("uploaded", uploaded),
                          ("jobs started", jobsStarted), ("jobs ended", jobsEnded), ("imported", imported), ("failed", failed),
                          ("disposed", disposed), ("stale uploads aborted", abortedUploads), ("jobs running", jobsRunning),
                          ("cross-file warnings", crossFile.count)] where n > 0 {
            parts.append("\(name) \(n)")
        }
        return parts.joined(separator: ", ")
    }
}

/// A stop flag set from a signal handler and read by the engine between steps.
public final class StopFlag: @unchecked Sendable {
    // @unchecked: one Bool under a lock.
    private let lock = NSLock()
    private var value = false
    public init() {}
    /// True once a stop was requested.
    public var isSet: Bool { lock.withLock { value } }
    /// Requests a stop.
    public func set() { lock.withLock { value = true } }
}

