import Foundation
import Uploader

/// Starts import jobs for `import`, `sync` and `watch` alike: at most one
/// StartDICOMImportJob per `interval` (1 s, HealthImaging's documented rate) from this
/// process, `ThrottlingException` / HTTP 429 waited out with exponential backoff and
/// full jitter (StartDICOMImportJob's rate is per account, so other processes — other
/// shards — may use it up), and never a second job for one ``ImportJobIdentity``: a
/// repeated start returns the job the first one got, and its client token makes the
/// service do the same across processes.
public actor ImportJobStarter {
    /// What StartDICOMImportJob is asked.
    public struct Request: Sendable, Equatable {
        public let identity: ImportJobIdentity
        public let jobName: String
        public let roleArn: String
        public let clientToken: String
        public let inputS3Uri: String
        public let outputS3Uri: String
    }

    /// The call itself (a ``HealthImagingClient``'s, or a scripted one in tests).
    public typealias Start = @Sendable (Request) async throws -> StartedImportJob

    private let startCall: Start
    private let interval: Double
    private let maxWait: Double
    private let baseDelay: Double
    private let maxDelay: Double
    private let now: @Sendable () -> Double
    private let sleep: @Sendable (Double) async throws -> Void
    private let shouldStop: @Sendable () -> Bool
    private let log: (@Sendable (String) -> Void)?
    private let random: @Sendable () -> Double
    private var nextSlot = -Double.infinity
    private var started: [ImportJobIdentity: StartedImportJob] = [:]

    /// Creates a starter.
    /// - Parameters:
    ///   - interval: seconds between two starts (1.05: a little over the service's 1/s).
    ///   - maxWait: seconds a throttled start is retried before its error is thrown.
    ///   - baseDelay, maxDelay: the backoff after the n-th throttled answer is a random
    ///     time up to `min(maxDelay, baseDelay · 2ⁿ)` seconds (full jitter).
    public init(start: @escaping Start, interval: Double = 1.05, maxWait: Double = 900, baseDelay: Double = 1,
                maxDelay: Double = 20, shouldStop: @escaping @Sendable () -> Bool = { false },
                log: (@Sendable (String) -> Void)? = nil,
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                sleep: @escaping @Sendable (Double) async throws -> Void = { try await Task.sleep(nanoseconds: UInt64(max(0, $0) * 1e9)) },
                random: @escaping @Sendable () -> Double = { Double.random(in: 0.5...1) }) {
        startCall = start
        self.interval = interval
        self.maxWait = maxWait
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.shouldStop = shouldStop
        self.log = log
        self.now = now
        self.sleep = sleep
        self.random = random
    }

    /// A starter calling `client`'s StartDICOMImportJob.
    public init(client: HealthImagingClient, shouldStop: @escaping @Sendable () -> Bool = { false },
                log: (@Sendable (String) -> Void)? = nil) {
        self.init(start: { r in
            try await client.startDICOMImportJob(datastoreId: r.identity.datastoreId, jobName: r.jobName, roleArn: r.roleArn,
                                                 clientToken: r.clientToken, inputS3Uri: r.inputS3Uri, outputS3Uri: r.outputS3Uri)
        }, shouldStop: shouldStop, log: log)
    }

    /// True for the answers that mean "too many requests": retried here however long it takes (up to `maxWait`).
    public static func isThrottling(_ error: Error) -> Bool {
        guard let e = error as? AWSError, case .service(let status, let code, _, _, _) = e else { return false }
        return status == 429 || code == "ThrottlingException" || code == "TooManyRequestsException"
    }

    /// Starts the job (once per identity), pacing and waiting out throttling.
    /// - Throws: the service's error when it is not throttling, or when throttling lasts
    ///   longer than `maxWait` or a stop was asked for; `CancellationError` when cancelled.
    public func start(_ request: Request) async throws -> StartedImportJob {
        if let job = started[request.identity] { return job }
        let deadline = now() + maxWait
        var throttled = 0
        while true {
            // Reserve the next free slot before waiting, so concurrent callers never share one.
            let slot = max(now(), nextSlot)
            nextSlot = slot + interval
            let wait = slot - now()
            if wait > 0 { try await sleep(wait) }
            if let job = started[request.identity] { return job }
            do {
                let job = try await startCall(request)
                started[request.identity] = job
                return job
            } catch where Self.isThrottling(error) && now() < deadline && !shouldStop() {
                throttled += 1
                let delay = min(maxDelay, baseDelay * pow(2, Double(min(throttled, 16)))) * random()
                log?("import: \(request.identity): StartDICOMImportJob throttled (\(throttled)); starting again in \(String(format: "%.1f", delay)) s")
                nextSlot = max(nextSlot, now() + delay)
            }
        }
    }
}
