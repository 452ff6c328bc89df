import Foundation
import ImportPipeline
import LocalHealthImaging
@testable import Sync
import TestSupport
import Testing
import Uploader

/// A ledger that cannot write (a full disk, a read-only file system) stops the run with a
/// message naming it, and nothing is acknowledged that it did not record.
@Suite(.serialized) struct LedgerFailureTests {
    @Test(.timeLimit(.minutes(2))) func aLedgerThatCannotWriteStopsTheRun() async throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-ledger-fail-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: root) }
        let folder = root.appendingPathComponent("in")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for name in ["ct_explicit_le.dcm", "ct_implicit_le.dcm"] {
            try FileManager.default.copyItem(atPath: fixture(name), toPath: folder.appendingPathComponent(name).path)
        }
        let server = try await LocalHealthImagingServer.start(.init(dataDirectory: root.appendingPathComponent("local")))
        let creds = AWSCredentials(accessKeyId: LocalHealthImagingServer.defaultAccessKeyId,
                                   secretAccessKey: LocalHealthImagingServer.defaultSecretAccessKey)
        let clients = try ServiceClients.local(endpoint: server.endpoint, credentials: creds)
        try await clients.s3.createBucket("ledger-fail")
        let destination = ImportDestination(datastoreId: String(repeating: "0", count: 32), bucket: "ledger-fail", prefix: "p",
                                            roleArn: "arn:aws:iam::123456789012:role/r")
        var settings = SyncSettings(folder: folder.path, destination: destination)
        settings.settle = 0
        let ledger = try Ledger(directory: root.appendingPathComponent("state").path)
        let pipeline = ImportPipeline(healthImaging: clients.healthImaging, s3: clients.s3, destination: destination)
        let engine = SyncEngine(ledger: ledger, pipeline: pipeline, settings: settings, stop: StopFlag(), log: { _ in })

        // Found, read and planned while the ledger works…
        var s = SyncSummary()
        try engine.scan(&s)
        let journal = LedgerJournal(ledger: ledger, stop: engine.stop, retryBase: 0)
        try await engine.validate(&s, journal: journal)
        try engine.planBatches()
        #expect(journal.counted.validated == 2)
        // …then it stops accepting writes: the upload ends with its error, not with success.
        try ledger.failWritesForTesting()
        await #expect(throws: LedgerWriteError.self) { try await engine.upload(journal: journal) }
        #expect(journal.counted.uploaded == 0)
        // A whole pass stops at its first write, saying which ledger and why.
        do {
            _ = try await engine.pass()
            Issue.record("a pass over a ledger that cannot write must throw")
        } catch let e as LedgerWriteError {
            #expect(e.description.contains(ledger.path) && e.description.contains("stopping"))
        }
        await server.stop()
        // Nothing was recorded as uploaded: the next run (with a working ledger) sends them.
        let reopened = try Ledger(directory: root.appendingPathComponent("state").path)
        let states = try reopened.read { try $0.files().map(\.state) }
        #expect(states == [.validated, .validated])
    }
}
