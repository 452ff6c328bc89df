import CSQLite
import Foundation

/// A failed SQLite call: the statement and SQLite's message.
public struct SQLiteError: Error, CustomStringConvertible {
    /// SQLite's result code.
    public let code: Int32
    /// SQLite's message, with the statement it came from.
    public let message: String
    /// `ledger: <message>`.
    public var description: String { "ledger: \(message)" }
}

/// A value bound to, or read from, a statement.
enum SQLValue: Sendable, Equatable {
    case null
    case int(Int)
    case real(Double)
    case text(String)
}

/// One SQLite connection, used from one caller at a time (the ledger serialises).
final class SQLiteDatabase {
    private var db: OpaquePointer?

    /// Opens (or creates) `path`; `readOnly` for monitoring.
    init(path: String, readOnly: Bool = false) throws(SQLiteError) {
        let flags = readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        let rc = sqlite3_open_v2(path, &db, flags | SQLITE_OPEN_NOMUTEX, nil)
        guard rc == SQLITE_OK else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close(db)
            db = nil
            throw SQLiteError(code: rc, message: "\(path): \(message)")
        }
        sqlite3_busy_timeout(db, 10_000)
    }

    deinit { sqlite3_close(db) }

    private func error(_ rc: Int32, _ sql: String) -> SQLiteError {
        SQLiteError(code: rc, message: "\(String(cString: sqlite3_errmsg(db))) (in: \(sql.prefix(80)))")
    }

    /// Runs statements without results (schema, pragmas, BEGIN/COMMIT).
    func exec(_ sql: String) throws(SQLiteError) {
        let rc = sqlite3_exec(db, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, sql) }
    }

    /// Runs one statement with bound values; returns its rows.
    @discardableResult
    func query(_ sql: String, _ values: [SQLValue] = []) throws(SQLiteError) -> [[SQLValue]] {
        var stmt: OpaquePointer?
        var rc = sqlite3_prepare_v2(db, sql, -1, &stmt, nil)
        guard rc == SQLITE_OK else { throw error(rc, sql) }
        defer { sqlite3_finalize(stmt) }
        let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
        for (i, v) in values.enumerated() {
            let n = Int32(i + 1)
            switch v {
            case .null: rc = sqlite3_bind_null(stmt, n)
            case .int(let x): rc = sqlite3_bind_int64(stmt, n, Int64(x))
            case .real(let x): rc = sqlite3_bind_double(stmt, n, x)
            case .text(let s): rc = sqlite3_bind_text(stmt, n, s, -1, transient)
            }
            guard rc == SQLITE_OK else { throw error(rc, sql) }
        }
        var rows: [[SQLValue]] = []
        while true {
            rc = sqlite3_step(stmt)
            if rc == SQLITE_DONE { break }
            guard rc == SQLITE_ROW else { throw error(rc, sql) }
            let columns = sqlite3_column_count(stmt)
            var row: [SQLValue] = []
            row.reserveCapacity(Int(columns))
            for c in 0..<columns {
                switch sqlite3_column_type(stmt, c) {
                case SQLITE_NULL: row.append(.null)
                case SQLITE_INTEGER: row.append(.int(Int(sqlite3_column_int64(stmt, c))))
                case SQLITE_FLOAT: row.append(.real(sqlite3_column_double(stmt, c)))
                default:
                    if let text = sqlite3_column_text(stmt, c) {
                        row.append(.text(String(cString: text)))
                    } else {
                        row.append(.null)
                    }
                }
            }
            rows.append(row)
        }
        return rows
    }

    /// The rowid of the last insert.
    var lastInsertRowID: Int { Int(sqlite3_last_insert_rowid(db)) }
}

extension SQLValue {
    /// The text, or nil.
    var string: String? { if case .text(let s) = self { return s }; return nil }
    /// The integer, or nil.
    var int: Int? {
        switch self {
        case .int(let x): return x
        case .real(let x): return Int(x)
        default: return nil
        }
    }
    /// The number, or nil.
    var double: Double? {
        switch self {
        case .int(let x): return Double(x)
        case .real(let x): return x
        default: return nil
        }
    }
    /// `.text` or `.null`.
    init(_ s: String?) { self = s.map { .text($0) } ?? .null }
    /// `.int` or `.null`.
    init(_ i: Int?) { self = i.map { .int($0) } ?? .null }
}
