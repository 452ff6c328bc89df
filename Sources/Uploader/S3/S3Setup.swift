import Foundation

/// Builds an `S3Client` the way the AWS CLI would: credentials from the chain,
/// region from the usual places, path-style for a custom endpoint.
public enum S3Setup {
    /// Why an S3 target could not be set up.
    public struct SetupError: Error, CustomStringConvertible, Sendable {
        /// The reason, for the user.
        public let description: String
        /// An error with this reason.
        public init(description: String) { self.description = description }
    }

    /// A client for `endpointURL` (or AWS when nil).
    public static func makeClient(endpointURL: String?, region explicitRegion: String?, profile: String?,
                                  connections: Int, checksumAlgorithm: ChecksumAlgorithm = .crc32c,
                                  environment: [String: String] = ProcessInfo.processInfo.environment,
                                  debug: (@Sendable (String) -> Void)? = nil) async throws -> S3Client {
        let chain = CredentialChain(environment: environment, profile: profile)
        let provider = CredentialProvider(chain: chain)
        let credentials = try await provider.credentials()  // fail now, with the chain's message, not mid-upload
        debug?("credentials: \(credentials)")
        let region = try await signingRegion(explicit: explicitRegion, environment: environment, profile: chain.profileName,
                                             customEndpoint: endpointURL != nil)
        return try makeClient(endpointURL: endpointURL, region: region, connections: connections, checksumAlgorithm: checksumAlgorithm,
                              credentials: { try await provider.credentials() }, debug: debug)
    }

    /// A client for `endpointURL` (path-style) or AWS S3 in `region` (virtual-hosted),
    /// signing with `credentials` (a provider shared with other services' clients).
    public static func makeClient(endpointURL: String?, region: String, connections: Int, checksumAlgorithm: ChecksumAlgorithm = .crc32c,
                                  credentials: @escaping @Sendable () async throws -> AWSCredentials,
                                  debug: (@Sendable (String) -> Void)? = nil) throws -> S3Client {
        let endpoint: Endpoint
        if let endpointURL {
            guard let e = Endpoint(endpointURL) else { throw SetupError(description: "\(endpointURL): not an http(s) URL") }
            endpoint = e
        } else {
            endpoint = Endpoint(scheme: "https", host: "s3.\(region).amazonaws.com")
        }
        let make: @Sendable (Endpoint, String) -> AWSTransport = { e, region in
            AWSTransport(endpoint: e, region: region, service: "s3", connections: connections, credentials: credentials, debug: debug)
        }
        return S3Client(transport: make(endpoint, region), pathStyle: endpointURL != nil, checksumAlgorithm: checksumAlgorithm,
                        debug: debug, makeTransport: make)
    }

    /// A path-style client for a local endpoint with fixed credentials (`ahi-upload --local`, tests).
    public static func makeClient(endpointURL: String, region: String, credentials: AWSCredentials, connections: Int,
                                  checksumAlgorithm: ChecksumAlgorithm = .crc32c,
                                  debug: (@Sendable (String) -> Void)? = nil) throws -> S3Client {
        try makeClient(endpointURL: endpointURL, region: region, connections: connections, checksumAlgorithm: checksumAlgorithm,
                       credentials: { credentials }, debug: debug)
    }
}
