import DICOMCore
import DICOMweb
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// A DICOM SCP for Verification (C-ECHO) and Storage (C-STORE): each association on its own
/// NIO channel, each C-STORE handed to a ``StorageDelegate``.
///
/// ```swift
/// let server = try await DICOMServer.start(.init(port: 0), delegate: myDelegate)
/// print(server.port)
/// await server.stop(grace: 5)
/// ```
public final class DICOMServer: Sendable {
    /// Settings of the SCP.
    public struct Configuration: Sendable {
        /// The address to listen on.
        public var host = "127.0.0.1"
        /// The TCP port; 0 picks a free one (see ``DICOMServer/port``).
        public var port = 11112
        /// This SCP's AE title; the called AE title of a request must equal it (trimmed, case-sensitive).
        public var aeTitle = "AHI"
        /// The maximum PDU length advertised (what this side receives); P-DATA-TF PDUs longer
        /// than this plus 64 KiB are aborted.
        public var maxPDULength: UInt32 = 1 << 20
        /// Associations open at once; more are rejected with 2,3,2 (local limit exceeded).
        public var maxAssociations = 16
        /// Seconds to wait for the A-ASSOCIATE-RQ after connect, and for the peer to close after
        /// an RJ, RP or ABORT.
        public var artimTimeout: Double = 30
        /// Seconds an established association may stay silent (outside our own processing) before
        /// it is aborted.
        public var idleTimeout: Double = 60
        /// Accept abstract syntaxes that are not Storage SOP Classes for C-STORE.
        public var acceptUnknownSOPClasses = false
        /// The largest data set accepted in one C-STORE; larger ones are read and discarded, and
        /// answered A700.
        public var maxDataSetSize = 2 << 30
        /// Where log lines go (one per association, one per protocol error); no patient data.
        public var log: (@Sendable (String) -> Void)?
        /// Called first for every accepted connection, before the DICOM handlers are added: e.g. to
        /// put a TLS handler (swift-nio-ssl's `NIOSSLServerHandler`) in front of them. Throwing closes it.
        public var prepareChannel: (@Sendable (any Channel) throws -> Void)?

        public init(host: String = "127.0.0.1", port: Int = 11112, aeTitle: String = "AHI") {
            self.host = host
            self.port = port
            self.aeTitle = aeTitle
        }
    }

    let configuration: Configuration
    let serverChannel: any Channel
    let registry: AssociationRegistry

    /// The port it listens on.
    public let port: Int

    private init(configuration: Configuration, serverChannel: any Channel, registry: AssociationRegistry, port: Int) {
        self.configuration = configuration
        self.serverChannel = serverChannel
        self.registry = registry
        self.port = port
    }

    /// Starts listening.
    public static func start(_ configuration: Configuration, delegate: any StorageDelegate) async throws -> DICOMServer {
        let registry = AssociationRegistry()
        let framer = PDUFramer(advertisedMaxPDULength: configuration.maxPDULength)
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try configuration.prepareChannel?(channel)
                    let handler = AcceptorHandler(configuration: configuration, delegate: delegate, registry: registry)
                    try channel.pipeline.syncOperations.addHandlers([
                        ByteToMessageHandler(PDUFrameDecoder(framer: framer)), handler,
                    ])
                    registry.add(channel)
                    channel.closeFuture.whenComplete { _ in registry.remove(channel) }
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        let port = channel.localAddress?.port ?? configuration.port
        return DICOMServer(configuration: configuration, serverChannel: channel, registry: registry, port: port)
    }

    /// Associations (connections) open now.
    public var activeAssociations: Int {
        get async { registry.count }
    }

    /// Stops accepting; waits up to `grace` seconds for open associations to end, then aborts them.
    public func stop(grace: Double) async {
        try? await serverChannel.close()
        let deadline = ContinuousClock.now + .milliseconds(Int(max(0, grace) * 1000))
        while registry.count > 0 && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(50))
        }
        let remaining = registry.all
        for channel in remaining {
            channel.pipeline.fireUserInboundEventTriggered(AcceptorHandler.Shutdown())
        }
        for channel in remaining {
            try? await channel.closeFuture.get()
        }
    }
}

/// The open association channels.
final class AssociationRegistry: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    func add(_ channel: any Channel) { channels.withLockedValue { $0[ObjectIdentifier(channel)] = channel } }
    func remove(_ channel: any Channel) { _ = channels.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) } }
    var count: Int { channels.withLockedValue { $0.count } }
    var all: [any Channel] { channels.withLockedValue { Array($0.values) } }
}

/// One association, acceptor side (PS3.8 §9.2 state machine, Sta2 → Sta6 → Sta13).
final class AcceptorHandler: ChannelInboundHandler {
    typealias InboundIn = PDU
    typealias OutboundOut = ByteBuffer

    /// Sent by ``DICOMServer/stop(grace:)``: abort and close.
    struct Shutdown {}

    enum State {
        /// Sta2: connected, waiting for the A-ASSOCIATE-RQ (ARTIM running).
        case awaitingRequest
        /// Waiting for the delegate's answer to `shouldAccept`.
        case deciding
        /// Sta6.
        case established
        /// Sta13: RJ, RP or ABORT sent; waiting for the peer to close (ARTIM running).
        case closing
        case closed
    }

    let configuration: DICOMServer.Configuration
    let delegate: any StorageDelegate
    let registry: AssociationRegistry

    var state = State.awaitingRequest
    var info = AssociationInfo(callingAETitle: "?", calledAETitle: "?", peer: "?")
    /// Accepted presentation contexts: id → (abstract syntax, transfer syntax).
    var contexts: [UInt8: (abstract: String, ts: String)] = [:]
    var peerMaxPDU: UInt32?
    var timer: Scheduled<Void>?

    // Message assembly
    var commandBytes: [UInt8] = []
    var commandContext: UInt8?
    var pendingCommand: CommandSet?
    var dataContext: UInt8 = 0
    var dataBytes: [UInt8] = []
    var dataSize = 0
    /// A delegate call (or the parse check) is running; inbound PDUs wait in `queue`.
    var busy = false
    var queue: [PDU] = []

    // For the association's log line
    var instances = 0
    var failures = 0
    var ending: String?
    var rejected = false

    init(configuration: DICOMServer.Configuration, delegate: any StorageDelegate, registry: AssociationRegistry) {
        self.configuration = configuration
        self.delegate = delegate
        self.registry = registry
    }

    func log(_ line: String) { configuration.log?(line) }

    // MARK: Channel events

    func channelActive(context: ChannelHandlerContext) {
        if let address = context.channel.remoteAddress {
            info = AssociationInfo(callingAETitle: "?", calledAETitle: "?",
                                   peer: "\(address.ipAddress ?? "?"):\(address.port ?? 0)")
        }
        startTimer(context: context, seconds: configuration.artimTimeout) { handler, context in
            handler.log("association from \(handler.info.peer): no A-ASSOCIATE-RQ within \(handler.configuration.artimTimeout) s (ARTIM); closing")
            handler.ending = "ARTIM timeout before the request"
            context.close(promise: nil)
        }
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        let previous = state
        state = .closed
        if !rejected, previous != .awaitingRequest || ending != nil {
            let how = ending ?? (previous == .established ? "connection closed by the peer without release" : "closed")
            log("association \(info.callingAETitle)@\(info.peer) → \(info.calledAETitle): \(contexts.count) contexts accepted, "
                + "\(instances) instances (\(failures) not stored); \(how)")
        } else if previous == .awaitingRequest {
            log("connection from \(info.peer) closed before an A-ASSOCIATE-RQ")
        }
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is Shutdown {
            if state != .closed {
                ending = ending ?? "aborted: server stopping"
                sendAbort(context: context, source: 2, reason: 0, thenClose: true)
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let pduError = error as? PDUError {
            protocolError(context: context, "\(pduError)", reason: pduError.abortReason)
        } else if error is ByteToMessageDecoderError {
            // After a framing error the decoder refuses further input; the abort is already sent.
            context.close(promise: nil)
        } else {
            if ending == nil { ending = "connection error: \(error)" }
            context.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let pdu = unwrapInboundIn(data)
        if busy || state == .deciding {
            queue.append(pdu)
            context.channel.setOption(.autoRead, value: false).whenComplete { _ in }
            return
        }
        handle(pdu, context: context)
    }

    // MARK: State machine

    func handle(_ pdu: PDU, context: ChannelHandlerContext) {
        switch state {
        case .awaitingRequest:
            timer?.cancel()
            guard case .associateRQ(let rq) = pdu else {
                protocolError(context: context, "\(pdu.name) before A-ASSOCIATE-RQ", reason: 2)
                return
            }
            receiveRequest(rq, context: context)
        case .deciding:
            queue.append(pdu)
        case .established:
            restartIdleTimer(context: context)
            switch pdu {
            case .pData(let pdvs):
                receive(pdvs[...], context: context)
            case .releaseRQ:
                if pendingCommand != nil || !commandBytes.isEmpty {
                    log("association \(info.callingAETitle)@\(info.peer): A-RELEASE-RQ in the middle of a message")
                }
                ending = "released"
                send(.releaseRP, context: context)
                enterClosing(context: context)
            case .abort(let source, let reason):
                ending = abortDescription(source: source, reason: reason)
                timer?.cancel()
                state = .closing
                context.close(promise: nil)
            default:
                protocolError(context: context, "unexpected \(pdu.name) on an established association", reason: 2)
            }
        case .closing:
            switch pdu {
            case .associateRQ:
                sendAbort(context: context, source: 2, reason: 2, thenClose: true)
            case .abort:
                context.close(promise: nil)
            default:
                break  // AA-6: ignored
            }
        case .closed:
            break
        }
    }

    func receiveRequest(_ rq: AssociateRequest, context: ChannelHandlerContext) {
        info = AssociationInfo(callingAETitle: rq.callingAETitle, calledAETitle: rq.calledAETitle, peer: info.peer)
        peerMaxPDU = rq.userInformation.maxPDULength
        let staticRejection: AssociationRejection?
        if rq.protocolVersion & 1 == 0 {
            staticRejection = .protocolVersionNotSupported
        } else if rq.applicationContext != dicomApplicationContextName {
            staticRejection = .applicationContextNotSupported
        } else if rq.calledAETitle != configuration.aeTitle.trimmingSpacesAndNULs() {
            staticRejection = .calledAENotRecognized
        } else if rq.callingAETitle.isEmpty {
            staticRejection = .callingAENotRecognized
        } else if registry.count > configuration.maxAssociations {
            staticRejection = .tooManyAssociations
        } else {
            staticRejection = nil
        }
        if let staticRejection {
            reject(staticRejection, context: context)
            return
        }
        state = .deciding
        let delegate = self.delegate
        let association = info
        context.eventLoop.makeFutureWithTask { await delegate.shouldAccept(association) }
            .assumeIsolated().whenComplete { result in
                guard self.state == .deciding else { return }
                if case .success(let rejection?) = result {
                    self.reject(rejection, context: context)
                    return
                }
                self.accept(rq, context: context)
            }
    }

    func reject(_ rejection: AssociationRejection, context: ChannelHandlerContext) {
        rejected = true
        log("association \(info.callingAETitle)@\(info.peer) → \(info.calledAETitle): \(rejection)")
        send(.associateRJ(rejection), context: context)
        enterClosing(context: context)
    }

    func accept(_ rq: AssociateRequest, context: ChannelHandlerContext) {
        let answers = Negotiation.answer(rq.presentationContexts, acceptUnknownSOPClasses: configuration.acceptUnknownSOPClasses)
        let abstractByID = Dictionary(rq.presentationContexts.map { ($0.id, $0.abstractSyntax) }, uniquingKeysWith: { a, _ in a })
        for answer in answers where answer.result == 0 {
            contexts[answer.id] = (abstractByID[answer.id] ?? "", answer.transferSyntax)
        }
        let ac = AssociateAccept(
            calledAETitle: rq.calledAETitle, callingAETitle: rq.callingAETitle, presentationContexts: answers,
            userInformation: UserInformation(maxPDULength: configuration.maxPDULength,
                                             implementationClassUID: FileMeta.implementationClassUID,
                                             implementationVersionName: FileMeta.implementationVersionName))
        send(.associateAC(ac), context: context)
        state = .established
        if contexts.isEmpty {
            log("association \(info.callingAETitle)@\(info.peer): none of \(answers.count) proposed presentation contexts accepted")
        }
        restartIdleTimer(context: context)
        drainQueue(context: context)
    }

    // MARK: Messages

    func receive(_ pdvs: ArraySlice<PDV>, context: ChannelHandlerContext) {
        var rest = pdvs
        while let pdv = rest.popFirst() {
            guard state == .established else { return }
            guard contexts[pdv.contextID] != nil else {
                protocolError(context: context, "PDV on presentation context \(pdv.contextID), which was not accepted", reason: 6)
                return
            }
            guard pdv.data.count % 2 == 0 else {
                protocolError(context: context, "PDV fragment of odd length \(pdv.data.count)", reason: 6)
                return
            }
            if pdv.isCommand {
                guard pendingCommand == nil else {
                    protocolError(context: context, "command fragment while the data set of the previous command is incomplete", reason: 2)
                    return
                }
                if let c = commandContext, c != pdv.contextID {
                    protocolError(context: context, "command fragments on different presentation contexts", reason: 6)
                    return
                }
                guard commandBytes.count + pdv.data.count <= 64 * 1024 else {
                    protocolError(context: context, "command set longer than 64 KiB", reason: 6)
                    return
                }
                commandContext = pdv.contextID
                commandBytes += pdv.data
                guard pdv.isLast else { continue }
                let bytes = commandBytes
                commandBytes = []
                commandContext = nil
                let command: CommandSet
                do {
                    command = try CommandSet(decoding: bytes)
                } catch {
                    protocolError(context: context, "\(error)", reason: 6)
                    return
                }
                if command.hasDataSet {
                    pendingCommand = command
                    dataContext = pdv.contextID
                    dataBytes = []
                    dataSize = 0
                } else {
                    perform(command, contextID: pdv.contextID, data: nil, context: context)
                }
            } else {
                guard let command = pendingCommand else {
                    protocolError(context: context, "data fragment without a command", reason: 2)
                    return
                }
                guard pdv.contextID == dataContext else {
                    protocolError(context: context, "data fragment on presentation context \(pdv.contextID), its command came on \(dataContext)", reason: 6)
                    return
                }
                dataSize += pdv.data.count
                if dataSize <= configuration.maxDataSetSize {
                    dataBytes += pdv.data
                } else if !dataBytes.isEmpty {
                    dataBytes = []  // over the limit: keep reading, keep nothing
                }
                guard pdv.isLast else { continue }
                pendingCommand = nil
                let data = dataBytes
                dataBytes = []
                perform(command, contextID: dataContext, data: data, context: context)
            }
            if busy, !rest.isEmpty {
                queue.insert(.pData(Array(rest)), at: 0)
                return
            }
        }
    }

    /// Carries out one complete message.
    func perform(_ command: CommandSet, contextID: UInt8, data: [UInt8]?, context: ChannelHandlerContext) {
        switch command.commandField {
        case CommandSet.Field.cEchoRQ:
            respond(to: command, contextID: contextID, status: .success, context: context)
        case CommandSet.Field.cStoreRQ:
            guard let data, let pc = contexts[contextID] else { return }
            let size = dataSize
            if size > configuration.maxDataSetSize {
                finishStore(command, contextID: contextID,
                            status: DIMSEStatus.outOfResources.with(comment: "data set larger than \(configuration.maxDataSetSize) bytes"),
                            context: context)
                return
            }
            busy = true
            timer?.cancel()
            let delegate = self.delegate, association = info
            context.eventLoop.makeFutureWithTask { () async -> (DIMSEStatus, Bool) in
                switch checkStore(command, abstractSyntax: pc.abstract, transferSyntax: pc.ts, data: data, association: association) {
                case .refused(let status): return (status, true)
                case .ok(let instance): return (await delegate.store(instance), false)
                }
            }.assumeIsolated().whenComplete { result in
                self.busy = false
                let status: DIMSEStatus
                switch result {
                case .success(let (s, ourCheck)):
                    status = s
                    if ourCheck {
                        self.log("association \(association.callingAETitle)@\(association.peer): C-STORE message \(command.messageID ?? 0) refused: \(s)")
                    }
                case .failure(let error):
                    status = DIMSEStatus.processingFailure.with(comment: "\(error)")
                }
                self.finishStore(command, contextID: contextID, status: status, context: context)
                if self.state == .established { self.restartIdleTimer(context: context) }
                self.drainQueue(context: context)
            }
        default:
            log("association \(info.callingAETitle)@\(info.peer): command field 0x\(hex(command.commandField ?? 0)) not supported; answered 0211")
            respond(to: command, contextID: contextID, status: .unrecognizedOperation, context: context)
        }
    }

    func finishStore(_ command: CommandSet, contextID: UInt8, status: DIMSEStatus, context: ChannelHandlerContext) {
        instances += 1
        if status.isFailure { failures += 1 }
        respond(to: command, contextID: contextID, status: status, context: context)
    }

    func respond(to command: CommandSet, contextID: UInt8, status: DIMSEStatus, context: ChannelHandlerContext) {
        guard state == .established, context.channel.isActive else { return }
        let bytes = CommandSet.response(to: command, status: status).encoded()
        for pdu in fragment(bytes, contextID: contextID, isCommand: true, maxFragment: maxFragmentLength(peerMaxPDU: peerMaxPDU)) {
            context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: pdu)), promise: nil)
        }
        context.flush()
    }

    func drainQueue(context: ChannelHandlerContext) {
        while !busy, state != .deciding, !queue.isEmpty {
            handle(queue.removeFirst(), context: context)
        }
        if !busy, state != .deciding, context.channel.isActive {
            context.channel.setOption(.autoRead, value: true).whenComplete { _ in }
        }
    }

    // MARK: Sending, aborting, timers

    func send(_ pdu: PDU, context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: pdu.encoded())), promise: nil)
    }

    /// A protocol error: log it, send A-ABORT (source 2), wait for the close (ARTIM).
    func protocolError(context: ChannelHandlerContext, _ message: String, reason: UInt8) {
        guard state != .closed else { return }
        log("association \(info.callingAETitle)@\(info.peer): protocol error: \(message); sending A-ABORT (source 2, reason \(reason))")
        if ending == nil { ending = "aborted: \(message)" }
        if state == .awaitingRequest { ending = "aborted before the request: \(message)" }
        sendAbort(context: context, source: 2, reason: reason, thenClose: false)
    }

    func sendAbort(context: ChannelHandlerContext, source: UInt8, reason: UInt8, thenClose: Bool) {
        queue = []
        pendingCommand = nil
        dataBytes = []
        guard context.channel.isActive else { return }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: PDU.abort(source: source, reason: reason).encoded())),
                              promise: done)
        if thenClose {
            state = .closing
            timer?.cancel()
            done.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        } else {
            enterClosing(context: context)
        }
    }

    func enterClosing(context: ChannelHandlerContext) {
        state = .closing
        startTimer(context: context, seconds: configuration.artimTimeout) { _, context in
            context.close(promise: nil)
        }
    }

    func restartIdleTimer(context: ChannelHandlerContext) {
        guard !busy else { return }
        startTimer(context: context, seconds: configuration.idleTimeout) { handler, context in
            guard handler.state == .established, !handler.busy else { return }
            handler.log("association \(handler.info.callingAETitle)@\(handler.info.peer): idle for \(handler.configuration.idleTimeout) s; sending A-ABORT")
            handler.ending = "aborted: idle timeout"
            handler.sendAbort(context: context, source: 2, reason: 0, thenClose: true)
        }
    }

    func startTimer(context: ChannelHandlerContext, seconds: Double,
                    _ fire: @escaping (AcceptorHandler, ChannelHandlerContext) -> Void) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            fire(self, context)
        }
    }
}

/// Checks a received C-STORE before the delegate sees it: the command names an instance, its SOP
/// Class is the context's, the data set parses in the negotiated transfer syntax, and the data
/// set's (0008,0016)/(0008,0018) agree with the command.
func checkStore(_ command: CommandSet, abstractSyntax: String, transferSyntax: String, data: [UInt8],
                association: AssociationInfo) -> StoreCheck {
    guard let sopClass = command.affectedSOPClassUID, !sopClass.isEmpty,
          let sopInstance = command.affectedSOPInstanceUID, !sopInstance.isEmpty else {
        return .refused(DIMSEStatus.cannotUnderstand.with(comment: "C-STORE-RQ without Affected SOP Class/Instance UID"))
    }
    guard sopClass == abstractSyntax else {
        return .refused(DIMSEStatus.sopClassNotSupported.with(comment: "SOP Class differs from the presentation context's"))
    }
    let instance = ReceivedInstance(association: association, sopClassUID: sopClass, sopInstanceUID: sopInstance,
                                    transferSyntaxUID: transferSyntax, dataSet: data, messageID: command.messageID ?? 0)
    let bytes: [UInt8]
    do {
        bytes = try instance.part10()
    } catch {
        return .refused(DIMSEStatus.cannotUnderstand.with(comment: "invalid UID in the C-STORE-RQ"))
    }
    let file: DICOMFile
    do {
        file = try DICOMFile.read(bytes: bytes, options: ParseOptions(stopBeforePixelData: false, strict: true))
    } catch {
        return .refused(DIMSEStatus.cannotUnderstand.with(comment: "data set does not parse: \(error.shortReason)"))
    }
    guard !file.dataSet.elements.isEmpty else {
        return .refused(DIMSEStatus.cannotUnderstand.with(comment: "empty data set"))
    }
    if let uid = file.dataSet.string(.sopInstanceUID), uid != sopInstance {
        return .refused(DIMSEStatus.dataSetMismatch.with(comment: "SOP Instance UID (0008,0018) differs from the command's"))
    }
    if let uid = file.dataSet.string(.sopClassUID), uid != sopClass {
        return .refused(DIMSEStatus.dataSetMismatch.with(comment: "SOP Class UID (0008,0016) differs from the command's"))
    }
    return .ok(instance)
}

/// The outcome of ``checkStore``.
enum StoreCheck {
    case ok(ReceivedInstance)
    case refused(DIMSEStatus)
}

extension DICOMError {
    /// The error without file paths, for an ErrorComment.
    var shortReason: String { "\(self)" }
}
