import Foundation
import ImportPipeline
import TestSupport
import Testing

/// Runs one scenario of Tests/Oracle/sync_scenarios.py: the built `ahi-upload`
/// (sync, watch, status) against a real `ahi-local` process on 127.0.0.1, judged
/// from outside (ahi-local's record of every import, boto3, the request log, sqlite3).
func runScenario(_ name: String, extra: [String] = []) async throws -> (status: Int32, output: String) {
    let work = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-sync-\(name)-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: work) }
    // Waited for with sleeps, not a blocking wait, so the other suites' tasks keep running.
    let process = try BackgroundProcess("python3", [packageRoot.appendingPathComponent("Tests/Oracle/sync_scenarios.py").path, name,
                                                    "--ahi-upload", toolPath("ahi-upload"), "--ahi-local", toolPath("ahi-local"),
                                                    "--work", work.path] + extra,
                                        environment: ProcessInfo.processInfo.environment)
    defer { process.stop() }
    let status = await process.wait(seconds: 900) ?? -1
    let output = process.output
    // The trials and the outcome, in the test log.
    print(output)
    return (status, output)
}

@Suite(.serialized) struct SyncScenarioTests {
    /// 20 runs, each killed with SIGKILL at a random moment (some aimed inside a
    /// multipart upload), then runs to completion: every instance is in the data
    /// store exactly once, no multipart upload is open, the ledger agrees.
    @Test(.timeLimit(.minutes(10))) func killedRunsLeaveEveryInstanceImportedExactlyOnce() async throws {
        let r = try await runScenario("crash", extra: ["--trials", "20"])
        #expect(r.status == 0, "\(r.output.suffix(3000))")
        #expect(r.output.contains("ok: crash test"))
    }

    /// The same with `--via stow-rs`: 20 runs killed at random moments (some between a
    /// STOW-RS request and the ledger's record of its answer); then every instance is in
    /// the data store in one image set per series, nothing the ledger had recorded stored
    /// is sent again, and a further run sends nothing.
    @Test(.timeLimit(.minutes(10))) func killedStowRunsLeaveEveryInstanceStoredOnce() async throws {
        let r = try await runScenario("crash", extra: ["--trials", "20", "--via", "stow-rs"])
        #expect(r.status == 0, "\(r.output.suffix(3000))")
        #expect(r.output.contains("ok: crash test via stow-rs"))
        #expect(r.output.contains("ok: a further run sends nothing"))
    }

    /// Two runs started together: one works, the other says why it does not; waiting
    /// runs find nothing to do; no object is uploaded twice.
    @Test(.timeLimit(.minutes(5))) func overlappingRunsNeverUploadTwice() async throws {
        let r = try await runScenario("concurrent")
        #expect(r.status == 0, "\(r.output.suffix(3000))")
    }

    /// A file being appended to is not picked up until it settles; a touched file is
    /// not imported again; a changed one is.
    @Test(.timeLimit(.minutes(5))) func settlingAndChangedFiles() async throws {
        let r = try await runScenario("settle")
        #expect(r.status == 0, "\(r.output.suffix(3000))")
    }

    /// `watch` imports files dropped while it runs (also in a new sub-folder) and stops
    /// cleanly on SIGTERM; `status` reports it.
    @Test(.timeLimit(.minutes(5))) func watchImportsDroppedFilesAndStopsOnSIGTERM() async throws {
        let r = try await runScenario("watch")
        #expect(r.status == 0, "\(r.output.suffix(3000))")
    }

    /// A job failing on the service's side is retried by the next run; an invalid file
    /// is rejected and left; `--verify` then `--on-success move:DIR`.
    @Test(.timeLimit(.minutes(5))) func serverFailuresRetriedInvalidFilesLeftVerifiedFilesMoved() async throws {
        let r = try await runScenario("after")
        #expect(r.status == 0, "\(r.output.suffix(3000))")
    }

    /// Four `sync --shard k/4` processes at once on one folder of six studies, then four
    /// `import --shard k/4`: every instance imported exactly once, no study split across
    /// jobs, each shard's ledger holds only its studies (judged by a Python reimplementation
    /// of the split), the shards survive each other's StartDICOMImportJob throttling.
    @Test(.timeLimit(.minutes(10))) func shardsSplitAFolderByStudy() async throws {
        let r = try await runScenario("shards")
        #expect(r.status == 0, "\(r.output.suffix(3000))")
        #expect(r.output.contains("ok: sync:") && r.output.contains("ok: import:"))
    }
}
