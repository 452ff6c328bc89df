/// What AWS HealthImaging documents about imports (shared/reference/healthimaging.md §3–4).
///
/// Which transfer syntaxes it imports, and whether it transcodes or retains them
/// (§4.4), is part of the transfer syntax registry: `TransferSyntax.healthImagingImport`.
/// The per-job quotas are the importer's concern: `ImportJobQuotas` in Uploader.
public enum HealthImagingRules {
    /// Attributes whose absence makes an import fail or leaves the instance ungroupable (§4.2).
    public static let requiredTags: [Tag] = [
        .sopClassUID, .sopInstanceUID, .studyInstanceUID, .seriesInstanceUID,
    ]

    /// Documented maximum value lengths, in characters (§4.3, the newer snapshot).
    public static let maxLengths: [Tag: Int] = [
        .patientName: 256, .patientID: 256, .patientBirthDate: 18, .patientSex: 16,
        .studyInstanceUID: 256, .studyID: 256, .studyDescription: 256, .accessionNumber: 256,
        .studyDate: 18, .studyTime: 28, .sopInstanceUID: 256, .seriesInstanceUID: 256,
    ]

    /// `maxLengths` in ascending tag order, for reports in a stable order.
    public static let maxLengthsInTagOrder: [(Tag, Int)] = maxLengths.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }

    /// Largest single Part 10 file accepted (the conservative 4 GB of §3.1).
    public static let maxFileSize = 4_000_000_000

    /// Attributes whose values identify a patient: never printed unless asked (`--show-phi`).
    public static let patientIdentifying: Set<Tag> = [
        .patientName, .patientID, .patientBirthDate, .otherPatientIDs, .otherPatientNames,
        .patientAddress, .patientTelephoneNumbers, .referringPhysicianName, .patientInsurancePlanCodeSequence, .admissionID,
    ]
}

/// HealthImaging's documented import warnings: the instance is stored, with this code on
/// its manifest line (`warning_reason_code`, decimal) — shared/reference/healthimaging-import-outcomes.md §1.1.
public enum HealthImagingWarning: String, Sendable, Hashable, CaseIterable, Codable {
    case coercionOfDataElements = "COERCION_OF_DATA_ELEMENTS"
    case elementsDiscarded = "ELEMENTS_DISCARDED"
    case sopClassDataMismatch = "SOP_CLASS_DATA_MISMATCH"
    case transcodingException = "TRANSCODING_EXCEPTION"
    case framesExtractionFailure = "FRAMES_EXTRACTION_FAILURE"
    case frameNumberMismatch = "FRAME_NUMBER_MISMATCH"
    case invalidOffsetTable = "INVALID_OFFSET_TABLE"
    case unsupportedTransferSyntax = "UNSUPPORTED_TRANSFER_SYNTAX"
    case invalidUIDFormat = "INVALID_UID_FORMAT"
    case invalidDICOMValueLength = "INVALID_DICOM_VALUE_LENGTH"
    case other = "OTHER"

    /// The documented code (0xB111 for FRAME_NUMBER_MISMATCH, …).
    public var code: Int {
        switch self {
        case .coercionOfDataElements: return 0xB000
        case .elementsDiscarded: return 0xB006
        case .sopClassDataMismatch: return 0xB007
        case .transcodingException: return 0xB100
        case .framesExtractionFailure: return 0xB110
        case .frameNumberMismatch: return 0xB111
        case .invalidOffsetTable: return 0xB112
        case .unsupportedTransferSyntax: return 0xB120
        case .invalidUIDFormat: return 0xB201
        case .invalidDICOMValueLength: return 0xB202
        case .other: return 0xBFFF
        }
    }

    /// What still works after it (§1.1), for messages.
    public var consequence: String {
        switch self {
        case .transcodingException, .unsupportedTransferSyntax:
            return "HealthImaging stores it with warning \(rawValue) (0x\(String(code, radix: 16, uppercase: true))): the pixel data is kept as one blob, frames are not retrievable"
        case .framesExtractionFailure, .frameNumberMismatch, .invalidOffsetTable, .other:
            return "HealthImaging stores it with warning \(rawValue) (0x\(String(code, radix: 16, uppercase: true))): its frames cannot be retrieved (the whole instance can)"
        case .invalidDICOMValueLength:
            return "HealthImaging stores it with warning \(rawValue) (0x\(String(code, radix: 16, uppercase: true))): the value may not be searchable"
        case .coercionOfDataElements, .elementsDiscarded, .sopClassDataMismatch, .invalidUIDFormat:
            return "HealthImaging stores it with warning \(rawValue) (0x\(String(code, radix: 16, uppercase: true)))"
        }
    }
}
