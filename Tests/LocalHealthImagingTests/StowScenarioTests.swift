import Foundation
import TestSupport
import Testing

/// Runs one scenario of Tests/Oracle/stow_scenarios.py: the built `ahi-upload import --via stow-rs`
/// against a real `ahi-local` process, judged by boto3, the report and the request log.
private func runStowScenario(_ name: String) async throws -> (status: Int32, output: String) {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-stow-\(name)-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: work) }
    let process = try BackgroundProcess("python3", [packageRoot.appendingPathComponent("Tests/Oracle/stow_scenarios.py").path, name,
                                                    "--ahi-upload", toolPath("ahi-upload"), "--ahi-local", toolPath("ahi-local"),
                                                    "--work", work.path],
                                        environment: ProcessInfo.processInfo.environment)
    defer { process.stop() }
    let status = await process.wait(seconds: 300) ?? -1
    print(process.output)
    return (status, process.output)
}

@Suite(.serialized) struct StowScenarioTests {
    /// A folder of three series and an invalid file by STOW-RS: boto3 finds exactly the
    /// instances sent, one image set per series; the invalid file is skipped with its reason;
    /// a second import finds everything already imported and sends nothing.
    @Test(.timeLimit(.minutes(5))) func importViaStowStoresExactlyTheValidInstances() async throws {
        let r = try await runStowScenario("import")
        #expect(r.status == 0, "\(r.output.suffix(3000))")
        #expect(r.output.contains("ok: a second import finds all"))
    }

    /// ahi-local refuses two chosen instances (FailedSOPSequence, 0110) and throttles the first
    /// requests (429, 503): exactly those two are reported failed with the reason, the throttled
    /// requests are retried, an instance larger than the request limit goes alone.
    @Test(.timeLimit(.minutes(5))) func refusedInstancesThrottlingAndALargeInstance() async throws {
        let r = try await runStowScenario("faults")
        #expect(r.status == 0, "\(r.output.suffix(3000))")
        #expect(r.output.contains("ok: the ") && r.output.contains("went alone"))
    }
}
