#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the cross-file checks need to know of one instance.
public struct InstanceSummary: Sendable {
    /// The file's path.
    public let path: String
    /// The file's size in bytes.
    public let size: Int
    /// (0008,0018) SOP Instance UID.
    public let sopInstanceUID: String?
    /// (0020,000D) Study Instance UID.
    public let studyInstanceUID: String?
    /// Patient and study attributes that must agree within a study: their value
    /// bytes (trailing padding removed), in the order of `patientTags + studyTags`;
    /// nil where absent. Decoded only for messages.
    let studyLevel: [[UInt8]?]
    /// The character set to decode `studyLevel` values with.
    let characterSet: SpecificCharacterSet

    /// Patient-level attributes (HealthImaging splits a study whose patient differs).
    public static let patientTags: [Tag] = [.patientID, .patientName, .patientBirthDate, .patientSex]
    /// Study-level attributes that must agree within a study.
    public static let studyTags: [Tag] = [.studyDate, .studyTime, .accessionNumber, .studyID,
                                         .studyDescription, .referringPhysicianName]
    static let compared = patientTags + studyTags

    /// Takes what the checks need from a parsed file.
    public init(path: String, file: DICOMFile) {
        self.path = path
        size = file.storage.count
        let ds = file.dataSet
        sopInstanceUID = ds.string(.sopInstanceUID)
        studyInstanceUID = ds.string(.studyInstanceUID)
        studyLevel = Self.compared.map { t in ds.trimmedBytes(t).map { Array($0) } }
        characterSet = ds.characterSet
    }

    /// The decoded value of the `i`th compared attribute ("" when absent).
    func text(_ i: Int) -> String {
        guard let b = studyLevel[i] else { return "" }
        let vr = StandardDictionary.info(for: Self.compared[i])?.vr ?? .LO
        return b.withUnsafeBytes { vr.usesSpecificCharacterSet ? characterSet.decode($0, isPersonName: vr == .PN)
            : SpecificCharacterSet.decode($0, with: .latin1) }
    }
}

/// A finding that concerns several files.
public struct CrossFileFinding: Sendable {
    /// The diagnostic (a warning, or info for exact duplicates).
    public let diagnostic: Diagnostic
    /// The files concerned: the first seen, then the one that disagrees (none for a finding about the whole run).
    public let paths: [String]

    /// A finding; callers add their own run-wide ones (the import job split) to `CrossFileCheck`'s.
    public init(diagnostic: Diagnostic, paths: [String]) {
        self.diagnostic = diagnostic
        self.paths = paths
    }
}

/// Checks across the files of one run: duplicated SOP Instance UIDs, and patient
/// or study attributes that disagree within a Study Instance UID (HealthImaging
/// then puts the disagreeing data in a non-primary image set).
public enum CrossFileCheck {
    /// Runs the checks. Reads the files again only for SOP Instance UIDs seen
    /// twice, to compare their bytes.
    public static func check(_ summaries: [InstanceSummary], showPHI: Bool = false) -> [CrossFileFinding] {
        var out: [CrossFileFinding] = []
        var bySOP: [String: InstanceSummary] = [:]
        var byStudy: [String: InstanceSummary] = [:]
        for s in summaries {
            if let uid = s.sopInstanceUID, !uid.isEmpty {
                if let first = bySOP[uid] {
                    if sameContent(first.path, s.path, sizes: (first.size, s.size)) {
                        out.append(CrossFileFinding(
                            diagnostic: Diagnostic(.info, "sop.duplicate-file", path: ElementPath(Tag.sopInstanceUID),
                                                   "same SOP Instance UID and identical bytes as \(first.path)"),
                            paths: [first.path, s.path]))
                    } else {
                        out.append(CrossFileFinding(
                            diagnostic: Diagnostic(.warning, "sop.duplicate-instance", path: ElementPath(Tag.sopInstanceUID),
                                                   "SOP Instance UID \(uid) is also in \(first.path) with different content; HealthImaging keeps only one version"),
                            paths: [first.path, s.path]))
                    }
                } else {
                    bySOP[uid] = s
                }
            }
            guard let study = s.studyInstanceUID, !study.isEmpty else { continue }
            guard let first = byStudy[study] else { byStudy[study] = s; continue }
            for (i, t) in InstanceSummary.compared.enumerated() where first.studyLevel[i] != s.studyLevel[i] {
                let isPatient = i < InstanceSummary.patientTags.count
                let hide = !showPHI && HealthImagingRules.patientIdentifying.contains(t)
                let values = hide ? "" : " (\"\(first.text(i))\" there, \"\(s.text(i))\" here)"
                let name = StandardDictionary.keyword(for: t) ?? "\(t)"
                out.append(CrossFileFinding(
                    diagnostic: Diagnostic(.warning, isPatient ? "study.inconsistent-patient" : "study.inconsistent-study",
                                           path: ElementPath(t),
                                           "\(name) differs from \(first.path) in the same study\(values); HealthImaging will split the study into a non-primary image set"),
                    paths: [first.path, s.path]))
            }
        }
        return out
    }

    /// True when two files have the same bytes.
    static func sameContent(_ a: String, _ b: String, sizes: (Int, Int)) -> Bool {
        guard sizes.0 == sizes.1 else { return false }
        guard let sa = try? ByteStorage(mappingFileAt: a), let sb = try? ByteStorage(mappingFileAt: b),
              sa.count == sb.count else { return false }
        guard let pa = sa.base, let pb = sb.base else { return sa.count == 0 }
        return memcmp(pa, pb, sa.count) == 0
    }
}
