import ArgumentParser
import DICOMCore

#if canImport(Glibc)
import Glibc
#endif

@main
struct AHIUpload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ahi-upload",
        abstract: "Read, validate and move DICOM studies into AWS HealthImaging.",
        discussion: """
            ahi-upload FOLDER --datastore ID … (the default command, import) validates every file, uploads the valid ones to S3 and imports them into a HealthImaging data store, then reports each file.
            Try it without an AWS account: ahi-upload FOLDER --local (a HealthImaging started in this process; verify, jobs, job and frame take --local too).
            Defaults for --datastore, --bucket, --role-arn, --region, --profile come from AHI_* variables (AHI_DATASTORE, …) or ~/.config/ahi-upload/config (`datastore = …` lines).
            """,
        version: "0.1.0",
        subcommands: [Import.self, Dump.self, Validate.self, Upload.self, Jobs.self, Job.self, Verify.self, Decode.self, Render.self, FrameCommand.self,
                      SyncCommand.self, WatchCommand.self, StatusCommand.self, SearchCommand.self, RetrieveCommand.self, EchoCommand.self, SendCommand.self,
                      ReceiveCommand.self],
        defaultSubcommand: Import.self)
}

/// Writes to standard error: the text and its terminator in one `write(2)`, so lines that
/// concurrent tasks print do not interleave.
func printError(_ text: String, terminator: String = "\n") {
    var stderrStream = StandardError()
    stderrStream.write(text + terminator)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        var text = string
        _ = text.withUTF8 { writeAll(2, UnsafeRawBufferPointer($0)) }
    }
}
