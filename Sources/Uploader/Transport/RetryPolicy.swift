import Foundation

/// The AWS SDKs' retry modes (`AWS_RETRY_MODE` / the profile's `retry_mode`):
/// **standard** (the default): at most `max_attempts` attempts (`AWS_MAX_ATTEMPTS` / the
/// profile's `max_attempts`, default 3), exponential backoff with full jitter — a random
/// delay in [0, min(base·2ⁱ, 20 s)], base 1 s for throttling errors and 0.1 s for other
/// transient ones — and a shared retry budget (a token bucket: 500, a retry costs 5, a
/// timeout 10, a success gives 1 back) so a failing endpoint is not hammered;
/// **adaptive**: the same, and requests are also held back while the service throttles
/// (which this client does in every mode, see ``ThrottleGate``); **legacy**: 5 attempts.
public final class RetryPolicy: @unchecked Sendable {
    // @unchecked: `tokens` and `retries` are guarded by `lock`.
    /// The mode in force.
    public enum Mode: String, Sendable { case standard, adaptive, legacy }
    /// Attempts per request, the first included.
    public let maxAttempts: Int
    /// Scale of the backoff for transient errors, in seconds.
    public let baseDelay: Double
    /// Scale of the backoff for throttling errors, in seconds.
    public let throttleBaseDelay: Double
    /// Longest single backoff, in seconds.
    public let maxDelay: Double
    /// The mode.
    public let mode: Mode
    /// Holds requests back while the service throttles (shared by every request of the transports using this policy).
    public let gate = ThrottleGate()
    private let lock = NSLock()
    private var tokens: Int
    private var retries = 0
    private static let retryCost = 5, timeoutCost = 10, bucketSize = 500

    /// Creates a policy (SDK standard defaults: 3 attempts, 20 s cap).
    public init(maxAttempts: Int = 3, baseDelay: Double = 0.1, throttleBaseDelay: Double = 1, maxDelay: Double = 20,
                mode: Mode = .standard) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.throttleBaseDelay = throttleBaseDelay
        self.maxDelay = maxDelay
        self.mode = mode
        tokens = Self.bucketSize
    }

    /// The policy the environment asks for: `AWS_RETRY_MODE` / `AWS_MAX_ATTEMPTS`, else the
    /// profile's `retry_mode` / `max_attempts` (profile from `AWS_PROFILE`, else `default`).
    /// Unknown or out-of-range values fall back to the defaults.
    public static func configured(environment: [String: String] = ProcessInfo.processInfo.environment,
                                  profile: String? = nil) -> RetryPolicy {
        // A file that cannot be parsed is reported by the credential chain, with its line; here it only means defaults.
        let settings = (try? ProfileFiles.load(environment: environment))?
            .settings(of: profile ?? environment["AWS_PROFILE"] ?? environment["AWS_DEFAULT_PROFILE"] ?? "default") ?? [:]
        func value(_ variable: String, _ key: String) -> String? {
            if let v = environment[variable], !v.isEmpty { return v }
            return settings[key].flatMap { $0.isEmpty ? nil : $0 }
        }
        let mode = value("AWS_RETRY_MODE", "retry_mode").flatMap { Mode(rawValue: $0.lowercased()) } ?? .standard
        let attempts = value("AWS_MAX_ATTEMPTS", "max_attempts").flatMap { Int($0) }.flatMap { (1...100).contains($0) ? $0 : nil }
        return RetryPolicy(maxAttempts: attempts ?? (mode == .legacy ? 5 : 3), mode: mode)
    }

    /// The settings `configured()` finds in this process's environment, read once.
    private static let processSettings = RetryPolicy.configured()

    /// A new policy (its own retry budget and throttle gate, as each SDK client has) with
    /// the settings of this process's environment.
    public static func processDefault() -> RetryPolicy {
        RetryPolicy(maxAttempts: processSettings.maxAttempts, mode: processSettings.mode)
    }

    /// True for "slow down" answers: HTTP 429, 503 SlowDown and the throttling codes.
    public static func isThrottling(_ error: AWSError) -> Bool {
        guard case .service(let status, let code, _, _, _) = error else { return false }
        return status == 429 || throttlingCodes.contains(code)
    }

    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
        "ProvisionedThroughputExceededException", "TransactionInProgressException", "RequestLimitExceeded",
        "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException",
    ]

    /// Error codes that are worth another attempt.
    static let retryableCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled",
        "SlowDown", "PriorRequestNotComplete", "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException",
        "InternalError", "InternalFailure", "ServiceUnavailable", "RequestTimeTooSkewed",
    ]

    /// True when an error may succeed on another attempt: 5xx, 429, throttling and
    /// timeout codes, dropped connections. Never authentication or validation errors.
    public static func isRetryable(_ error: AWSError) -> Bool {
        switch error {
        case .transport: return true
        case .invalidResponse: return false
        case .service(let status, let code, _, _, _):
            if retryableCodes.contains(code) { return true }
            if ["SignatureDoesNotMatch", "InvalidAccessKeyId", "AccessDenied", "ExpiredToken", "InvalidToken"].contains(code) {
                return false
            }
            return status >= 500 || status == 429
        }
    }

    /// Takes tokens for a retry of `error`; false when the budget is spent.
    func acquire(for error: AWSError) -> Bool {
        let cost: Int
        if case .transport(_, let reason) = error, reason.contains("timed out") { cost = Self.timeoutCost } else { cost = Self.retryCost }
        lock.lock()
        defer { lock.unlock() }
        guard tokens >= cost else { return false }
        tokens -= cost
        retries += 1
        return true
    }

    /// Gives a token back after a success.
    func recordSuccess() {
        lock.lock()
        tokens = min(Self.bucketSize, tokens + 1)
        lock.unlock()
    }

    /// Retries made so far (for `--debug` and tests).
    public var retryCount: Int {
        lock.lock()
        defer { lock.unlock() }
        return retries
    }

    /// The full-jitter delay before retry `attempt` (1 = the first retry) of `error`.
    func delay(beforeRetry attempt: Int, after error: AWSError? = nil) -> Double {
        let base = error.map(Self.isThrottling) == true ? throttleBaseDelay : baseDelay
        return Double.random(in: 0...min(maxDelay, base * pow(2, Double(attempt))))
    }
}

/// Holds requests back while a service throttles, shared by the requests of a transport:
/// a "slow down" answer to a request sent since the last one halves the requests allowed
/// in flight (down to 1) and pauses new sends for 2ⁿ s (n: such answers in a row, ≤ 20 s);
/// answers to requests sent before that change nothing more. Each success lets one more
/// request in flight, up to unlimited again. So a storm of SlowDown is probed by one
/// request at a time instead of burning every request's attempts at once.
public actor ThrottleGate {
    private var limit = Int.max
    private var inFlight = 0
    private var pausedUntil = ContinuousClock.now
    private var generation = 0
    private var strikes = 0
    private var waiters: [CheckedContinuation<Void, Never>] = []

    public init() {}

    /// Waits for a slot; returns the generation the request is sent in.
    public func enter() async -> Int {
        while true {
            let now = ContinuousClock.now
            if now < pausedUntil {
                try? await Task.sleep(until: pausedUntil, clock: .continuous)
                continue
            }
            if inFlight < limit { break }
            await withCheckedContinuation { waiters.append($0) }
        }
        inFlight += 1
        return generation
    }

    /// The request sent in `generation` ended; `throttled` when the service said slow down.
    public func leave(generation sent: Int, throttled: Bool) {
        inFlight -= 1
        if throttled {
            if sent == generation {
                generation += 1
                strikes += 1
                limit = max(1, min(limit, inFlight + 1) / 2)
                pausedUntil = ContinuousClock.now + .seconds(min(20, 1 << min(strikes, 5)))
            }
        } else {
            strikes = 0
            if limit != Int.max { limit = limit >= 64 ? Int.max : limit + 1 }
        }
        // Every waiter looks again (each re-checks the pause and the limit).
        if inFlight < limit, !waiters.isEmpty {
            let woken = waiters
            waiters.removeAll()
            for w in woken { w.resume() }
        }
    }

    /// Requests allowed in flight now (Int.max: no limit), for tests and --debug.
    public var allowed: Int { limit }
}
