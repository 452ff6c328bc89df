import Foundation
import Uploader

/// Follows import jobs to their end, for `import` and `sync` alike: GetDICOMImportJob
/// for every pending job each round (40 ms apart; the account allows 25 calls/s),
/// pauses growing from 1 s by 1.5× up to `maxInterval`, and polling kept up through
/// as many as 30 consecutive retryable failures (a service restarting).
public struct ImportJobPoller: Sendable {
    public let client: HealthImagingClient
    public let datastoreId: String
    /// The longest pause between two rounds.
    public var maxInterval: Double
    /// Where "polling again" lines go.
    public let log: (@Sendable (String) -> Void)?

    public init(client: HealthImagingClient, datastoreId: String, maxInterval: Double = 15, log: (@Sendable (String) -> Void)? = nil) {
        self.client = client
        self.datastoreId = datastoreId
        self.maxInterval = maxInterval
        self.log = log
    }

    /// Polls `jobIds` until each has ended, calling `ended` once per job as it ends.
    /// `pauseFirst` waits before the first round (a job just started is not done);
    /// `once` returns after one round; `shouldStop` ends the waiting early.
    public func poll(_ jobIds: [String], pauseFirst: Bool, once: Bool = false, shouldStop: @Sendable () -> Bool = { false },
                     ended: (DICOMImportJobProperties) async throws -> Void) async throws {
        var pending = jobIds.sorted()
        var interval = 1.0, unreachable = 0, first = true
        while !pending.isEmpty {
            if !first || pauseFirst {
                try await Task.sleep(nanoseconds: UInt64(interval * 1e9))
                interval = min(maxInterval, interval * 1.5)
            }
            first = false
            for jobId in pending {
                let props: DICOMImportJobProperties
                do {
                    props = try await client.getDICOMImportJob(datastoreId: datastoreId, jobId: jobId)
                    unreachable = 0
                } catch let error as AWSError where RetryPolicy.isRetryable(error) && unreachable < 30 {
                    // The transport already retried; the service may be restarting. Keep polling.
                    unreachable += 1
                    log?("poll: \(error); polling again")
                    continue
                }
                if props.jobStatus.isTerminal {
                    pending.removeAll { $0 == jobId }
                    try await ended(props)
                }
                try await Task.sleep(nanoseconds: 40_000_000)
            }
            if once || shouldStop() { return }
        }
    }
}
