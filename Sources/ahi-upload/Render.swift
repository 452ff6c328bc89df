import ArgumentParser
import DICOMCore
import Foundation
import HTJ2K
import Uploader

/// `--window C,W`.
struct WindowOption: ExpressibleByArgument {
    let center: Double, width: Double
    init?(argument: String) {
        let parts = argument.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2, parts[1] >= 1 else { return nil }
        (center, width) = (parts[0], parts[1])
    }
}

struct Render: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Write a DICOM frame or a JPEG 2000 / HTJ2K codestream as an 8-bit PNG.",
        discussion: """
            The window is --window CENTER,WIDTH, else the file's first WindowCenter/WindowWidth \
            (after RescaleSlope/Intercept), else the frame's min and max.
            """)

    @Argument(help: "A DICOM file or a codestream (.j2c, .jph).")
    var input: String

    @Option(help: "The PNG to write.")
    var png: String

    @Option(help: "Frame number, from 1.")
    var frame = 1

    @Option(help: "Window center and width, e.g. 40,400.")
    var window: WindowOption?

    @OptionGroup var output: OutputOptions

    func run() throws {
        try Paths.require([input])
        let source: PixelInput
        do { source = try PixelInput(path: input) } catch {
            printError("\(error)")
            throw ExitCode(1)
        }
        var pixels: PixelBuffer
        var win = window.map { (center: $0.center, width: $0.width) }
        var rescale = (slope: 1.0, intercept: 0.0)
        do {
            pixels = try source.decode(frame: frame)
            if let file = source.file {
                if let pi = file.dataSet.string(.photometricInterpretation), pi == "YBR_FULL" || pi == "YBR_FULL_422",
                   !file.transferSyntax.isEncapsulated || file.transferSyntax.codec == .rle {
                    pixels = pixels.rgbFromYBRFull()
                }
                func number(_ t: Tag) -> Double? {
                    file.dataSet.string(t).flatMap { Double($0.split(separator: "\\").first?.trimmingCharacters(in: .whitespaces) ?? "") }
                }
                rescale = (number(.rescaleSlope) ?? 1, number(.rescaleIntercept) ?? 0)
                if win == nil, let c = number(.windowCenter), let w = number(.windowWidth) { win = (c, w) }
            }
        } catch let e as ValidationError {
            throw e
        } catch {
            printError("\(input): \(error)")
            throw ExitCode(1)
        }
        try OutputFile.write(png, PNGWriter.png(pixels, window: win, rescale: rescale))
        if output.json { return try printJSON(PixelSummary(pixels, out: png)) }
        print("\(pixels.width)×\(pixels.height) → \(png)")
    }
}

struct FrameCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "frame", abstract: "Fetch one stored frame (GetImageFrame) and write it as a PNG or the raw codestream.")

    @OptionGroup var service: ServiceOptions

    @Option(name: .customLong("image-set"), help: "The image set.")
    var imageSet: String

    @Option(name: .customLong("frame-id"), help: "The frame id (from the metadata's ImageFrames).")
    var frameId: String

    @Option(help: "Write an 8-bit PNG here.")
    var png: String?

    @Option(help: "Write the codestream as received here.")
    var out: String?

    @Option(help: "Window center and width, e.g. 40,400 (default: min/max).")
    var window: WindowOption?

    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        let bytes: Int
        let contentType: String
        let out: String?
        let png: String?
    }

    func run() async throws {
        guard png != nil || out != nil else { throw ValidationError("give --png or --out") }
        let (bytes, type) = try await service.connect().use { c in
            try await c.healthImaging.getImageFrame(datastoreId: c.datastore, imageSetId: imageSet, imageFrameId: frameId)
        }
        if let out { try Data(bytes).write(to: URL(fileURLWithPath: out)) }
        if let png {
            let pixels = try J2KDecoder.decode(bytes)
            try Data(PNGWriter.png(pixels, window: window.map { ($0.center, $0.width) })).write(to: URL(fileURLWithPath: png))
        }
        if output.json { return try printJSON(Report(bytes: bytes.count, contentType: type, out: out, png: png)) }
        print("\(bytes.count) bytes (\(type))")
    }
}
