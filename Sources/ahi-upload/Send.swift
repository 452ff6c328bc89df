import ArgumentParser
import DICOMCore
import DIMSE
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `ahi-upload send PATH… HOST PORT`: C-STORE files to a DICOM SCP.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send",
        abstract: "Send DICOM files to a DICOM peer with C-STORE.",
        discussion: """
            ahi-upload send PATH… HOST PORT [--called-ae ANY-SCP] walks the folders, reads each file's SOP Class \
            and transfer syntax, and sends every file as it is (no transcoding) over --associations parallel \
            associations (files split between them; a new association only after one fails). Each association \
            proposes one presentation context per (SOP Class, transfer syntax) of its files (at most 128; more \
            distinct pairs use further associations in turn). A file that is not DICOM is reported and skipped.

            Exit status: 0 when every DICOM file was stored (success or warning); 1 when any failed \
            (its status code and comment are listed), or the peer could not be reached.
            """)

    @Argument(help: ArgumentHelp("Files or folders, then HOST and PORT.", valueName: "path… host port"))
    var arguments: [String]

    @Option(name: .customLong("ae-title"), help: "Our (calling) AE title.")
    var aeTitle = "AHIUPLOAD"

    @Option(name: .customLong("called-ae"), help: "The peer's (called) AE title.")
    var calledAE = "ANY-SCP"

    @Option(help: "Associations in parallel.")
    var associations = 4

    @Option(help: "Seconds to wait for the connection and for each answer.")
    var timeout: Double = 60

    @OptionGroup var output: OutputOptions

    var paths: [String] { Array(arguments.dropLast(2)) }
    var host: String { arguments[arguments.count - 2] }
    var port: Int { Int(arguments[arguments.count - 1]) ?? 0 }

    func validate() throws {
        guard arguments.count >= 3 else { throw ValidationError("give at least one PATH, then HOST and PORT") }
        guard let p = Int(arguments[arguments.count - 1]), (1...65535).contains(p) else {
            throw ValidationError("the last argument must be the PORT (1…65535)")
        }
        if associations < 1 || associations > 64 { throw ValidationError("--associations must be 1…64") }
        if timeout <= 0 { throw ValidationError("--timeout must be positive") }
        for (name, ae) in [("--ae-title", aeTitle), ("--called-ae", calledAE)] where ae.isEmpty || ae.utf8.count > 16 {
            throw ValidationError("\(name) must be 1…16 characters")
        }
    }

    struct FileResult: Encodable, Sendable {
        var path: String
        var status: String?
        var comment: String?
        var error: String?
    }

    struct Report: Encodable {
        var sent = 0
        var warnings: [FileResult] = []
        var failed: [FileResult] = []
        var skipped: [FileResult] = []
    }

    func run() async throws {
        let walk = FileWalker.walk(paths)
        var report = Report()
        for problem in walk.problems {
            report.skipped.append(FileResult(path: problem.path, error: problem.reason))
        }
        // One read of each file's header: its presentation context, or why it is skipped.
        var files: [(path: String, context: PresentationContextProposal)] = []
        for path in walk.files {
            do {
                files.append((path, try PresentationContextProposal.forFile(path)))
            } catch {
                report.skipped.append(FileResult(path: path, error: "\(error)"))
            }
        }
        let workers = min(associations, max(1, files.count))
        let shares = (0..<workers).map { w in stride(from: w, to: files.count, by: workers).map { files[$0] } }
        let progress = Progress(total: files.count, show: !output.json && isatty(2) == 1)
        let (host, port, aeTitle, calledAE, timeout) = (self.host, self.port, self.aeTitle, self.calledAE, self.timeout)
        let results = await withTaskGroup(of: [FileResult].self) { group in
            for share in shares where !share.isEmpty {
                group.addTask {
                    await SendCommand.send(share, host: host, port: port, aeTitle: aeTitle, calledAE: calledAE,
                                           timeout: timeout, progress: progress)
                }
            }
            var all: [FileResult] = []
            for await r in group { all += r }
            return all
        }
        await progress.finish()
        for r in results.sorted(by: { $0.path < $1.path }) {
            if r.error != nil || (r.status.flatMap { UInt16($0, radix: 16) }.map { DIMSEStatus($0).isFailure } ?? true) {
                report.failed.append(r)
            } else {
                report.sent += 1
                if r.status != "0000" { report.warnings.append(r) }
            }
        }
        if output.json {
            try printJSON(report)
        } else {
            for s in report.skipped { print("skipped \(s.path): \(s.error ?? "")") }
            for w in report.warnings { print("warning \(w.path): \(w.status ?? "")\(w.comment.map { " \($0)" } ?? "")") }
            for f in report.failed {
                print("failed \(f.path): " + (f.error ?? "\(f.status ?? "")\(f.comment.map { " \($0)" } ?? "")"))
            }
            print("sent \(report.sent) (\(report.warnings.count) with warnings), failed \(report.failed.count), "
                  + "skipped \(report.skipped.count) to \(calledAE)@\(host):\(port)")
        }
        if !report.failed.isEmpty { throw ExitCode(1) }
    }

    /// One worker: its files in batches of at most 128 distinct contexts, one association per
    /// batch; after an association fails, a new one for the files still to send.
    static func send(_ files: [(path: String, context: PresentationContextProposal)], host: String, port: Int,
                     aeTitle: String, calledAE: String, timeout: Double, progress: Progress) async -> [FileResult] {
        var results: [FileResult] = []
        var pending = files[...]
        while !pending.isEmpty {
            // The next batch: files while the distinct contexts stay within 128.
            var contexts: [PresentationContextProposal] = []
            var seen = Set<PresentationContextProposal>()
            var batch: [(path: String, context: PresentationContextProposal)] = []
            while let next = pending.first {
                if !seen.contains(next.context) {
                    if seen.count == 128 { break }
                    seen.insert(next.context)
                    contexts.append(next.context)
                }
                batch.append(next)
                pending = pending.dropFirst()
            }
            var remaining = batch[...]
            while !remaining.isEmpty {
                let client: DICOMClient
                do {
                    client = try await DICOMClient.connect(host: host, port: port, callingAETitle: aeTitle, calledAETitle: calledAE,
                                                           proposing: contexts, timeout: timeout)
                } catch {
                    // Cannot associate: every file of the batch (and the rest) fails with the reason.
                    for f in remaining + pending { results.append(FileResult(path: f.path, error: "\(error)")) }
                    await progress.advance(by: remaining.count + pending.count)
                    return results
                }
                var associationFailed = false
                while let f = remaining.first, !associationFailed {
                    remaining = remaining.dropFirst()
                    do {
                        let status = try await client.store(path: f.path)
                        results.append(FileResult(path: f.path, status: status.hexCode, comment: status.comment))
                    } catch let error as DIMSEClientError {
                        results.append(FileResult(path: f.path, error: "\(error)"))
                        switch error {
                        case .noAcceptedContext, .notDICOM: break
                        default: associationFailed = true
                        }
                    } catch {
                        results.append(FileResult(path: f.path, error: "\(error)"))
                        associationFailed = true
                    }
                    await progress.advance(by: 1)
                }
                if associationFailed {
                    await client.abort()
                } else {
                    do { try await client.release() } catch { await client.abort() }
                }
            }
        }
        return results
    }

    /// "sent 12/40" on standard error when it is a terminal.
    actor Progress {
        let total: Int
        let show: Bool
        var done = 0
        init(total: Int, show: Bool) {
            self.total = total
            self.show = show
        }
        func advance(by n: Int) {
            done += n
            if show { printError("\rsent \(done)/\(total)", terminator: "") }
        }
        func finish() {
            if show && total > 0 { printError("") }
        }
    }
}
