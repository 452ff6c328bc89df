import ByteCoding
import DICOMCore
import Foundation
import Uploader

/// One file read once for import: a single mapping serves the parse, the validator,
/// the UIDs, the size and the CRC-32C, and the result says whether the file is
/// accepted for import or rejected (with the diagnostic that decided it). Used by
/// `import`, `sync` and `validate`.
public struct ImportCandidate: Sendable {
    /// What became of the file.
    public enum Verdict: Sendable, Equatable {
        /// Readable, with Study/Series/SOP Instance UIDs and no error (or `force`).
        case accepted
        /// Not to be imported, and why (`code: message`).
        case rejected(String)
        /// Its study belongs to another shard: not validated, not checksummed.
        case otherShard
    }

    /// Options for reading candidates.
    public struct Options: Sendable {
        /// Import files even when the validator finds errors (unreadable files and files
        /// without UIDs are still rejected).
        public var force = false
        /// Show patient-identifying values in diagnostics.
        public var showPHI = false
        /// Take the file's CRC-32C (for the upload); `validate` does not need it.
        public var checksum = true
        /// Only studies of this shard are validated and accepted.
        public var shard = Shard.all
        /// Creates options.
        public init(force: Bool = false, showPHI: Bool = false, checksum: Bool = true, shard: Shard = .all) {
            self.force = force
            self.showPHI = showPHI
            self.checksum = checksum
            self.shard = shard
        }
    }

    /// The path read.
    public let path: String
    /// Bytes in the file when it was read.
    public let size: Int
    /// CRC-32C of the whole file, base64; nil when not taken or unreadable.
    public let checksum: String?
    /// StudyInstanceUID (0020,000D).
    public let studyInstanceUID: String?
    /// SeriesInstanceUID (0020,000E).
    public let seriesInstanceUID: String?
    /// SOPInstanceUID (0008,0018).
    public let sopInstanceUID: String?
    /// Every finding of the validator (or the one read error).
    public let diagnostics: [Diagnostic]
    /// What the cross-file checks need; nil when the file could not be parsed.
    public let summary: InstanceSummary?
    /// Accepted or not.
    public let verdict: Verdict

    /// True when the file is to be imported.
    public var isAccepted: Bool { verdict == .accepted }

    /// The reason it is not imported, if it was rejected.
    public var rejection: String? {
        if case .rejected(let why) = verdict { return why }
        return nil
    }

    /// The import entry of an accepted file, keyed by `relativePath`.
    public func importFile(relativePath: String) -> ImportFile? {
        guard isAccepted, let study = studyInstanceUID, let series = seriesInstanceUID, let sop = sopInstanceUID else { return nil }
        return ImportFile(path: path, relativePath: relativePath, size: size, studyInstanceUID: study, seriesInstanceUID: series,
                          sopInstanceUID: sop, checksum: checksum)
    }

    /// Reads one file. Never throws: an unreadable file is rejected with its diagnostic.
    public static func read(path: String, options: Options = Options()) -> ImportCandidate {
        let storage: ByteStorage
        do {
            storage = try ByteStorage(mappingFileAt: path)
        } catch {
            let d = Validator.diagnostic(for: error)
            return ImportCandidate(path: path, size: 0, checksum: nil, studyInstanceUID: nil, seriesInstanceUID: nil, sopInstanceUID: nil,
                                   diagnostics: [d], summary: nil, verdict: .rejected("\(d.code): \(d.message)"))
        }
        let file: DICOMFile
        do {
            file = try DICOMFile.read(storage: storage, path: path, options: ParseOptions())
        } catch {
            let d = Validator.diagnostic(for: error)
            return ImportCandidate(path: path, size: storage.count, checksum: nil, studyInstanceUID: nil, seriesInstanceUID: nil,
                                   sopInstanceUID: nil, diagnostics: [d], summary: nil, verdict: .rejected("\(d.code): \(d.message)"))
        }
        let ds = file.dataSet
        let study = ds.string(Tag.studyInstanceUID), series = ds.string(Tag.seriesInstanceUID), sop = ds.string(Tag.sopInstanceUID)
        if options.shard.count > 1, let study, !options.shard.contains(study: study) {
            return ImportCandidate(path: path, size: storage.count, checksum: nil, studyInstanceUID: study, seriesInstanceUID: series,
                                   sopInstanceUID: sop, diagnostics: [], summary: nil, verdict: .otherShard)
        }
        let diagnostics = Validator.validate(file, options: ValidationOptions(showPHI: options.showPHI))
        let checksum = options.checksum ? Self.checksum(storage) : nil
        let verdict: Verdict
        if let error = diagnostics.first(where: { $0.severity == .error }), !options.force {
            verdict = .rejected("\(error.code): \(error.message)")
        } else if study == nil || series == nil || sop == nil {
            verdict = .rejected("not a DICOM instance with Study/Series/SOP Instance UIDs")
        } else {
            verdict = .accepted
        }
        return ImportCandidate(path: path, size: storage.count, checksum: checksum, studyInstanceUID: study, seriesInstanceUID: series,
                               sopInstanceUID: sop, diagnostics: diagnostics, summary: InstanceSummary(path: path, file: file),
                               verdict: verdict)
    }

    /// CRC-32C of a whole mapping, base64 (as `x-amz-checksum-crc32c`).
    static func checksum(_ storage: ByteStorage) -> String {
        var crc = CRC32C()
        crc.update(UnsafeRawBufferPointer(start: storage.base, count: storage.count))
        return crc.base64
    }

    /// CRC-32C of the file at `path` (base64), nothing else read; nil when it cannot be mapped.
    public static func checksum(path: String) -> String? {
        (try? ByteStorage(mappingFileAt: path)).map(checksum)
    }

    /// Reads files with at most `width` in flight (default: one per core); results keep the input order.
    public static func readAll(_ paths: [String], options: Options = Options(),
                               width: Int = ProcessInfo.processInfo.activeProcessorCount) async -> [ImportCandidate] {
        await boundedMap(paths, width: width) { read(path: $0, options: options) }
    }

    /// The cross-file checks (duplicate SOP Instance UIDs with different bytes, patient
    /// or study attributes that disagree within a study) over the accepted candidates,
    /// as `path: code: message` lines for reports.
    public static func crossFileWarnings(_ candidates: [ImportCandidate], showPHI: Bool = false) -> [CrossFileFinding] {
        CrossFileCheck.check(candidates.filter(\.isAccepted).compactMap(\.summary), showPHI: showPHI)
            .filter { $0.diagnostic.severity != .info || $0.diagnostic.code == "sop.duplicate-file" }
    }
}

/// A cross-file finding as reports carry it.
public struct CrossFileWarning: Codable, Sendable, Equatable {
    /// `warning` or `info`.
    public var severity: String
    /// The diagnostic code (`sop.duplicate-instance`, `study.inconsistent-patient`, …).
    public var code: String
    /// What is wrong.
    public var message: String
    /// The files concerned.
    public var paths: [String]

    /// From a finding.
    public init(_ f: CrossFileFinding) {
        severity = f.diagnostic.severity.rawValue
        code = f.diagnostic.code
        message = f.diagnostic.message
        paths = f.paths
    }

    /// `LAST-PATH: code: message`.
    public var line: String { "\(paths.last ?? ""): \(severity) \(code): \(message)" }
}

/// `transform` applied to every element with at most `width` running at once (a finished
/// one is taken before the next begins, so memory stays bounded); results in input order.
public func boundedMap<T: Sendable, R: Sendable>(_ items: [T], width: Int,
                                                 _ transform: @escaping @Sendable (T) async -> R) async -> [R] {
    await withTaskGroup(of: (Int, R).self) { group in
        var results = [R?](repeating: nil, count: items.count)
        var next = 0
        func add(_ group: inout TaskGroup<(Int, R)>) {
            let i = next, item = items[i]
            next += 1
            group.addTask { (i, await transform(item)) }
        }
        while next < min(max(1, width), items.count) { add(&group) }
        while let (i, r) = await group.next() {
            results[i] = r
            if next < items.count { add(&group) }
        }
        return results.compactMap { $0 }
    }
}
