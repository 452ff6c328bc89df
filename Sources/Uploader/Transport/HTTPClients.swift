import AsyncHTTPClient
import Foundation

/// The process's HTTP clients, one per pool shape, created on first use and kept
/// for the life of the process (idle connections close after 60 s). A transport
/// never owns a client, so no code path can drop one without shutting it down.
enum HTTPClients {
    private struct Key: Hashable {
        let connections: Int
        let connectMilliseconds: Int64
        let readMilliseconds: Int64
    }

    private static let lock = NSLock()
    nonisolated(unsafe) private static var clients: [Key: HTTPClient] = [:]  // guarded by `lock`

    /// A client with `connections` pooled connections per host and the given timeouts.
    static func client(connections: Int, connectMilliseconds: Int64, readMilliseconds: Int64) -> HTTPClient {
        let key = Key(connections: max(1, connections), connectMilliseconds: connectMilliseconds, readMilliseconds: readMilliseconds)
        return lock.withLock {
            if let c = clients[key] { return c }
            var config = HTTPClient.Configuration()
            config.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: key.connections)
            config.timeout = .init(connect: .milliseconds(connectMilliseconds), read: .milliseconds(readMilliseconds))
            config.decompression = .disabled
            config.proxy = nil  // never route AWS or instance-metadata requests through HTTP(S)_PROXY implicitly
            let c = HTTPClient(eventLoopGroupProvider: .singleton, configuration: config)
            clients[key] = c
            return c
        }
    }
}
