import Foundation

/// The AWS SDKs' "standard" retry mode: at most `maxAttempts` attempts,
/// exponential backoff with full jitter (a random delay in [0, min(base·2ⁱ, max)]),
/// and a shared retry budget (a token bucket) so that a failing endpoint is not
/// hammered by every request at once.
public final class RetryPolicy: @unchecked Sendable {
    // @unchecked: `tokens` and `retries` are guarded by `lock`.
    /// Attempts per request, the first included.
    public let maxAttempts: Int
    /// Scale of the backoff, in seconds.
    public let baseDelay: Double
    /// Longest single backoff, in seconds.
    public let maxDelay: Double
    private let lock = NSLock()
    private var tokens: Int
    private var retries = 0
    private static let retryCost = 5, timeoutCost = 10, bucketSize = 500

    /// Creates a policy (SDK defaults: 3 attempts, 20 s cap).
    public init(maxAttempts: Int = 3, baseDelay: Double = 0.1, maxDelay: Double = 20) {
        self.maxAttempts = max(1, maxAttempts)
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        tokens = Self.bucketSize
    }

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

    /// The full-jitter delay before attempt `attempt` (1 = the first retry).
    func delay(beforeRetry attempt: Int) -> Double {
        Double.random(in: 0...min(maxDelay, baseDelay * pow(2, Double(attempt))))
    }
}
