import Foundation
import Uploader

/// A DICOMweb service (PS3.18): HealthImaging's (`dicom-medical-imaging.{region}`, SigV4
/// service `medical-imaging`, resources under `/datastore/{datastoreId}`) or any other
/// server (Orthanc, dcm4chee) with basic or no authentication. Requests go through the
/// Uploader's ``AWSTransport``: its connection pool, retry policy (429/503 and connection
/// failures retried with backoff, re-signed each time) and credential provider.
///
/// STOW-RS is in `Store.swift`, WADO-RS and QIDO-RS in their own files.
public struct DICOMwebClient: Sendable {
    /// Where requests go, how they are signed, and the retry policy.
    public let transport: AWSTransport
    /// The path every resource is under, without a trailing slash (`/datastore/ID`, `/dicom-web`).
    public let basePath: String

    /// Creates a client on a transport.
    public init(transport: AWSTransport, basePath: String) {
        self.transport = transport
        var base = basePath
        while base.hasSuffix("/") { base.removeLast() }
        self.basePath = base
    }

    /// The service's base URL (`https://dicom-medical-imaging.us-east-1.amazonaws.com/datastore/ID`), for messages.
    public var baseURL: String { transport.endpoint.description + basePath }

    /// HealthImaging's DICOMweb endpoint: `dicom-medical-imaging[-fips].{region}.amazonaws.com`
    /// (`api.aws` dual-stack, `amazonaws.com.cn` in China), or `endpointURL` as given.
    /// - Throws: ``S3Setup/SetupError`` for a URL that is not http(s).
    public static func healthImagingEndpoint(region: String, endpointURL: String?, fips: Bool = false,
                                             dualStack: Bool = false) throws -> Endpoint {
        if let endpointURL {
            guard let e = Endpoint(endpointURL) else { throw S3Setup.SetupError(description: "\(endpointURL): not an http(s) URL") }
            return e
        }
        let suffix = dualStack ? "api.aws" : (region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com")
        return Endpoint(scheme: "https", host: "dicom-\(fips ? "medical-imaging-fips" : "medical-imaging").\(region).\(suffix)")
    }

    /// A client for HealthImaging's data store `datastoreId`, or for the DICOMweb service at `url`.
    ///
    /// - `url` nil: HealthImaging's endpoint for `region` (or `endpointURL`, e.g. ahi-local's), base `/datastore/ID`.
    /// - `url` without a path (`http://127.0.0.1:9000`): that server, base `/datastore/ID`.
    /// - `url` with a path (`http://127.0.0.1:8042/dicom-web`): that path is the base (Orthanc, dcm4chee).
    /// - Throws: ``S3Setup/SetupError`` for a malformed URL, or a DICOMweb URL without a data store when one is needed.
    public static func make(url: String?, region: String, datastoreId: String?, endpointURL: String? = nil,
                            fips: Bool = false, dualStack: Bool = false, authentication: TransportAuthentication = .sigV4,
                            connections: Int = 8, credentials: @escaping @Sendable () async throws -> AWSCredentials,
                            debug: (@Sendable (String) -> Void)? = nil) throws -> DICOMwebClient {
        let endpoint: Endpoint
        var path = ""
        if let url {
            guard let e = Endpoint(url), let components = URLComponents(string: url) else {
                throw S3Setup.SetupError(description: "\(url): not an http(s) URL")
            }
            endpoint = e
            path = components.percentEncodedPath
        } else {
            endpoint = try healthImagingEndpoint(region: region, endpointURL: endpointURL, fips: fips, dualStack: dualStack)
        }
        if path.isEmpty || path == "/" {
            guard let datastoreId, !datastoreId.isEmpty else {
                throw S3Setup.SetupError(description: "a data store id is needed for \(endpoint)/datastore/ID (or give the DICOMweb URL with its path)")
            }
            path = "/datastore/\(datastoreId)"
        } else {
            path = path.removingPercentEncoding ?? path
        }
        let transport = AWSTransport(endpoint: endpoint, region: region, service: "medical-imaging", connections: connections,
                                     readTimeout: 300, authentication: authentication, credentials: credentials, debug: debug)
        return DICOMwebClient(transport: transport, basePath: path)
    }

    /// `{base}/studies[/S[/series/SE[/instances/I]]]`.
    public func path(study: String? = nil, series: String? = nil, instance: String? = nil) -> String {
        var p = basePath + "/studies"
        if let study {
            p += "/\(study)"
            if let series {
                p += "/series/\(series)"
                if let instance { p += "/instances/\(instance)" }
            }
        }
        return p
    }
}
