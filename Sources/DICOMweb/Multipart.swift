import ByteCoding
import Foundation

/// `multipart/related` bodies (RFC 2046 §5.1.1, RFC 2387) as STOW-RS requests and
/// WADO-RS answers carry them (PS3.18 §8.6, §8.7.3.5).
///
/// Layout written: `--B CRLF headers CRLF CRLF bytes { CRLF --B CRLF headers CRLF CRLF bytes } CRLF --B-- CRLF`.
/// The CRLF before each delimiter belongs to the delimiter, not to the part.
public enum Multipart {
    /// A fresh random boundary of 40 characters (`ahi-` and 36 hexadecimal digits):
    /// never a fixed one, so it cannot occur inside a part by design.
    public static func makeBoundary() -> String {
        var g = SystemRandomNumberGenerator()
        return "ahi-" + Hex.encode((0..<18).map { _ in UInt8.random(in: 0...255, using: &g) })
    }

    /// What goes before part `index` (0-based): the delimiter (with its leading CRLF after
    /// the first part) and the part's headers, ending with the empty line.
    /// - Parameters:
    ///   - contentType: the part's `Content-Type`.
    ///   - contentLength: the part's length in bytes, when known (written as `Content-Length`).
    public static func partHead(index: Int, boundary: String, contentType: String, contentLength: Int? = nil,
                                headers: [(String, String)] = []) -> [UInt8] {
        var s = index == 0 ? "--\(boundary)\r\n" : "\r\n--\(boundary)\r\n"
        s += "Content-Type: \(contentType)\r\n"
        if let contentLength { s += "Content-Length: \(contentLength)\r\n" }
        for (name, value) in headers { s += "\(name): \(value)\r\n" }
        s += "\r\n"
        return Array(s.utf8)
    }

    /// The close delimiter after the last part (`CRLF --B-- CRLF`); a body with no part is just `--B-- CRLF`.
    public static func closing(boundary: String, afterParts: Bool = true) -> [UInt8] {
        Array(((afterParts ? "\r\n" : "") + "--\(boundary)--\r\n").utf8)
    }

    /// A whole body from parts held in memory (small answers; large ones are streamed
    /// from ``partHead(index:boundary:contentType:contentLength:headers:)`` and ``closing(boundary:afterParts:)``).
    public static func encode(_ parts: [(contentType: String, body: [UInt8])], boundary: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(parts.reduce(0) { $0 + $1.body.count + 128 } + 64)
        for (i, part) in parts.enumerated() {
            out += partHead(index: i, boundary: boundary, contentType: part.contentType, contentLength: part.body.count)
            out += part.body
        }
        out += closing(boundary: boundary, afterParts: !parts.isEmpty)
        return out
    }

    /// One part read whole.
    public struct Part: Sendable {
        /// Its header fields, in order.
        public var headers: [(String, String)]
        /// Its bytes.
        public var body: [UInt8]
        /// A header's value (case-insensitive).
        public func header(_ name: String) -> String? {
            let lower = name.lowercased()
            return headers.first { $0.0.lowercased() == lower }?.1
        }
        /// Its parsed `Content-Type`.
        public var contentType: MediaType? { header("Content-Type").flatMap { MediaType(parsing: $0) } }
    }

    /// Every part of a body held in memory.
    /// - Throws: ``MultipartError`` when the body does not hold the boundary or ends before the close delimiter.
    public static func parts(of body: some Collection<UInt8>, boundary: String) throws -> [Part] {
        var parser = try MultipartParser(boundary: boundary)
        var parts: [Part] = []
        for event in try parser.feed(body) + parser.finish() {
            switch event {
            case .headers(let h): parts.append(Part(headers: h, body: []))
            case .data(let d): parts[parts.count - 1].body += d
            case .end: break
            }
        }
        return parts
    }
}

/// Why a multipart body could not be read.
public struct MultipartError: Error, CustomStringConvertible, Sendable {
    /// What is wrong, with the byte offset in the body.
    public let description: String
}

/// An incremental `multipart/related` reader: feed it the body in chunks of any size,
/// and it gives each part's headers, its bytes (in pieces, never more than it was fed)
/// and its end. Memory stays bounded by a chunk plus the boundary, so a WADO-RS answer
/// of many gigabytes streams to files.
///
/// Tolerated as RFC 2046 asks: a preamble, an epilogue, whitespace after a boundary,
/// a body that starts with CRLF before the first delimiter (dicomweb-client does).
/// A part's `Content-Length` is not trusted: the delimiter ends every part.
public struct MultipartParser: Sendable {
    /// What a chunk produced.
    public enum Event: Sendable {
        /// A part starts; its header fields.
        case headers([(String, String)])
        /// Some of the current part's bytes.
        case data(ArraySlice<UInt8>)
        /// The current part ended.
        case end
    }

    private enum State { case preamble, afterDelimiter, headers, body, epilogue }
    private let delimiter: [UInt8]   // CRLF "--" boundary
    private var buffer: [UInt8] = []
    private var state = State.preamble
    private var consumed = 0          // bytes of the body already dropped from `buffer`, for error offsets
    private var headerBytes = 0
    /// The most header bytes a part may have (a defence against a body with no blank line).
    public static let maximumHeaderBytes = 64 << 10

    /// A reader for parts separated by `boundary` (1–70 characters, RFC 2046).
    public init(boundary: String) throws {
        guard (1...70).contains(boundary.utf8.count) else {
            throw MultipartError(description: "the boundary must have 1 to 70 characters, not \(boundary.utf8.count)")
        }
        delimiter = Array("\r\n--\(boundary)".utf8)
    }

    /// True once the close delimiter was read.
    public var isComplete: Bool { state == .epilogue }

    /// Reads the next chunk.
    /// - Throws: ``MultipartError`` for part headers that do not end within ``maximumHeaderBytes``.
    public mutating func feed(_ bytes: some Collection<UInt8>) throws -> [Event] {
        if state == .epilogue { return [] }
        if buffer.isEmpty && state == .preamble {
            // The first delimiter may open the body without the CRLF before it.
            buffer = [0x0D, 0x0A]
            consumed = -2
        }
        buffer.append(contentsOf: bytes)
        var events: [Event] = []
        var pos = 0
        loop: while true {
            switch state {
            case .preamble:
                guard let at = find(delimiter, in: buffer, from: pos) else {
                    pos = max(pos, buffer.count - delimiter.count + 1)
                    break loop
                }
                pos = at + delimiter.count
                state = .afterDelimiter
            case .afterDelimiter:
                // "--" closes; otherwise optional spaces/tabs, then CRLF.
                guard buffer.count - pos >= 2 else { break loop }
                if buffer[pos] == 0x2D, buffer[pos + 1] == 0x2D {
                    state = .epilogue
                    pos = buffer.count
                    break loop
                }
                var p = pos
                while p < buffer.count, buffer[p] == 0x20 || buffer[p] == 0x09 { p += 1 }
                guard buffer.count - p >= 2 else { break loop }
                guard buffer[p] == 0x0D, buffer[p + 1] == 0x0A else {
                    throw MultipartError(description: "no line end after the boundary at byte \(consumed + pos)")
                }
                pos = p + 2
                state = .headers
                headerBytes = 0
            case .headers:
                let end: Int
                if buffer.count - pos >= 2, buffer[pos] == 0x0D, buffer[pos + 1] == 0x0A {
                    end = pos  // no header at all
                } else if let e = find([0x0D, 0x0A, 0x0D, 0x0A], in: buffer, from: pos) {
                    end = e + 2
                } else {
                    if buffer.count - pos > Self.maximumHeaderBytes {
                        throw MultipartError(description: "part headers at byte \(consumed + pos) do not end within \(Self.maximumHeaderBytes) bytes")
                    }
                    break loop
                }
                let text = String(decoding: buffer[pos..<end], as: UTF8.self)
                var headers: [(String, String)] = []
                for line in text.split(separator: "\r\n", omittingEmptySubsequences: true) {
                    guard let colon = line.firstIndex(of: ":") else { continue }
                    headers.append((String(line[..<colon].trimmingWhitespace()),
                                    String(line[line.index(after: colon)...].trimmingWhitespace())))
                }
                events.append(.headers(headers))
                pos = end + 2
                state = .body
            case .body:
                if let at = find(delimiter, in: buffer, from: pos) {
                    if at > pos { events.append(.data(buffer[pos..<at])) }
                    events.append(.end)
                    pos = at + delimiter.count
                    state = .afterDelimiter
                } else {
                    // Keep what could be the start of a delimiter.
                    let safe = max(pos, buffer.count - delimiter.count + 1)
                    if safe > pos { events.append(.data(buffer[pos..<safe])) }
                    pos = safe
                    break loop
                }
            case .epilogue:
                break loop
            }
        }
        // Slices in `events` keep their own copy of the storage; drop what was used.
        if pos > 0 {
            consumed += pos
            buffer.removeFirst(min(pos, buffer.count))
        }
        return events
    }

    /// Says the body ended.
    /// - Throws: ``MultipartError`` when the close delimiter was not read (a truncated answer).
    public mutating func finish() throws -> [Event] {
        guard state == .epilogue else {
            switch state {
            case .preamble: throw MultipartError(description: "the body does not contain its boundary")
            default: throw MultipartError(description: "the body ended at byte \(consumed + buffer.count) before the closing boundary (truncated)")
            }
        }
        return []
    }

    /// The first index of `needle` in `haystack` at or after `from`.
    private func find(_ needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard haystack.count - from >= needle.count, let first = needle.first else { return nil }
        return haystack.withUnsafeBufferPointer { h -> Int? in
            needle.withUnsafeBufferPointer { n -> Int? in
                guard let hb = h.baseAddress, let nb = n.baseAddress else { return nil }
                var i = from
                let last = h.count - n.count
                while i <= last {
                    guard let p = memchr(hb + i, Int32(first), last - i + 1) else { return nil }
                    let at = hb.distance(to: p.assumingMemoryBound(to: UInt8.self))
                    if memcmp(hb + at, nb, n.count) == 0 { return at }
                    i = at + 1
                }
                return nil
            }
        }
    }
}
