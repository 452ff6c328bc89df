import ArgumentParser
import DIMSE
import Foundation

/// `ahi-upload echo HOST PORT`: C-ECHO (DICOM Verification) against an SCP.
struct EchoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Check a DICOM peer with C-ECHO (Verification).",
        discussion: """
            ahi-upload echo HOST PORT [--called-ae ANY-SCP] opens an association proposing Verification, \
            sends C-ECHO (--repeat N times on the same association), releases it and prints the status and round-trip time.

            Exit status: 0 when every C-ECHO answered 0000; 1 when the association was rejected or aborted, \
            a C-ECHO failed, or the peer did not answer within --timeout.
            """)

    @Argument(help: "The peer's host name or address.")
    var host: String

    @Argument(help: "The peer's DICOM port.")
    var port: Int

    @Option(name: .customLong("ae-title"), help: "Our (calling) AE title.")
    var aeTitle = "AHIUPLOAD"

    @Option(name: .customLong("called-ae"), help: "The peer's (called) AE title.")
    var calledAE = "ANY-SCP"

    @Option(name: .customLong("repeat"), help: "C-ECHOs to send on the association.")
    var repeatCount = 1

    @Option(help: "Seconds to wait for the connection and for each answer.")
    var timeout: Double = 30

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if !(1...65535).contains(port) { throw ValidationError("PORT must be 1…65535") }
        if repeatCount < 1 { throw ValidationError("--repeat must be at least 1") }
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
        for (name, ae) in [("--ae-title", aeTitle), ("--called-ae", calledAE)] where ae.isEmpty || ae.utf8.count > 16 {
            throw ValidationError("\(name) must be 1…16 characters")
        }
    }

    struct Report: Encodable {
        var host: String
        var port: Int
        var calledAE: String
        var echoes: [Echo]
        var error: String?
        struct Echo: Encodable {
            var status: String
            var milliseconds: Double
        }
    }

    func run() async throws {
        var report = Report(host: host, port: port, calledAE: calledAE, echoes: [])
        var ok = true
        do {
            let client = try await DICOMClient.connect(host: host, port: port, callingAETitle: aeTitle, calledAETitle: calledAE,
                                                       proposing: [.verification], timeout: timeout)
            for _ in 0..<repeatCount {
                let start = ContinuousClock.now
                let status = try await client.echo()
                let elapsed = ContinuousClock.now - start
                let ms = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
                report.echoes.append(.init(status: status.hexCode, milliseconds: (ms * 10).rounded() / 10))
                if !status.isSuccess { ok = false }
                if !output.json { print("C-ECHO \(host):\(port) \(calledAE): \(status) in \(String(format: "%.1f", ms)) ms") }
            }
            try await client.release()
        } catch {
            ok = false
            report.error = "\(error)"
            printError("ahi-upload echo: \(host):\(port): \(error)")
        }
        if output.json { try printJSON(report) }
        if !ok { throw ExitCode(1) }
    }
}
