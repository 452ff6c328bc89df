import ArgumentParser
import Foundation
import ImportPipeline
import LocalHealthImaging
import Uploader

/// Who signs and where S3 is: the options every command that talks to AWS shares (`upload` too).
struct AWSOptions: ParsableArguments {
    @Option(help: "AWS region (or AHI_REGION, AWS_REGION, the profile's region).")
    var region: String?

    @Option(help: "AWS profile from ~/.aws/config and ~/.aws/credentials (or AHI_PROFILE, AWS_PROFILE).")
    var profile: String?

    @Option(name: .customLong("s3-endpoint-url"), help: "An S3-compatible endpoint (path-style), e.g. http://127.0.0.1:8333 (or AHI_S3_ENDPOINT_URL).")
    var s3EndpointURL: String?

    @Flag(help: "Print every request, retry and the credential source (never secrets).")
    var debug = false

    /// `debug:` lines to standard error, with --debug.
    var debugLog: (@Sendable (String) -> Void)? {
        guard debug else { return nil }
        return { @Sendable line in printError("debug: " + line) }
    }
}

/// HealthImaging: the data store and endpoint, or `--local`. Every command that talks to
/// HealthImaging takes these.
struct ServiceOptions: ParsableArguments {
    @Option(help: "HealthImaging data store id (or AHI_DATASTORE, or the config file).")
    var datastore: String?

    @OptionGroup var aws: AWSOptions

    @Option(name: .customLong("endpoint-url"), help: "A HealthImaging endpoint, e.g. ahi-local's (or AHI_ENDPOINT_URL).")
    var endpointURL: String?

    @Flag(help: "Use HealthImaging's FIPS endpoint.")
    var fips = false

    @Flag(name: .customLong("dual-stack"), help: "Use the dual-stack (IPv6) endpoint.")
    var dualStack = false

    @Flag(help: "Use a local HealthImaging started in this process (no AWS account needed).")
    var local = false

    @Option(name: .customLong("local-dir"), help: "Where --local keeps its data (default: ~/.local/state/ahi-upload/local).")
    var localDir: String?

    var debug: Bool { aws.debug }

    /// The bucket and role `--local` imports with.
    static let localBucket = "ahi-local-imports"
    static let localRole = "arn:aws:iam::000000000000:role/ahi-local"

    /// Connects: the data store id and the clients (one credential provider for both),
    /// or with `--local` a local HealthImaging in this process (its data store created
    /// on first use). `close()` it when done.
    func connect(connections: Int = 8, log: ((String) -> Void)? = nil) async throws -> Connection {
        let d = Defaults.current
        if local {
            let home = d.environment["HOME"] ?? NSHomeDirectory()
            let dir = URL(fileURLWithPath: localDir ?? "\(home)/.local/state/ahi-upload/local")
            let server = try await LocalHealthImagingServer.start(LocalHealthImagingServer.Configuration(dataDirectory: dir))
            do {
                let creds = AWSCredentials(accessKeyId: LocalHealthImagingServer.defaultAccessKeyId,
                                           secretAccessKey: LocalHealthImagingServer.defaultSecretAccessKey, source: "ahi-local")
                let clients = try ServiceClients.local(endpoint: server.endpoint, credentials: creds, connections: connections,
                                                       debug: aws.debugLog)
                try await clients.s3.createBucket(Self.localBucket)
                var id = datastore
                if id == nil {
                    id = try await clients.healthImaging.listDatastores().first { $0.datastoreStatus == "ACTIVE" }?.datastoreId
                }
                if id == nil {
                    id = try await clients.healthImaging.createDatastore(name: "ahi-local", clientToken: "ahi-upload-local-default").id
                }
                let datastoreId = id ?? ""
                log?("local: HealthImaging at \(server.endpoint), data in \(dir.path), data store \(datastoreId)")
                return Connection(datastore: datastoreId, clients: clients, local: server)
            } catch {
                await server.stop()
                throw error
            }
        }
        guard let id = d.pick(datastore, "datastore") else {
            throw ValidationError("--datastore is required (or AHI_DATASTORE, or datastore = … in the config file); --local needs none")
        }
        var o = ServiceClients.Options(region: d.pick(aws.region, "region"), profile: d.pick(aws.profile, "profile"),
                                       endpointURL: d.pick(endpointURL, "endpoint-url"), s3EndpointURL: d.pick(aws.s3EndpointURL, "s3-endpoint-url"))
        o.fips = fips
        o.dualStack = dualStack
        o.connections = connections
        let clients = try await ServiceClients.make(o, environment: d.environment, debug: aws.debugLog)
        return Connection(datastore: id, clients: clients, local: nil)
    }
}

/// A connected data store: its id, the clients, and the local server when `--local`.
struct Connection: Sendable {
    let datastore: String
    let clients: ServiceClients
    let local: LocalHealthImagingServer?

    var healthImaging: HealthImagingClient { clients.healthImaging }
    var s3: S3Client { clients.s3 }

    /// Stops the local server, if any.
    func close() async { await local?.stop() }

    /// Runs `body`, then closes (also when it throws).
    func use<T>(_ body: (Connection) async throws -> T) async throws -> T {
        do {
            let r = try await body(self)
            await close()
            return r
        } catch {
            await close()
            throw error
        }
    }
}
