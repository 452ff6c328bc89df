import Foundation
import ImportPipeline
@testable import Sync
import Testing

/// The receiver's spool: an instance is acknowledged only once its file and its ledger row exist;
/// when the ledger cannot record it, nothing is kept (and the receiver answers A700).
@Suite struct SpoolTests {
    static func fresh() throws -> (Ledger, String, URL) {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-spool-\(UUID().uuidString)")
        let ledger = try Ledger(directory: dir.path)
        return (ledger, dir.appendingPathComponent("spool").path, dir)
    }

    @Test func keptInstancesAreFilesAndLedgerRows() throws {
        let (ledger, spoolDir, dir) = try Self.fresh()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spool = try Spool(directory: spoolDir, ledger: ledger)
        let bytes: [UInt8] = Array(repeating: 7, count: 1000)
        let path = try spool.keep(bytes, sopInstanceUID: "1.2.3.4")
        #expect(path == spoolDir + "/1.2.3.4.dcm")
        #expect(FileManager.default.contents(atPath: path).map(Array.init) == bytes)
        #expect(try ledger.read { try $0.file(path: path) }?.state == .seen)
        // The same instance again while the first waits: beside it, never over it.
        let again = try spool.keep([1, 2, 3], sopInstanceUID: "1.2.3.4")
        #expect(again != path && FileManager.default.contents(atPath: path).map(Array.init) == bytes)
        // A value that is not a UID never names a path.
        let odd = try spool.keep([9], sopInstanceUID: "../../etc/passwd")
        #expect((odd as NSString).deletingLastPathComponent == spoolDir && !odd.contains(".."))
        // No temporary file is left.
        #expect(try FileManager.default.contentsOfDirectory(atPath: spoolDir).allSatisfy { !$0.hasPrefix(".incoming-") })
    }

    @Test func aLedgerThatCannotWriteKeepsNothing() throws {
        let (ledger, spoolDir, dir) = try Self.fresh()
        defer { try? FileManager.default.removeItem(at: dir) }
        let spool = try Spool(directory: spoolDir, ledger: ledger)
        try ledger.failWritesForTesting()
        #expect(throws: Spool.KeepError.self) { try spool.keep([1, 2, 3, 4], sopInstanceUID: "1.2.3.5") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: spoolDir).isEmpty)
    }
}
