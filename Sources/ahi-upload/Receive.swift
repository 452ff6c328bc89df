import ArgumentParser
import DIMSE
import Foundation
import ImportPipeline
import NIOCore
import NIOSSL
import Sync

struct ReceiveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive",
        abstract: "A DICOM network endpoint (C-ECHO, C-STORE SCP) that delivers every instance it acknowledges to HealthImaging exactly once.",
        discussion: """
            Modalities and PACS send to --ae-title at --host:--port (127.0.0.1 unless --host says \
            otherwise). Each received data set is written as a Part 10 file (File Meta from the \
            negotiated transfer syntax) into the spool (--spool-dir, default STATE-DIR/spool): a \
            temporary file, fsync, rename, fsync of the folder, and a ledger record — and only \
            then does the C-STORE response say success. A full disk or a ledger that cannot be \
            written answers A700 (out of resources), never success. The spool is delivered \
            exactly once through the same ledger and steps as `sync` (--via stow-rs or \
            s3-import); delivered files are deleted from the spool (--on-success keep|move:DIR \
            to keep them).

            --allow-calling-ae limits who may associate (others are rejected: calling AE not \
            recognized). SIGTERM or SIGINT stops accepting associations, lets open ones finish \
            for --stop-grace seconds (then aborts them) and exits 0; a restart delivers whatever \
            the spool still holds. `ahi-upload status --state-dir …` shows received, delivered \
            and failed counts.
            """)

    @Option(help: "The address to listen on (127.0.0.1 unless told otherwise; 0.0.0.0 for every interface).")
    var host = "127.0.0.1"

    @Option(help: "The TCP port (0: any free port, printed).")
    var port = 11112

    @Option(name: .customLong("ae-title"), help: "This endpoint's AE title (the Called AE Title senders must use).")
    var aeTitle = "AHI"

    @Option(name: .customLong("allow-calling-ae"), help: "Comma-separated Calling AE Titles allowed to associate (default: any).")
    var allowCallingAE: String?

    @Option(name: .customLong("max-associations"), help: "Associations at once; more are rejected (transient, local limit).")
    var maxAssociations = 16

    @Option(name: .customLong("spool-dir"), help: "Where acknowledged instances wait for delivery (default: STATE-DIR/spool).")
    var spoolDir: String?

    @Option(name: .customLong("quiet-period"), help: "Seconds without new instances before the waiting ones are delivered.")
    var quietPeriod: Double = 2

    @Option(name: .customLong("stop-grace"), help: "Seconds open associations may take to finish after SIGTERM/SIGINT.")
    var stopGrace: Double = 30

    @Option(name: .customLong("tls-cert"), help: "PEM certificate (chain) to accept DICOM over TLS (PS3.15 B.1); with --tls-key.")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @OptionGroup var options: SyncOptions

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard (1...16).contains(aeTitle.count) else { throw ValidationError("--ae-title must have 1 to 16 characters") }
        guard maxAssociations > 0 else { throw ValidationError("--max-associations must be at least 1") }
        guard (tlsCert == nil) == (tlsKey == nil) else { throw ValidationError("--tls-cert and --tls-key go together") }
    }

    /// The TLS server context of --tls-cert/--tls-key (TLS 1.2 or newer; no client certificate asked for).
    func tlsContext() throws -> NIOSSLContext? {
        guard let tlsCert, let tlsKey else { return nil }
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(tlsCert).map { NIOSSLCertificateSource.certificate($0) }
            var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(try NIOSSLPrivateKey(file: tlsKey, format: .pem)))
            tls.minimumTLSVersion = .tlsv12
            return try NIOSSLContext(configuration: tls)
        } catch {
            throw ValidationError("--tls-cert \(tlsCert) / --tls-key \(tlsKey): \(error)")
        }
    }

    func run() async throws {
        let log = options.log
        let tls = try tlsContext()
        let spool = spoolDir ?? (options.stateDirectory as NSString).appendingPathComponent("spool")
        try FileManager.default.createDirectory(atPath: spool, withIntermediateDirectories: true)
        let root = URL(fileURLWithPath: spool).standardizedFileURL.path
        let watcher = DirectoryWatcher(folder: root, polling: false)
        let signals = SignalStop(onSignal: { watcher.signal() })
        guard let lock = await options.lock(command: "receive") else { return }
        defer { withExtendedLifetime(lock) {} }
        let connection = try await options.connect(log: log)
        try await connection.use { c in
            let engine = try options.engine(folder: root, c, stop: signals.stop, settle: 0, defaultOnSuccess: .delete, log: log)
            let allowed = allowCallingAE.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }) }
            let delegate = ReceiveDelegate(spool: try Spool(directory: root, ledger: engine.ledger), allowed: allowed,
                                           log: log, wake: { watcher.signal() })
            var config = DICOMServer.Configuration()
            config.host = host
            config.port = port
            config.aeTitle = aeTitle
            config.maxAssociations = maxAssociations
            config.log = log
            if let tls {
                config.prepareChannel = { channel in try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls)) }
            }
            let server = try await DICOMServer.start(config, delegate: delegate)
            printError("receive: listening on \(host):\(server.port) as \(aeTitle)\(tls == nil ? "" : " (TLS)")")
            let loop = WatchLoop(engine: engine, watcher: watcher, signals: signals, quietPeriod: quietPeriod, pollInterval: 30, settle: 0,
                                 maxFilesPerJob: options.limits.maxFilesPerJob, output: options.output, log: log, command: "receive")
            do {
                try await loop.run(describing: "spool \(root)")
            } catch {
                await server.stop(grace: 0)
                throw error
            }
            log("receive: no new associations; waiting up to \(Int(stopGrace)) s for open ones")
            await server.stop(grace: stopGrace)
        }
    }
}

/// Keeps each received instance in the spool before it is acknowledged.
struct ReceiveDelegate: StorageDelegate {
    let spool: Spool
    let allowed: Set<String>?
    let log: @Sendable (String) -> Void
    let wake: @Sendable () -> Void

    func shouldAccept(_ association: AssociationInfo) async -> AssociationRejection? {
        guard let allowed, !allowed.contains(association.callingAETitle) else { return nil }
        log("receive: association from \(association.peer) rejected: calling AE \(association.callingAETitle) is not allowed")
        return .callingAENotRecognized
    }

    func store(_ instance: ReceivedInstance) async -> DIMSEStatus {
        let bytes: [UInt8]
        do {
            bytes = try instance.part10()
        } catch {
            log("receive: \(instance.sopInstanceUID) from \(instance.association.callingAETitle): \(error)")
            return DIMSEStatus(0xC000, comment: "cannot build the Part 10 file")
        }
        do {
            _ = try spool.keep(bytes, sopInstanceUID: instance.sopInstanceUID)
            wake()
            return .success
        } catch {
            log("receive: \(instance.sopInstanceUID) from \(instance.association.callingAETitle) not kept, answered A700: \(error)")
            return DIMSEStatus(0xA700, comment: "out of resources: not stored")
        }
    }
}
