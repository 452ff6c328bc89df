import DICOMweb
import Foundation
import Uploader

/// The HealthImaging and S3 clients of one run, signing with one credential provider:
/// one credential chain is resolved (one AssumeRole for a role profile) and refreshed
/// for both services.
public struct ServiceClients: Sendable {
    public let healthImaging: HealthImagingClient
    public let s3: S3Client
    /// The region both sign for.
    public let region: String
    /// The credentials both sign with (one provider, refreshed), for the DICOMweb client.
    public let credentials: @Sendable () async throws -> AWSCredentials
    /// Where HealthImaging is (nil: AWS's endpoint for the region), FIPS and dual-stack: the DICOMweb
    /// endpoint is derived the same way.
    public let endpointURL: String?
    public let fips: Bool
    public let dualStack: Bool
    /// Connections per endpoint.
    public let connections: Int
    private let debug: (@Sendable (String) -> Void)?

    /// Where to connect and as whom.
    public struct Options: Sendable {
        public var region: String?
        public var profile: String?
        /// A HealthImaging endpoint (e.g. ahi-local's); nil for AWS.
        public var endpointURL: String?
        /// An S3 endpoint (path-style); nil for AWS.
        public var s3EndpointURL: String?
        public var fips = false
        public var dualStack = false
        /// Connections per endpoint.
        public var connections = 8
        public var checksumAlgorithm = ChecksumAlgorithm.crc32c
        public init(region: String? = nil, profile: String? = nil, endpointURL: String? = nil, s3EndpointURL: String? = nil) {
            self.region = region
            self.profile = profile
            self.endpointURL = endpointURL
            self.s3EndpointURL = s3EndpointURL
        }
    }

    public init(healthImaging: HealthImagingClient, s3: S3Client, region: String,
                credentials: @escaping @Sendable () async throws -> AWSCredentials, endpointURL: String? = nil,
                fips: Bool = false, dualStack: Bool = false, connections: Int = 8, debug: (@Sendable (String) -> Void)? = nil) {
        self.healthImaging = healthImaging
        self.s3 = s3
        self.region = region
        self.credentials = credentials
        self.endpointURL = endpointURL
        self.fips = fips
        self.dualStack = dualStack
        self.connections = connections
        self.debug = debug
    }

    /// A DICOMweb client on the same credentials and region: HealthImaging's for `datastoreId`
    /// (`dicom-medical-imaging.{region}`, or the HealthImaging endpoint URL), or the server at `url`
    /// (see ``DICOMwebClient/make(url:region:datastoreId:endpointURL:fips:dualStack:authentication:connections:credentials:debug:)``).
    /// - Throws: ``S3Setup/SetupError`` for a malformed URL.
    public func dicomweb(datastoreId: String?, url: String? = nil, authentication: TransportAuthentication = .sigV4,
                         connections: Int? = nil) throws -> DICOMwebClient {
        try DICOMwebClient.make(url: url, region: region, datastoreId: datastoreId, endpointURL: endpointURL, fips: fips,
                                dualStack: dualStack, authentication: authentication, connections: connections ?? self.connections,
                                credentials: credentials, debug: debug)
    }

    /// Resolves the credential chain (`--profile`, environment, shared files, role
    /// profiles, web identity, container and instance credentials) once, and the region
    /// (``signingRegion(explicit:environment:profile:customEndpoint:)``), and builds both clients on them.
    /// - Throws: the chain's error when no credentials can be had (now, not mid-upload) or the
    ///   region is missing or malformed, or ``S3Setup/SetupError`` for a bad endpoint URL.
    public static func make(_ o: Options, environment: [String: String] = ProcessInfo.processInfo.environment,
                            debug: (@Sendable (String) -> Void)? = nil) async throws -> ServiceClients {
        let chain = CredentialChain(environment: environment, profile: o.profile)
        let provider = CredentialProvider(chain: chain)
        let credentials = try await provider.credentials()
        debug?("credentials: \(credentials)")
        let region = try await signingRegion(explicit: o.region, environment: environment, profile: chain.profileName,
                                             customEndpoint: o.endpointURL != nil || o.s3EndpointURL != nil)
        let get: @Sendable () async throws -> AWSCredentials = { try await provider.credentials() }
        let healthImaging = try HealthImagingClient.make(region: region, endpointURL: o.endpointURL, fips: o.fips, dualStack: o.dualStack,
                                                         connections: o.connections, environment: environment, credentials: get, debug: debug)
        let s3 = try S3Setup.makeClient(endpointURL: o.s3EndpointURL, region: region, connections: o.connections,
                                        checksumAlgorithm: o.checksumAlgorithm, credentials: get, debug: debug)
        return ServiceClients(healthImaging: healthImaging, s3: s3, region: region, credentials: get, endpointURL: o.endpointURL,
                              fips: o.fips, dualStack: o.dualStack, connections: o.connections, debug: debug)
    }

    /// Clients for a local HealthImaging + S3 on one endpoint (ahi-local), with fixed credentials.
    public static func local(endpoint: String, credentials: AWSCredentials, connections: Int = 8,
                             debug: (@Sendable (String) -> Void)? = nil) throws -> ServiceClients {
        let healthImaging = try HealthImagingClient.make(region: "us-east-1", endpointURL: endpoint, connections: connections,
                                                         credentials: { credentials }, debug: debug)
        let s3 = try S3Setup.makeClient(endpointURL: endpoint, region: "us-east-1", credentials: credentials, connections: connections,
                                        debug: debug)
        return ServiceClients(healthImaging: healthImaging, s3: s3, region: "us-east-1", credentials: { credentials },
                              endpointURL: endpoint, connections: connections, debug: debug)
    }
}
