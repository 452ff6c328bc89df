// TEMPORARY until the house-keeping branches merge (tag constants, quotas): removed then.
import DICOMCore

extension Tag {
    public static let studyInstanceUID = Tag(0x0020_000D)
    public static let seriesInstanceUID = Tag(0x0020_000E)
    public static let sopInstanceUID = Tag(0x0008_0018)
}

public enum ImportJobQuotas {
    public static let maxFilesPerJob = HealthImagingRules.maxFilesPerJob
    public static let maxBytesPerJob = HealthImagingRules.maxBytesPerJob
}
