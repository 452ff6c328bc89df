import DICOMCore
import DICOMweb
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A presentation context to propose: one abstract syntax, its transfer syntaxes in order.
public struct PresentationContextProposal: Sendable, Hashable {
    public var abstractSyntax: String
    public var transferSyntaxes: [String]

    public init(abstractSyntax: String, transferSyntaxes: [String]) {
        self.abstractSyntax = abstractSyntax
        self.transferSyntaxes = transferSyntaxes
    }

    /// Verification (C-ECHO) with Implicit VR Little Endian (which every SCP accepts) and ELE.
    public static let verification = PresentationContextProposal(
        abstractSyntax: verificationSOPClassUID,
        transferSyntaxes: [TransferSyntax.implicitVRLittleEndian.uid, TransferSyntax.explicitVRLittleEndian.uid])

    /// The context a file needs: its SOP Class with exactly its own transfer syntax.
    /// - Throws: ``DIMSEClientError/notDICOM(path:reason:)``.
    public static func forFile(_ path: String) throws -> PresentationContextProposal {
        let header = try StoredFile.header(path: path)
        return PresentationContextProposal(abstractSyntax: header.sopClassUID, transferSyntaxes: [header.transferSyntaxUID])
    }

    /// One context per distinct (SOP Class, transfer syntax) of `files`, each offering exactly
    /// the file's own transfer syntax — the bytes are sent as they are, never converted (as
    /// `dcmsend` does). Files that cannot be read are left out (``DICOMClient/store(path:)``
    /// reports them). Reads each file's header only.
    public static func storage(files: [String]) -> [PresentationContextProposal] {
        var seen = Set<PresentationContextProposal>()
        var out: [PresentationContextProposal] = []
        for path in files {
            guard let p = try? forFile(path) else { continue }
            if seen.insert(p).inserted { out.append(p) }
        }
        return out
    }
}

/// Why an SCU operation failed.
public enum DIMSEClientError: Error, Sendable, CustomStringConvertible {
    /// The SCP answered A-ASSOCIATE-RJ.
    case rejected(AssociationRejection)
    /// No accepted presentation context for the SOP Class and transfer syntax.
    case noAcceptedContext(sopClassUID: String, transferSyntaxUID: String)
    /// The peer (or its provider) sent A-ABORT.
    case aborted(source: UInt8, reason: UInt8)
    /// Nothing arrived in time.
    case timeout(seconds: Double, waitingFor: String)
    /// The connection closed.
    case connectionClosed(String)
    /// The peer broke the protocol (this side sent A-ABORT).
    case protocolError(String)
    /// The file is not a DICOM file this client can send.
    case notDICOM(path: String, reason: String)
    /// Another operation is running on this association (operations are one at a time).
    case busy

    public var description: String {
        switch self {
        case .rejected(let r): "association \(r) (result \(r.result), source \(r.source), reason \(r.reason))"
        case .noAcceptedContext(let sop, let ts):
            "no accepted presentation context for SOP Class \(sop) in transfer syntax \(TransferSyntax.forUID(ts).name) (\(ts))"
        case .aborted(let s, let r): "association \(abortDescription(source: s, reason: r))"
        case .timeout(let s, let what): "timed out after \(s) s waiting for \(what)"
        case .connectionClosed(let why): "connection closed: \(why)"
        case .protocolError(let why): "protocol error from the peer: \(why)"
        case .notDICOM(let path, let why): "\(path): not a DICOM file (\(why))"
        case .busy: "another operation is running on this association"
        }
    }
}

/// A DICOM SCU: one association, C-ECHO and C-STORE, one operation at a time.
///
/// ```swift
/// let files = ["a.dcm", "b.dcm"]
/// let client = try await DICOMClient.connect(host: "127.0.0.1", port: 11112, callingAETitle: "AHIUPLOAD",
///                                            calledAETitle: "ANY-SCP", proposing: [.verification] + .storage(files: files))
/// for f in files { print(try await client.store(path: f)) }
/// try await client.release()
/// ```
public final class DICOMClient: Sendable {
    let channel: any Channel
    let handler: NIOLoopBound<RequestorHandler>
    /// Accepted contexts: (id, abstract syntax, transfer syntax).
    public let acceptedContexts: [(id: UInt8, abstractSyntax: String, transferSyntax: String)]
    /// The peer's maximum PDU length (0 = no limit).
    public let peerMaxPDULength: UInt32
    /// The peer's implementation class UID and version name.
    public let peerImplementation: (classUID: String?, versionName: String?)
    let timeout: Double
    let state = NIOLockedValueBox<(messageID: UInt16, busy: Bool)>((0, false))

    private init(channel: any Channel, handler: NIOLoopBound<RequestorHandler>,
                 acceptedContexts: [(id: UInt8, abstractSyntax: String, transferSyntax: String)],
                 peerMaxPDULength: UInt32, peerImplementation: (String?, String?), timeout: Double) {
        self.channel = channel
        self.handler = handler
        self.acceptedContexts = acceptedContexts
        self.peerMaxPDULength = peerMaxPDULength
        self.peerImplementation = peerImplementation
        self.timeout = timeout
    }

    /// Connects and negotiates an association. Proposals beyond 128 are left out (a context ID
    /// is odd, 1…255).
    /// - Throws: ``DIMSEClientError`` (rejected, aborted, timeout, …) or a connection error.
    public static func connect(host: String, port: Int, callingAETitle: String, calledAETitle: String,
                               proposing: [PresentationContextProposal], maxPDULength: UInt32 = 1 << 20,
                               timeout: Double = 30) async throws -> DICOMClient {
        let holder = NIOLockedValueBox<NIOLoopBound<RequestorHandler>?>(nil)
        let framer = PDUFramer(advertisedMaxPDULength: maxPDULength)
        let bootstrap = ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.milliseconds(Int64(timeout * 1000)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = RequestorHandler()
                    try channel.pipeline.syncOperations.addHandlers([ByteToMessageHandler(PDUFrameDecoder(framer: framer)), handler])
                    holder.withLockedValue { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }
        let channel = try await bootstrap.connect(host: host, port: port).get()
        guard let handler = holder.withLockedValue({ $0 }) else {
            try? await channel.close()
            throw DIMSEClientError.connectionClosed("the channel was not set up")
        }
        let proposals = proposing.prefix(128)
        let contexts = proposals.enumerated().map {
            ProposedContext(id: UInt8(2 * $0.offset + 1), abstractSyntax: $0.element.abstractSyntax,
                            transferSyntaxes: $0.element.transferSyntaxes)
        }
        let rq = AssociateRequest(calledAETitle: calledAETitle, callingAETitle: callingAETitle, presentationContexts: contexts,
                                  userInformation: UserInformation(maxPDULength: maxPDULength,
                                                                   implementationClassUID: FileMeta.implementationClassUID,
                                                                   implementationVersionName: FileMeta.implementationVersionName))
        do {
            try await channel.writeAndFlush(ByteBuffer(bytes: PDU.associateRQ(rq).encoded()))
            let answer = try await next(channel: channel, handler: handler, timeout: timeout, waitingFor: "the A-ASSOCIATE answer")
            switch answer {
            case .associateAC(let ac):
                let byID = Dictionary(contexts.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                let accepted = ac.presentationContexts.compactMap { pc -> (UInt8, String, String)? in
                    guard pc.result == 0, let proposed = byID[pc.id] else { return nil }
                    return (pc.id, proposed.abstractSyntax, pc.transferSyntax)
                }
                return DICOMClient(channel: channel, handler: handler,
                                   acceptedContexts: accepted.map { (id: $0.0, abstractSyntax: $0.1, transferSyntax: $0.2) },
                                   peerMaxPDULength: ac.userInformation.maxPDULength ?? 0,
                                   peerImplementation: (ac.userInformation.implementationClassUID,
                                                        ac.userInformation.implementationVersionName),
                                   timeout: timeout)
            case .associateRJ(let rj):
                try? await channel.close()
                throw DIMSEClientError.rejected(rj)
            case .abort(let source, let reason):
                try? await channel.close()
                throw DIMSEClientError.aborted(source: source, reason: reason)
            default:
                throw DIMSEClientError.protocolError("\(answer.name) in answer to A-ASSOCIATE-RQ")
            }
        } catch let error as DIMSEClientError {
            if case .protocolError = error { await abort(channel) }
            if case .timeout = error { await abort(channel) }
            throw error
        } catch {
            try? await channel.close()
            throw error
        }
    }

    /// C-ECHO on an accepted Verification context.
    public func echo() async throws -> DIMSEStatus {
        guard let pc = acceptedContexts.first(where: { $0.abstractSyntax == verificationSOPClassUID }) else {
            throw DIMSEClientError.noAcceptedContext(sopClassUID: verificationSOPClassUID,
                                                     transferSyntaxUID: TransferSyntax.implicitVRLittleEndian.uid)
        }
        return try await exclusive {
            let id = nextMessageID()
            try await send(CommandSet.echoRequest(messageID: id), contextID: pc.id, data: nil)
            return try await response(to: id)
        }
    }

    /// Reads a Part 10 file and sends its data set, as it is in the file, in an accepted context for
    /// its SOP Class and transfer syntax; returns the C-STORE-RSP status.
    /// - Throws: ``DIMSEClientError/notDICOM(path:reason:)``, ``DIMSEClientError/noAcceptedContext(sopClassUID:transferSyntaxUID:)``
    ///   (the association stays usable), or an association-level error.
    public func store(path: String) async throws -> DIMSEStatus {
        let file = try StoredFile.open(path: path)
        guard let pc = acceptedContexts.first(where: {
            $0.abstractSyntax == file.header.sopClassUID && $0.transferSyntax == file.header.transferSyntaxUID
        }) else {
            throw DIMSEClientError.noAcceptedContext(sopClassUID: file.header.sopClassUID,
                                                     transferSyntaxUID: file.header.transferSyntaxUID)
        }
        return try await exclusive {
            let id = nextMessageID()
            let command = CommandSet.storeRequest(messageID: id, sopClassUID: file.header.sopClassUID,
                                                  sopInstanceUID: file.header.sopInstanceUID)
            try await send(command, contextID: pc.id, data: file)
            return try await response(to: id)
        }
    }

    /// A-RELEASE: asks the peer to release and waits for its answer, then closes.
    public func release() async throws {
        defer { channel.close(promise: nil) }
        try await channel.writeAndFlush(ByteBuffer(bytes: PDU.releaseRQ.encoded()))
        while true {
            let pdu = try await DICOMClient.next(channel: channel, handler: handler, timeout: timeout, waitingFor: "A-RELEASE-RP")
            switch pdu {
            case .releaseRP: return
            case .abort(let s, let r): throw DIMSEClientError.aborted(source: s, reason: r)
            case .pData: continue  // a late response: ignored
            case .releaseRQ:  // release collision (requestor side answers RP after its own RQ got one; rare)
                try await channel.writeAndFlush(ByteBuffer(bytes: PDU.releaseRP.encoded()))
            default: throw DIMSEClientError.protocolError("\(pdu.name) in answer to A-RELEASE-RQ")
            }
        }
    }

    /// A-ABORT (source 0) and close.
    public func abort() async {
        await DICOMClient.abort(channel)
    }

    // MARK: Internals

    static func abort(_ channel: any Channel) async {
        try? await channel.writeAndFlush(ByteBuffer(bytes: PDU.abort(source: 0, reason: 0).encoded()))
        try? await channel.close()
    }

    func nextMessageID() -> UInt16 {
        state.withLockedValue {
            $0.messageID &+= 1
            if $0.messageID == 0 { $0.messageID = 1 }
            return $0.messageID
        }
    }

    func exclusive<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        let ok = state.withLockedValue { s -> Bool in
            if s.busy { return false }
            s.busy = true
            return true
        }
        guard ok else { throw DIMSEClientError.busy }
        defer { state.withLockedValue { $0.busy = false } }
        return try await body()
    }

    /// Sends a command and its data set (if any) in P-DATA-TF PDUs within the peer's maximum.
    func send(_ command: CommandSet, contextID: UInt8, data: StoredFile?) async throws {
        let maxFragment = maxFragmentLength(peerMaxPDU: peerMaxPDULength)
        for pdu in fragment(command.encoded(), contextID: contextID, isCommand: true, maxFragment: maxFragment) {
            channel.write(ByteBuffer(bytes: pdu), promise: nil)
        }
        guard let data else {
            try await channel.writeAndFlush(ByteBuffer(bytes: [])).get()
            return
        }
        let bytes = data.storage.bytes(data.dataSetRange)
        var at = 0
        var sinceFlush = 0
        repeat {
            let n = min(maxFragment, bytes.count - at)
            let last = at + n == bytes.count
            var buffer = channel.allocator.buffer(capacity: n + 12)
            buffer.writeInteger(UInt8(4))
            buffer.writeInteger(UInt8(0))
            buffer.writeInteger(UInt32(n + 6))
            buffer.writeInteger(UInt32(n + 2))
            buffer.writeInteger(contextID)
            buffer.writeInteger(UInt8(last ? 2 : 0))
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[at..<at + n]))
            at += n
            sinceFlush += n
            if last || sinceFlush >= 4 << 20 {
                sinceFlush = 0
                try await channel.writeAndFlush(buffer).get()
            } else {
                channel.write(buffer, promise: nil)
            }
        } while at < bytes.count
    }

    /// Waits for the response to message `id` and returns its status.
    func response(to id: UInt16) async throws -> DIMSEStatus {
        var command: [UInt8] = []
        while true {
            let pdu = try await DICOMClient.next(channel: channel, handler: handler, timeout: timeout, waitingFor: "the response to message \(id)")
            switch pdu {
            case .pData(let pdvs):
                for pdv in pdvs {
                    guard pdv.isCommand else {
                        await abort()
                        throw DIMSEClientError.protocolError("a data set in a response")
                    }
                    guard command.count + pdv.data.count <= 64 * 1024 else {
                        await abort()
                        throw DIMSEClientError.protocolError("a response command set longer than 64 KiB")
                    }
                    command += pdv.data
                    guard pdv.isLast else { continue }
                    let set: CommandSet
                    do { set = try CommandSet(decoding: command) } catch {
                        await abort()
                        throw DIMSEClientError.protocolError("\(error)")
                    }
                    command = []
                    guard set.messageIDBeingRespondedTo == id, let status = set.status else { continue }
                    if status == 0xFF00 || status == 0xFF01 { continue }  // pending
                    return DIMSEStatus(status, comment: set.errorComment)
                }
            case .abort(let s, let r):
                channel.close(promise: nil)
                throw DIMSEClientError.aborted(source: s, reason: r)
            default:
                await abort()
                throw DIMSEClientError.protocolError("unexpected \(pdu.name) while waiting for a response")
            }
        }
    }

    static func next(channel: any Channel, handler: NIOLoopBound<RequestorHandler>, timeout: Double,
                     waitingFor: String) async throws -> PDU {
        try await channel.eventLoop.flatSubmit {
            handler.value.next(timeout: timeout, waitingFor: waitingFor, eventLoop: handler.eventLoop)
        }.get()
    }
}

/// Receives PDUs for the requestor and hands them out one by one.
final class RequestorHandler: ChannelInboundHandler {
    typealias InboundIn = PDU

    var queue: [PDU] = []
    var waiter: EventLoopPromise<PDU>?
    var timer: Scheduled<Void>?
    var failure: DIMSEClientError?
    var context: ChannelHandlerContext?

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let pdu = unwrapInboundIn(data)
        if let waiter {
            self.waiter = nil
            timer?.cancel()
            waiter.succeed(pdu)
        } else {
            queue.append(pdu)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let e = error as? PDUError {
            fail(.protocolError("\(e)"))
            context.writeAndFlush(NIOAny(ByteBuffer(bytes: PDU.abort(source: 2, reason: e.abortReason).encoded())), promise: nil)
        } else if !(error is ByteToMessageDecoderError) {
            fail(.connectionClosed("\(error)"))
        }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.connectionClosed("the peer closed the connection"))
        context.fireChannelInactive()
    }

    func fail(_ error: DIMSEClientError) {
        if failure == nil { failure = error }
        timer?.cancel()
        if let waiter {
            self.waiter = nil
            waiter.fail(failure ?? error)
        }
    }

    func next(timeout: Double, waitingFor: String, eventLoop: any EventLoop) -> EventLoopFuture<PDU> {
        if !queue.isEmpty { return eventLoop.makeSucceededFuture(queue.removeFirst()) }
        if let failure { return eventLoop.makeFailedFuture(failure) }
        let promise = eventLoop.makePromise(of: PDU.self)
        waiter = promise
        timer = eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
            self.fail(.timeout(seconds: timeout, waitingFor: waitingFor))
            self.context?.close(promise: nil)
        }
        return promise.futureResult
    }
}

/// A Part 10 file to send: its UIDs, transfer syntax and where its data set lies.
struct StoredFile: @unchecked Sendable {
    struct Header: Sendable {
        var sopClassUID: String
        var sopInstanceUID: String
        var transferSyntaxUID: String
    }

    let header: Header
    let storage: ByteStorage
    let dataSetRange: ByteRange

    static func header(path: String) throws -> Header { try open(path: path).header }

    /// Maps the file and reads its header (up to the pixel data).
    static func open(path: String) throws -> StoredFile {
        let file: DICOMFile
        let raw: ByteStorage
        do {
            file = try DICOMFile.read(path: path, options: ParseOptions(stopBeforePixelData: true))
            raw = try ByteStorage(mappingFileAt: path)
        } catch {
            throw DIMSEClientError.notDICOM(path: path, reason: "\(error)")
        }
        let start: Int
        if let last = file.meta.elements.last {
            start = last.valueOffset + last.valueLength
        } else {
            start = file.hasPreamble ? 132 : 0
        }
        let sop = file.meta.string(.mediaStorageSOPClassUID) ?? file.dataSet.string(.sopClassUID)
        let instance = file.meta.string(.mediaStorageSOPInstanceUID) ?? file.dataSet.string(.sopInstanceUID)
        guard let sop, !sop.isEmpty, let instance, !instance.isEmpty else {
            throw DIMSEClientError.notDICOM(path: path, reason: "no SOP Class UID or SOP Instance UID")
        }
        guard start < raw.count else { throw DIMSEClientError.notDICOM(path: path, reason: "no data set after the File Meta") }
        let ts = file.meta.string(.transferSyntaxUID) ?? file.transferSyntax.uid
        return StoredFile(header: Header(sopClassUID: sop, sopInstanceUID: instance, transferSyntaxUID: ts),
                          storage: raw, dataSetRange: ByteRange(offset: start, count: raw.count - start))
    }
}
