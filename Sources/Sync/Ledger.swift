import Foundation
import ImportPipeline

/// One file's row in the ledger.
public struct LedgerFile: Sendable, Codable, Equatable {
    public var id: Int
    /// Absolute path.
    public var path: String
    /// The path relative to the synced folder (the object key's tail).
    public var relativePath: String
    public var size: Int
    /// Modification time, nanoseconds since 1970.
    public var mtimeNs: Int
    /// CRC-32C of the content (base64, as S3 writes it), once read.
    public var checksum: String?
    public var sopInstanceUID: String?
    public var seriesInstanceUID: String?
    public var studyInstanceUID: String?
    public var state: FileStatus
    public var batchId: Int?
    public var s3Key: String?
    /// The open multipart upload, while one is.
    public var uploadId: String?
    public var jobId: String?
    public var imageSetId: String?
    public var lastError: String?
    /// `customer` (not retried until the file changes) or `server` (retried with backoff).
    public var errorKind: FailureKind?
    /// Failed attempts since the file last changed.
    public var attempts: Int
    /// Not retried before this time (seconds since 1970).
    public var retryAfter: Double?
    /// The `--on-success` action was carried out.
    public var disposed: Bool
    /// When the ledger first saw this version of the file.
    public var firstSeen: Double
    public var updatedAt: Double
    /// HealthImaging's warnings for a stored file (manifest lines or STOW-RS WarningReason), one per line.
    public var warnings: String? = nil
}

/// The ledger could not record a change: the run stops, acknowledging nothing more.
public struct LedgerWriteError: Error, CustomStringConvertible, Sendable {
    /// The ledger's file.
    public let path: String
    /// SQLite's reason.
    public let reason: String
    public var description: String {
        "the ledger \(path) cannot be written (\(reason)); stopping so that nothing is acknowledged that is not recorded — free space or fix the state directory, then run again"
    }
}

/// The state directory's ledger belongs to another data store or shard.
public struct LedgerMismatch: Error, CustomStringConvertible, Sendable {
    public let description: String
}

/// A part of a multipart upload, as the ledger recorded it.
public struct LedgerPart: Sendable, Equatable {
    public var number: Int
    public var etag: String
    public var checksum: String?
    public var size: Int
}

/// One batch of files: one import job, one S3 prefix, one client token.
public struct LedgerBatch: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable {
        /// Being uploaded.
        case open
        /// StartDICOMImportJob answered; polling.
        case started
        /// The job ended and its manifests were read.
        case ended
    }
    public var id: Int
    public var prefix: String
    public var clientToken: String
    public var state: State
    public var jobId: String?
    public var jobStatus: String?
    public var message: String?
    public var createdAt: Double
}

/// One `sync` or `watch` run, for `status`.
public struct LedgerRun: Sendable, Codable, Equatable {
    public var id: Int
    public var command: String
    public var startedAt: Double
    public var endedAt: Double?
    /// `ok`, `failures`, `interrupted`, `error: …`, or nil while running (or killed).
    public var outcome: String?
    public var summary: String?
}

/// The SQLite ledger of a state directory (`ledger.sqlite`): every file, part,
/// batch and run. WAL journal with `synchronous=FULL`, so a committed state
/// change survives `kill -9` and power loss; each change is one transaction.
public final class Ledger: @unchecked Sendable {
    // @unchecked: the connection is used only under `lock`.
    private let db: SQLiteDatabase
    private let lock = NSLock()
    /// The ledger's file.
    public let path: String
    /// A random id made when the ledger was created: part of every S3 prefix it uses.
    public let ledgerId: String

    static let fileColumns = """
        id, path, relative_path, size, mtime_ns, checksum, sop_instance_uid, series_instance_uid, study_instance_uid, state,
        batch_id, s3_key, upload_id, job_id, image_set_id, last_error, error_kind, attempts, retry_after, disposed, first_seen, updated_at,
        warnings
        """

    /// The ledger file of a state directory.
    public static func path(inDirectory directory: String) -> String {
        (directory as NSString).appendingPathComponent("ledger.sqlite")
    }

    /// Opens (or creates) the ledger in `directory`.
    public init(directory: String, readOnly: Bool = false) throws {
        if !readOnly { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) }
        path = Self.path(inDirectory: directory)
        if readOnly && !FileManager.default.fileExists(atPath: path) {
            throw SQLiteError(code: 14, message: "no ledger at \(path)")
        }
        db = try SQLiteDatabase(path: path, readOnly: readOnly)
        if !readOnly {
            try db.query("PRAGMA journal_mode=WAL")
            try db.exec("""
                PRAGMA synchronous=FULL;
                PRAGMA foreign_keys=ON;
                CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
                CREATE TABLE IF NOT EXISTS batches(
                  id INTEGER PRIMARY KEY, prefix TEXT NOT NULL, client_token TEXT NOT NULL, state TEXT NOT NULL,
                  job_id TEXT, job_status TEXT, message TEXT, created_at REAL NOT NULL);
                CREATE TABLE IF NOT EXISTS files(
                  id INTEGER PRIMARY KEY, path TEXT NOT NULL UNIQUE, relative_path TEXT NOT NULL,
                  size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, checksum TEXT,
                  sop_instance_uid TEXT, series_instance_uid TEXT, study_instance_uid TEXT,
                  state TEXT NOT NULL, batch_id INTEGER REFERENCES batches(id), s3_key TEXT, upload_id TEXT,
                  job_id TEXT, image_set_id TEXT, last_error TEXT, error_kind TEXT,
                  attempts INTEGER NOT NULL DEFAULT 0, retry_after REAL, disposed INTEGER NOT NULL DEFAULT 0,
                  first_seen REAL NOT NULL, updated_at REAL NOT NULL);
                CREATE INDEX IF NOT EXISTS files_state ON files(state);
                CREATE INDEX IF NOT EXISTS files_batch ON files(batch_id);
                CREATE TABLE IF NOT EXISTS parts(
                  file_id INTEGER NOT NULL REFERENCES files(id), upload_id TEXT NOT NULL, number INTEGER NOT NULL,
                  etag TEXT NOT NULL, checksum TEXT, size INTEGER NOT NULL, PRIMARY KEY(file_id, number));
                CREATE TABLE IF NOT EXISTS other_shard(path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL);
                CREATE TABLE IF NOT EXISTS runs(
                  id INTEGER PRIMARY KEY, command TEXT NOT NULL, started_at REAL NOT NULL, ended_at REAL, outcome TEXT, summary TEXT);
                """)
            // Columns added after the first release.
            let columns = Set(try db.query("PRAGMA table_info(files)").compactMap { $0.count > 1 ? $0[1].string : nil })
            if !columns.contains("warnings") { try db.exec("ALTER TABLE files ADD COLUMN warnings TEXT") }
            try db.query("INSERT OR IGNORE INTO meta(key, value) VALUES('ledger_id', ?)",
                         [.text(String(UUID().uuidString.prefix(8)).lowercased())])
        }
        ledgerId = try db.query("SELECT value FROM meta WHERE key = 'ledger_id'").first?.first?.string ?? "ledger"
    }

    private func locked<T>(_ body: () throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body()
    }

    /// Runs `body` as one transaction (BEGIN IMMEDIATE … COMMIT; rolled back on error).
    /// - Throws: ``LedgerWriteError`` when SQLite refuses the change (full disk, read-only
    ///   file system, damaged file): the run must stop, since what it would do next could
    ///   not be recorded; errors `body` throws itself are rethrown as they are.
    @discardableResult
    public func transaction<T>(_ body: (Ledger.Transaction) throws -> T) throws -> T {
        try locked {
            do {
                try db.exec("BEGIN IMMEDIATE")
            } catch let e as SQLiteError {
                throw LedgerWriteError(path: path, reason: e.description)
            }
            do {
                let result = try body(Transaction(db: db))
                try db.exec("COMMIT")
                return result
            } catch let e as SQLiteError {
                try? db.exec("ROLLBACK")
                throw LedgerWriteError(path: path, reason: e.description)
            } catch {
                try? db.exec("ROLLBACK")
                throw error
            }
        }
    }

    /// Makes every later write fail, as a full disk or a read-only file system would (tests).
    func failWritesForTesting() throws {
        try locked { try db.exec("PRAGMA query_only = 1") }
    }

    /// Reads without a write lock.
    public func read<T>(_ body: (Ledger.Transaction) throws -> T) throws -> T {
        try locked { try body(Transaction(db: db)) }
    }

    /// The data store this ledger imports into; set once, checked on every run.
    public func bind(datastore: String) throws {
        try transaction { t in
            if let bound = try t.meta("datastore"), bound != datastore {
                throw LedgerMismatch(description: "this ledger belongs to data store \(bound), not \(datastore); use another --state-dir")
            }
            try t.setMeta("datastore", datastore)
        }
    }

    /// The shard this ledger works; set once, checked on every run (one state directory per shard).
    public func bind(shard: Shard) throws {
        try transaction { t in
            let text = shard.count > 1 ? shard.description : "all"
            if let bound = try t.meta("shard"), bound != text {
                throw LedgerMismatch(description: "this ledger works shard \(bound), not \(text); give each shard its own --state-dir")
            }
            try t.setMeta("shard", text)
        }
    }

    /// The statements the ledger runs, inside a transaction or a read.
    public struct Transaction {
        let db: SQLiteDatabase

        func meta(_ key: String) throws -> String? {
            try db.query("SELECT value FROM meta WHERE key = ?", [.text(key)]).first?.first?.string
        }

        func setMeta(_ key: String, _ value: String) throws {
            try db.query("INSERT OR REPLACE INTO meta(key, value) VALUES(?, ?)", [.text(key), .text(value)])
        }

        static func file(_ r: [SQLValue]) -> LedgerFile {
            LedgerFile(id: r[0].int ?? 0, path: r[1].string ?? "", relativePath: r[2].string ?? "", size: r[3].int ?? 0,
                       mtimeNs: r[4].int ?? 0, checksum: r[5].string, sopInstanceUID: r[6].string, seriesInstanceUID: r[7].string,
                       studyInstanceUID: r[8].string, state: FileStatus(rawValue: r[9].string ?? "") ?? .seen, batchId: r[10].int,
                       s3Key: r[11].string, uploadId: r[12].string, jobId: r[13].string, imageSetId: r[14].string,
                       lastError: r[15].string, errorKind: r[16].string.flatMap(FailureKind.init(rawValue:)), attempts: r[17].int ?? 0, retryAfter: r[18].double,
                       disposed: (r[19].int ?? 0) != 0, firstSeen: r[20].double ?? 0, updatedAt: r[21].double ?? 0,
                       warnings: r.count > 22 ? r[22].string : nil)
        }

        /// The row of a path.
        public func file(path: String) throws -> LedgerFile? {
            try db.query("SELECT \(Ledger.fileColumns) FROM files WHERE path = ?", [.text(path)]).first.map(Self.file)
        }

        /// The row with an id.
        public func file(id: Int) throws -> LedgerFile? {
            try db.query("SELECT \(Ledger.fileColumns) FROM files WHERE id = ?", [.int(id)]).first.map(Self.file)
        }

        /// Every row (optionally only in some states), oldest first.
        public func files(in states: [FileStatus]? = nil) throws -> [LedgerFile] {
            if let states {
                let marks = states.map { _ in "?" }.joined(separator: ",")
                return try db.query("SELECT \(Ledger.fileColumns) FROM files WHERE state IN (\(marks)) ORDER BY first_seen, id",
                                    states.map { .text($0.rawValue) }).map(Self.file)
            }
            return try db.query("SELECT \(Ledger.fileColumns) FROM files ORDER BY first_seen, id").map(Self.file)
        }

        /// The files of a batch.
        public func files(batch: Int) throws -> [LedgerFile] {
            try db.query("SELECT \(Ledger.fileColumns) FROM files WHERE batch_id = ? ORDER BY relative_path", [.int(batch)])
                .map(Self.file)
        }

        /// Inserts or replaces a row (by path); returns its id.
        @discardableResult
        public func save(_ f: LedgerFile) throws -> Int {
            let values: [SQLValue] = [
                .text(f.path), .text(f.relativePath), .int(f.size), .int(f.mtimeNs), SQLValue(f.checksum), SQLValue(f.sopInstanceUID),
                SQLValue(f.seriesInstanceUID), SQLValue(f.studyInstanceUID), .text(f.state.rawValue), SQLValue(f.batchId),
                SQLValue(f.s3Key), SQLValue(f.uploadId), SQLValue(f.jobId), SQLValue(f.imageSetId), SQLValue(f.lastError),
                SQLValue(f.errorKind?.rawValue), .int(f.attempts), f.retryAfter.map { .real($0) } ?? .null, .int(f.disposed ? 1 : 0),
                .real(f.firstSeen), .real(Date().timeIntervalSince1970), SQLValue(f.warnings),
            ]
            if f.id > 0 {
                try db.query("""
                    UPDATE files SET path=?, relative_path=?, size=?, mtime_ns=?, checksum=?, sop_instance_uid=?, series_instance_uid=?,
                      study_instance_uid=?, state=?, batch_id=?, s3_key=?, upload_id=?, job_id=?, image_set_id=?, last_error=?,
                      error_kind=?, attempts=?, retry_after=?, disposed=?, first_seen=?, updated_at=?, warnings=? WHERE id=?
                    """, values + [.int(f.id)])
                return f.id
            }
            try db.query("""
                INSERT INTO files(path, relative_path, size, mtime_ns, checksum, sop_instance_uid, series_instance_uid,
                  study_instance_uid, state, batch_id, s3_key, upload_id, job_id, image_set_id, last_error, error_kind, attempts,
                  retry_after, disposed, first_seen, updated_at, warnings) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)
                """, values)
            return db.lastInsertRowID
        }

        /// Whether the file at `path` was read before, with this size and mtime, and found to be another shard's.
        public func isOtherShard(path: String, size: Int, mtimeNs: Int) throws -> Bool {
            !(try db.query("SELECT 1 FROM other_shard WHERE path = ? AND size = ? AND mtime_ns = ?",
                           [.text(path), .int(size), .int(mtimeNs)])).isEmpty
        }

        /// Records that a file belongs to another shard (its study does), and forgets its row:
        /// a shard's ledger holds only its own studies.
        public func markOtherShard(_ f: LedgerFile) throws {
            try db.query("INSERT OR REPLACE INTO other_shard(path, size, mtime_ns) VALUES(?,?,?)", [.text(f.path), .int(f.size), .int(f.mtimeNs)])
            try clearParts(file: f.id)
            try db.query("DELETE FROM files WHERE id = ?", [.int(f.id)])
        }

        /// The parts recorded for a file's open multipart upload.
        public func parts(file: Int, uploadId: String) throws -> [LedgerPart] {
            try db.query("SELECT number, etag, checksum, size FROM parts WHERE file_id = ? AND upload_id = ? ORDER BY number",
                         [.int(file), .text(uploadId)])
                .map { LedgerPart(number: $0[0].int ?? 0, etag: $0[1].string ?? "", checksum: $0[2].string, size: $0[3].int ?? 0) }
        }

        /// Records a part that S3 acknowledged.
        public func recordPart(file: Int, uploadId: String, part: LedgerPart) throws {
            try db.query("INSERT OR REPLACE INTO parts(file_id, upload_id, number, etag, checksum, size) VALUES(?,?,?,?,?,?)",
                         [.int(file), .text(uploadId), .int(part.number), .text(part.etag), SQLValue(part.checksum), .int(part.size)])
        }

        /// Forgets a file's parts (its upload completed or was abandoned).
        public func clearParts(file: Int) throws {
            try db.query("DELETE FROM parts WHERE file_id = ?", [.int(file)])
        }

        /// Every multipart upload id the ledger still needs.
        public func openUploadIds() throws -> Set<String> {
            Set(try db.query("SELECT upload_id FROM files WHERE upload_id IS NOT NULL").compactMap { $0.first?.string })
        }

        static func batch(_ r: [SQLValue]) -> LedgerBatch {
            LedgerBatch(id: r[0].int ?? 0, prefix: r[1].string ?? "", clientToken: r[2].string ?? "",
                        state: LedgerBatch.State(rawValue: r[3].string ?? "") ?? .open, jobId: r[4].string, jobStatus: r[5].string,
                        message: r[6].string, createdAt: r[7].double ?? 0)
        }

        /// A new, open batch; `prefix(id)` gives its S3 prefix and `token(id)` its client token.
        public func createBatch(prefix: (Int) -> String, token: (Int) -> String) throws -> LedgerBatch {
            try db.query("INSERT INTO batches(prefix, client_token, state, created_at) VALUES('', '', 'open', ?)",
                         [.real(Date().timeIntervalSince1970)])
            let id = db.lastInsertRowID
            try db.query("UPDATE batches SET prefix = ?, client_token = ? WHERE id = ?", [.text(prefix(id)), .text(token(id)), .int(id)])
            return LedgerBatch(id: id, prefix: prefix(id), clientToken: token(id), state: .open, createdAt: Date().timeIntervalSince1970)
        }

        /// Batches in a state, oldest first.
        public func batches(_ state: LedgerBatch.State) throws -> [LedgerBatch] {
            try db.query("SELECT id, prefix, client_token, state, job_id, job_status, message, created_at FROM batches WHERE state = ? ORDER BY id",
                         [.text(state.rawValue)]).map(Self.batch)
        }

        /// The batch with an id.
        public func batch(id: Int) throws -> LedgerBatch? {
            try db.query("SELECT id, prefix, client_token, state, job_id, job_status, message, created_at FROM batches WHERE id = ?",
                         [.int(id)]).first.map(Self.batch)
        }

        /// Every batch, oldest first.
        public func allBatches() throws -> [LedgerBatch] {
            try db.query("SELECT id, prefix, client_token, state, job_id, job_status, message, created_at FROM batches ORDER BY id")
                .map(Self.batch)
        }

        /// Writes a batch's state, job and message.
        public func save(_ b: LedgerBatch) throws {
            try db.query("UPDATE batches SET state = ?, job_id = ?, job_status = ?, message = ? WHERE id = ?",
                         [.text(b.state.rawValue), SQLValue(b.jobId), SQLValue(b.jobStatus), SQLValue(b.message), .int(b.id)])
        }

        /// Starts a run's row.
        public func beginRun(_ command: String) throws -> Int {
            try db.query("INSERT INTO runs(command, started_at) VALUES(?, ?)", [.text(command), .real(Date().timeIntervalSince1970)])
            return db.lastInsertRowID
        }

        /// Ends a run's row.
        public func endRun(_ id: Int, outcome: String, summary: String) throws {
            try db.query("UPDATE runs SET ended_at = ?, outcome = ?, summary = ? WHERE id = ?",
                         [.real(Date().timeIntervalSince1970), .text(outcome), .text(summary), .int(id)])
        }

        /// The newest runs, newest first.
        public func runs(limit: Int) throws -> [LedgerRun] {
            try db.query("SELECT id, command, started_at, ended_at, outcome, summary FROM runs ORDER BY id DESC LIMIT ?", [.int(limit)])
                .map { LedgerRun(id: $0[0].int ?? 0, command: $0[1].string ?? "", startedAt: $0[2].double ?? 0, endedAt: $0[3].double,
                                 outcome: $0[4].string, summary: $0[5].string) }
        }

        /// Rows per state.
        public func counts() throws -> [FileStatus: Int] {
            var out: [FileStatus: Int] = [:]
            for r in try db.query("SELECT state, COUNT(*) FROM files GROUP BY state") {
                if let s = r[0].string.flatMap(FileStatus.init(rawValue:)) { out[s] = r[1].int ?? 0 }
            }
            return out
        }
    }
}
