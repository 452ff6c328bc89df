/// A transfer syntax (PS3.5 section 10): how a data set after the File Meta
/// group is encoded, whether its pixel data are encapsulated, and with which codec.
///
/// This is the one registry of transfer syntaxes: the parser, the frame decoder,
/// the validator's HealthImaging rules and ahi-local all ask a `TransferSyntax`
/// (found with `forUID(_:)`) rather than keeping lists of UIDs.
public struct TransferSyntax: Hashable, Sendable, CustomStringConvertible {
    /// The transfer syntax UID, e.g. `1.2.840.10008.1.2.1`.
    public let uid: String
    /// The name from PS3.6 Table A-1, e.g. "Explicit VR Little Endian".
    public let name: String
    /// True when data element headers carry their VR.
    public let isExplicitVR: Bool
    /// True for Explicit VR Big Endian.
    public let isBigEndian: Bool
    /// True when the data set is a raw deflate stream (RFC 1951) after the meta group
    /// (PS3.5 Annex A.5). The pixel data inside are native.
    public let isDeflated: Bool
    /// True when Pixel Data is a sequence of fragments (PS3.5 A.4).
    public let isEncapsulated: Bool
    /// False for a UID this library does not know; such files are read by
    /// detecting the encoding from the first data element.
    public let isKnown: Bool
    /// How the pixel data are encoded.
    public let codec: Codec
    /// True when the pixel data encoding is reversible: decoding gives back exactly
    /// the pixels that were encoded (native, RLE and the "Lossless" syntaxes of
    /// PS3.6 Table A-1). False for lossy syntaxes, for those that allow either
    /// (JPEG 2000 Image Compression, HTJ2K Image Compression, JPEG XL), and for
    /// those without pixel data of their own (JPIP referenced, MIME, XML, unknown UIDs).
    public let isLossless: Bool
    /// What AWS HealthImaging does with a file in this transfer syntax on import;
    /// nil when it does not import it (shared/reference/healthimaging.md §4.4).
    public let healthImagingImport: HealthImagingImport?

    /// The codec families of PS3.5 section 8.2 and Annex A.4: what a frame
    /// decoder needs to know to decode the pixel data.
    public enum Codec: Sendable, Hashable {
        /// Native (uncompressed) pixel data (PS3.5 8.1.1), also when the data set is
        /// deflated (A.5) or each frame is one uncompressed fragment
        /// (Encapsulated Uncompressed Explicit VR Little Endian).
        case native
        /// RLE Lossless (PS3.5 8.2.2, A.4.2, Annex G).
        case rle
        /// JPEG baseline, process 1 (PS3.5 8.2.1, A.4.1; ISO/IEC 10918-1).
        case jpegBaseline
        /// The other lossy (DCT) JPEG processes: extended, spectral selection,
        /// full progression, hierarchical (PS3.5 8.2.1, A.4.1; most of them retired).
        case jpegExtended
        /// Lossless JPEG, processes 14, 15, 28 and 29, including first-order
        /// prediction (PS3.5 8.2.1, A.4.1).
        case jpegLossless
        /// JPEG-LS, lossless or near-lossless (PS3.5 8.2.3, A.4.3; ISO/IEC 14495-1).
        case jpegLS
        /// JPEG 2000 Part 1 (PS3.5 8.2.4, A.4.4; ISO/IEC 15444-1).
        case jpeg2000
        /// JPEG 2000 Part 2 multi-component (PS3.5 section 8.2 and A.4; ISO/IEC 15444-2).
        case jpeg2000MultiComponent
        /// High-Throughput JPEG 2000 (PS3.5 section 10.18 and A.4; ISO/IEC 15444-15).
        case htj2k
        /// JPEG XL (PS3.5 section 8.2 and A.4; ISO/IEC 18181).
        case jpegXL
        /// MPEG-2 video (PS3.5 section 8.2 and A.4; ISO/IEC 13818-2).
        case mpeg2
        /// MPEG-4 AVC/H.264 video (PS3.5 section 8.2 and A.4; ISO/IEC 14496-10).
        case h264
        /// HEVC/H.265 video (PS3.5 section 8.2 and A.4; ISO/IEC 23008-2).
        case hevc
        /// JPIP referenced pixel data: not in the file, fetched from Pixel Data
        /// Provider URL (0028,7FE0).
        case jpipReferenced
        /// No pixel data encoding of its own (RFC 2557 MIME, XML) or an unknown UID.
        case other
    }

    /// What AWS HealthImaging does with an imported file's pixel data
    /// (the "Supported transfer syntaxes" table of its developer guide).
    public enum HealthImagingImport: Sendable, Hashable {
        /// Transcoded to HTJ2K Lossless RPCL (1.2.840.10008.1.2.4.202), or to
        /// JPEG 2000 Lossless when the data store is configured so. For Explicit
        /// VR Little Endian, binary segmentations are the exception: retained.
        case transcoded
        /// Stored as received (lossy JPEG, JPEG 2000, HTJ2K, JPEG XL and video).
        case retained
    }

    /// `name` followed by the UID.
    public var description: String { "\(name) (\(uid))" }

    init(_ uid: String, _ name: String, _ codec: Codec, lossless: Bool, healthImaging: HealthImagingImport? = nil,
         explicit: Bool = true, bigEndian: Bool = false, deflated: Bool = false, encapsulated: Bool = true,
         known: Bool = true) {
        self.uid = uid
        self.name = name
        self.codec = codec
        isLossless = lossless
        healthImagingImport = healthImaging
        isExplicitVR = explicit
        isBigEndian = bigEndian
        isDeflated = deflated
        isEncapsulated = encapsulated
        isKnown = known
    }

    /// Implicit VR Little Endian, the default transfer syntax of DICOM (PS3.5 A.1).
    public static let implicitVRLittleEndian = TransferSyntax(
        "1.2.840.10008.1.2", "Implicit VR Little Endian", .native, lossless: true, healthImaging: .transcoded,
        explicit: false, encapsulated: false)
    /// Explicit VR Little Endian (PS3.5 A.2).
    public static let explicitVRLittleEndian = TransferSyntax(
        "1.2.840.10008.1.2.1", "Explicit VR Little Endian", .native, lossless: true, healthImaging: .transcoded,
        encapsulated: false)
    /// Explicit VR Big Endian (PS3.5 A.3; retired, still found in archives).
    public static let explicitVRBigEndian = TransferSyntax(
        "1.2.840.10008.1.2.2", "Explicit VR Big Endian", .native, lossless: true, healthImaging: .transcoded,
        bigEndian: true, encapsulated: false)
    /// Deflated Explicit VR Little Endian (PS3.5 A.5).
    public static let deflatedExplicitVRLittleEndian = TransferSyntax(
        "1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", .native, lossless: true,
        healthImaging: .transcoded, deflated: true, encapsulated: false)
    /// HTJ2K Lossless RPCL (PS3.5 10.18): reversible, resolution-first, with TLM
    /// markers; what HealthImaging stores lossless sources as.
    public static let htj2kLosslessRPCL = TransferSyntax(
        "1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)",
        .htj2k, lossless: true, healthImaging: .transcoded)

    /// The transfer syntaxes of PS3.6 Table A-1 this library knows, in UID order.
    public static let all: [TransferSyntax] = [
        implicitVRLittleEndian, explicitVRLittleEndian, explicitVRBigEndian, deflatedExplicitVRLittleEndian,
        .init("1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian", .native, lossless: true),
        .init("1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)", .jpegBaseline, lossless: false,
              healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)", .jpegExtended, lossless: false,
              healthImaging: .transcoded),
        .init("1.2.840.10008.1.2.4.52", "JPEG Extended (Process 3 & 5)", .jpegExtended, lossless: false),
        .init("1.2.840.10008.1.2.4.53", "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8)", .jpegExtended,
              lossless: false),
        .init("1.2.840.10008.1.2.4.54", "JPEG Spectral Selection, Non-Hierarchical (Process 7 & 9)", .jpegExtended,
              lossless: false),
        .init("1.2.840.10008.1.2.4.55", "JPEG Full Progression, Non-Hierarchical (Process 10 & 12)", .jpegExtended,
              lossless: false),
        .init("1.2.840.10008.1.2.4.56", "JPEG Full Progression, Non-Hierarchical (Process 11 & 13)", .jpegExtended,
              lossless: false),
        .init("1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)", .jpegLossless, lossless: true,
              healthImaging: .transcoded),
        .init("1.2.840.10008.1.2.4.58", "JPEG Lossless, Non-Hierarchical (Process 15)", .jpegLossless, lossless: true),
        .init("1.2.840.10008.1.2.4.59", "JPEG Extended, Hierarchical (Process 16 & 18)", .jpegExtended, lossless: false),
        .init("1.2.840.10008.1.2.4.60", "JPEG Extended, Hierarchical (Process 17 & 19)", .jpegExtended, lossless: false),
        .init("1.2.840.10008.1.2.4.61", "JPEG Spectral Selection, Hierarchical (Process 20 & 22)", .jpegExtended,
              lossless: false),
        .init("1.2.840.10008.1.2.4.62", "JPEG Spectral Selection, Hierarchical (Process 21 & 23)", .jpegExtended,
              lossless: false),
        .init("1.2.840.10008.1.2.4.63", "JPEG Full Progression, Hierarchical (Process 24 & 26)", .jpegExtended,
              lossless: false),
        .init("1.2.840.10008.1.2.4.64", "JPEG Full Progression, Hierarchical (Process 25 & 27)", .jpegExtended,
              lossless: false),
        .init("1.2.840.10008.1.2.4.65", "JPEG Lossless, Hierarchical (Process 28)", .jpegLossless, lossless: true),
        .init("1.2.840.10008.1.2.4.66", "JPEG Lossless, Hierarchical (Process 29)", .jpegLossless, lossless: true),
        .init("1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (Process 14 [Selection Value 1])",
              .jpegLossless, lossless: true, healthImaging: .transcoded),
        .init("1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression", .jpegLS, lossless: true,
              healthImaging: .transcoded),
        .init("1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression", .jpegLS, lossless: false,
              healthImaging: .transcoded),
        .init("1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)", .jpeg2000, lossless: true,
              healthImaging: .transcoded),
        .init("1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression", .jpeg2000, lossless: false,
              healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)",
              .jpeg2000MultiComponent, lossless: true, healthImaging: .transcoded),
        .init("1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression",
              .jpeg2000MultiComponent, lossless: false, healthImaging: .transcoded),
        .init("1.2.840.10008.1.2.4.94", "JPIP Referenced", .jpipReferenced, lossless: false, encapsulated: false),
        .init("1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate", .jpipReferenced, lossless: false, deflated: true,
              encapsulated: false),
        .init("1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level", .mpeg2, lossless: false,
              healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.100.1", "Fragmentable MPEG2 Main Profile / Main Level", .mpeg2, lossless: false,
              healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level", .mpeg2, lossless: false,
              healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.101.1", "Fragmentable MPEG2 Main Profile / High Level", .mpeg2, lossless: false,
              healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1", .h264, lossless: false,
              healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.102.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1", .h264,
              lossless: false, healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", .h264,
              lossless: false, healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.103.1", "Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1", .h264,
              lossless: false, healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", .h264,
              lossless: false, healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.104.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video", .h264,
              lossless: false, healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", .h264,
              lossless: false, healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.105.1", "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video", .h264,
              lossless: false, healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", .h264, lossless: false,
              healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.106.1", "Fragmentable MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2", .h264,
              lossless: false, healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1", .hevc, lossless: false,
              healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1", .hevc, lossless: false,
              healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.110", "JPEG XL Lossless", .jpegXL, lossless: true),
        .init("1.2.840.10008.1.2.4.111", "JPEG XL JPEG Recompression", .jpegXL, lossless: false),
        .init("1.2.840.10008.1.2.4.112", "JPEG XL", .jpegXL, lossless: false, healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)", .htj2k,
              lossless: true, healthImaging: .transcoded),
        htj2kLosslessRPCL,
        .init("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression", .htj2k, lossless: false,
              healthImaging: .retained),
        .init("1.2.840.10008.1.2.4.204", "JPIP HTJ2K Referenced", .jpipReferenced, lossless: false, encapsulated: false),
        .init("1.2.840.10008.1.2.4.205", "JPIP HTJ2K Referenced Deflate", .jpipReferenced, lossless: false,
              deflated: true, encapsulated: false),
        .init("1.2.840.10008.1.2.5", "RLE Lossless", .rle, lossless: true, healthImaging: .transcoded),
        .init("1.2.840.10008.1.2.6.1", "RFC 2557 MIME encapsulation", .other, lossless: false, encapsulated: false),
        .init("1.2.840.10008.1.2.6.2", "XML Encoding", .other, lossless: false, encapsulated: false),
        .init("1.2.840.10008.1.20", "Papyrus 3 Implicit VR Little Endian", .native, lossless: true, explicit: false,
              encapsulated: false),
    ]

    private static let byUID: [String: TransferSyntax] = Dictionary(uniqueKeysWithValues: all.map { ($0.uid, $0) })

    /// The transfer syntax with this UID. Unknown UIDs give a syntax marked
    /// `isKnown == false`, read as Explicit VR Little Endian with encapsulated
    /// pixel data unless the first element shows otherwise.
    public static func forUID(_ uid: String) -> TransferSyntax {
        byUID[uid] ?? TransferSyntax(uid, "Unknown", .other, lossless: false, known: false)
    }
}
