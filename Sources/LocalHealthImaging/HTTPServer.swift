import NIOCore
import NIOHTTP1
import NIOPosix
import Uploader

/// One HTTP request as the server received it: the raw request-target (for SigV4,
/// which signs what was sent), its path and query, headers and the whole body.
public struct HTTPRequest: Sendable {
    /// `GET`, `PUT`, …
    public let method: String
    /// The request-target exactly as sent (`/bucket/a%20b?uploads`).
    public let target: String
    /// The header fields, in order.
    public let headers: [(String, String)]
    /// The body (aws-chunked bodies are decoded later, by the S3 handler).
    public let body: [UInt8]

    /// The raw (still percent-encoded) path.
    public var rawPath: Substring { target.prefix { $0 != "?" } }
    /// The raw query, without `?`.
    public var rawQuery: Substring {
        guard let q = target.firstIndex(of: "?") else { return "" }
        return target[target.index(after: q)...]
    }

    /// The first value of a header (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.0.lowercased() == lower }?.1
    }

    /// Query parameters, percent-decoded, in order (a bare key has value "").
    public var query: [(String, String)] {
        rawQuery.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let key = SigV4Signer.percentDecode(parts[0], plusIsSpace: true)
            let value = parts.count > 1 ? SigV4Signer.percentDecode(parts[1], plusIsSpace: true) : ""
            return (key, value)
        }
    }

    /// One query parameter.
    public func queryValue(_ name: String) -> String? { query.first { $0.0 == name }?.1 }
}

/// An answer.
public struct HTTPResponse: Sendable {
    /// The status code.
    public var status: Int
    /// Header fields (Content-Length is added).
    public var headers: [(String, String)]
    /// The body.
    public var body: [UInt8]

    /// Creates a response.
    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}

/// A small HTTP/1.1 server on SwiftNIO: each request is read whole, handed to an
/// async handler, and answered with Content-Length (keep-alive, `Expect: 100-continue`).
public final class HTTPServer: Sendable {
    private let channel: any Channel
    /// The port it listens on.
    public let port: Int
    /// The address it is bound to.
    public let host: String

    private init(channel: any Channel, host: String, port: Int) {
        self.channel = channel
        self.host = host
        self.port = port
    }

    /// Binds `host:port` (port 0: any free port) and serves `handler`. Bodies above
    /// `maxBodySize` are refused with 413.
    public static func start(host: String, port: Int, maxBodySize: Int = 6 << 30,
                             handler: @escaping @Sendable (HTTPRequest) async -> HTTPResponse) async throws -> HTTPServer {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(RequestHandler(handler: handler, maxBodySize: maxBodySize))
                }
            }
            .childChannelOption(.socketOption(.so_reuseaddr), value: 1)
        let channel = try await bootstrap.bind(host: host, port: port).get()
        return HTTPServer(channel: channel, host: host, port: channel.localAddress?.port ?? port)
    }

    /// Stops listening (open connections finish their request).
    public func stop() async {
        try? await channel.close()
    }
}

private final class RequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let handler: @Sendable (HTTPRequest) async -> HTTPResponse
    private let maxBodySize: Int
    private var head: HTTPRequestHead?
    private var body: ByteBuffer?
    private var tooLarge = false

    init(handler: @escaping @Sendable (HTTPRequest) async -> HTTPResponse, maxBodySize: Int) {
        self.handler = handler
        self.maxBodySize = maxBodySize
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = context.channel.allocator.buffer(capacity: 0)
            tooLarge = false
            if h.headers.first(name: "expect")?.lowercased() == "100-continue" {
                context.writeAndFlush(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: .continue))), promise: nil)
            }
        case .body(var chunk):
            if (body?.readableBytes ?? 0) + chunk.readableBytes > maxBodySize { tooLarge = true }
            if !tooLarge { body?.writeBuffer(&chunk) }
        case .end:
            guard let h = head else { return }
            head = nil
            let bytes = body.map { Array(buffer: $0) } ?? []
            body = nil
            let request = HTTPRequest(method: h.method.rawValue, target: h.uri,
                                      headers: h.headers.map { ($0.name, $0.value) }, body: bytes)
            let keepAlive = h.isKeepAlive
            let isHead = h.method == .HEAD
            let version = h.version
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let handler = self.handler
            let refused = tooLarge
            let future = context.eventLoop.makeFutureWithTask {
                refused ? HTTPResponse(status: 413) : await handler(request)
            }
            future.whenComplete { result in
                let (me, context) = loopBound.value
                let response = (try? result.get()) ?? HTTPResponse(status: 500)
                me.write(response, version: version, keepAlive: keepAlive, isHead: isHead, context: context)
            }
        }
    }

    /// Now as an IMF-fixdate, `Sun, 06 Nov 1994 08:49:37 GMT`.
    static func httpDate() -> String {
        var t = time(nil), tm = tm()
        gmtime_r(&t, &tm)
        var buffer = [CChar](repeating: 0, count: 40)
        let n = strftime(&buffer, buffer.count, "%a, %d %b %Y %H:%M:%S GMT", &tm)
        return String(decoding: buffer.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private func write(_ response: HTTPResponse, version: HTTPVersion, keepAlive: Bool, isHead: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders(response.headers)
        if !headers.contains(name: "Content-Length") {
            headers.add(name: "Content-Length", value: String(response.body.count))
        }
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        // As every HTTP server (RFC 9110 6.6.1): clients take their clock skew from it.
        if !headers.contains(name: "Date") { headers.add(name: "Date", value: Self.httpDate()) }
        let head = HTTPResponseHead(version: version, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !isHead && !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: response.body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
