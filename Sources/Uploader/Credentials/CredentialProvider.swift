import Foundation

/// Credentials for long runs: resolved through the chain once, kept, and resolved
/// again (a `credential_process` run again, STS asked again) before temporary ones
/// expire, so an upload that lasts hours keeps signing with valid keys.
///
/// The refresh rule: credentials with a lifetime of `L` (from when they were fetched to
/// their `expiration`) are refreshed `min(refreshAhead, L × lifetimeFraction)` before
/// they expire: 5 minutes ahead for hour-long STS sessions, 5 s ahead (after 15 s) for a
/// helper that hands out 20-second credentials. Credentials that arrive already expired
/// are refused, naming their source. A refresh that fails while the kept credentials
/// still have more than half that margin left keeps them (and tries again on the next
/// call), as botocore's advisory refresh does; after that it is an error. Concurrent
/// callers share one refresh.
public actor CredentialProvider {
    private let chain: CredentialChain
    private let refreshAhead: TimeInterval
    private let lifetimeFraction: Double
    private var cached: (credentials: AWSCredentials, refreshAt: Date, mandatoryAt: Date)?
    private var pending: Task<AWSCredentials, any Error>?
    /// How many times the chain was resolved (for tests and `--debug`).
    public private(set) var resolutions = 0

    /// A provider over `chain`.
    /// - Parameters:
    ///   - refreshAhead: the longest time before expiry to refresh (default 5 minutes).
    ///   - lifetimeFraction: the share of the credentials' lifetime to refresh ahead when that
    ///     is shorter (default a quarter; 1 refreshes on every call).
    public init(chain: CredentialChain, refreshAhead: TimeInterval = 300, lifetimeFraction: Double = 0.25) {
        self.chain = chain
        self.refreshAhead = refreshAhead
        self.lifetimeFraction = lifetimeFraction
    }

    /// How long before expiry credentials with `lifetime` seconds to live are refreshed.
    public static func refreshMargin(lifetime: TimeInterval, refreshAhead: TimeInterval = 300,
                                     lifetimeFraction: Double = 0.25) -> TimeInterval {
        max(0, min(refreshAhead, lifetime * lifetimeFraction))
    }

    /// Valid credentials, refreshed when the kept ones are due.
    /// - Throws: the chain's ``CredentialError``, or one for credentials that arrived expired.
    public func credentials() async throws -> AWSCredentials {
        if let c = cached, Date() < c.refreshAt { return c.credentials }
        if let pending { return try await pending.value }
        let task = Task { try await self.refresh() }
        pending = task
        defer { pending = nil }
        return try await task.value
    }

    private func refresh() async throws -> AWSCredentials {
        let fetchedAt = Date()
        let fresh: AWSCredentials
        do {
            fresh = try await chain.resolveAll()
        } catch {
            if let c = cached, Date() < c.mandatoryAt { return c.credentials }
            throw error
        }
        resolutions += 1
        guard let expiration = fresh.expiration else {
            cached = (fresh, .distantFuture, .distantFuture)
            return fresh
        }
        let lifetime = expiration.timeIntervalSince(fetchedAt)
        guard expiration > Date() else {
            throw CredentialError.invalid(source: fresh.source, reason: "the credentials it returned expired at \(expiration) "
                                              + "(\(Int(-expiration.timeIntervalSinceNow)) s ago); check its cache and this machine's clock")
        }
        let margin = Self.refreshMargin(lifetime: lifetime, refreshAhead: refreshAhead, lifetimeFraction: lifetimeFraction)
        cached = (fresh, expiration.addingTimeInterval(-margin), expiration.addingTimeInterval(-margin / 2))
        return fresh
    }
}
