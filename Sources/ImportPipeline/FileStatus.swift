/// Where a file is on its way into HealthImaging: one vocabulary for `import`'s report,
/// `sync`'s ledger and both JSON outputs. The raw values are what the JSON and the
/// ledger hold (unchanged from earlier versions).
public enum FileStatus: String, Sendable, Codable, CaseIterable {
    /// `sync`: found in the folder; not yet settled or validated.
    case seen
    /// Read and accepted; waiting for (or planned into) a job.
    case validated
    /// `import --dry-run`: planned into a job, nothing sent.
    case planned
    /// Its object is in S3 under its job's prefix.
    case uploaded
    /// `import`: its upload failed.
    case notUploaded = "not-uploaded"
    /// `import`: its job was started (and, with `--no-wait`, not followed).
    case submitted
    /// `sync`: its job was started; the ledger follows it.
    case importing
    /// HealthImaging's manifest lists it as stored.
    case imported
    /// `import`: the data store already held this SOP instance; not sent again.
    case alreadyImported = "already-imported"
    /// Not stored: HealthImaging refused it (`import`), its job failed, or (`sync`) a
    /// server-side failure that a later run retries with backoff.
    case failed
    /// `sync`: the validator or HealthImaging refused the data; not retried until the file changes.
    case rejected
    /// `import`: the validator found errors; not sent.
    case skipped

    /// The states a `sync` ledger uses, in the order `status` lists them.
    public static let ledgerStates: [FileStatus] = [.seen, .validated, .uploaded, .importing, .imported, .rejected, .failed]

    /// Ledger states a later run still has work for.
    public var isUnfinished: Bool { [.seen, .validated, .uploaded, .importing].contains(self) }

    /// Whether the file is in the data store (now or from before).
    public var isStored: Bool { self == .imported || self == .alreadyImported }
}
