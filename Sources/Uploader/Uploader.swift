import DICOMCore

/// The upload pipeline (S3 and HealthImaging), built in later issues.
public enum Uploader {
    /// The transfer syntaxes this tool can hand to HealthImaging unchanged.
    public static let moduleName = "Uploader"
}
