import ByteCoding
import DICOMCore
import Foundation

/// Builds HealthImaging's image-set metadata (section 6 of the reference): attributes
/// keyed by DICOM keyword at the Patient, Study, Series and Instance levels; strings
/// as strings (IS/DS keep their text), binary numbers as numbers, several values as
/// arrays, empty values as null, sequences as arrays of objects, bulk binary as
/// base64; `DICOMVRs` for elements whose VR a reader cannot take from the dictionary.
enum ImageSetMetadata {
    /// Patient-level keywords (group 0010 is Patient too).
    static let patientLevel: Set<String> = ["PatientName", "PatientID", "PatientBirthDate", "PatientSex", "IssuerOfPatientID",
                                            "OtherPatientIDsSequence", "PatientAge", "PatientSize", "PatientWeight", "EthnicGroup",
                                            "PatientComments", "PatientBirthTime", "PatientIdentityRemoved", "DeidentificationMethod"]
    /// Study-level keywords.
    static let studyLevel: Set<String> = ["StudyInstanceUID", "StudyDate", "StudyTime", "StudyID", "AccessionNumber",
                                          "StudyDescription", "ReferringPhysicianName", "NumberOfStudyRelatedSeries",
                                          "NumberOfStudyRelatedInstances", "ProcedureCodeSequence", "IssuerOfAccessionNumberSequence"]
    /// Series-level keywords.
    static let seriesLevel: Set<String> = ["SeriesInstanceUID", "Modality", "SeriesNumber", "SeriesDescription", "SeriesDate",
                                           "SeriesTime", "BodyPartExamined", "Laterality", "ProtocolName", "PerformedProcedureStepStartDate",
                                           "PerformedProcedureStepStartTime", "OperatorsName", "FrameOfReferenceUID", "Manufacturer",
                                           "InstitutionName", "StationName", "ManufacturerModelName"]

    enum Level { case patient, study, series, instance }

    static func level(of keyword: String, tag: Tag) -> Level {
        if patientLevel.contains(keyword) || tag.group == 0x0010 { return .patient }
        if studyLevel.contains(keyword) { return .study }
        if seriesLevel.contains(keyword) { return .series }
        return .instance
    }

    /// One instance split by level: (patient, study, series, instance attributes, VRs of
    /// private/unknown elements). The file meta's TransferSyntaxUID goes to the instance.
    static func split(_ file: DICOMFile) -> (patient: [String: Any], study: [String: Any], series: [String: Any],
                                             instance: [String: Any], vrs: [String: String]) {
        var p: [String: Any] = [:], st: [String: Any] = [:], se: [String: Any] = [:], i: [String: Any] = [:]
        var vrs: [String: String] = [:]
        for e in file.dataSet.elements {
            let key = e.keyword ?? e.tag.jsonKey
            if e.keyword == nil { vrs[key] = e.vr.rawValue }
            let value: Any = e.tag == .pixelData ? NSNull() : json(e, in: file.dataSet)
            switch level(of: key, tag: e.tag) {
            case .patient: p[key] = value
            case .study: st[key] = value
            case .series: se[key] = value
            case .instance: i[key] = value
            }
        }
        i["TransferSyntaxUID"] = file.transferSyntax.uid
        if let v = file.meta[.fileMetaInformationVersion] { i["FileMetaInformationVersion"] = Base64.encode(Array(file.meta.bytes(of: v))) }
        return (p, st, se, i, vrs)
    }

    /// One element's value as HealthImaging writes it.
    static func json(_ e: Element, in ds: DataSet) -> Any {
        if let items = e.items {
            return items.map { item -> [String: Any] in
                var o: [String: Any] = [:]
                for c in item.elements { o[c.keyword ?? c.tag.jsonKey] = json(c, in: item) }
                return o
            }
        }
        if e.valueLength == 0 { return NSNull() }
        if e.vr.isBinary || e.vr == .none { return Base64.encode(Array(ds.bytes(of: e))) }
        func one(_ values: [Any]) -> Any { values.isEmpty ? NSNull() : values.count == 1 ? values[0] : values }
        switch ds.value(of: e) {
        case .personNames(let names): return one(names.map { $0.alphabetic as Any })
        case .strings(let values): return one(values.map { $0.isEmpty ? NSNull() as Any : $0 as Any })
        case .integers(let v) where e.vr != .IS: return one(v.map { $0 as Any })
        case .unsigned(let v): return one(v.map { $0 as Any })
        case .doubles(let v) where e.vr != .DS: return one(v.map { $0.isFinite ? $0 as Any : NSNull() as Any })
        case .tags(let t): return one(t.map { $0.jsonKey as Any })
        default: return one(ds.strings(of: e).map { $0 as Any })  // IS and DS keep their text
        }
    }
}
