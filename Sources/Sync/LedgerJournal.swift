import DICOMweb
import Foundation
import ImportPipeline
import Uploader

/// The pipeline's journal for `sync` and `watch`: every step is one ledger transaction,
/// written before the next step begins, so a run killed at any moment is finished by
/// the next one. A write that fails throws, and the pipeline stops the run with it.
final class LedgerJournal: ImportJournal, @unchecked Sendable {
    // @unchecked: `summary` under `lock`; the ledger serialises itself.
    let ledger: Ledger
    let stop: StopFlag
    let retryBase: Double
    private let lock = NSLock()
    private var summary = SyncSummary()

    init(ledger: Ledger, stop: StopFlag, retryBase: Double) {
        self.ledger = ledger
        self.stop = stop
        self.retryBase = retryBase
    }

    /// What the journal counted.
    var counted: SyncSummary { lock.withLock { summary } }

    private func count(_ change: (inout SyncSummary) -> Void) { lock.withLock { change(&summary) } }

    var stopRequested: Bool { stop.isSet }

    /// Marks a file failed on the service's side: retried after the backoff.
    static func fail(_ f: inout LedgerFile, _ reason: String, retryBase: Double, now: Double = Date().timeIntervalSince1970) {
        f.state = .failed
        f.errorKind = .server
        f.lastError = reason
        f.attempts += 1
        f.retryAfter = now + SyncEngine.backoff(base: retryBase, attempts: f.attempts)
        f.batchId = nil
    }

    // MARK: Validated

    func validated(_ c: ImportCandidate) async throws {
        try ledger.transaction { t in
            // The file may have changed while it was read: the next scan sees it.
            guard var row = try t.file(path: c.path), row.state == .seen, row.size == c.size,
                  let st = SyncEngine.fileStat(c.path), st.size == row.size, st.mtimeNs == row.mtimeNs else { return }
            if c.verdict == .otherShard {
                try t.markOtherShard(row)
                return
            }
            row.checksum = c.checksum
            row.studyInstanceUID = c.studyInstanceUID
            row.seriesInstanceUID = c.seriesInstanceUID
            row.sopInstanceUID = c.sopInstanceUID
            if let why = c.rejection {
                row.state = .rejected
                row.lastError = why
                row.errorKind = .customer
                count { $0.rejected += 1; $0.problems.append("\(row.path): rejected: \(why)") }
            } else {
                row.state = .validated
                row.lastError = nil
                row.errorKind = nil
                count { $0.validated += 1 }
            }
            try t.save(row)
        }
    }

    // MARK: Uploaded

    func openUpload(path: String, key: String) async throws -> String? {
        try ledger.read { try $0.file(path: path) }.flatMap { $0.s3Key == key ? $0.uploadId : nil }
    }

    func multipartCreated(path: String, key: String, uploadId: String) async throws {
        try ledger.transaction { t in
            guard var row = try t.file(path: path) else { return }
            try t.clearParts(file: row.id)
            row.uploadId = uploadId
            try t.save(row)
        }
    }

    func partUploaded(path: String, key: String, uploadId: String, part: S3Part) async throws {
        try ledger.transaction { t in
            guard let row = try t.file(path: path), row.uploadId == uploadId else { return }
            try t.recordPart(file: row.id, uploadId: uploadId,
                             part: LedgerPart(number: part.number, etag: part.etag, checksum: part.checksum, size: part.size ?? 0))
        }
    }

    func fileFinished(_ result: FolderUploader.Result) async throws {
        try ledger.transaction { t in
            guard var row = try t.file(path: result.path), row.s3Key == result.key, row.state == .validated else { return }
            try t.clearParts(file: row.id)
            row.uploadId = nil
            if result.fileChanged {
                // Changed while it was sent, nothing stored: read again once it has settled.
                row.state = .seen
                row.batchId = nil
            } else if let error = result.error {
                Self.fail(&row, "upload: \(error)", retryBase: retryBase)
                count { $0.failed += 1; $0.problems.append("\(row.path): upload failed: \(error)") }
            } else if let st = SyncEngine.fileStat(row.path), st.size == row.size, st.mtimeNs == row.mtimeNs {
                row.state = .uploaded
                count { $0.uploaded += 1 }
            } else {
                // Changed while it was sent: the object is removed from the batch before its job starts.
                row.state = .seen
                row.batchId = nil
            }
            try t.save(row)
        }
    }

    // MARK: Started

    func jobStarted(_ job: PlannedImportJob, _ started: StartedImportJob) async throws {
        try ledger.transaction { t in
            guard var batch = try t.batch(id: job.number) else { return }
            batch.state = .started
            batch.jobId = started.jobId
            batch.jobStatus = started.jobStatus.rawValue
            try t.save(batch)
            for var f in try t.files(batch: batch.id) where f.state == .uploaded {
                f.state = .importing
                f.jobId = started.jobId
                try t.save(f)
            }
        }
        count { $0.jobsStarted += 1 }
    }

    func jobNotStarted(_ job: PlannedImportJob, error: Error) async throws {
        try ledger.transaction { t in
            guard var batch = try t.batch(id: job.number) else { return }
            batch.message = "\(error)"
            try t.save(batch)
        }
        count { $0.failed += job.files.count; $0.problems.append("batch \(job.number): StartDICOMImportJob failed: \(error)") }
    }

    // MARK: Settled

    func jobEnded(_ job: ImportJobIdentity, jobId: String, properties props: DICOMImportJobProperties, manifest: ImportManifest?) async throws {
        let now = Date().timeIntervalSince1970
        var settled = SyncSummary()
        try ledger.transaction { t in
            guard var batch = try t.batch(id: job.number) else { return }
            batch.state = .ended
            batch.jobStatus = props.jobStatus.rawValue
            batch.message = props.message
            try t.save(batch)
            let outcomes = manifest?.outcomes ?? [:]
            for var f in try t.files(batch: batch.id) where f.state == .importing {
                switch manifest == nil ? nil : outcomes[f.s3Key ?? ""] ?? .missing {
                case .imported(let imageSetId, _, let warnings):
                    f.state = .imported
                    f.imageSetId = imageSetId
                    f.warnings = warnings.isEmpty ? nil : warnings.joined(separator: "\n")
                    f.lastError = nil
                    f.errorKind = nil
                    settled.imported += 1
                case .failed(let reason, .customer):
                    f.state = .rejected
                    f.errorKind = .customer
                    f.lastError = reason
                    f.attempts += 1
                    settled.rejected += 1
                case .failed(let reason, .server):
                    Self.fail(&f, reason, retryBase: retryBase, now: now)
                    settled.failed += 1
                case .missing:
                    Self.fail(&f, "not in the manifests of job \(jobId)", retryBase: retryBase, now: now)
                    settled.failed += 1
                case nil:
                    Self.fail(&f, "import job \(jobId) FAILED: \(props.message ?? "no message")", retryBase: retryBase, now: now)
                    settled.failed += 1
                }
                if f.state != .imported { settled.problems.append("\(f.path): \(f.state.rawValue): \(f.lastError ?? "")") }
                try t.save(f)
            }
        }
        count { s in
            s.jobsEnded += 1
            s.imported += settled.imported
            s.rejected += settled.rejected
            s.failed += settled.failed
            s.problems += settled.problems
        }
    }

    // MARK: STOW-RS

    /// Records what one STOW-RS answer said, in one transaction: stored (with its warning),
    /// refused for its data (rejected until the file changes), or failed / unconfirmed
    /// (sent again after the backoff). A file not recorded here — the run was killed before
    /// the answer was written — is still `validated`, and the next run sends it again.
    func stored(_ outcomes: [(StoreItem, StoreOutcome)]) async throws {
        let now = Date().timeIntervalSince1970
        var settled = SyncSummary()
        try ledger.transaction { t in
            for (item, outcome) in outcomes {
                guard var row = try t.file(path: item.path), row.state == .validated || row.state == .uploaded,
                      row.sopInstanceUID == item.sopInstanceUID else { continue }
                let s = StowDelivery.settle(outcome)
                row.batchId = nil
                row.jobId = nil
                if s.stored {
                    row.state = .imported
                    row.imageSetId = nil
                    row.warnings = s.warnings.isEmpty ? nil : s.warnings.joined(separator: "\n")
                    row.lastError = nil
                    row.errorKind = nil
                    settled.imported += 1
                } else if s.kind == .customer {
                    row.state = .rejected
                    row.errorKind = .customer
                    row.lastError = s.reason
                    row.attempts += 1
                    settled.rejected += 1
                    settled.problems.append("\(row.path): rejected: \(s.reason ?? "")")
                } else {
                    Self.fail(&row, s.reason ?? "STOW-RS failed", retryBase: retryBase, now: now)
                    settled.failed += 1
                    settled.problems.append("\(row.path): failed: \(s.reason ?? "")")
                }
                try t.save(row)
            }
        }
        count { s in
            s.imported += settled.imported
            s.rejected += settled.rejected
            s.failed += settled.failed
            s.problems += settled.problems
        }
    }
}
