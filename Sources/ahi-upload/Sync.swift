import ArgumentParser
import DICOMCore
import Dispatch
import Foundation
import ImportPipeline
import Sync
import Uploader

#if canImport(Glibc)
import Glibc
#endif

/// Options `sync` and `watch` share.
/// The folder `sync` and `watch` import.
struct FolderArgument: ParsableArguments {
    @Argument(help: "The folder a PACS or modality drops files into.")
    var folder: String
}

/// Everything the sync engine needs but the folder (`sync`, `watch`, `receive`).
struct SyncOptions: ParsableArguments {
    @OptionGroup var service: ServiceOptions

    /// Objects go under PREFIX/<ledger-id>/job-NNNNNN/.
    @OptionGroup var destination: DestinationOptions

    @OptionGroup var delivery: DeliveryOptions

    @Option(name: .customLong("state-dir"),
            help: "Where the ledger and the lock live (default: $XDG_STATE_HOME/ahi-upload, else ~/.local/state/ahi-upload); one per shard.")
    var stateDir: String?

    @Option(help: "Seconds a file's size and mtime must stay unchanged before it is picked up.")
    var settle: Double = 30

    @OptionGroup var limits: JobLimitOptions

    @OptionGroup var sharding: ShardOptions

    @Option(name: .customLong("on-success"),
            help: "What to do with a source file once its import is confirmed: keep, move:DIR or delete (default: keep; receive: delete).")
    var onSuccess: String?

    @Flag(help: "Before --on-success acts, compare every frame's checksum in the data store with the local file's.")
    var verify = false

    @Flag(help: "Import files even when the validator finds errors.")
    var force = false

    @Option(name: .customLong("lock-timeout"), help: "Seconds to wait for another run's lock before exiting 0.")
    var lockTimeout: Double = 10

    @Option(name: .customLong("retry-base"), help: "Seconds before the first retry of a server-side failure (doubling, at most 6 h).")
    var retryBase: Double = 60

    @OptionGroup var output: OutputOptions

    @Flag(name: .shortAndLong, help: "Only problems and the summary.")
    var quiet = false

    @Flag(name: .customLong("show-phi"), help: "Show patient names, IDs and birth dates in messages.")
    var showPHI = false

    func validate() throws {
        if let onSuccess, OnSuccess(argument: onSuccess) == nil {
            throw ValidationError("--on-success must be keep, move:DIR or delete")
        }
        guard settle >= 0 else { throw ValidationError("--settle must be 0 or more") }
    }

    /// The state directory.
    var stateDirectory: String { StatusCommand.defaultStateDirectory(stateDir) }

    /// Builds the engine (clients, ledger bound to the data store) on a connection.
    func engine(folder: String, _ connection: Connection, stop: StopFlag, settle: Double? = nil, defaultOnSuccess: OnSuccess = .keep,
                log: @escaping @Sendable (String) -> Void) throws -> SyncEngine {
        let shard = try sharding.resolve()
        var isDir: ObjCBool = false
        let root = URL(fileURLWithPath: folder).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: root, isDirectory: &isDir), isDir.boolValue else {
            throw ValidationError("\(folder): not a folder")
        }
        let via = try delivery.delivery()
        let destination = try destination.destination(connection, required: via == .s3Import)
        let ledger = try Ledger(directory: stateDirectory)
        try ledger.bind(datastore: connection.datastore)
        try ledger.bind(shard: shard)
        var settings = SyncSettings(folder: root, destination: destination)
        settings.pipeline = limits.pipeline
        settings.settle = settle ?? self.settle
        settings.maxFilesPerJob = max(1, limits.maxFilesPerJob)
        settings.maxBytesPerJob = max(1, limits.maxBytesPerJob)
        settings.onSuccess = onSuccess.flatMap { OnSuccess(argument: $0) } ?? defaultOnSuccess
        settings.force = force
        settings.verify = verify
        settings.retryBase = max(0, retryBase)
        settings.shard = shard
        settings.showPHI = showPHI
        if shard.count > 1 { log("sync: shard \(shard) (studies split by StudyInstanceUID), ledger \(ledger.path)") }
        let pipeline = ImportPipeline(healthImaging: connection.healthImaging, s3: connection.s3, destination: destination,
                                      settings: settings.pipeline, shouldStop: { stop.isSet }, log: log)
        let stow = via == .stowRS ? try delivery.stow(connection, inFlight: max(1, limits.concurrency), log: log,
                                                      debug: service.aws.debugLog) : nil
        if let stow { log("sync: delivering by STOW-RS to \(stow.client.baseURL)") }
        return SyncEngine(ledger: ledger, pipeline: pipeline, stow: stow, settings: settings, stop: stop, log: log)
    }

    /// Connects (``ServiceOptions/connect(connections:log:)``) with room for the uploads.
    func connect(log: @escaping @Sendable (String) -> Void) async throws -> Connection {
        try await service.connect(connections: max(4, limits.concurrency), log: log)
    }

    /// The state directory's lock, or nil (having said why) when another run keeps it past --lock-timeout.
    func lock(command: String) async -> StateLock? {
        do {
            return try await StateLock(directory: stateDirectory, timeout: lockTimeout)
        } catch let failure {
            print("\(command): not started: \(failure)")
            return nil
        }
    }

    /// Progress lines to standard error (none with --quiet).
    var log: @Sendable (String) -> Void {
        let quiet = self.quiet
        return { line in if !quiet { printError(line) } }
    }
}

/// SIGTERM/SIGINT set the stop flag (and wake a waiting watcher); a second one exits at once.
final class SignalStop: @unchecked Sendable {
    // @unchecked: the sources are only kept alive here.
    private var sources: [DispatchSourceSignal] = []
    let stop = StopFlag()
    private(set) var name: String?

    init(onSignal: @escaping @Sendable () -> Void = {}) {
        for (sig, name) in [(SIGTERM, "SIGTERM"), (SIGINT, "SIGINT")] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                guard let self else { return }
                if self.stop.isSet { exit(130) }
                self.name = name
                self.stop.set()
                printError("\(name): finishing the current step, then stopping (again to exit at once)")
                onSignal()
            }
            source.resume()
            sources.append(source)
        }
    }
}

/// Writes a pass's result and picks the exit status: 0 when nothing failed, 1 when a
/// file failed (upload, import, verify), 2 when files were only rejected as invalid.
func finishSync(_ s: SyncSummary, ledger: Ledger, run: Int, output: OutputFormat, command: String) throws {
    let outcome = s.interrupted ? "interrupted" : s.failed > 0 ? "failures" : s.rejected > 0 ? "rejected" : "ok"
    try ledger.transaction { try $0.endRun(run, outcome: outcome, summary: s.line) }
    if output == .json {
        try printJSON(s)
    } else {
        for p in s.problems { print(p) }
        for w in s.crossFile { print(w.line) }
        print("\(command): \(s.line)\(s.interrupted ? " (stopped early)" : ""); ledger \(ledger.path)")
    }
    if s.failed > 0 { throw ExitCode(1) }
    if s.rejected > 0 { throw ExitCode(2) }
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Import a watched folder's new and changed files exactly once (one-shot, for cron or a systemd timer).",
        discussion: """
            Every file goes through a SQLite ledger in --state-dir: seen → validated → uploaded → \
            importing → imported (or rejected / failed), one transaction per change (WAL, \
            synchronous=FULL), so a run killed at any moment is finished by the next one: \
            multipart uploads continue from their recorded parts (checked with ListParts), jobs \
            already started are polled (the batch's client token never starts a second job), \
            nothing imported is sent again, and multipart uploads the ledger no longer needs are \
            aborted. Files written less than --settle seconds ago are left for a later run; a \
            file whose bytes change after import is imported again. Validation errors and \
            HealthImaging's customer errors are not retried until the file changes; server-side \
            failures are retried on later runs with backoff (--retry-base).

            With --via stow-rs, validated files go by DICOMweb STOW-RS instead (no bucket, no \
            role, no job): validated → imported (or rejected / failed) as each request's answer \
            is recorded. A run killed between a request and its record leaves those files \
            validated and the next run sends them again; HealthImaging stores an identical \
            instance sent again over the one it holds (the image set's version goes up; no new \
            image set).

            An exclusive lock on the state directory keeps overlapping runs apart: a second run \
            waits --lock-timeout seconds, then exits 0 saying why.

            Exit status: 0 when nothing failed, 1 when a file failed (upload, import or \
            --verify), 2 when files were rejected as invalid; 0 also when another run held the lock.
            """)

    @OptionGroup var folder: FolderArgument

    @OptionGroup var options: SyncOptions

    @Flag(name: .customLong("no-wait"), help: "Start the jobs and exit; the next run polls them.")
    var noWait = false

    func run() async throws {
        try Paths.require([folder.folder], folders: true)
        let signals = SignalStop()
        let log = options.log
        guard let lock = await options.lock(command: "sync") else { return }
        let connection = try await options.connect(log: log)
        try await connection.use { c in
            let engine = try options.engine(folder: folder.folder, c, stop: signals.stop, log: log)
            let run = try engine.ledger.transaction { try $0.beginRun("sync") }
            let summary: SyncSummary
            do {
                summary = try await engine.pass(plan: true, wait: !noWait)
            } catch {
                try? engine.ledger.transaction { try $0.endRun(run, outcome: "error: \(error)", summary: "") }
                throw error
            }
            try finishSync(summary, ledger: engine.ledger, run: run, output: options.output.output, command: "sync")
        }
        withExtendedLifetime(lock) {}
    }
}

struct WatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "watch",
        abstract: "Import files as they arrive in a folder (long-running; inotify, else polling).",
        discussion: """
            The same ledger and steps as `sync`, run whenever the folder changes: new files are \
            validated once they have settled, gathered into a job once no new file has arrived \
            for --quiet-period seconds or --max-files-per-job are waiting, and the jobs polled \
            while new files keep coming. SIGTERM or SIGINT finishes the current step and exits 0 \
            with the ledger consistent; the next `sync` or `watch` carries on from there.
            """)

    @OptionGroup var folder: FolderArgument

    @OptionGroup var options: SyncOptions

    @Option(name: .customLong("quiet-period"), help: "Seconds without new files before the waiting ones are sent as a job.")
    var quietPeriod: Double = 10

    @Option(name: .customLong("poll-interval"), help: "Seconds between rescans when nothing signals a change.")
    var pollInterval: Double = 30

    @Flag(help: "Rescan every --poll-interval instead of using inotify.")
    var polling = false

    func run() async throws {
        try Paths.require([folder.folder], folders: true)
        let root = URL(fileURLWithPath: folder.folder).standardizedFileURL.path
        let watcher = DirectoryWatcher(folder: root, polling: polling)
        let signals = SignalStop(onSignal: { watcher.signal() })
        let log = options.log
        guard let lock = await options.lock(command: "watch") else { return }
        let connection = try await options.connect(log: log)
        defer { withExtendedLifetime(lock) {} }
        try await connection.use { c in
            try await watch(try options.engine(folder: root, c, stop: signals.stop, log: log), root: root, watcher: watcher, signals: signals)
        }
    }

    func watch(_ engine: SyncEngine, root: String, watcher: DirectoryWatcher, signals: SignalStop) async throws {
        try await WatchLoop(engine: engine, watcher: watcher, signals: signals, quietPeriod: quietPeriod, pollInterval: pollInterval,
                            settle: options.settle, maxFilesPerJob: options.limits.maxFilesPerJob, output: options.output,
                            log: options.log, command: "watch").run(describing: "\(root) (\(watcher.usesInotify ? "inotify" : "polling every \(Int(pollInterval)) s"))")
    }
}

/// `watch`'s loop (also `receive`'s delivery): a pass whenever the folder changes, jobs
/// planned once no new file has arrived for the quiet period, until SIGTERM/SIGINT.
struct WatchLoop {
    let engine: SyncEngine
    let watcher: DirectoryWatcher
    let signals: SignalStop
    let quietPeriod: Double
    let pollInterval: Double
    let settle: Double
    let maxFilesPerJob: Int
    let output: OutputOptions
    let log: @Sendable (String) -> Void
    let command: String

    func run(describing what: String) async throws {
        let run = try engine.ledger.transaction { try $0.beginRun(command) }
        log("\(command): \(what), ledger \(engine.ledger.path)")
        var total = SyncSummary()
        var lastArrival = Date()
        var planNext = false
        while !signals.stop.isSet {
            let s: SyncSummary
            do {
                s = try await engine.pass(plan: planNext, wait: false)
            } catch let e as LedgerWriteError {
                throw e
            } catch {
                // A service outage must not end the loop: log it and try again later.
                log("\(command): \(error); trying again in \(Int(pollInterval)) s")
                _ = await watcher.wait(timeout: pollInterval)
                continue
            }
            total.add(s)
            if s.new > 0 { lastArrival = Date() }
            if s.imported + s.rejected + s.failed > 0 || s.new > 0 { log("\(command): \(s.line)") }
            let state = try engine.ledger.read { t in (try t.files(in: [.seen]).count, try t.files(in: [.validated]).filter { $0.batchId == nil }.count) }
            let quietFor = Date().timeIntervalSince(lastArrival)
            planNext = state.1 > 0 && (quietFor >= quietPeriod || state.1 >= maxFilesPerJob)
            // Sleep until something changes, or the next thing falls due.
            var timeout = pollInterval
            if s.jobsRunning > 0 { timeout = min(timeout, 2) }
            if state.0 > 0 { timeout = min(timeout, max(0.5, settle / 2)) }
            if state.1 > 0 && !planNext { timeout = min(timeout, max(0.2, quietPeriod - quietFor)) }
            if planNext { timeout = 0 }
            if timeout > 0 { _ = await watcher.wait(timeout: timeout) }
        }
        total.interrupted = true
        let outcome = "stopped by \(signals.name ?? "signal")"
        try engine.ledger.transaction { try $0.endRun(run, outcome: outcome, summary: total.line) }
        if output.json {
            try printJSON(total)
        } else {
            print("\(command): \(outcome); \(total.line); ledger \(engine.ledger.path)")
        }
    }
}

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "What the sync ledger holds: files per state, the oldest unfinished file, the last run, failures (for monitoring).")

    @Option(name: .customLong("state-dir"), help: "The state directory (default: $XDG_STATE_HOME/ahi-upload).")
    var stateDir: String?

    @OptionGroup var output: OutputOptions

    @Option(help: "At most this many failed or rejected files are listed.")
    var limit = 50

    static func defaultStateDirectory(_ explicit: String?) -> String {
        if let explicit { return explicit }
        let env = ProcessInfo.processInfo.environment
        if let xdg = env["XDG_STATE_HOME"], !xdg.isEmpty { return xdg + "/ahi-upload" }
        return (env["HOME"] ?? NSHomeDirectory()) + "/.local/state/ahi-upload"
    }

    struct Report: Codable {
        var ledger: String
        /// False before the first `sync` or `watch` with this state directory.
        var exists = true
        var counts: [String: Int]
        /// Every file the ledger knows (for `receive`: every instance acknowledged), delivered
        /// (imported) and not delivered (failed or rejected).
        var received: Int
        var delivered: Int
        var failed: Int
        var unfinished: Int
        var oldestUnfinished: LedgerFile?
        var lastRun: LedgerRun?
        var problems: [LedgerFile]
        var batchesRunning: [LedgerBatch]
    }

    func run() async throws {
        let dir = Self.defaultStateDirectory(stateDir)
        let path = Ledger.path(inDirectory: dir)
        guard FileManager.default.fileExists(atPath: path) else {
            // Monitoring calls this before anything ran: say so, and exit 0.
            let empty = Report(ledger: path, exists: false,
                               counts: Dictionary(uniqueKeysWithValues: FileStatus.ledgerStates.map { ($0.rawValue, 0) }),
                               received: 0, delivered: 0, failed: 0, unfinished: 0, oldestUnfinished: nil, lastRun: nil, problems: [], batchesRunning: [])
            if output.json { return try printJSON(empty) }
            print("no sync has run yet with the state directory \(dir) (no ledger at \(path)); `ahi-upload sync FOLDER` starts one")
            return
        }
        let ledger = try Ledger(directory: dir, readOnly: true)
        let report = try ledger.read { t in
            let counts = try t.counts()
            let unfinished = try t.files(in: FileStatus.ledgerStates.filter(\.isUnfinished))
            return Report(ledger: ledger.path,
                          counts: Dictionary(uniqueKeysWithValues: FileStatus.ledgerStates.map { ($0.rawValue, counts[$0] ?? 0) }),
                          received: counts.values.reduce(0, +), delivered: counts[.imported] ?? 0,
                          failed: (counts[.failed] ?? 0) + (counts[.rejected] ?? 0), unfinished: unfinished.count, oldestUnfinished: unfinished.first, lastRun: try t.runs(limit: 1).first,
                          problems: Array(try t.files(in: [.failed, .rejected]).prefix(limit)), batchesRunning: try t.batches(.started))
        }
        if output.json {
            try printJSON(report)
            return
        }
        func when(_ t: Double) -> String { ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: t)) }
        print("ledger     \(report.ledger)")
        print("files      " + FileStatus.ledgerStates.map { "\($0.rawValue) \(report.counts[$0.rawValue] ?? 0)" }.joined(separator: ", "))
        print("totals     received \(report.received), delivered \(report.delivered), failed \(report.failed), waiting \(report.unfinished)")
        if let o = report.oldestUnfinished {
            print("oldest unfinished  \(o.path): \(o.state.rawValue) since \(when(o.firstSeen))")
        }
        for b in report.batchesRunning { print("job running  \(b.jobId ?? "-") (batch \(b.id))") }
        if let r = report.lastRun {
            print("last run   \(r.command) \(when(r.startedAt)) → \(r.outcome ?? (r.endedAt == nil ? "did not finish (killed, or still running)" : "-"))\(r.summary.map { "; " + $0 } ?? "")")
        }
        for f in report.problems {
            var line = "\(f.state.rawValue)  \(f.path): \(f.lastError ?? "")"
            if let retry = f.retryAfter, f.state == .failed { line += " (retry after \(when(retry)))" }
            print(line)
        }
    }
}
