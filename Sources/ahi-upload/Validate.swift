import ArgumentParser
import DICOMCore
import Foundation
import Uploader

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check DICOM files against the standard and HealthImaging's import rules, before uploading.",
        discussion: """
            Walks folders recursively (following symbolic links, each folder once), \
            validates every file in parallel, prints each file's findings and a total, \
            then the findings that concern several files (duplicate SOP Instance UIDs, \
            patient or study attributes that disagree within a study).

            Severities: error = unreadable, or HealthImaging would reject the file; \
            warning = breaks the standard but imports; info = worth knowing.

            Exit status: 0 when no file has an error (with --strict: no warning either), \
            1 with --strict when there are warnings, 2 when any file has an error.

            Patient names, IDs and birth dates are never printed unless --show-phi is given.
            """)

    enum Output: String, ExpressibleByArgument, CaseIterable {
        case text, json
    }

    @Argument(help: "Files or folders to validate.")
    var paths: [String]

    @Option(name: .long, help: "Output format: text (per-file summary) or json (every diagnostic).")
    var output: Output = .text

    @Flag(name: .long, help: "Exit 1 when there are warnings (and no errors).")
    var strict = false

    @Flag(name: .long, help: "Show patient-identifying values (names, IDs, birth dates) in messages.")
    var showPHI = false

    @Flag(name: .long, help: "Print only files with findings, and the total.")
    var quiet = false

    @Option(name: .long, help: "Files validated at once (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    struct FileResult: Sendable {
        let path: String
        let diagnostics: [Diagnostic]
        let summary: InstanceSummary?
        var seriesInstanceUID: String? = nil
    }

    /// An info finding when the files need more than one import job (ImportJobQuotas), nil otherwise.
    static func jobSplit(_ summaries: [InstanceSummary]) -> CrossFileFinding? {
        let bytes = summaries.reduce(0) { $0 + $1.size }
        let jobs = ImportJobQuotas.jobsNeeded(files: summaries.count, bytes: bytes)
        guard jobs > 1 else { return nil }
        return CrossFileFinding(
            diagnostic: Diagnostic(.info, "ahi.job-split",
                                   "\(summaries.count) files, \(bytes) bytes: more than one import job allows (\(ImportJobQuotas.maxFilesPerJob) files, \(ImportJobQuotas.maxBytesPerJob) bytes); at least \(jobs) jobs"),
            paths: [])
    }

    func run() async throws {
        let (files, problems) = FileWalker.files(under: paths)
        let options = ValidationOptions(showPHI: showPHI)
        let results = await Self.validateAll(files, options: options, jobs: max(1, jobs))
        let summaries = results.compactMap(\.summary)
        var cross = CrossFileCheck.check(summaries, showPHI: showPHI)
        if let split = Self.jobSplit(summaries) { cross.append(split) }
        cross.sort { $0.paths.last ?? "" < $1.paths.last ?? "" }

        var errors = problems.count, warnings = 0, clean = 0
        for r in results {
            let e = r.diagnostics.filter { $0.severity == .error }.count
            let w = r.diagnostics.filter { $0.severity == .warning }.count
            if e > 0 { errors += 1 } else if w > 0 { warnings += 1 } else { clean += 1 }
        }
        let crossWarnings = cross.filter { $0.diagnostic.severity == .warning }.count

        switch output {
        case .text:
            for p in problems { print("\(p.path): error io.unreadable: \(p.reason)") }
            for r in results {
                let e = r.diagnostics.filter { $0.severity == .error }.count
                let w = r.diagnostics.filter { $0.severity == .warning }.count
                if e == 0 && w == 0 {
                    if !quiet { print("\(r.path): OK") }
                    continue
                }
                print("\(r.path): \(e) error\(e == 1 ? "" : "s"), \(w) warning\(w == 1 ? "" : "s")")
                for d in r.diagnostics where d.severity != .info || !quiet { print("  \(d)") }
            }
            if !cross.isEmpty { print("Across files:") }
            for c in cross { print("  \(c.paths.last ?? ""): \(c.diagnostic)") }
            let total = results.count + problems.count
            print("\(total) file\(total == 1 ? "" : "s"): \(clean) OK, \(warnings) with warnings, \(errors) with errors; \(crossWarnings) cross-file warnings")
        case .json:
            print(jsonReport(results: results, problems: problems, cross: cross,
                             totals: (clean, warnings, errors, crossWarnings)))
        }
        if errors > 0 { throw ExitCode(2) }
        if strict && (warnings > 0 || crossWarnings > 0) { throw ExitCode(1) }
    }

    /// Validates files with at most `jobs` in flight; results keep the input order.
    static func validateAll(_ files: [String], options: ValidationOptions, jobs: Int) async -> [FileResult] {
        await withTaskGroup(of: (Int, FileResult).self) { group in
            var results = [FileResult?](repeating: nil, count: files.count)
            var next = 0
            func add(_ group: inout TaskGroup<(Int, FileResult)>) {
                let i = next, path = files[i]
                next += 1
                group.addTask { (i, Self.validateOne(path, options: options)) }
            }
            while next < min(jobs, files.count) { add(&group) }
            while let (i, r) = await group.next() {
                results[i] = r
                if next < files.count { add(&group) }
            }
            return results.compactMap { $0 }
        }
    }

    static func validateOne(_ path: String, options: ValidationOptions) -> FileResult {
        do {
            let file = try DICOMFile.read(path: path)
            return FileResult(path: path, diagnostics: Validator.validate(file, options: options),
                              summary: InstanceSummary(path: path, file: file),
                              seriesInstanceUID: file.dataSet.string(Tag(0x0020_000E)))
        } catch {
            return FileResult(path: path, diagnostics: [Validator.diagnostic(for: error)], summary: nil)
        }
    }

    func jsonReport(results: [FileResult], problems: [FileWalker.Problem], cross: [CrossFileFinding],
                    totals: (Int, Int, Int, Int)) -> String {
        func diag(_ d: Diagnostic) -> String {
            var s = "{\"severity\":\"\(d.severity.rawValue)\",\"code\":"
            DICOMJSON.writeString(d.code, into: &s)
            s += ",\"tagPath\":"
            DICOMJSON.writeString(d.path, into: &s)
            s += ",\"offset\":" + (d.offset.map(String.init) ?? "null") + ",\"message\":"
            DICOMJSON.writeString(d.message, into: &s)
            return s + "}"
        }
        func str(_ v: String) -> String { var s = ""; DICOMJSON.writeString(v, into: &s); return s }
        var out = "{\"files\":["
        let entries = problems.map { p in
            "{\"path\":\(str(p.path)),\"status\":\"error\",\"diagnostics\":[" +
                diag(Diagnostic(.error, "io.unreadable", p.reason)) + "]}"
        } + results.map { r in
            let status = r.diagnostics.contains { $0.severity == .error } ? "error"
                : r.diagnostics.contains { $0.severity == .warning } ? "warning" : "ok"
            return "{\"path\":\(str(r.path)),\"status\":\"\(status)\",\"diagnostics\":[" +
                r.diagnostics.map(diag).joined(separator: ",") + "]}"
        }
        out += entries.joined(separator: ",") + "],\"crossFile\":["
        out += cross.map { c in
            "{\"paths\":[" + c.paths.map(str).joined(separator: ",") + "],\"diagnostic\":" + diag(c.diagnostic) + "}"
        }.joined(separator: ",")
        out += "],\"summary\":{\"files\":\(results.count + problems.count),\"ok\":\(totals.0),\"withWarnings\":\(totals.1),\"withErrors\":\(totals.2),\"crossFileWarnings\":\(totals.3)}}"
        return out
    }
}
