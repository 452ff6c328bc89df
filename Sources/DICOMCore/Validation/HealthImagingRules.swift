/// What AWS HealthImaging documents about the files it imports (shared/reference/healthimaging.md §3–4).
/// The per-job quotas are the importer's concern: `ImportJobQuotas` in Uploader.
public enum HealthImagingRules {
    /// Transfer syntaxes HealthImaging accepts for import (§4.4).
    public static let supportedTransferSyntaxes: Set<String> = [
        "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
        "1.2.840.10008.1.2.4.92", "1.2.840.10008.1.2.4.93", "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202",
        "1.2.840.10008.1.2.4.203", "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.100", "1.2.840.10008.1.2.4.100.1", "1.2.840.10008.1.2.4.101", "1.2.840.10008.1.2.4.101.1",
        "1.2.840.10008.1.2.4.102", "1.2.840.10008.1.2.4.102.1", "1.2.840.10008.1.2.4.103", "1.2.840.10008.1.2.4.103.1",
        "1.2.840.10008.1.2.4.104", "1.2.840.10008.1.2.4.104.1", "1.2.840.10008.1.2.4.105", "1.2.840.10008.1.2.4.105.1",
        "1.2.840.10008.1.2.4.106", "1.2.840.10008.1.2.4.106.1", "1.2.840.10008.1.2.4.107", "1.2.840.10008.1.2.4.108",
        "1.2.840.10008.1.2.4.112",
    ]

    /// Attributes whose absence makes an import fail or leaves the instance ungroupable (§4.2).
    public static let requiredTags: [Tag] = [
        Tag(0x0008_0016), Tag(0x0008_0018), Tag(0x0020_000D), Tag(0x0020_000E),
    ]

    /// Documented maximum value lengths, in characters (§4.3, the newer snapshot).
    public static let maxLengths: [Tag: Int] = [
        Tag(0x0010_0010): 256, Tag(0x0010_0020): 256, Tag(0x0010_0030): 18, Tag(0x0010_0040): 16,
        Tag(0x0020_000D): 256, Tag(0x0020_0010): 256, Tag(0x0008_1030): 256, Tag(0x0008_0050): 256,
        Tag(0x0008_0020): 18, Tag(0x0008_0030): 28, Tag(0x0008_0018): 256, Tag(0x0020_000E): 256,
    ]

    /// `maxLengths` in ascending tag order, for reports in a stable order.
    public static let maxLengthsInTagOrder: [(Tag, Int)] = maxLengths.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }

    /// Largest single Part 10 file accepted (the conservative 4 GB of §3.1).
    public static let maxFileSize = 4_000_000_000

    /// Attributes whose values identify a patient: never printed unless asked (`--show-phi`).
    public static let patientIdentifying: Set<Tag> = [
        Tag(0x0010_0010), Tag(0x0010_0020), Tag(0x0010_0030), Tag(0x0010_1000), Tag(0x0010_1001),
        Tag(0x0010_1040), Tag(0x0010_2154), Tag(0x0008_0090), Tag(0x0010_0050), Tag(0x0038_0010),
    ]
}
