import CDCMJPEG

/// The library that decodes a JPEG codestream.
public enum JPEGBackend: String, Sendable, CaseIterable {
    /// DCMTK's IJG libraries (8-, 12- and 16-bit): every process, every precision.
    case dcmtkIJG = "dcmtk-ijg"
    /// libjpeg-turbo: 8-bit DCT processes only. The same samples as IJG's 8-bit library
    /// (the same integer IDCT, upsampling and colour tables), about twice as fast.
    case libjpegTurbo = "libjpeg-turbo"

    /// The name errors carry (`CodecError.decodeFailed(backend:)`).
    public var displayName: String { self == .dcmtkIJG ? "DCMTK IJG" : "libjpeg-turbo" }
}

/// The frame header of a JPEG codestream: what its SOFn marker segment says (ITU-T T.81
/// B.2.2). Read without decoding, every length checked against the bytes there are.
public struct JPEGHeader: Sendable, Equatable {
    /// The coding process (the n of SOFn); Huffman coding only.
    public enum Process: Int, Sendable {
        /// SOF0: 8-bit DCT, sequential (Process 1; DICOM 1.2.840.10008.1.2.4.50).
        case baseline = 0
        /// SOF1: 8- or 12-bit DCT, sequential (Processes 2 & 4; 1.2.840.10008.1.2.4.51).
        case extended = 1
        /// SOF2: 8- or 12-bit DCT, progressive (retired 1.2.840.10008.1.2.4.55).
        case progressive = 2
        /// SOF3: lossless, 2 to 16 bits (Process 14; 1.2.840.10008.1.2.4.57 and .70).
        case lossless = 3
    }

    public let process: Process
    /// P: bits per sample.
    public let precision: Int
    /// X: samples per line.
    public let width: Int
    /// Y: lines.
    public let height: Int
    /// Nf: components (1 to 4).
    public let components: Int
    /// The byte offset of the SOFn marker.
    public let offset: Int

    /// Reads the frame header of `bytes`, which must start with SOI (FF D8).
    /// - Throws: `CodecError.decodeFailed` (backend "DCMTK IJG") when there is no SOI, a
    ///   marker segment runs past the end, or SOS/EOI comes before a frame header;
    ///   `CodecError.unsupported` for hierarchical or arithmetic-coded processes (SOF5–7,
    ///   SOF9–15), a height of 0 (defined later by DNL) or a precision the process does not allow.
    public static func parse(_ bytes: [UInt8]) throws(CodecError) -> JPEGHeader {
        func fail(_ reason: String) -> CodecError { .decodeFailed(backend: JPEGBackend.dcmtkIJG.displayName, reason: reason) }
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { throw fail("not a JPEG codestream (no SOI marker)") }
        var i = 2
        while i < bytes.count {
            guard bytes[i] == 0xFF else { throw fail("no marker at byte \(i)") }
            var m = i + 1
            while m < bytes.count && bytes[m] == 0xFF { m += 1 }  // fill bytes (T.81 B.1.1.2)
            guard m < bytes.count else { break }
            let marker = bytes[m]
            let at = m - 1
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { i = m + 1; continue }  // TEM, RSTn: no length
            switch marker {
            case 0xD8: throw fail("a second SOI marker at byte \(at)")
            case 0xD9: throw fail("EOI at byte \(at) before a frame header")
            case 0xDA: throw fail("SOS at byte \(at) before a frame header")
            default: break
            }
            guard m + 2 < bytes.count else { break }
            let length = Int(bytes[m + 1]) << 8 | Int(bytes[m + 2])
            guard length >= 2, m + 1 + length <= bytes.count else {
                throw fail("the segment of marker FF\(hex(marker)) at byte \(at) claims \(length) bytes; \(bytes.count - m - 1) remain")
            }
            if marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC {
                guard let process = Process(rawValue: Int(marker) - 0xC0) else {
                    let kind = marker >= 0xC9 ? "arithmetic-coded" : "hierarchical"
                    throw .unsupported("\(kind) JPEG (SOF\(Int(marker) - 0xC0))")
                }
                guard length >= 8 else { throw fail("a frame header of \(length) bytes at byte \(at)") }
                let s = m + 3
                let precision = Int(bytes[s]), height = Int(bytes[s + 1]) << 8 | Int(bytes[s + 2])
                let width = Int(bytes[s + 3]) << 8 | Int(bytes[s + 4]), components = Int(bytes[s + 5])
                guard length == 8 + 3 * components else {
                    throw fail("the frame header at byte \(at) is \(length) bytes for \(components) components")
                }
                guard (1...4).contains(components) else { throw .unsupported("JPEG with \(components) components") }
                guard width > 0 else { throw fail("the frame header at byte \(at) gives 0 samples per line") }
                guard height > 0 else { throw .unsupported("JPEG whose number of lines comes later (DNL)") }
                let allowed: Set<Int> = switch process {
                case .baseline: [8]
                case .extended, .progressive: [8, 12]
                case .lossless: Set(2...16)
                }
                guard allowed.contains(precision) else { throw .unsupported("\(precision)-bit samples in a \(process) JPEG") }
                return JPEGHeader(process: process, precision: precision, width: width, height: height,
                                  components: components, offset: at)
            }
            i = m + 1 + length
        }
        throw fail("no frame header (SOFn marker)")
    }

    private static func hex(_ b: UInt8) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[Int(b >> 4)], digits[Int(b & 15)]])
    }
}

/// Decodes JPEG codestreams (ITU-T T.81; in DICOM PS3.5 8.2.1 and A.4.1: JPEG Baseline
/// 1.2.840.10008.1.2.4.50, Extended .51, Lossless .57 and Lossless SV1 .70) to a
/// `PixelBuffer`: DCMTK's IJG 8-, 12- or 16-bit library by the codestream's precision,
/// libjpeg-turbo for 8-bit baseline (identical samples, about twice as fast).
public enum JPEGDecoder {
    /// The most samples a codestream of `count` bytes can encode: lossless codes every sample
    /// with at least one bit; a DCT image every block of every component with at least one
    /// bit (a sequential or progressive DC code), and its most finely sampled component has a
    /// block for every 64 pixels. A frame header claiming more is a lie, and is refused
    /// before anything is allocated.
    static func maxSamples(codestreamBytes count: Int, header: JPEGHeader) -> Int {
        header.process == .lossless ? count * 8 : count * 8 * 64 * header.components
    }

    /// The largest frame decoded: 2 GiB of samples.
    static let maxOutputBytes = 1 << 31

    /// Decodes `bytes`, one JPEG codestream (SOI to EOI).
    ///
    /// - Parameters:
    ///   - isSigned: the data set's Pixel Representation is 1. Passed to DCMTK, which refuses
    ///     to convert signed data to RGB; the samples come out unsigned regardless.
    ///   - convertYBRToRGB: convert a 3-component DCT image from YCbCr to RGB (ITU-T T.871,
    ///     IJG's integer tables, as `dcmdjpeg` does for a YBR Photometric Interpretation).
    ///     Otherwise the components come out as stored. Lossless images are never converted.
    ///   - backend: nil picks libjpeg-turbo for 8-bit baseline, DCMTK's IJG otherwise.
    /// - Returns: width × height pixels of `components` interleaved samples, each 1 byte
    ///   (precision ≤ 8) or 2 (little-endian), unsigned, `bitsStored` = the precision P.
    ///   Sign extension and widening to Bits Allocated are the caller's (`FrameDecoder` does both).
    /// - Throws: `CodecError.decodeFailed` (backend "DCMTK IJG" or "libjpeg-turbo") for a
    ///   malformed, truncated or corrupt codestream (IJG's "Corrupt JPEG data" warnings count)
    ///   or a frame header claiming more samples than the bytes can hold;
    ///   `CodecError.unsupported` for processes neither library decodes.
    ///   Cost: one output allocation; no copy of the input.
    public static func decode(_ bytes: [UInt8], isSigned: Bool = false, convertYBRToRGB: Bool = false,
                              backend: JPEGBackend? = nil) throws(CodecError) -> PixelBuffer {
        let header = try JPEGHeader.parse(bytes)
        return try decode(bytes, header: header, isSigned: isSigned, convertYBRToRGB: convertYBRToRGB, backend: backend)
    }

    /// Decodes `bytes` whose frame header is `header` (from `JPEGHeader.parse(bytes)`).
    public static func decode(_ bytes: [UInt8], header: JPEGHeader, isSigned: Bool = false, convertYBRToRGB: Bool = false,
                              backend: JPEGBackend? = nil) throws(CodecError) -> PixelBuffer {
        let chosen: JPEGBackend = backend ?? (header.process == .baseline && header.precision == 8 ? .libjpegTurbo : .dcmtkIJG)
        let name = chosen.displayName
        if chosen == .libjpegTurbo, header.precision != 8 || header.process == .lossless {
            throw .unsupported("libjpeg-turbo decodes 8-bit DCT JPEG only, not \(header.precision)-bit \(header.process)")
        }
        let bps = PixelBuffer.bytesPerSample(forBits: header.precision)
        let samples = header.width * header.height * header.components
        guard samples <= maxSamples(codestreamBytes: bytes.count, header: header) else {
            throw .decodeFailed(backend: name, reason: "the frame header claims \(header.width)×\(header.height)×\(header.components) "
                                + "samples; \(bytes.count) bytes cannot hold them")
        }
        guard samples * bps <= maxOutputBytes else {
            throw .unsupported("a JPEG frame of \(samples * bps) bytes (at most \(maxOutputBytes))")
        }
        var frame = ahi_jpeg_frame(width: UInt32(header.width), height: UInt32(header.height), components: UInt32(header.components),
                                   precision: UInt32(header.precision), process: UInt32(header.process.rawValue))
        var result = ahi_jpeg_result()
        var message = [CChar](repeating: 0, count: 256)
        var status: Int32 = -1
        let convert = convertYBRToRGB && header.components == 3 && header.process != .lossless
        let out = [UInt8](unsafeUninitializedCapacity: samples * bps) { o, initialized in
            status = bytes.withUnsafeBufferPointer { b in
                ahi_jpeg_decode(b.baseAddress, b.count, &frame, isSigned ? 1 : 0, convert ? 1 : 0,
                                chosen == .libjpegTurbo ? AHI_JPEG_TURBO : AHI_JPEG_DCMTK_IJG,
                                o.baseAddress, o.count, &result, &message, message.count)
            }
            initialized = status == 0 ? o.count : 0
        }
        guard status == 0 else { throw .decodeFailed(backend: name, reason: cMessage(message)) }
        guard Int(result.bytes_per_sample) == bps else {
            throw .decodeFailed(backend: name, reason: "\(result.bytes_per_sample)-byte samples for precision \(header.precision)")
        }
        return PixelBuffer(width: header.width, height: header.height, components: header.components,
                           bitsStored: header.precision, isSigned: false, bytesPerSample: bps, bytes: out)
    }
}
