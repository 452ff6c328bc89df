import ArgumentParser
import DICOMCore
import Foundation
import ImportPipeline

struct Validate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check DICOM files against the standard and HealthImaging's import rules, before uploading.",
        discussion: """
            Walks folders recursively (following symbolic links, each folder once), \
            validates every file in parallel, prints each file's findings and a total, \
            then the findings that concern several files (duplicate SOP Instance UIDs, \
            patient or study attributes that disagree within a study).

            Severities follow what HealthImaging does: error = it fails the instance, or the \
            file cannot be read (import and sync skip only these); warning = it stores the \
            instance with a warning (the predicted code is named, and in JSON as ahiWarning), \
            or the file breaks the standard but imports; where HealthImaging's behaviour is \
            not documented the message says so. info = worth knowing.

            Exit status: 0 when no file has an error (with --strict: no warning either), \
            1 with --strict when there are warnings, 2 when any file has an error.

            Patient names, IDs and birth dates are never printed unless --show-phi is given.
            """)

    @Argument(help: "Files or folders to validate.")
    var paths: [String]

    @OptionGroup var output: OutputOptions

    @Flag(name: .long, help: "Exit 1 when there are warnings (and no errors).")
    var strict = false

    @Flag(name: .long, help: "Show patient-identifying values (names, IDs, birth dates) in messages.")
    var showPHI = false

    @Flag(name: .long, help: "Print only files with findings, and the total.")
    var quiet = false

    @Option(name: .long, help: "Files validated at once (default: the number of cores).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() async throws {
        try Paths.require(paths)
        let (files, problems) = FileWalker.files(under: paths)
        let results = await ImportCandidate.readAll(files, options: .init(showPHI: showPHI, checksum: false), width: max(1, jobs))
        var cross = CrossFileCheck.check(results.compactMap(\.summary), showPHI: showPHI)
        cross.sort { $0.paths.last ?? "" < $1.paths.last ?? "" }

        var errors = problems.count, warnings = 0, clean = 0
        for r in results {
            let e = r.diagnostics.filter { $0.severity == .error }.count
            let w = r.diagnostics.filter { $0.severity == .warning }.count
            if e > 0 { errors += 1 } else if w > 0 { warnings += 1 } else { clean += 1 }
        }
        let crossWarnings = cross.filter { $0.diagnostic.severity == .warning }.count

        switch output.output {
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

    func jsonReport(results: [ImportCandidate], problems: [FileWalker.Problem], cross: [CrossFileFinding],
                    totals: (Int, Int, Int, Int)) -> String {
        func diag(_ d: Diagnostic) -> String {
            var s = "{\"severity\":\"\(d.severity.rawValue)\",\"code\":"
            DICOMJSON.writeString(d.code, into: &s)
            s += ",\"tagPath\":"
            DICOMJSON.writeString(d.path.description, into: &s)
            s += ",\"offset\":" + (d.offset.map(String.init) ?? "null") + ",\"message\":"
            DICOMJSON.writeString(d.message, into: &s)
            if let w = d.ahiWarning { s += ",\"ahiWarning\":\"\(w.rawValue)\",\"ahiWarningCode\":\(w.code)" }
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
