import DIMSE
import Foundation
import TestSupport
import Testing

/// Our SCP against DCMTK's echoscu and storescu.
@Suite(.serialized) struct SCPTests {
    func withServer(_ delegate: RecordingDelegate, configure: (inout DICOMServer.Configuration) -> Void = { _ in },
                    _ body: (DICOMServer, LogLines) async throws -> Void) async throws {
        let log = LogLines()
        var config = DICOMServer.Configuration(port: 0)
        config.log = log.sink
        configure(&config)
        let server = try await DICOMServer.start(config, delegate: delegate)
        do {
            try await body(server, log)
        } catch {
            await server.stop(grace: 0)
            throw error
        }
        await server.stop(grace: 2)
    }

    @Test func echoscuSucceeds() async throws {
        let dir = try temporaryDirectory("echo")
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withServer(RecordingDelegate(dir: dir)) { server, log in
            let r = try await runAsync("/usr/bin/echoscu", ["-v", "-aet", "TESTSCU", "-aec", "AHI", "127.0.0.1", "\(server.port)"])
            #expect(r.status == 0, "\(r.output)")
            #expect(r.output.contains("Received Echo Response (Success)"), "\(r.output)")
            try await Task.sleep(for: .milliseconds(200))
            #expect(log.all.contains { $0.contains("TESTSCU@127.0.0.1") && $0.contains("released") }, "\(log.all)")
        }
    }

    @Test func unlistedCallingAEIsRejected() async throws {
        let dir = try temporaryDirectory("reject")
        defer { try? FileManager.default.removeItem(at: dir) }
        try await withServer(RecordingDelegate(dir: dir, allowedCallingAEs: ["GOODSCU"])) { server, log in
            let bad = try await runAsync("/usr/bin/echoscu", ["-aet", "BADSCU", "-aec", "AHI", "127.0.0.1", "\(server.port)"])
            #expect(bad.status != 0)
            #expect(bad.output.contains("Association Rejected") && bad.output.contains("Calling AE Title Not Recognized"), "\(bad.output)")
            let good = try await runAsync("/usr/bin/echoscu", ["-aet", "GOODSCU", "-aec", "AHI", "127.0.0.1", "\(server.port)"])
            #expect(good.status == 0, "\(good.output)")
            // A called AE title that is not ours: 1,1,7.
            let wrong = try await runAsync("/usr/bin/echoscu", ["-aet", "GOODSCU", "-aec", "NOTAHI", "127.0.0.1", "\(server.port)"])
            #expect(wrong.status != 0 && wrong.output.contains("Called AE Title Not Recognized"), "\(wrong.output)")
            #expect(log.all.contains { $0.contains("BADSCU") && $0.contains("calling AE title not recognized") }, "\(log.all)")
        }
    }

    /// storescu scans a folder of uncompressed files; every file arrives equal as a data set,
    /// with the PDU sizes DCMTK takes (16 KiB, 128 KiB). (Not the Segmentation fixture: storescu
    /// proposes only its 64 common storage classes, and SG is not one; dcmsend sends it below.)
    @Test(arguments: ["16384", "131072"])
    func storescuUncompressed(maxPDU: String) async throws {
        let names = uncompressedFixtures.filter { $0 != "bitmap_1bit_3frames.dcm" }
        let src = try fixtureFolder(names)
        let dir = try temporaryDirectory("store")
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: src) }
        try await withServer(RecordingDelegate(dir: dir)) { server, log in
            let r = try await runAsync("/usr/bin/storescu", ["-aet", "TESTSCU", "-aec", "AHI", "--max-pdu", maxPDU, "+sd", "+r",
                                                             "127.0.0.1", "\(server.port)", src.path])
            #expect(r.status == 0, "\(r.output)")
            let verdict = try await oracleCompare(dir, names.map(fixture))
            #expect(verdict.ok, "\(verdict.output)")
            try await Task.sleep(for: .milliseconds(200))
            #expect(log.all.contains { $0.contains("\(names.count) instances") && $0.contains("released") }, "\(log.all)")
        }
    }

    /// Compressed files go as they are when storescu proposes their syntax (-xv JPEG 2000, -xr RLE,
    /// -xs JPEG lossless); our SCP prefers them to ELE.
    @Test(arguments: [("j2k_two_fragments_per_frame.dcm", "-xv"), ("rle_with_bot.dcm", "-xr"), ("rle_no_bot.dcm", "-xr")])
    func storescuCompressed(file: String, option: String) async throws {
        let src = try fixtureFolder([file])
        let dir = try temporaryDirectory("store-c")
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: src) }
        try await withServer(RecordingDelegate(dir: dir)) { server, _ in
            let r = try await runAsync("/usr/bin/storescu", ["-aet", "TESTSCU", "-aec", "AHI", option, "+sd", "+r",
                                                             "127.0.0.1", "\(server.port)", src.path])
            #expect(r.status == 0, "\(r.output)")
            let verdict = try await oracleCompare(dir, [fixture(file)], sameTS: true)
            #expect(verdict.ok, "\(verdict.output)")
        }
    }

    /// A SOP class we do not accept: storescu finds no accepted presentation context.
    @Test func unsupportedSOPClassFails() async throws {
        let src = try temporaryDirectory("src-unknown")
        let dir = try temporaryDirectory("store-unknown")
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: src) }
        // ct_explicit_le.dcm with a private SOP Class UID, rewritten by pydicom.
        let out = src.appendingPathComponent("private-class.dcm").path
        let py = try await runAsync("python3", ["-c", """
            import pydicom, sys
            d = pydicom.dcmread(sys.argv[1]); d.SOPClassUID = '1.2.826.0.1.3680043.10.1234.99.1'
            d.file_meta.MediaStorageSOPClassUID = d.SOPClassUID; d.save_as(sys.argv[2])
            """, fixture("ct_explicit_le.dcm"), out])
        #expect(py.status == 0, "\(py.output)")
        try await withServer(RecordingDelegate(dir: dir)) { server, _ in
            let r = try await runAsync("/usr/bin/storescu", ["-aet", "TESTSCU", "-aec", "AHI", "127.0.0.1", "\(server.port)", out])
            #expect(r.status != 0, "\(r.output)")
            #expect(r.output.lowercased().contains("presentation context"), "\(r.output)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).isEmpty)
        }
    }

    @Test func acceptUnknownSOPClassesStoresThem() async throws {
        let src = try temporaryDirectory("src-unknown2")
        let dir = try temporaryDirectory("store-unknown2")
        defer { try? FileManager.default.removeItem(at: dir); try? FileManager.default.removeItem(at: src) }
        let out = src.appendingPathComponent("private-class.dcm").path
        _ = try await runAsync("python3", ["-c", """
            import pydicom, sys
            d = pydicom.dcmread(sys.argv[1]); d.SOPClassUID = '1.2.826.0.1.3680043.10.1234.99.1'
            d.SOPInstanceUID = '1.2.826.0.1.3680043.10.1234.99.3'
            d.file_meta.MediaStorageSOPClassUID = d.SOPClassUID; d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
            d.save_as(sys.argv[2])
            """, fixture("ct_explicit_le.dcm"), out])
        // dcmsend proposes each file's own SOP Class (storescu proposes only classes it knows).
        let files = [out, fixture("bitmap_1bit_3frames.dcm"), fixture("ct_deflated.dcm")]
        try await withServer(RecordingDelegate(dir: dir), configure: { $0.acceptUnknownSOPClasses = true }) { server, _ in
            let r = try await runAsync("/usr/bin/dcmsend", ["-aet", "TESTSCU", "-aec", "AHI", "127.0.0.1", "\(server.port)"] + files)
            #expect(r.status == 0, "\(r.output)")
            let verdict = try await oracleCompare(dir, files)
            #expect(verdict.ok, "\(verdict.output)")
        }
    }

    /// A delegate answering A700: storescu reports the failure with that status.
    @Test func delegateStatusReachesTheSCU() async throws {
        let dir = try temporaryDirectory("a700")
        defer { try? FileManager.default.removeItem(at: dir) }
        let delegate = RecordingDelegate(dir: dir, status: DIMSEStatus.outOfResources.with(comment: "disk full"))
        try await withServer(delegate) { server, log in
            let r = try await runAsync("/usr/bin/storescu", ["-v", "-aet", "TESTSCU", "-aec", "AHI", "127.0.0.1", "\(server.port)",
                                                             fixture("ct_explicit_le.dcm")])
            #expect(r.output.contains("0xa700") || r.output.contains("Out of Resources") || r.output.contains("Refused: OutOfResources"), "\(r.output)")
            #expect(delegate.received.withLockedValue { $0 } == ["1.2.826.0.1.3680043.10.1234.3.1"])
            try await Task.sleep(for: .milliseconds(200))
            #expect(log.all.contains { $0.contains("1 instances (1 not stored)") }, "\(log.all)")
        }
    }
}
