import DICOMweb
import Foundation
import Uploader

/// How files reach the data store.
public enum Delivery: String, Sendable, Codable, CaseIterable {
    /// Upload to S3, then StartDICOMImportJob (asynchronous; needs a bucket and a data access role).
    case s3Import = "s3-import"
    /// DICOMweb STOW-RS straight to the data store (synchronous; no bucket, no role, no job).
    case stowRS = "stow-rs"
}

/// Delivery through STOW-RS: files packed into `multipart/related` requests, each
/// instance's outcome read from the answer (``StoreOutcome``) and settled as
/// `import` reports and `sync` records it.
public struct StowDelivery: Sendable {
    /// Where the instances go.
    public let client: DICOMwebClient
    /// Request size, count and concurrency.
    public let limits: StoreLimits
    /// Progress lines.
    public let log: (@Sendable (String) -> Void)?

    public init(client: DICOMwebClient, limits: StoreLimits, log: (@Sendable (String) -> Void)? = nil) {
        self.client = client
        self.limits = limits
        self.log = log
    }

    /// The STOW-RS item of a planned file.
    public static func item(_ f: ImportFile) -> StoreItem {
        StoreItem(path: f.path, size: f.size, sopInstanceUID: f.sopInstanceUID)
    }

    /// What an outcome means for the file: stored (with warnings), refused for its data
    /// (`customer`: not sent again until the file changes), or failed on the service's side
    /// or unconfirmed (`server`: sent again later, with backoff).
    public struct Settlement: Sendable, Equatable {
        public var stored: Bool
        public var warnings: [String]
        public var reason: String?
        public var kind: FailureKind?
    }

    /// Settles one outcome.
    ///
    /// FailureReason (PS3.18 Table I.2-2) A9xx (does not match its SOP class), Cxxx (cannot
    /// understand, C122 transfer syntax) and 0122 (SOP class not supported) are the data's;
    /// A7xx (out of resources), 0110 (processing failure), a refusal without a reason and an
    /// unconfirmed instance are the service's, and are sent again later.
    public static func settle(_ outcome: StoreOutcome) -> Settlement {
        switch outcome {
        case .stored(let warning):
            return Settlement(stored: true, warnings: warning.map { ["STOW-RS WarningReason " + StoreResponse.describe(warningReason: $0)] } ?? [],
                              reason: nil, kind: nil)
        case .failed(let reason?, let detail):
            let customer = (0xA900...0xA9FF).contains(reason) || (0xC000...0xCFFF).contains(reason) || reason == 0x0122
            return Settlement(stored: false, warnings: [], reason: "STOW-RS FailureReason \(detail)", kind: customer ? .customer : .server)
        case .failed(nil, let detail):
            return Settlement(stored: false, warnings: [], reason: "STOW-RS refused the request: \(detail)", kind: .server)
        case .unconfirmed(let detail):
            return Settlement(stored: false, warnings: [], reason: "STOW-RS did not confirm it: \(detail)", kind: .server)
        }
    }
}
