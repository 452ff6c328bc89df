import ArgumentParser
import DICOMCore
import DICOMweb
import Foundation
import Uploader

#if canImport(Glibc)
import Glibc
#endif

struct RetrieveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "retrieve",
        abstract: "Download a study, a series or an instance with WADO-RS, as Part 10 files.",
        discussion: """
            ahi-upload retrieve --datastore ID --study UID [--series UID [--instance UID]] --out DIR

            Files are written as DIR/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm, each \
            streamed to a temporary file, checked and then renamed into place (an interrupted download \
            leaves no partial file). A part the server sends as a Part 10 file is kept byte for byte; a \
            bare data set gets File Meta (Explicit VR Little Endian group 0002 with this tool's \
            Implementation Class UID). By default nothing is transcoded (transfer-syntax=*); \
            --transfer-syntax UID asks the server for that syntax (HealthImaging: the stored one or \
            1.2.840.10008.1.2.1).

            Exit status: 0 when everything asked for arrived; 1 when the request failed (an unknown \
            UID is HTTP 404), or when fewer instances arrived than a QIDO-RS search counts for the \
            study or series.
            """)

    @OptionGroup var service: ServiceOptions

    @OptionGroup var dicomweb: DICOMwebOptions

    @Option(help: "The Study Instance UID.")
    var study: String

    @Option(help: "Only this series of the study.")
    var series: String?

    @Option(help: "Only this instance of the series (needs --series).")
    var instance: String?

    @Option(name: .customLong("image-set"), help: "A HealthImaging image set id (imageSetId): needed for instances not in a primary image set.")
    var imageSet: String?

    @Option(name: .customLong("transfer-syntax"), help: ArgumentHelp("The transfer syntax to ask for: a UID, or * for the stored one.", valueName: "uid|*"))
    var transferSyntax = DICOMwebClient.anyTransferSyntax

    @Option(help: ArgumentHelp("The folder to write into (created if needed).", valueName: "dir"))
    var out: String

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if instance != nil && series == nil { throw ValidationError("--instance needs --series (an instance is retrieved within its series)") }
        for (name, uid) in [("--study", study), ("--series", series), ("--instance", instance)] {
            if let uid, let problem = Validator.uidProblem(uid) { throw ValidationError("\(name) \(uid.debugDescription): \(problem)") }
        }
        if transferSyntax != DICOMwebClient.anyTransferSyntax, let problem = Validator.uidProblem(transferSyntax) {
            throw ValidationError("--transfer-syntax \(transferSyntax.debugDescription): \(problem) (or * for the stored syntax)")
        }
    }

    struct Report: Encodable {
        let study: String
        let series: String?
        let instance: String?
        let directory: String
        let instances: [RetrievedInstance]
        let bytes: Int
        let seconds: Double
        let expectedInstances: Int?
        let complete: Bool
        let problems: [String]
    }

    func run() async throws {
        let started = Date()
        let progress = ProgressLine(enabled: isatty(2) == 1)
        let resource = (instance.map { "instance \($0) of " } ?? "") + (series.map { "series \($0) of " } ?? "") + "study \(study)"
        let (instances, expected): ([RetrievedInstance], Int?)
        do {
            (instances, expected) = try await dicomweb.withClient(service: service, showPHI: false) { client in
                let got = try await client.retrieve(study: study, series: series, instance: instance, imageSetId: imageSet,
                                                    transferSyntax: transferSyntax, into: out) { p in progress.show(p) }
                progress.clear()
                return (got, await expectedCount(client))
            }
        } catch let error as DICOMwebError {
            progress.clear()
            printError("error: \(error)\(dicomweb.hint(for: error))")
            throw ExitCode(1)
        } catch let error as MultipartError {
            progress.clear()
            printError("error: retrieving \(resource): the answer is malformed or was cut off: \(error); no partial file was left")
            throw ExitCode(1)
        }
        var problems: [String] = []
        let distinct = Set(instances.map(\.sopInstanceUID)).count
        if let instance, !instances.contains(where: { $0.sopInstanceUID == instance }) {
            problems.append("instance \(instance) did not arrive")
        }
        if let expected, distinct < expected {
            problems.append("\(distinct) of \(expected) instances arrived (the count from a QIDO-RS search of \(resource))")
        }
        if instances.isEmpty { problems.append("the server sent no instance for \(resource)") }
        let foreign = instances.filter { $0.studyInstanceUID != study || (series != nil && $0.seriesInstanceUID != series) }
        if !foreign.isEmpty { problems.append("\(foreign.count) instance(s) of another study or series arrived (written under their own UIDs)") }
        let bytes = instances.reduce(0) { $0 + $1.size }
        let seconds = Date().timeIntervalSince(started)
        if output.json {
            try printJSON(Report(study: study, series: series, instance: instance, directory: out, instances: instances, bytes: bytes,
                                 seconds: seconds, expectedInstances: expected, complete: problems.isEmpty, problems: problems))
        } else {
            let added = instances.filter(\.fileMetaAdded).count
            let size = bytes >= 1_000_000 ? String(format: "%.1f MB", Double(bytes) / 1e6) : String(format: "%.1f kB", Double(bytes) / 1e3)
            var line = String(format: "retrieved %d instance%@ (%@) of %@ into %@ in %.1f s", instances.count,
                              instances.count == 1 ? "" : "s", size, resource, out, seconds)
            if let expected { line += "; \(expected) expected" }
            if added > 0 { line += "; File Meta written for \(added) bare data set\(added == 1 ? "" : "s")" }
            print(line)
        }
        for p in problems { printError("error: \(p)") }
        if !problems.isEmpty { throw ExitCode(1) }
    }

    /// How many instances a QIDO-RS search counts for what was asked (nil when it cannot tell:
    /// the search failed, the server does not send the count, or an image set was named).
    func expectedCount(_ client: DICOMwebClient) async -> Int? {
        if instance != nil { return 1 }
        if imageSet != nil { return nil }
        do {
            if let series {
                let found = try await client.search(SearchQuery(level: .series, study: study, matches: [.init("SeriesInstanceUID", series)],
                                                                includeFields: ["NumberOfSeriesRelatedInstances"]))
                return found.first { $0.string(.seriesInstanceUID) == series }?.string(.numberOfSeriesRelatedInstances).flatMap { Int($0) }
            }
            let found = try await client.search(SearchQuery(level: .studies, matches: [.init("StudyInstanceUID", study)],
                                                            includeFields: ["NumberOfStudyRelatedInstances"]))
            return found.first { $0.string(.studyInstanceUID) == study }?.string(.numberOfStudyRelatedInstances).flatMap { Int($0) }
        } catch {
            return nil
        }
    }
}

/// `retrieving: N instances, X MB` on standard error, redrawn at most 5 times a second; nothing
/// when standard error is not a terminal.
final class ProgressLine: @unchecked Sendable {
    // @unchecked: `last` and `shown` are guarded by `lock`.
    let enabled: Bool
    private let lock = NSLock()
    private var last = Date.distantPast
    private var shown = false

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ p: RetrieveProgress) {
        guard enabled else { return }
        lock.lock()
        defer { lock.unlock() }
        let now = Date()
        guard now.timeIntervalSince(last) >= 0.2 else { return }
        last = now
        shown = true
        printError(String(format: "\r\u{1B}[Kretrieving: %d instance%@, %.1f MB", p.instances, p.instances == 1 ? "" : "s", Double(p.bytes) / 1e6),
                   terminator: "")
    }

    func clear() {
        lock.lock()
        defer { lock.unlock() }
        if shown { printError("\r\u{1B}[K", terminator: "") }
        shown = false
    }
}
