import Foundation

/// A local HealthImaging: one loopback HTTP server that answers SigV4-signed S3
/// (path-style) and `medical-imaging` requests, with its data in a directory so it
/// survives restarts. Import jobs run in the background like the real service.
/// DICOMweb (STOW-RS, WADO-RS, QIDO-RS) is served at `/datastore/{id}/studies…` on the
/// same port, signed for `medical-imaging` (any `Host`, e.g. a `dicom-` prefixed one: the
/// signature is checked against the Host received).
/// Clients: the AWS CLI and boto3 with `--endpoint-url` (and
/// `AWS_DISABLE_HOST_PREFIX_INJECTION=true`, so `runtime-` is not put before
/// 127.0.0.1), and `ahi-upload --endpoint-url` / `--local`.
public final class LocalHealthImagingServer: Sendable {
    /// How to run it.
    public struct Configuration: Sendable {
        /// The address to bind; loopback unless told otherwise.
        public var host = "127.0.0.1"
        /// The port; 0 picks a free one.
        public var port = 0
        /// Where S3 objects, image sets, frames and job state live.
        public var dataDirectory: URL
        /// The access key id clients must sign with.
        public var accessKeyId = LocalHealthImagingServer.defaultAccessKeyId
        /// Its secret.
        public var secretAccessKey = LocalHealthImagingServer.defaultSecretAccessKey
        /// Faults to inject (tests).
        public var faults = Faults()
        /// When set, one line per signed request (`METHOD target`) is appended here (tests count uploads with it).
        public var requestLog: URL?

        /// A configuration with its data in `dataDirectory`.
        public init(dataDirectory: URL) { self.dataDirectory = dataDirectory }
    }

    /// The default access key id.
    public static let defaultAccessKeyId = "AKIAAHILOCAL00000000"
    /// The default secret access key.
    public static let defaultSecretAccessKey = "ahi-local-secret-access-key"

    private let http: HTTPServer
    /// The S3 side.
    public let s3: S3Store
    /// The HealthImaging side.
    public let healthImaging: HealthImagingStore
    /// `http://127.0.0.1:PORT`.
    public var endpoint: String { "http://\(http.host.contains(":") ? "[\(http.host)]" : http.host):\(http.port)" }
    /// The bound port.
    public var port: Int { http.port }

    private init(http: HTTPServer, s3: S3Store, healthImaging: HealthImagingStore) {
        self.http = http
        self.s3 = s3
        self.healthImaging = healthImaging
    }

    /// Opens the data directory, resumes import jobs a stop interrupted, and starts serving.
    public static func start(_ config: Configuration) async throws -> LocalHealthImagingServer {
        try FileManager.default.createDirectory(at: config.dataDirectory, withIntermediateDirectories: true)
        let s3 = try S3Store(dataDirectory: config.dataDirectory)
        let ahi = try HealthImagingStore(dataDirectory: config.dataDirectory)
        let runner = ImportRunner(s3: s3, ahi: ahi, faults: config.faults)
        for job in await ahi.unfinishedJobs() {
            Task.detached { await runner.run(job, failing: false) }
        }
        let verifier = SigV4Verifier(accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey)
        let s3API = S3API(store: s3)
        let imaging = MedicalImagingAPI(ahi: ahi, runner: runner, faults: config.faults, counters: MedicalImagingAPI.Counters())
        let dicomweb = DICOMwebAPI(ahi: ahi, faults: config.faults, counters: DICOMwebAPI.Counters())
        let log = try config.requestLog.map { try RequestLog($0) }
        let http = try await HTTPServer.start(host: config.host, port: config.port) { request in
            switch verifier.verify(request) {
            case .success(let scope):
                log?.append("\(request.method) \(request.target)")
                if scope.service == "s3" { return await s3API.handle(request) }
                return DICOMwebAPI.handles(request) ? await dicomweb.handle(request) : await imaging.handle(request)
            case .failure(let f):
                if DICOMwebAPI.handles(request) && request.header("Authorization")?.contains("/s3/") != true {
                    return DICOMwebAPI.error(f.status, "\(f.code): \(f.message)")
                }
                if request.header("Authorization")?.contains("/medical-imaging/") == true {
                    let type = f.status == 403 ? "AccessDeniedException" : "ValidationException"
                    return MedicalImagingAPI.error(f.status, f.code == "SignatureDoesNotMatch" ? "InvalidSignatureException" : type, f.message)
                }
                return S3API.error(f.status, f.code, f.message)
            }
        }
        return LocalHealthImagingServer(http: http, s3: s3, healthImaging: ahi)
    }

    /// An append-only log of requests, one line each, written as they arrive.
    final class RequestLog: @unchecked Sendable {
        // @unchecked: the handle is used only under `lock`.
        private let handle: FileHandle
        private let lock = NSLock()

        init(_ url: URL) throws {
            if !FileManager.default.fileExists(atPath: url.path) { _ = FileManager.default.createFile(atPath: url.path, contents: nil) }
            handle = try FileHandle(forWritingTo: url)
            try handle.seekToEnd()
        }

        func append(_ line: String) { lock.withLock { handle.write(Data((line + "\n").utf8)) } }
    }

    /// Stops serving. Jobs in progress stop with the process; the next start resumes them.
    public func stop() async { await http.stop() }
}
