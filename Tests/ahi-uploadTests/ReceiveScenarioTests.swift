import Foundation
import TestSupport
import Testing

/// Runs one scenario of Tests/Oracle/receive_scenarios.py: real DICOM senders (DCMTK, pynetdicom)
/// against the built `ahi-upload receive`, delivering to a real `ahi-local`, judged from outside
/// (ahi-local's record, dicomweb-client + pydicom, the senders' own reports, `status`).
private func runReceiveScenario(_ name: String) async throws -> (status: Int32, output: String) {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-receive-\(name)-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: work) }
    let process = try BackgroundProcess("python3", [packageRoot.appendingPathComponent("Tests/Oracle/receive_scenarios.py").path, name,
                                                    "--ahi-upload", toolPath("ahi-upload"), "--ahi-local", toolPath("ahi-local"),
                                                    "--work", work.path],
                                        environment: ProcessInfo.processInfo.environment)
    defer { process.stop() }
    let status = await process.wait(seconds: 600) ?? -1
    print(process.output)
    return (status, process.output)
}

@Suite(.serialized) struct ReceiveScenarioTests {
    /// DCMTK echoscu, storescu (--max-pdu 16384 and 131072), dcmsend (JPEG 2000, RLE, multi-frame,
    /// implicit VR) and pynetdicom's echoscu and storescu send to `receive`: every instance ends in
    /// ahi-local exactly once, equal to its source; SIGTERM stops it with exit 0.
    @Test(.timeLimit(.minutes(5))) func realSendersDeliverEveryInstanceOnce() async throws {
        let r = try await runReceiveScenario("peers")
        #expect(r.status == 0, "\(r.output.suffix(3000))")
        #expect(r.output.contains("ok: DCMTK and pynetdicom senders"))
    }

    /// An unlisted calling AE is rejected; an unknown SOP class gets no accepted context.
    @Test(.timeLimit(.minutes(5))) func unlistedCallersAndUnknownSOPClassesAreRefused() async throws {
        let r = try await runReceiveScenario("refuse")
        #expect(r.status == 0, "\(r.output.suffix(3000))")
    }

    /// `kill -9` of `receive` in the middle of an association, then a restart: every instance
    /// that got success is delivered exactly once.
    @Test(.timeLimit(.minutes(5))) func aKilledReceiverDeliversEverythingItAcknowledged() async throws {
        let r = try await runReceiveScenario("kill")
        #expect(r.status == 0, "\(r.output.suffix(3000))")
        #expect(r.output.contains("ok: every acknowledged instance delivered once"))
    }

    /// `--tls-cert/--tls-key`: DCMTK echoscu and storescu over TLS succeed and deliver; plain TCP fails.
    @Test(.timeLimit(.minutes(5))) func dicomOverTLS() async throws {
        let r = try await runReceiveScenario("tls")
        #expect(r.status == 0, "\(r.output.suffix(3000))")
        #expect(r.output.contains("ok: DCMTK echoscu and storescu over TLS succeed"))
    }

    /// Eight storescu associations at once, 200 instances each: all delivered exactly once.
    @Test(.timeLimit(.minutes(10))) func eightConcurrentAssociations() async throws {
        let r = try await runReceiveScenario("concurrent")
        #expect(r.status == 0, "\(r.output.suffix(3000))")
        #expect(r.output.contains("ok: all 1600 delivered, each exactly once"))
    }
}
