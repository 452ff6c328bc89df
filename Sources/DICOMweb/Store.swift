import ByteCoding
import Crypto
import Foundation
import NIOCore
import Uploader

/// One Part 10 file to store with STOW-RS.
public struct StoreItem: Sendable, Hashable {
    /// Its path.
    public var path: String
    /// Its size in bytes, as read when it was validated.
    public var size: Int
    /// Its SOP Instance UID: how the server's answer names it.
    public var sopInstanceUID: String
    /// Its SOP Class UID, when known.
    public var sopClassUID: String?

    public init(path: String, size: Int, sopInstanceUID: String, sopClassUID: String? = nil) {
        self.path = path
        self.size = size
        self.sopInstanceUID = sopInstanceUID
        self.sopClassUID = sopClassUID
    }
}

/// What became of one instance sent with STOW-RS.
public enum StoreOutcome: Sendable, Hashable {
    /// In ReferencedSOPSequence: stored, with the WarningReason when there is one
    /// (HealthImaging answers its own codes here, e.g. 0xB111 FRAME_NUMBER_MISMATCH).
    case stored(warningReason: UInt16?)
    /// Refused: in FailedSOPSequence with its FailureReason (PS3.18 Table I.2-2), or the whole
    /// request refused for a reason re-sending cannot fix (400, 401, 403, 413, 415). Not stored.
    case failed(reason: UInt16?, detail: String)
    /// The answer did not say (the request failed after its retries, or the instance was in
    /// neither sequence): it may or may not be stored, so it must be sent again.
    case unconfirmed(detail: String)

    /// True when the server said it is stored.
    public var isStored: Bool { if case .stored = self { return true } else { return false } }
}

/// How STOW-RS requests are packed and how many are in flight.
public struct StoreLimits: Sendable {
    /// Bytes of instances per request (HealthImaging takes up to 1 GB; an instance larger than this goes alone).
    public var maxRequestBytes = 64 << 20
    /// Instances per request.
    public var maxInstancesPerRequest = 100
    /// Requests in flight at once.
    public var requestsInFlight = 4
    /// Times an instance the answer did not confirm is sent again within one call (0: never).
    public var resendUnconfirmed = 1

    public init() {}
}

extension DICOMwebClient {
    /// Packs items into requests of at most `limits.maxRequestBytes` and `maxInstancesPerRequest`
    /// (in order; an item larger than the byte limit goes alone).
    public static func pack(_ items: [StoreItem], limits: StoreLimits) -> [[StoreItem]] {
        var batches: [[StoreItem]] = [], current: [StoreItem] = [], bytes = 0
        for item in items {
            if !current.isEmpty, current.count >= limits.maxInstancesPerRequest || bytes + item.size > limits.maxRequestBytes {
                batches.append(current)
                current = []
                bytes = 0
            }
            current.append(item)
            bytes += item.size
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }

    /// Sends one STOW-RS request (`POST {base}/studies`, or `/studies/{study}` when given) with
    /// `items` as the parts of a `multipart/related; type="application/dicom"` body streamed
    /// from the files, and says what became of each item.
    ///
    /// - The body is never held whole: a SigV4 transport hashes it in a first pass over the
    ///   files (SigV4 signs the exact bytes) and streams it in a second; a file that changed in
    ///   between fails the request (the signature no longer matches) and is reported unconfirmed.
    /// - 200/202/400/409 answers with a DICOM JSON body are read per instance (PS3.18 §10.5.3);
    ///   429 and 503 are retried by the transport with backoff.
    /// - Throws: only `CancellationError`; every other failure becomes the items' outcome.
    public func store(_ items: [StoreItem], study: String? = nil) async throws -> [StoreOutcome] {
        let body = StowBody(items: items)
        let hash: String?
        if case .sigV4 = transport.authentication {
            do { hash = try body.sha256() } catch {
                return items.map { _ in .unconfirmed(detail: "\(error)") }
            }
        } else {
            hash = nil
        }
        var request = AWSRequest(operation: "StoreDICOM", method: "POST", path: path(study: study), headers: [
            ("Accept", MediaType.dicomJSON),
            ("Content-Type", MediaType.multipartRelated(type: MediaType.dicom, boundary: body.boundary).description),
        ])
        request.streamedBody = StreamedBody(length: body.length, sha256: hash) { body.chunks() }
        let response: AWSResponse
        do {
            response = try await transport.send(request, allowedStatuses: [400, 409])
        } catch let error as AWSError {
            try Task.checkCancellation()
            if case .service(let status, _, _, _, _) = error, [400, 401, 403, 404, 413, 415].contains(status) {
                return items.map { _ in .failed(reason: nil, detail: "\(error)") }
            }
            return items.map { _ in .unconfirmed(detail: "\(error)") }
        } catch {
            try Task.checkCancellation()
            return items.map { _ in .unconfirmed(detail: "\(error)") }
        }
        let answer: StoreResponse
        do {
            answer = try StoreResponse.parse(response.body)
        } catch {
            let detail = "HTTP \(response.status) without a DICOM JSON answer (\(response.header("Content-Type") ?? "no Content-Type"))"
            if response.status == 400 || response.status == 409 { return items.map { _ in .failed(reason: nil, detail: detail) } }
            return items.map { _ in .unconfirmed(detail: detail) }
        }
        var stored: [String: StoreResponse.Stored] = [:], failed: [String: StoreResponse.Failed] = [:]
        for s in answer.stored { stored[s.sopInstanceUID] = s }
        for f in answer.failed { failed[f.sopInstanceUID] = f }
        return items.map { item in
            if let f = failed[item.sopInstanceUID] {
                return .failed(reason: f.failureReason, detail: f.failureReason.map(StoreResponse.describe(failureReason:))
                               ?? "in FailedSOPSequence without a FailureReason (HTTP \(response.status))")
            }
            if let s = stored[item.sopInstanceUID] { return .stored(warningReason: s.warningReason) }
            return .unconfirmed(detail: "HTTP \(response.status): the answer names this instance neither stored nor failed")
        }
    }

    /// Stores every item: packed by ``pack(_:limits:)``, `limits.requestsInFlight` requests at a
    /// time, and what an answer did not confirm sent again (`limits.resendUnconfirmed` times)
    /// in new requests, never what was confirmed stored or refused. `onOutcomes` gets each
    /// request's outcomes as they are known (one call at a time, in completion order); an
    /// error it throws stops the work (nothing more is sent) and is rethrown.
    public func store(_ items: [StoreItem], limits: StoreLimits,
                      onOutcomes: @escaping @Sendable ([(StoreItem, StoreOutcome)]) async throws -> Void) async throws {
        var pending = items
        var round = 0
        while !pending.isEmpty {
            let isLast = round >= limits.resendUnconfirmed
            let batches = Self.pack(pending, limits: limits)
            pending = []
            var retry: [StoreItem] = []
            try await withThrowingTaskGroup(of: [(StoreItem, StoreOutcome)].self) { group in
                var next = 0
                func launch() {
                    let batch = batches[next]
                    next += 1
                    group.addTask { zip(batch, try await self.store(batch)).map { ($0, $1) } }
                }
                while next < min(batches.count, max(1, limits.requestsInFlight)) { launch() }
                while let outcomes = try await group.next() {
                    var report: [(StoreItem, StoreOutcome)] = []
                    for (item, outcome) in outcomes {
                        if case .unconfirmed = outcome, !isLast { retry.append(item) } else { report.append((item, outcome)) }
                    }
                    if !report.isEmpty { try await onOutcomes(report) }
                    if next < batches.count { launch() }
                }
            }
            pending = retry
            round += 1
        }
    }
}

/// A STOW-RS body: the parts' heads in memory, the files read as it is sent.
struct StowBody: Sendable {
    let boundary = Multipart.makeBoundary()
    let items: [StoreItem]
    let heads: [[UInt8]]
    let close: [UInt8]
    /// Bytes read from a file per chunk.
    static let chunkSize = 1 << 20

    init(items: [StoreItem]) {
        self.items = items
        heads = items.indices.map { [boundary] i in
            Multipart.partHead(index: i, boundary: boundary, contentType: MediaType.dicom, contentLength: items[i].size)
        }
        close = Multipart.closing(boundary: boundary, afterParts: !items.isEmpty)
    }

    var length: Int { heads.reduce(0) { $0 + $1.count } + items.reduce(0) { $0 + $1.size } + close.count }

    /// The SHA-256 of the whole body, in hex: a first pass of the same reader that sends it.
    func sha256() throws -> String {
        var hasher = SHA256()
        let reader = Reader(body: self)
        while let chunk = try reader.next() {
            chunk.withUnsafeReadableBytes { hasher.update(bufferPointer: $0) }
        }
        return Hex.encode(hasher.finalize())
    }

    /// The body's chunks, produced as they are asked for (one file chunk in memory at a time).
    func chunks() -> AsyncThrowingStream<ByteBuffer, any Error> {
        let reader = Reader(body: self)
        return AsyncThrowingStream(unfolding: { try reader.next() })
    }

    /// Walks the body: head, file chunks, next head, …, close.
    final class Reader: @unchecked Sendable {
        // @unchecked: used by one stream, whose `next()` calls never overlap.
        let body: StowBody
        var index = 0, offset = -1, closed = false
        var file: OpenFile?

        /// A file being sent (a class, so the non-copyable ``FileBytes`` can sit in an optional).
        final class OpenFile {
            let bytes: FileBytes
            init(_ bytes: consuming FileBytes) { self.bytes = bytes }
        }

        init(body: StowBody) { self.body = body }

        func next() throws -> ByteBuffer? {
            while index < body.items.count {
                let item = body.items[index]
                if offset < 0 {
                    offset = 0
                    let f = try FileBytes(path: item.path)
                    guard f.size == item.size else {
                        throw FileBytes.ReadError(path: item.path, reason: "the file is \(f.size) bytes now, \(item.size) when it was read; not sent")
                    }
                    file = OpenFile(f)
                    return ByteBuffer(bytes: body.heads[index])
                }
                if offset < item.size, let f = file {
                    let n = min(StowBody.chunkSize, item.size - offset)
                    let chunk = try f.bytes.read(offset: offset, count: n)
                    offset += n
                    return chunk
                }
                if let f = file {
                    try f.bytes.checkUnchanged()
                }
                file = nil
                index += 1
                offset = -1
            }
            if closed { return nil }
            closed = true
            return ByteBuffer(bytes: body.close)
        }
    }
}
