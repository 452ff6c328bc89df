import Foundation
import ImportPipeline
@testable import Sync
import Testing

private func tempDirectory() -> String {
    FileManager.default.temporaryDirectory.appendingPathComponent("ahi-ledger-\(UUID().uuidString)").path
}

private func row(_ path: String, state: FileStatus = .seen) -> LedgerFile {
    LedgerFile(id: 0, path: path, relativePath: (path as NSString).lastPathComponent, size: 10, mtimeNs: 1, state: state,
               attempts: 0, disposed: false, firstSeen: Date().timeIntervalSince1970, updatedAt: 0)
}

struct LedgerTests {
    /// What one connection committed, a new connection (a new process) reads back;
    /// the ledger id and the data store binding persist.
    @Test func committedStateSurvivesReopening() throws {
        let dir = tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var id = ""
        do {
            let ledger = try Ledger(directory: dir)
            id = ledger.ledgerId
            try ledger.bind(datastore: "ds-1")
            try ledger.transaction { t in
                let fileId = try t.save(row("/in/a.dcm"))
                try t.recordPart(file: fileId, uploadId: "up-1", part: LedgerPart(number: 2, etag: "e2", checksum: "c2", size: 5))
                var f = try #require(try t.file(id: fileId))
                f.uploadId = "up-1"
                f.state = .validated
                try t.save(f)
            }
        }
        let again = try Ledger(directory: dir)
        #expect(again.ledgerId == id)
        let f = try #require(try again.read { try $0.file(path: "/in/a.dcm") })
        #expect(f.state == .validated && f.uploadId == "up-1")
        #expect(try again.read { try $0.parts(file: f.id, uploadId: "up-1") } == [LedgerPart(number: 2, etag: "e2", checksum: "c2", size: 5)])
        #expect(try again.read { try $0.openUploadIds() } == ["up-1"])
        #expect(throws: LedgerMismatch.self) { try again.bind(datastore: "ds-2") }
        try again.bind(datastore: "ds-1")
        let status = try Ledger(directory: dir, readOnly: true)
        #expect(try status.read { try $0.counts() } == [.validated: 1])
    }

    /// A transaction that throws leaves nothing behind.
    @Test func failedTransactionsRollBack() throws {
        let dir = tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try Ledger(directory: dir)
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try ledger.transaction { t in
                try t.save(row("/in/b.dcm"))
                _ = try t.createBatch(prefix: { "p/batch-\($0)/" }, token: { "t\($0)" })
                throw Boom()
            }
        }
        #expect(try ledger.read { try $0.files() }.isEmpty)
        #expect(try ledger.read { try $0.allBatches() }.isEmpty)
        // A path is one row: saving it again updates, never duplicates.
        try ledger.transaction { t in
            let id = try t.save(row("/in/b.dcm"))
            var f = try #require(try t.file(id: id))
            f.state = .imported
            try t.save(f)
        }
        #expect(try ledger.read { try $0.files() }.map(\.state) == [.imported])
        #expect(throws: LedgerWriteError.self) { try ledger.transaction { try $0.save(row("/in/b.dcm")) } }
    }

    /// Batches get their prefix and client token from their own id.
    @Test func batchesAreNumberedAndTokened() throws {
        let dir = tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let ledger = try Ledger(directory: dir)
        let (a, b) = try ledger.transaction { t in
            (try t.createBatch(prefix: { "p/batch-\($0)/" }, token: { "token-\($0)" }),
             try t.createBatch(prefix: { "p/batch-\($0)/" }, token: { "token-\($0)" }))
        }
        #expect(a.id != b.id && a.prefix == "p/batch-\(a.id)/" && b.clientToken == "token-\(b.id)")
        var started = a
        started.state = .started
        started.jobId = "job-1"
        try ledger.transaction { try $0.save(started) }
        #expect(try ledger.read { try $0.batches(.started) }.map(\.jobId) == ["job-1"])
        #expect(try ledger.read { try $0.batches(.open) }.map(\.id) == [b.id])
    }

    /// The lock is exclusive: a second holder times out, saying who holds it.
    @Test func stateLockIsExclusive() async throws {
        let dir = tempDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try await StateLock(directory: dir, timeout: 0)
        do {
            _ = try await StateLock(directory: dir, timeout: 0.3)
            Issue.record("a second lock was granted")
        } catch let failure {
            #expect("\(failure)".contains("pid \(getpid())"))
        }
        withExtendedLifetime(first) {}
    }

    @Test func onSuccessArgumentsAndBackoff() {
        #expect(OnSuccess(argument: "keep") == .keep)
        #expect(OnSuccess(argument: "delete") == .delete)
        #expect(OnSuccess(argument: "move:/srv/done") == .move("/srv/done"))
        #expect(OnSuccess(argument: "move:") == nil && OnSuccess(argument: "archive") == nil)
        #expect(SyncEngine.backoff(base: 60, attempts: 1) == 60)
        #expect(SyncEngine.backoff(base: 60, attempts: 3) == 240)
        #expect(SyncEngine.backoff(base: 60, attempts: 30) == 6 * 3600)
    }

    /// inotify wakes a waiter when a file appears; without a change the wait times out.
    @Test func watcherWakesOnNewFiles() async throws {
        let dir = tempDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let watcher = DirectoryWatcher(folder: dir)
        #expect(watcher.usesInotify)
        #expect(await watcher.wait(timeout: 0.2) == false)
        // Written from a thread of its own; only the event (not the 60 s timeout) may end the wait.
        let writer = Thread {
            usleep(200_000)
            _ = FileManager.default.createFile(atPath: dir + "/new.dcm", contents: Data([1, 2, 3]))
        }
        writer.start()
        #expect(await watcher.wait(timeout: 60) == true)
    }
}
