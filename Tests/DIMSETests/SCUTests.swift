import DIMSE
import Foundation
import TestSupport
import Testing

/// Our SCU against DCMTK's storescp (+xa: accepts every transfer syntax).
@Suite(.serialized) struct SCUTests {
    func withStorescp(_ body: (Int, URL) async throws -> Void) async throws {
        let dir = try temporaryDirectory("storescp")
        defer { try? FileManager.default.removeItem(at: dir) }
        let port = freePort()
        let scp = try BackgroundProcess("/usr/bin/storescp", ["-v", "-aet", "STORESCP", "-od", dir.path, "+xa", "\(port)"],
                                        environment: ProcessInfo.processInfo.environment)
        defer { scp.stop() }
        // Wait until it listens.
        var up = false
        for _ in 0..<100 where !up {
            if (try? RawSocket(port: port)) != nil { up = true } else { try await Task.sleep(for: .milliseconds(50)) }
        }
        #expect(up, "storescp did not start: \(scp.output)")
        try await body(port, dir)
    }

    @Test func echoAndStoreToStorescp() async throws {
        // ct_deflated.dcm instead of ct_explicit_le.dcm (they share a SOP Instance UID).
        let files = (uncompressedFixtures.filter { $0 != "ct_explicit_le.dcm" }
            + ["j2k_two_fragments_per_frame.dcm", "rle_with_bot.dcm", "ct_deflated.dcm"]).map(fixture)
        try await withStorescp { port, dir in
            let client = try await DICOMClient.connect(host: "127.0.0.1", port: port, callingAETitle: "AHIUPLOAD",
                                                       calledAETitle: "STORESCP",
                                                       proposing: [.verification] + PresentationContextProposal.storage(files: files))
            #expect(client.peerMaxPDULength == 16384)  // storescp's default
            #expect(try await client.echo() == .success)
            for f in files {
                let status = try await client.store(path: f)
                #expect(status == .success, "\(f): \(status)")
            }
            try await client.release()
            let verdict = try await oracleCompare(dir, files, sameTS: true)
            #expect(verdict.ok, "\(verdict.output)")
        }
    }

    /// A rejection reaches the caller with its reason (our SCP: the called AE title is not its own).
    @Test func rejectionIsReported() async throws {
        let dir = try temporaryDirectory("scu-rj")
        defer { try? FileManager.default.removeItem(at: dir) }
        let server = try await DICOMServer.start(DICOMServer.Configuration(port: 0), delegate: RecordingDelegate(dir: dir))
        do {
            _ = try await DICOMClient.connect(host: "127.0.0.1", port: server.port, callingAETitle: "AHIUPLOAD",
                                              calledAETitle: "SOMEONE", proposing: [.verification])
            Issue.record("associated with a wrong called AE title")
        } catch let error as DIMSEClientError {
            guard case .rejected(let r) = error else { Issue.record("\(error)"); return }
            #expect(r == .calledAENotRecognized, "\(r)")
            #expect("\(error)".contains("called AE title not recognized"))
        }
        await server.stop(grace: 1)
    }

    /// Our SCU to our SCP: a file whose SOP Class the SCP does not accept fails alone; the
    /// association goes on with the next file.
    @Test func fileWithoutAcceptedContextFailsAlone() async throws {
        let dir = try temporaryDirectory("scu-own")
        defer { try? FileManager.default.removeItem(at: dir) }
        let odd = dir.appendingPathComponent("private-class.dcm").path
        _ = try await runAsync("python3", ["-c", """
            import pydicom, sys
            d = pydicom.dcmread(sys.argv[1]); d.SOPClassUID = '1.2.826.0.1.3680043.10.1234.99.1'
            d.SOPInstanceUID = '1.2.826.0.1.3680043.10.1234.99.2'
            d.file_meta.MediaStorageSOPClassUID = d.SOPClassUID; d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
            d.save_as(sys.argv[2])
            """, fixture("ct_explicit_le.dcm"), odd])
        let out = try temporaryDirectory("scu-own-out")
        defer { try? FileManager.default.removeItem(at: out) }
        var config = DICOMServer.Configuration(port: 0)
        config.maxPDULength = 4096
        let server = try await DICOMServer.start(config, delegate: RecordingDelegate(dir: out))
        let files = [odd, fixture("ct_implicit_le.dcm")]
        let client = try await DICOMClient.connect(host: "127.0.0.1", port: server.port, callingAETitle: "AHIUPLOAD",
                                                   calledAETitle: "AHI", proposing: PresentationContextProposal.storage(files: files))
        #expect(client.peerMaxPDULength == 4096)
        do {
            _ = try await client.store(path: odd)
            Issue.record("stored a file whose context was rejected")
        } catch let error as DIMSEClientError {
            guard case .noAcceptedContext(let sop, _) = error else { Issue.record("\(error)"); return }
            #expect(sop == "1.2.826.0.1.3680043.10.1234.99.1")
        }
        #expect(try await client.store(path: fixture("ct_implicit_le.dcm")) == .success)
        try await client.release()
        await server.stop(grace: 1)
        let verdict = try await oracleCompare(out, [fixture("ct_implicit_le.dcm")], sameTS: true)
        #expect(verdict.ok, "\(verdict.output)")
    }
}
