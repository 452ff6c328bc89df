import ArgumentParser
import DICOMCore
import DICOMweb
import Foundation
import Uploader

#if canImport(Glibc)
import Glibc
#endif

struct SearchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "search",
        abstract: "Search a data store (or another DICOMweb server) with QIDO-RS: studies, a study's series, a series' instances.",
        discussion: """
            ahi-upload search studies --datastore ID --match PatientID='AB*' --match StudyDate=20240101-20241231
            ahi-upload search series --datastore ID --study UID
            ahi-upload search instances --datastore ID --study UID --series UID --output json

            Matching keys (--match KEYWORD=VALUE, repeatable) take a keyword (PatientID) or a tag \
            (00100020); values may use the wildcards * and ?, a date range A-B, or a list of UIDs a,b. \
            Results are fetched page by page (--page-size, at most 1,000 for HealthImaging) until \
            --limit (default and HealthImaging's maximum: 10,000) is reached; the command says when \
            it stopped at the limit.

            Text output is a table of the level's key columns. JSON output is the DICOM JSON array as \
            the server returned it. Patient names, IDs, birth dates (and other patient identifiers: \
            other IDs and names, birth time, address, telephone) are shown as *** in both unless \
            --show-phi is given; --debug then also hides the query string of request URLs.

            Exit status: 0 when the search ran (also with no match), 1 when it failed.
            """)

    @Argument(help: "What to search: studies, series (needs --study) or instances (needs --study and --series).")
    var level: QueryLevel

    @OptionGroup var service: ServiceOptions

    @OptionGroup var dicomweb: DICOMwebOptions

    @Option(help: "The Study Instance UID to search within (series, instances).")
    var study: String?

    @Option(help: "The Series Instance UID to search within (instances).")
    var series: String?

    @Option(name: .customLong("match"), help: ArgumentHelp("A matching key, KEYWORD=VALUE (repeatable).", valueName: "keyword=value"))
    var matches: [String] = []

    @Option(name: .customLong("include"), help: ArgumentHelp("An attribute to return besides the level's defaults (keyword or tag; repeatable; `all` for every one).",
                                                           valueName: "field"))
    var includeFields: [String] = []

    @Option(help: "The most matches to return in all (HealthImaging returns at most 10,000).")
    var limit = DICOMwebClient.healthImagingMaximumResults

    @Option(name: .customLong("page-size"), help: "Matches asked for per request (HealthImaging: at most 1,000).")
    var pageSize = DICOMwebClient.healthImagingMaximumPageSize

    @Option(help: "Skip this many matches first.")
    var offset = 0

    @Flag(name: .customLong("show-phi"), help: "Show patient names, IDs and birth dates (text and JSON).")
    var showPHI = false

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if level != .studies && study == nil { throw ValidationError("search \(level.rawValue) needs --study UID") }
        if level == .instances && series == nil { throw ValidationError("search instances needs --series UID") }
        if limit < 1 { throw ValidationError("--limit must be at least 1") }
        if pageSize < 1 { throw ValidationError("--page-size must be at least 1") }
        if offset < 0 { throw ValidationError("--offset must not be negative") }
        _ = try parsedMatches()
        for field in includeFields where field != "all" {
            for name in field.split(separator: ",") {
                if let problem = SearchQuery.keyProblem(String(name)) { throw ValidationError("--include \(field): \(problem)") }
            }
        }
    }

    func parsedMatches() throws -> [SearchQuery.Match] {
        try matches.map { text in
            guard let eq = text.firstIndex(of: "=") else { throw ValidationError("--match \(text.debugDescription): expected KEYWORD=VALUE") }
            let key = String(text[..<eq]), value = String(text[text.index(after: eq)...])
            if let problem = SearchQuery.keyProblem(key) { throw ValidationError("--match: \(problem)") }
            return SearchQuery.Match(key, value)
        }
    }

    func run() async throws {
        var includes = includeFields
        if !output.json { includes += SearchTable.columns(level).compactMap(\.include).filter { !includes.contains($0) && !includes.contains("all") } }
        let query = SearchQuery(level: level, study: study, series: series, matches: try parsedMatches(), includeFields: includes)
        let results: SearchResults<DICOMJSONObject>
        do {
            results = try await dicomweb.withClient(service: service, showPHI: showPHI) { client in
                try await client.searchAll(query, pageSize: pageSize, maxResults: limit, offset: offset)
            }
        } catch let error as DICOMwebError {
            printError("error: \(error)\(dicomweb.hint(for: error))")
            throw ExitCode(1)
        }
        let objects = showPHI ? results.objects : results.objects.map(PHI.masked)
        if output.json {
            print(String(decoding: try Self.encodeJSONArray(objects), as: UTF8.self))
        } else {
            SearchTable.print(level, objects)
            let noun: String
            switch level {
            case .studies: noun = objects.count == 1 ? "study" : "studies"
            case .series: noun = "series"
            case .instances: noun = objects.count == 1 ? "instance" : "instances"
            }
            print("\(objects.count) \(noun)")
        }
        if results.reachedLimit {
            printError("stopped at --limit \(limit)\(limit >= DICOMwebClient.healthImagingMaximumResults ? " (HealthImaging returns at most 10,000 records)" : ""); there may be more matches: narrow the search")
        }
    }

    /// The objects as one JSON array, keys sorted.
    static func encodeJSONArray(_ objects: [DICOMJSONObject]) throws -> Data {
        let e = JSONEncoder()
        e.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try e.encode(objects)
    }
}

extension QueryLevel: ExpressibleByArgument {}

/// Patient identifiers in QIDO-RS results and metadata: shown as `***` unless `--show-phi`.
enum PHI {
    /// PatientName, PatientID, PatientBirthDate, PatientBirthTime, OtherPatientIDs, OtherPatientNames,
    /// PatientAddress, PatientTelephoneNumbers, PatientMotherBirthName, OtherPatientIDsSequence.
    static let tags: [String] = ["00100010", "00100020", "00100030", "00100032", "00101000", "00101001",
                                 "00101040", "00102154", "00101060", "00101002"]
    static let mask = "***"

    /// `object` with every value of the patient identifiers replaced by `***` (an item sequence emptied).
    static func masked(_ object: DICOMJSONObject) -> DICOMJSONObject {
        var o = object
        for key in tags {
            guard var attribute = o.attributes[key], let values = attribute.Value, !values.isEmpty else { continue }
            attribute.Value = values.compactMap { v -> DICOMJSONObject.Value? in
                switch v {
                case .personName: return .personName(alphabetic: mask, ideographic: nil, phonetic: nil)
                case .item: return nil
                default: return .string(mask)
                }
            }
            attribute.BulkDataURI = nil
            attribute.InlineBinary = nil
            o.attributes[key] = attribute
        }
        return o
    }
}

/// The text table of `search`.
enum SearchTable {
    struct Column {
        let title: String
        let key: String
        /// An includefield needed for this column (not in the level's required keys).
        let include: String?
    }

    static func columns(_ level: QueryLevel) -> [Column] {
        switch level {
        case .studies:
            return [Column(title: "StudyInstanceUID", key: "0020000D", include: nil), Column(title: "Date", key: "00080020", include: nil),
                    Column(title: "Modalities", key: "00080061", include: nil), Column(title: "Series", key: "00201206", include: nil),
                    Column(title: "Instances", key: "00201208", include: nil), Column(title: "PatientName", key: "00100010", include: nil),
                    Column(title: "PatientID", key: "00100020", include: nil), Column(title: "BirthDate", key: "00100030", include: nil),
                    Column(title: "Description", key: "00081030", include: "StudyDescription")]
        case .series:
            return [Column(title: "SeriesInstanceUID", key: "0020000E", include: nil), Column(title: "Number", key: "00200011", include: nil),
                    Column(title: "Modality", key: "00080060", include: nil), Column(title: "Instances", key: "00201209", include: nil),
                    Column(title: "Date", key: "00080021", include: "SeriesDate"),
                    Column(title: "Description", key: "0008103E", include: "SeriesDescription")]
        case .instances:
            return [Column(title: "SOPInstanceUID", key: "00080018", include: nil), Column(title: "Number", key: "00200013", include: nil),
                    Column(title: "SOPClassUID", key: "00080016", include: nil), Column(title: "Frames", key: "00280008", include: "NumberOfFrames"),
                    Column(title: "Rows", key: "00280010", include: "Rows"), Column(title: "Columns", key: "00280011", include: "Columns")]
        }
    }

    /// Prints the table: a header line, then one line per object (values joined with `\`, `-` when absent).
    static func print(_ level: QueryLevel, _ objects: [DICOMJSONObject]) {
        let columns = columns(level)
        let rows: [[String]] = objects.map { o in
            columns.map { c in
                let values = o.attributes[c.key]?.Value?.compactMap(\.text) ?? []
                return values.isEmpty ? "-" : values.joined(separator: "\\")
            }
        }
        var widths = columns.map { $0.title.count }
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, cell in i == cells.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }
        Swift.print(line(columns.map(\.title)))
        for row in rows { Swift.print(line(row)) }
    }
}

extension DICOMwebOptions {
    /// Runs `body` with a DICOMweb client: without an AWS connection for `--dicomweb-auth none|basic`,
    /// else on `service.connect()` (SigV4, the data store's endpoint), closed afterwards.
    /// Without `--show-phi`, `--debug` lines do not show query strings (they hold the matching values).
    func withClient<T>(service: ServiceOptions, showPHI: Bool, connections: Int = 8,
                       _ body: (DICOMwebClient) async throws -> T) async throws -> T {
        let auth = try authentication()
        var debug = service.aws.debugLog
        if let log = debug, !showPHI {
            debug = { line in log(DICOMwebOptions.hidingQuery(line)) }
        }
        if case .sigV4 = auth {
            return try await service.connect(connections: connections).use { c in
                try await body(try client(c, connections: connections, debug: debug))
            }
        }
        return try await body(try client(nil, connections: connections, debug: debug))
    }

    /// `line` with the query string of any URL replaced by `?…`.
    static func hidingQuery(_ line: String) -> String {
        var out = "", inQuery = false
        for c in line {
            if c == "?" && !inQuery { inQuery = true; out += "?…"; continue }
            if inQuery { if c == " " { inQuery = false; out.append(c) }; continue }
            out.append(c)
        }
        return out
    }

    /// What to try after `error`, for the statuses a user can fix.
    func hint(for error: DICOMwebError) -> String {
        switch error.status {
        case 401:
            return isUnsigned
                ? "\n  (give --dicomweb-auth basic --dicomweb-user USER with the password in AHI_DICOMWEB_PASSWORD, or check them)"
                : "\n  (check the AWS credentials, --profile and --region)"
        case 403:
            return isUnsigned ? "" : "\n  (the credentials lack the medical-imaging permission for this DICOMweb action, or the data store is in another account/region)"
        default:
            return ""
        }
    }
}
