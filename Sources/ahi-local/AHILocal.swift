import ArgumentParser
import Foundation
import LocalHealthImaging

@main
struct AHILocal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ahi-local",
        abstract: "A local AWS HealthImaging: S3 and medical-imaging on one loopback port, no AWS account needed.",
        discussion: """
            Serves the S3 operations an import needs (path-style) and the medical-imaging \
            operations CreateDatastore, GetDatastore, ListDatastores, DeleteDatastore, \
            StartDICOMImportJob, GetDICOMImportJob, ListDICOMImportJobs, SearchImageSets, \
            GetImageSet, GetImageSetMetadata and GetImageFrame, and DICOMweb at \
            /datastore/{id}/studies… (STOW-RS, WADO-RS, QIDO-RS, signed for medical-imaging). Every request must be \
            SigV4-signed with the configured key pair. Data persists in --data-dir; import \
            jobs interrupted by a stop resume at the next start.

            With the AWS CLI:
              export AWS_ACCESS_KEY_ID=\(LocalHealthImagingServer.defaultAccessKeyId)
              export AWS_SECRET_ACCESS_KEY=\(LocalHealthImagingServer.defaultSecretAccessKey)
              export AWS_DISABLE_HOST_PREFIX_INJECTION=true   # no runtime- before 127.0.0.1
              aws medical-imaging list-datastores --endpoint-url http://127.0.0.1:8790 --region us-east-1
            """)

    @Option(help: "Port to listen on (0: any free port).")
    var port = 8790

    @Option(help: "Address to bind. Loopback by default; anything else exposes the server.")
    var host = "127.0.0.1"

    @Option(help: "Directory for objects, image sets, frames and job state (default: ~/.local/state/ahi-local).")
    var dataDir: String?

    @Option(help: "Access key id clients sign with.")
    var accessKey = LocalHealthImagingServer.defaultAccessKeyId

    @Option(help: "Secret access key clients sign with.")
    var secretKey = LocalHealthImagingServer.defaultSecretAccessKey

    @Option(help: ArgumentHelp("Inject a fault, for tests: throttle=N (every Nth start/poll answers 429), fail-job=N (the Nth job fails), manifest-delay=SECONDS, job-delay=SECONDS, stow-fail=UID[+UID…] (STOW-RS fails those SOP Instance UIDs with FailureReason 0110 and stores them not), stow-throttle=N (the first N STOW-RS requests answer 429), stow-unavailable=N (the next N answer 503). Repeatable.", valueName: "NAME=VALUE"))
    var fault: [String] = []

    @Option(name: .customLong("request-log"), help: "Append one line per signed request (METHOD target) to this file.")
    var requestLog: String?

    func run() async throws {
        let home = ProcessInfo.processInfo.environment["HOME"] ?? NSHomeDirectory()
        let dir = URL(fileURLWithPath: dataDir ?? "\(home)/.local/state/ahi-local")
        var config = LocalHealthImagingServer.Configuration(dataDirectory: dir)
        config.host = host
        config.port = port
        config.accessKeyId = accessKey
        config.secretAccessKey = secretKey
        for f in fault { try config.faults.add(f) }
        config.requestLog = requestLog.map { URL(fileURLWithPath: $0) }
        let server = try await LocalHealthImagingServer.start(config)
        // Unbuffered, so a supervisor reading a pipe or file sees the port at once.
        let banner = "ahi-local: data in \(dir.path)\nendpoint \(server.endpoint)\nlistening on \(server.port)\n"
        FileHandle.standardOutput.write(Data(banner.utf8))
        while true { try await Task.sleep(nanoseconds: 3_600_000_000_000) }
    }
}
