import DICOMCore

/// The acceptor's answer to proposed presentation contexts.
public enum Negotiation {
    /// The transfer syntaxes this SCP accepts for storage, most preferred first:
    /// 1. encapsulated (compressed) syntaxes HealthImaging imports (the registry's
    ///    `healthImagingImport`), so they reach it as they were made — HTJ2K, JPEG 2000,
    ///    JPEG-LS, lossless JPEG, lossy JPEG, RLE, JPEG 2000 Part 2, JPEG XL, video;
    /// 2. Explicit VR Little Endian; 3. Implicit VR Little Endian;
    /// 4. Deflated Explicit VR Little Endian and Explicit VR Big Endian last (HealthImaging
    ///    imports both, but an SCU that offers them offers ELE or IVR too, in practice).
    /// Syntaxes HealthImaging does not import are not accepted: the SCU converts or fails early.
    public static let storageTransferSyntaxes: [String] = {
        func rank(_ codec: TransferSyntax.Codec) -> Int {
            switch codec {
            case .htj2k: 0
            case .jpeg2000: 1
            case .jpegLS: 2
            case .jpegLossless: 3
            case .jpegBaseline: 4
            case .jpegExtended: 5
            case .rle: 6
            case .jpeg2000MultiComponent: 7
            case .jpegXL: 8
            case .mpeg2, .h264, .hevc: 9
            default: 10
            }
        }
        let compressed = TransferSyntax.all.enumerated()
            .filter { $0.element.healthImagingImport != nil && $0.element.isEncapsulated }
            .sorted { (rank($0.element.codec), $0.offset) < (rank($1.element.codec), $1.offset) }
            .map(\.element.uid)
        return compressed + [TransferSyntax.explicitVRLittleEndian.uid, TransferSyntax.implicitVRLittleEndian.uid,
                             TransferSyntax.deflatedExplicitVRLittleEndian.uid, TransferSyntax.explicitVRBigEndian.uid]
    }()

    /// For Verification: any uncompressed syntax; IVR is always among them (PS3.7 requires it).
    public static let verificationTransferSyntaxes: [String] = [
        TransferSyntax.explicitVRLittleEndian.uid, TransferSyntax.implicitVRLittleEndian.uid,
        TransferSyntax.explicitVRBigEndian.uid,
    ]

    /// Answers every proposed context: result 0 with the chosen syntax, 3 for an abstract syntax
    /// this SCP does not serve, 4 when none of the offered syntaxes is acceptable, 2 for an
    /// invalid (even or repeated) context ID.
    public static func answer(_ proposed: [ProposedContext], acceptUnknownSOPClasses: Bool) -> [AcceptedContext] {
        var seen = Set<UInt8>()
        var answers: [AcceptedContext] = []
        for pc in proposed {
            let fallback = pc.transferSyntaxes.first ?? TransferSyntax.implicitVRLittleEndian.uid
            guard pc.id % 2 == 1, seen.insert(pc.id).inserted else {
                if !seen.contains(pc.id) || pc.id % 2 == 0 {
                    answers.append(AcceptedContext(id: pc.id, result: 2, transferSyntax: fallback))
                }
                continue
            }
            let preference: [String]
            if pc.abstractSyntax == verificationSOPClassUID {
                preference = verificationTransferSyntaxes
            } else if StorageSOPClasses.contains(pc.abstractSyntax) || acceptUnknownSOPClasses {
                preference = storageTransferSyntaxes
            } else {
                answers.append(AcceptedContext(id: pc.id, result: 3, transferSyntax: fallback))
                continue
            }
            if let chosen = preference.first(where: { pc.transferSyntaxes.contains($0) }) {
                answers.append(AcceptedContext(id: pc.id, result: 0, transferSyntax: chosen))
            } else {
                answers.append(AcceptedContext(id: pc.id, result: 4, transferSyntax: fallback))
            }
        }
        return answers
    }
}
