import ArgumentParser
import Foundation
import HTJ2K

extension J2KBackend: ExpressibleByArgument {}

struct Decode: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Decode a JPEG 2000 / HTJ2K codestream (or JP2/JPH file) to PGM, PPM or raw samples.",
        discussion: """
            PGM (1 component) and PPM (3 components) are written as ojph_expand writes them: \
            a P5/P6 header, then samples big-endian when above 8 bits. .raw is the samples \
            little-endian, interleaved, two's complement when signed (PGM/PPM cannot hold \
            signed samples). --level N skips N resolution levels (each halves the size).
            """)

    @Argument(help: "The codestream (.j2c, .jph, .jp2, or a frame GetImageFrame returned).")
    var input: String

    @Option(help: "Output file: .pgm, .ppm or .raw.")
    var out: String

    @Option(help: "Resolution levels to skip.")
    var level = 0

    @Option(help: "openjph (HTJ2K) or openjpeg (any JPEG 2000). Default: OpenJPH for HTJ2K, OpenJPEG otherwise.")
    var backend: J2KBackend?

    @OptionGroup var output: OutputOptions

    func run() throws {
        try Paths.require([input])
        let bytes: [UInt8]
        do { bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: input))) } catch {
            throw ValidationError("\(input): cannot read: \(error.localizedDescription)")
        }
        let pixels: PixelBuffer
        do { pixels = try J2KDecoder.decode(bytes, backend: backend, skipLevels: level) } catch {
            printError("\(input): \(error)")
            throw ExitCode(1)
        }
        let data: [UInt8]
        switch (out as NSString).pathExtension.lowercased() {
        case "raw":
            data = pixels.bytes
        case "pgm", "ppm":
            guard !pixels.isSigned else { throw ValidationError("signed samples cannot go in PGM/PPM; write .raw") }
            guard pixels.components == (out.lowercased().hasSuffix(".pgm") ? 1 : 3) else {
                throw ValidationError("\(pixels.components) components: use .\(pixels.components == 1 ? "pgm" : "ppm")")
            }
            data = Self.netpbm(pixels)
        default:
            throw ValidationError("--out must end in .pgm, .ppm or .raw")
        }
        try Data(data).write(to: URL(fileURLWithPath: out))
        if output.json {
            return try printJSON(PixelSummary(pixels, out: out))
        }
        print("\(pixels.width)×\(pixels.height), \(pixels.components) component\(pixels.components == 1 ? "" : "s"), \(pixels.bitsStored) bits\(pixels.isSigned ? " signed" : "") → \(out)")
    }

    /// P5/P6 with big-endian samples above 8 bits.
    static func netpbm(_ p: PixelBuffer) -> [UInt8] {
        var out = Array("P\(p.components == 1 ? 5 : 6)\n\(p.width) \(p.height)\n\((1 << p.bitsStored) - 1)\n".utf8)
        if p.bytesPerSample == 1 { return out + p.bytes }
        out.reserveCapacity(out.count + p.bytes.count)
        for i in stride(from: 0, to: p.bytes.count, by: 2) { out += [p.bytes[i + 1], p.bytes[i]] }
        return out
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
