import Foundation

/// Faults the local server can inject, for tests of the importer's failure paths.
public struct Faults: Sendable {
    /// Every Nth StartDICOMImportJob and GetDICOMImportJob answers 429 ThrottlingException (0: never).
    public var throttleEvery = 0
    /// The first N StartDICOMImportJob calls answer 429 ThrottlingException (0: none).
    public var throttleStarts = 0
    /// The Nth import job (counting from 1 since start) ends FAILED (0: never).
    public var failJob = 0
    /// Seconds between a job's COMPLETED and its manifests appearing in S3.
    public var manifestDelay = 0.0
    /// Seconds a job stays IN_PROGRESS before it reads its input (to restart the server mid-job).
    public var jobDelay = 0.0
    /// SOP Instance UIDs that STOW-RS answers in FailedSOPSequence with FailureReason 0x0110 and does not store.
    public var stowFail: Set<String> = []
    /// The first N STOW-RS requests answer 429 ThrottlingException (0: none).
    public var stowThrottle = 0
    /// The N STOW-RS requests after the throttled ones answer 503 ServiceUnavailableException (0: none).
    public var stowUnavailable = 0

    /// No faults.
    public init() {}

    /// Parses `throttle=N`, `throttle-starts=N`, `fail-job=N`, `manifest-delay=S`, `job-delay=S`,
    /// `stow-fail=UID[+UID…]`, `stow-throttle=N`, `stow-unavailable=N`.
    public mutating func add(_ spec: String) throws {
        let kv = spec.split(separator: "=", maxSplits: 1).map(String.init)
        guard kv.count == 2 else { throw LocalServerError.badOption("--fault \(spec): expected NAME=VALUE") }
        switch kv[0] {
        case "throttle": throttleEvery = Int(kv[1]) ?? 0
        case "throttle-starts": throttleStarts = Int(kv[1]) ?? 0
        case "fail-job": failJob = Int(kv[1]) ?? 0
        case "manifest-delay": manifestDelay = Double(kv[1]) ?? 0
        case "job-delay": jobDelay = Double(kv[1]) ?? 0
        case "stow-fail": stowFail.formUnion(kv[1].split(separator: "+").map(String.init))
        case "stow-throttle": stowThrottle = Int(kv[1]) ?? 0
        case "stow-unavailable": stowUnavailable = Int(kv[1]) ?? 0
        default:
            throw LocalServerError.badOption("--fault \(kv[0]): not one of throttle, throttle-starts, fail-job, manifest-delay, "
                                             + "job-delay, stow-fail, stow-throttle, stow-unavailable")
        }
    }
}

/// Errors of the local server's setup.
public enum LocalServerError: Error, CustomStringConvertible, Sendable {
    /// A bad command-line value.
    case badOption(String)
    /// What went wrong, for the user.
    public var description: String {
        switch self { case .badOption(let m): return m }
    }
}
