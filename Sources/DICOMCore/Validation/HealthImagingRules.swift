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
