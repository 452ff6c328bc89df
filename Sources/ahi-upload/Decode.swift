import ArgumentParser
import DICOMCore
import HTJ2K

extension J2KBackend: ExpressibleByArgument {}

extension ColorOutput: ExpressibleByArgument {
    public init?(argument: String) {
        switch argument {
        case "rgb": self = .rgb
        case "stored": self = .stored
        default: return nil
        }
    }

    public static var allValueStrings: [String] { ["rgb", "stored"] }
}

struct Decode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "decode",
        abstract: "Decode a DICOM frame, or a JPEG 2000 / HTJ2K codestream, to PGM, PPM or raw samples.",
        discussion: """
            The input is a DICOM file (--frame N of it, in any transfer syntax the frame \
            decoder knows: native, deflated, RLE, JPEG baseline/extended/lossless, JPEG-LS, \
            JPEG 2000, HTJ2K) or a codestream (.j2c, .jph, .jp2, or a frame GetImageFrame \
            returned). The samples written are the stored values: no rescale, no windowing, \
            at the data set's Bits Allocated for DICOM input.

            PGM (1 component) and PPM (3 components) are written as ojph_expand writes them: \
            a P5/P6 header, then samples big-endian when above 8 bits. .raw is the samples \
            little-endian, interleaved, two's complement when signed (PGM/PPM cannot hold \
            signed samples). --level N skips N resolution levels of a codestream (each \
            halves the size).
            """)

    @Argument(help: "A DICOM file or a codestream (.j2c, .jph, .jp2).")
    var input: String

    @Option(help: "Output file: .pgm, .ppm or .raw.")
    var out: String

    @Option(help: "Frame number of a DICOM file, from 1.")
    var frame = 1

    @Option(help: "Resolution levels of a codestream to skip.")
    var level = 0

    @Option(help: "A JPEG baseline/extended frame in YBR_FULL or YBR_FULL_422: rgb (converted, as pydicom and dcmdjpeg give it) or stored (the YCbCr values).")
    var color: ColorOutput = .rgb

    @Option(help: "openjph (HTJ2K) or openjpeg (any JPEG 2000). Default: OpenJPH for HTJ2K, OpenJPEG otherwise.")
    var backend: J2KBackend?

    @OptionGroup var output: OutputOptions

    func run() throws {
        try Paths.require([input])
        let kind = out.split(separator: ".").last.map { $0.lowercased() } ?? ""
        guard ["raw", "pgm", "ppm"].contains(kind) else { throw ValidationError("--out must end in .pgm, .ppm or .raw") }
        let source: PixelInput
        do { source = try PixelInput(path: input) } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        let pixels: PixelBuffer
        do { pixels = try source.decode(frame: frame, level: level, backend: backend, color: color) } catch let e as ValidationError {
            throw e
        } catch {
            printError("\(input): \(error)")
            throw ExitCode(1)
        }
        if kind == "raw" {
            try OutputFile.write(out, pixels.bytes)
        } else {
            guard !pixels.isSigned else { throw ValidationError("signed samples cannot go in PGM/PPM; write .raw") }
            guard pixels.components == (kind == "pgm" ? 1 : 3) else {
                throw ValidationError("\(pixels.components) components: use .\(pixels.components == 1 ? "pgm" : "ppm")")
            }
            guard pixels.bytesPerSample <= 2 else { throw ValidationError("\(pixels.bitsStored)-bit samples cannot go in PGM/PPM; write .raw") }
            try OutputFile.write(out, Self.netpbmHeader(pixels), Self.netpbmSamples(pixels))
        }
        if output.json {
            return try printJSON(PixelSummary(pixels, out: out))
        }
        print("\(pixels.width)×\(pixels.height), \(pixels.components) component\(pixels.components == 1 ? "" : "s"), \(pixels.bitsStored) bits\(pixels.isSigned ? " signed" : "") → \(out)")
    }

    /// "P5" (grey) or "P6" (RGB), the size and the largest value (2^BitsStored − 1).
    static func netpbmHeader(_ p: PixelBuffer) -> [UInt8] {
        Array("P\(p.components == 1 ? 5 : 6)\n\(p.width) \(p.height)\n\((1 << min(p.bitsStored, 16)) - 1)\n".utf8)
    }

    /// The samples as Netpbm stores them: as they are at 8 bits, big-endian above.
    static func netpbmSamples(_ p: PixelBuffer) -> [UInt8] {
        guard p.bytesPerSample == 2 else { return p.bytes }
        let count = p.bytes.count & ~1
        return [UInt8](unsafeUninitializedCapacity: count) { out, written in
            p.bytes.withUnsafeBytes { src in
                let words = src.bindMemory(to: UInt16.self)
                let dst = UnsafeMutableRawBufferPointer(out).bindMemory(to: UInt16.self)
                for i in 0..<(count / 2) { dst[i] = words[i].byteSwapped }
            }
            written = count
        }
    }
}

/// What `decode`, `render` and `frame` print with `--output json`.
struct PixelSummary: Encodable {
    let width: Int
    let height: Int
    let components: Int
    let bitsStored: Int
    let signed: Bool
    let out: String

    init(_ p: PixelBuffer, out: String) {
        width = p.width
        height = p.height
        components = p.components
        bitsStored = p.bitsStored
        signed = p.isSigned
        self.out = out
    }
}
