import ArgumentParser
import DICOMCore

struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print the elements of DICOM files, like dcmdump, or as DICOM JSON.",
        discussion: """
            Text output follows DCMTK's dcmdump: tag, VR, value, length, value \
            multiplicity and keyword, with sequence items indented. JSON output is \
            the DICOM JSON Model of PS3.18 Annex F (the data set without the File \
            Meta group); with several files it is JSON Lines, one object per file.

            Damaged files are read as far as possible; each problem is reported on \
            standard error with the file, byte offset and tag. The exit code is 1 \
            when any file could not be read.
            """)

    @Argument(help: "DICOM files to dump.")
    var files: [String]

    @Option(name: .long, help: "Output: text (dcmdump style) or json (DICOM JSON Model).")
    var output: OutputFormat?

    @Option(name: .long, help: .hidden)
    var format: OutputFormat?

    @Flag(name: .long, help: "Stop before the pixel data element (like pydicom's stop_before_pixels).")
    var stopBeforePixels = false

    @Flag(name: .long, help: "Fail on the first problem instead of reading leniently.")
    var strict = false

    @Flag(name: .long, help: "Do not print parse warnings to standard error.")
    var quiet = false

    func run() throws {
        try Paths.require(files)
        var failed = 0
        let options = ParseOptions(stopBeforePixelData: stopBeforePixels, strict: strict)
        let format = output ?? self.format ?? .text
        for path in files {
            do {
                let file = try DICOMFile.read(path: path, options: options)
                if !quiet {
                    for d in file.diagnostics { printError("\(path): \(d)") }
                }
                if file.diagnostics.contains(where: { $0.severity == .error }) { failed += 1 }
                switch format {
                case .json:
                    print(DICOMJSON.encode(file.dataSet))
                case .text:
                    if files.count > 1 { print("# File: \(path)") }
                    print(TextDump.dump(file), terminator: "")
                }
            } catch {
                failed += 1
                printError("error: \(error)")
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}
