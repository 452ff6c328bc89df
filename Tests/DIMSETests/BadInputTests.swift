import DIMSE
import Foundation
import TestSupport
import Testing

/// Bad input against a running SCP: each gets the abort or close the standard asks for, a log
/// line, and the server keeps serving (a concurrent echoscu succeeds).
@Suite(.serialized) struct BadInputTests {
    func withServer(_ body: (DICOMServer, LogLines) async throws -> Void) async throws {
        let dir = try temporaryDirectory("bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = LogLines()
        var config = DICOMServer.Configuration(port: 0)
        config.log = log.sink
        config.artimTimeout = 1
        config.idleTimeout = 1.5
        config.maxPDULength = 16384
        let server = try await DICOMServer.start(config, delegate: RecordingDelegate(dir: dir))
        do { try await body(server, log) } catch {
            await server.stop(grace: 0)
            throw error
        }
        await server.stop(grace: 1)
    }

    func echoStillWorks(_ server: DICOMServer) async throws {
        let r = try await runAsync("/usr/bin/echoscu", ["-aet", "TESTSCU", "-aec", "AHI", "127.0.0.1", "\(server.port)"])
        #expect(r.status == 0, "\(r.output)")
    }

    /// An A-ASSOCIATE-RQ as echoscu sends it, to AHI (Verification, IVR).
    func associateRQ() throws -> [UInt8] {
        let bytes = try seed("echoscu-associate-rq.pdu")
        guard case .associateRQ(var rq)? = try PDUFramer(advertisedMaxPDULength: 16384).split(bytes).pdus.first else {
            throw POSIXError(.EINVAL)
        }
        rq.calledAETitle = "AHI"
        return PDU.associateRQ(rq).encoded()
    }

    /// Associates over a raw socket and reads the A-ASSOCIATE-AC.
    func associated(_ server: DICOMServer) async throws -> RawSocket {
        let s = try RawSocket(port: server.port)
        s.send(try associateRQ())
        let (pdus, _) = try await readPDUs(s, count: 1)
        guard case .associateAC? = pdus.first else {
            Issue.record("no A-ASSOCIATE-AC: \(pdus)")
            return s
        }
        return s
    }

    @Test func garbageGetsAnAbort() async throws {
        try await withServer { server, log in
            let s = try RawSocket(port: server.port)
            s.send(Array("GET / HTTP/1.1\r\nHost: x\r\n\r\n".utf8))
            let (bytes, closed) = await s.readUntilClosed(seconds: 15)
            #expect(bytes == PDU.abort(source: 2, reason: 1).encoded())  // unrecognized PDU (type 0x47)
            #expect(closed)
            try await echoStillWorks(server)
            #expect(log.all.contains { $0.contains("unknown PDU type 0x47") }, "\(log.all)")
        }
    }

    @Test func hugeLengthIsAbortedBeforeItsBytes() async throws {
        try await withServer { server, log in
            let s = try RawSocket(port: server.port)
            s.send([0x01, 0x00, 0x7F, 0xFF, 0xFF, 0xFF, 0x00, 0x01])
            let (bytes, _) = await s.readUntilClosed(seconds: 10)
            #expect(bytes == PDU.abort(source: 2, reason: 6).encoded())
            // And on an established association, a P-DATA-TF longer than advertised (16 KiB + slack).
            let a = try await associated(server)
            a.send([0x04, 0x00, 0x01, 0x00, 0x00, 0x00])
            let (b2, closed) = await a.readUntilClosed(seconds: 10)
            #expect(b2 == PDU.abort(source: 2, reason: 6).encoded())
            #expect(closed)
            try await echoStillWorks(server)
            #expect(log.all.contains { $0.contains("declares length") }, "\(log.all)")
        }
    }

    /// A truncated PDU then silence: ARTIM closes the connection (1 s here).
    @Test func truncatedRequestThenSilenceIsClosedByARTIM() async throws {
        try await withServer { server, log in
            let s = try RawSocket(port: server.port)
            s.send(Array(try associateRQ().prefix(40)))
            // Closed by ARTIM (1 s here), long before this wait (15 s) or the 30 s default would end it.
            let (bytes, closed) = await s.readUntilClosed(seconds: 15)
            #expect(closed && bytes.isEmpty)
            try await echoStillWorks(server)
            #expect(log.all.contains { $0.contains("ARTIM") }, "\(log.all)")
        }
    }

    @Test func silentConnectionIsClosedByARTIM() async throws {
        try await withServer { server, _ in
            let s = try RawSocket(port: server.port)
            // ARTIM is 1 s here (30 s by default): closed well within this wait.
            let (_, closed) = await s.readUntilClosed(seconds: 15)
            #expect(closed)
        }
    }

    /// An association that never sends data after the AC: aborted after the idle timeout.
    @Test func idleAssociationIsAborted() async throws {
        try await withServer { server, log in
            let s = try await associated(server)
            // The idle timeout is short here (60 s by default): aborted well within this wait.
            let (bytes, closed) = await s.readUntilClosed(seconds: 15)
            #expect(bytes == PDU.abort(source: 2, reason: 0).encoded())
            #expect(closed)
            #expect(log.all.contains { $0.contains("idle") }, "\(log.all)")
        }
    }

    @Test func oddPDVIsAborted() async throws {
        try await withServer { server, log in
            let s = try await associated(server)
            s.send(PDU.pData([PDV(contextID: 1, isCommand: true, isLast: true, data: [1, 2, 3])]).encoded())
            let (bytes, _) = await s.readUntilClosed(seconds: 10)
            #expect(bytes == PDU.abort(source: 2, reason: 6).encoded())
            #expect(log.all.contains { $0.contains("odd length") }, "\(log.all)")
        }
    }

    @Test func pdvOnAContextNotAcceptedIsAborted() async throws {
        try await withServer { server, _ in
            let s = try await associated(server)
            s.send(PDU.pData([PDV(contextID: 3, isCommand: true, isLast: true, data: CommandSet.echoRequest(messageID: 1).encoded())]).encoded())
            let (bytes, _) = await s.readUntilClosed(seconds: 10)
            #expect(bytes == PDU.abort(source: 2, reason: 6).encoded())
        }
    }

    @Test func unparsableCommandSetIsAborted() async throws {
        try await withServer { server, log in
            let s = try await associated(server)
            s.send(PDU.pData([PDV(contextID: 1, isCommand: true, isLast: true, data: [0, 0, 0, 1, 0xFF, 0xFF, 0, 0])]).encoded())
            let (bytes, _) = await s.readUntilClosed(seconds: 10)
            #expect(bytes == PDU.abort(source: 2, reason: 6).encoded())
            #expect(log.all.contains { $0.contains("command set") }, "\(log.all)")
        }
    }

    /// Release after an echo over the raw socket: the C-ECHO-RSP, then A-RELEASE-RP.
    @Test func echoThenReleaseByHand() async throws {
        try await withServer { server, _ in
            let s = try await associated(server)
            s.send(dcmtkEchoRequestPDU + PDU.releaseRQ.encoded())
            let (pdus, _) = try await readPDUs(s, count: 2)
            #expect(pdus.count == 2)
            guard case .pData(let pdvs)? = pdus.first else { Issue.record("no response: \(pdus)"); return }
            let rsp = try CommandSet(decoding: pdvs[0].data)
            #expect(rsp.commandField == 0x8030 && rsp.messageIDBeingRespondedTo == 1 && rsp.status == 0)
            #expect(pdus.last == .releaseRP)
        }
    }

    /// A C-STORE whose data set does not parse: C000, the delegate is not called, the
    /// association goes on.
    @Test func unparsableDataSetIsAnsweredC000() async throws {
        let dir = try temporaryDirectory("c000")
        defer { try? FileManager.default.removeItem(at: dir) }
        let delegate = RecordingDelegate(dir: dir)
        var config = DICOMServer.Configuration(port: 0)
        config.maxPDULength = 16384
        let server = try await DICOMServer.start(config, delegate: delegate)
        defer { Task { await server.stop(grace: 0) } }
        let ct = "1.2.840.10008.5.1.4.1.1.2", ele = "1.2.840.10008.1.2.1"
        let rq = AssociateRequest(calledAETitle: "AHI", callingAETitle: "RAW",
                                  presentationContexts: [ProposedContext(id: 1, abstractSyntax: ct, transferSyntaxes: [ele])],
                                  userInformation: UserInformation(maxPDULength: 16384, implementationClassUID: "1.2.3"))
        let s = try RawSocket(port: server.port)
        s.send(PDU.associateRQ(rq).encoded())
        _ = try await readPDUs(s, count: 1)
        // (0010,0010) PN with length 0x1000 in a 16-byte data set: the element runs past the end.
        let dataSet: [UInt8] = [0x10, 0x00, 0x10, 0x00, 0x50, 0x4E, 0x00, 0x10, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48]
        let command = CommandSet.storeRequest(messageID: 5, sopClassUID: ct, sopInstanceUID: "1.2.3.4")
        s.send(PDU.pData([PDV(contextID: 1, isCommand: true, isLast: true, data: command.encoded())]).encoded())
        s.send(PDU.pData([PDV(contextID: 1, isCommand: false, isLast: true, data: dataSet)]).encoded())
        let (pdus, closed) = try await readPDUs(s, count: 1)
        #expect(!closed)
        guard case .pData(let pdvs)? = pdus.first else { Issue.record("no response: \(pdus)"); return }
        let rsp = try CommandSet(decoding: pdvs[0].data)
        #expect(rsp.commandField == 0x8001 && rsp.messageIDBeingRespondedTo == 5 && rsp.status == 0xC000, "\(rsp)")
        #expect(rsp.errorComment?.contains("does not parse") == true, "\(rsp.errorComment ?? "")")
        #expect(rsp.affectedSOPInstanceUID == "1.2.3.4")
        #expect(delegate.received.withLockedValue { $0 }.isEmpty)
    }
}
