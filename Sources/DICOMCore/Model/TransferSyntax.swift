/// A transfer syntax (PS3.5 section 10): how a data set after the File Meta
/// group is encoded, and whether its pixel data are encapsulated.
public struct TransferSyntax: Hashable, Sendable, CustomStringConvertible {
    /// The transfer syntax UID, e.g. `1.2.840.10008.1.2.1`.
    public let uid: String
    /// The name from PS3.6 Table A-1, e.g. "Explicit VR Little Endian".
    public let name: String
    /// True when data element headers carry their VR.
    public let isExplicitVR: Bool
    /// True for Explicit VR Big Endian.
    public let isBigEndian: Bool
    /// True when the data set is a raw deflate stream (RFC 1951) after the meta group.
    public let isDeflated: Bool
    /// True when Pixel Data is a sequence of fragments (PS3.5 A.4).
    public let isEncapsulated: Bool
    /// False for a UID this library does not know; such files are read by
    /// detecting the encoding from the first data element.
    public let isKnown: Bool

    /// `name` followed by the UID.
    public var description: String { "\(name) (\(uid))" }

    init(_ uid: String, _ name: String, explicit: Bool = true, bigEndian: Bool = false,
         deflated: Bool = false, encapsulated: Bool = true, known: Bool = true) {
        self.uid = uid
        self.name = name
        isExplicitVR = explicit
        isBigEndian = bigEndian
        isDeflated = deflated
        isEncapsulated = encapsulated
        isKnown = known
    }

    /// Implicit VR Little Endian, the default transfer syntax of DICOM.
    public static let implicitVRLittleEndian = TransferSyntax(
        "1.2.840.10008.1.2", "Implicit VR Little Endian", explicit: false, encapsulated: false)
    /// Explicit VR Little Endian.
    public static let explicitVRLittleEndian = TransferSyntax(
        "1.2.840.10008.1.2.1", "Explicit VR Little Endian", encapsulated: false)
    /// Explicit VR Big Endian (retired, still found in archives).
    public static let explicitVRBigEndian = TransferSyntax(
        "1.2.840.10008.1.2.2", "Explicit VR Big Endian", bigEndian: true, encapsulated: false)
    /// Deflated Explicit VR Little Endian.
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(
        "1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", deflated: true,
        encapsulated: false)

    /// Every transfer syntax of PS3.6 Table A-1, by UID.
    public static let known: [String: TransferSyntax] = {
        let all: [TransferSyntax] = [
            implicitVRLittleEndian, explicitVRLittleEndian, explicitVRBigEndian,
            deflatedExplicitVRLittleEndian,
            .init("1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian"),
            .init("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"),
            .init("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"),
            .init("1.2.840.10008.1.2.4.52", "JPEG Extended (Process 3 & 5)"),
            .init("1.2.840.10008.1.2.4.53", "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8)"),
            .init("1.2.840.10008.1.2.4.54", "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9)"),
            .init("1.2.840.10008.1.2.4.55", "JPEG Full Progression, Non-Hierarchical (Process 10 & 12)"),
            .init("1.2.840.10008.1.2.4.56", "JPEG Full Progression, Non-Hierarchical (Process 11 & 13)"),
            .init("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"),
            .init("1.2.840.10008.1.2.4.58", "JPEG Lossless, Non-Hierarchical (Process 15)"),
            .init("1.2.840.10008.1.2.4.59", "JPEG Extended, Hierarchical (Process 16 & 18)"),
            .init("1.2.840.10008.1.2.4.60", "JPEG Extended, Hierarchical (Process 17 & 19)"),
            .init("1.2.840.10008.1.2.4.61", "JPEG Spectral Selection, Hierarchical (Process 20 & 22)"),
            .init("1.2.840.10008.1.2.4.62", "JPEG Spectral Selection, Hierarchical (Process 21 & 23)"),
            .init("1.2.840.10008.1.2.4.63", "JPEG Full Progression, Hierarchical (Process 24 & 26)"),
            .init("1.2.840.10008.1.2.4.64", "JPEG Full Progression, Hierarchical (Process 25 & 27)"),
            .init("1.2.840.10008.1.2.4.65", "JPEG Lossless, Hierarchical (Process 28)"),
            .init("1.2.840.10008.1.2.4.66", "JPEG Lossless, Hierarchical (Process 29)"),
            .init("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])"),
            .init("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression"),
            .init("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression"),
            .init("1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)"),
            .init("1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression"),
            .init("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)"),
            .init("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression"),
            .init("1.2.840.10008.1.2.4.94", "JPIP Referenced", encapsulated: false),
            .init("1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate", deflated: true, encapsulated: false),
            .init("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"),
            .init("1.2.840.10008.1.2.4.100.1", "Fragmentable MPEG2 Main Profile / Main Level"),
            .init("1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level"),
            .init("1.2.840.10008.1.2.4.101.1", "Fragmentable MPEG2 Main Profile / High Level"),
            .init("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1"),
            .init("1.2.840.10008.1.2.4.102.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1"),
            .init("1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"),
            .init("1.2.840.10008.1.2.4.103.1", "Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"),
            .init("1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video"),
            .init("1.2.840.10008.1.2.4.104.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video"),
            .init("1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video"),
            .init("1.2.840.10008.1.2.4.105.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video"),
            .init("1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2"),
            .init("1.2.840.10008.1.2.4.106.1", "Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2"),
            .init("1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1"),
            .init("1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1"),
            .init("1.2.840.10008.1.2.4.110", "JPEG XL Lossless"),
            .init("1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression"),
            .init("1.2.840.10008.1.2.4.112", "JPEG XL"),
            .init("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)"),
            .init("1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)"),
            .init("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression"),
            .init("1.2.840.10008.1.2.4.204", "JPIP HTJ2K Referenced", encapsulated: false),
            .init("1.2.840.10008.1.2.4.205", "JPIP HTJ2K Referenced Deflate", deflated: true, encapsulated: false),
            .init("1.2.840.10008.1.2.5", "RLE Lossless"),
            .init("1.2.840.10008.1.2.6.1", "RFC 2557 MIME encapsulation", encapsulated: false),
            .init("1.2.840.10008.1.2.6.2", "XML Encoding", encapsulated: false),
            .init("1.2.840.10008.1.20", "Papyrus 3 Implicit VR Little Endian", explicit: false, encapsulated: false),
        ]
        return Dictionary(uniqueKeysWithValues: all.map { ($0.uid, $0) })
    }()

    /// The transfer syntax with this UID. Unknown UIDs give a syntax marked
    /// `isKnown == false`, read as Explicit VR Little Endian with encapsulated
    /// pixel data unless the first element shows otherwise.
    public static func forUID(_ uid: String) -> TransferSyntax {
        known[uid] ?? TransferSyntax(uid, "Unknown", known: false)
    }
}
