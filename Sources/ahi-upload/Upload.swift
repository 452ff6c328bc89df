import ArgumentParser
import DICOMCore
import Foundation
import Uploader

struct Upload: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "upload",
        abstract: "Upload the files under a folder to S3 (the S3 half of an import); hidden ones only with --include-hidden.",
        discussion: """
            Keys are the files' paths relative to FOLDER, after the prefix. Small files \
            are sent with PutObject, large ones in parts; every object and part carries a \
            CRC-32C (x-amz-checksum-crc32c, computed with the CPU's CRC instruction) that the \
            server checks. A failed multipart upload \
            is aborted, never left behind. Credentials and region come from the AWS chain: \
            --profile, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN, \
            ~/.aws/credentials and ~/.aws/config (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE), \
            role_arn with source_profile or credential_source (STS AssumeRole), web identity \
            (AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN), credential_process, the ECS/EKS \
            container endpoint, EC2 instance metadata (IMDSv2); --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
            """)

    @Argument(help: "The folder to upload.")
    var folder: String

    @Argument(help: "Destination, s3://bucket/prefix (the prefix is a folder: a trailing / is added).")
    var destination: String

    @Option(help: "Requests in flight at once.")
    var concurrency: Int = 10

    @OptionGroup var aws: AWSOptions

    @Option(help: "Files at least this many MiB use multipart upload.")
    var multipartThresholdMib: Int = 16

    @Option(help: "Part size in MiB (at least 5; raised so no file needs more than 10,000 parts).")
    var partSizeMib: Int = 8

    @Option(help: "Checksum sent with every object and part for the server to verify: CRC32C or CRC32.")
    var checksumAlgorithm: ChecksumAlgorithm = .crc32c

    @Flag(name: .customLong("include-hidden"), help: "Upload hidden files and folders (\".name\") too; by default they are skipped and counted.")
    var includeHidden = false

    @OptionGroup var output: OutputOptions

    struct Report: Encodable {
        let destination: String
        let files: Int
        let uploaded: Int
        let bytes: Int
        let seconds: Double
        let retries: Int
        let failed: [[String: String]]
        /// Hidden entries passed over (without --include-hidden).
        let hiddenSkipped: [String]
    }

    func run() async throws {
        try Paths.require([folder], folders: true)
        let target = try S3URI(parsing: destination).folder
        let bucket = target.bucket, prefix = target.key
        let d = Defaults.current
        let client = try await S3Setup.makeClient(endpointURL: d.pick(aws.s3EndpointURL, "s3-endpoint-url"), region: d.pick(aws.region, "region"),
                                                  profile: d.pick(aws.profile, "profile"), connections: concurrency,
                                                  checksumAlgorithm: checksumAlgorithm, environment: d.environment, debug: aws.debugLog)
        let walk = FileWalker.walk([folder], includeHidden: includeHidden)
        let (paths, problems) = (walk.files, walk.problems)
        for p in problems { printError("\(p.path): \(p.reason)") }
        let root = folder.hasSuffix("/") ? folder : folder + "/"
        var files: [(path: String, key: String)] = []
        for path in paths {
            let relative = path.hasPrefix(root) ? String(path.dropFirst(root.count)) : (path as NSString).lastPathComponent
            files.append((path: path, key: prefix + relative))
        }
        let interactive = isatty(2) == 1
        let uploader = FolderUploader(client: client, concurrency: concurrency,
                                      multipartThreshold: multipartThresholdMib << 20, partSize: partSizeMib << 20)
        let started = Date()
        let results = await uploader.upload(files, bucket: bucket, progress: { line in
            if interactive { printError("\r\u{1B}[K" + line, terminator: "") } else { printError(line) }
        }, interactive: interactive)
        if interactive { printError("") }
        let seconds = Date().timeIntervalSince(started)
        let failed = results.filter { $0.error != nil }
        for f in failed { printError("\(f.path): \(f.error ?? "")") }
        let bytes = results.filter { $0.error == nil }.reduce(0) { $0 + $1.size }
        if output.json {
            try printJSON(Report(destination: destination, files: results.count, uploaded: results.count - failed.count, bytes: bytes,
                                 seconds: seconds, retries: client.retryCount,
                                 failed: failed.map { ["path": $0.path, "error": $0.error ?? ""] } + problems.map { ["path": $0.path, "error": $0.reason] },
                                 hiddenSkipped: walk.hidden))
        } else {
            var line = String(format: "uploaded %d of %d files (%.1f MB) to s3://%@/%@ in %.1f s: %.1f files/s, %.1f MB/s; %d failed; %d retries",
                              results.count - failed.count, results.count, Double(bytes) / 1e6, bucket, prefix, seconds,
                              Double(results.count - failed.count) / max(seconds, 0.001), Double(bytes) / 1e6 / max(seconds, 0.001),
                              failed.count, client.retryCount)
            if !problems.isEmpty { line += "; \(problems.count) path\(problems.count == 1 ? "" : "s") not readable (above)" }
            if !walk.hidden.isEmpty {
                line += "; skipped \(walk.hidden.count) hidden file\(walk.hidden.count == 1 ? "" : "s") or folder\(walk.hidden.count == 1 ? "" : "s") (--include-hidden to upload them)"
            }
            print(line)
        }
        await client.shutdown()
        if !failed.isEmpty || !problems.isEmpty { throw ExitCode(1) }
    }
}

extension ChecksumAlgorithm: ExpressibleByArgument {
    public init?(argument: String) { self.init(rawValue: argument.uppercased()) }
    public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
