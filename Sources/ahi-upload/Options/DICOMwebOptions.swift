import ArgumentParser
import DICOMweb
import Foundation
import Uploader

/// How requests to a DICOMweb service are authenticated.
enum DICOMwebAuth: String, ExpressibleByArgument, CaseIterable {
    /// SigV4 with the AWS credentials (HealthImaging).
    case sigv4
    /// HTTP Basic: `--dicomweb-user`, password from AHI_DICOMWEB_PASSWORD.
    case basic
    /// None.
    case none
}

/// Where DICOMweb requests go (`import/sync/watch --via stow-rs`, `search`, `retrieve`):
/// HealthImaging's DICOMweb endpoint for the data store by default, or another server.
struct DICOMwebOptions: ParsableArguments {
    @Option(name: .customLong("dicomweb-endpoint-url"), help: ArgumentHelp("""
        The DICOMweb service. Default: HealthImaging's, dicom-medical-imaging.REGION.amazonaws.com (or the \
        --endpoint-url server) under /datastore/ID. A URL with a path (http://127.0.0.1:8042/dicom-web) is the base \
        as given (or AHI_DICOMWEB_ENDPOINT_URL).
        """, valueName: "url"))
    var dicomwebEndpointURL: String?

    @Option(name: .customLong("dicomweb-auth"), help: ArgumentHelp("""
        sigv4 (HealthImaging; the default), basic (--dicomweb-user, password from AHI_DICOMWEB_PASSWORD) or none.
        """, valueName: "mode"))
    var dicomwebAuth: DICOMwebAuth?

    @Option(name: .customLong("dicomweb-user"), help: "The user for --dicomweb-auth basic (or AHI_DICOMWEB_USER).")
    var dicomwebUser: String?

    /// The URL given, if any.
    var url: String? { Defaults.current.pick(dicomwebEndpointURL, "dicomweb-endpoint-url") }

    /// The authentication mode (basic/none need no AWS credentials).
    func authentication() throws -> TransportAuthentication {
        let d = Defaults.current
        let mode = dicomwebAuth ?? d.pick(nil, "dicomweb-auth").flatMap(DICOMwebAuth.init(rawValue:)) ?? .sigv4
        switch mode {
        case .sigv4: return .sigV4
        case .none: return .none
        case .basic:
            guard let user = d.pick(dicomwebUser, "dicomweb-user") else {
                throw ValidationError("--dicomweb-auth basic needs --dicomweb-user (or AHI_DICOMWEB_USER)")
            }
            guard let password = d.environment["AHI_DICOMWEB_PASSWORD"] else {
                throw ValidationError("--dicomweb-auth basic reads the password from AHI_DICOMWEB_PASSWORD (never from the command line)")
            }
            return .basic(user: user, password: password)
        }
    }

    /// A client: on `connection`'s credentials and data store for SigV4, or for the server at
    /// `--dicomweb-endpoint-url` with basic or no authentication (then `connection` may be nil:
    /// no AWS credentials are needed).
    /// - Throws: `ValidationError` for a missing URL or malformed options.
    func client(_ connection: Connection?, connections: Int = 8, debug: (@Sendable (String) -> Void)?) throws -> DICOMwebClient {
        let auth = try authentication()
        do {
            if case .sigV4 = auth {
                guard let connection else { throw ValidationError("SigV4 DICOMweb requests need AWS credentials") }
                return try connection.clients.dicomweb(datastoreId: connection.datastore, url: url, connections: connections)
            }
            guard let url else {
                throw ValidationError("--dicomweb-auth \(dicomwebAuth?.rawValue ?? "") needs --dicomweb-endpoint-url (HealthImaging signs with SigV4)")
            }
            return try DICOMwebClient.make(url: url, region: "us-east-1", datastoreId: connection?.datastore, authentication: auth,
                                           connections: connections,
                                           credentials: { throw S3Setup.SetupError(description: "no credentials for an unsigned transport") },
                                           debug: debug)
        } catch let error as S3Setup.SetupError {
            throw ValidationError(error.description)
        }
    }

    /// True when requests are not signed (no AWS connection is needed).
    var isUnsigned: Bool {
        guard let auth = try? authentication() else { return false }
        if case .sigV4 = auth { return false }
        return true
    }
}
