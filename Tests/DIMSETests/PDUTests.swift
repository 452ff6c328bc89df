import DIMSE
import Foundation
import TestSupport
import Testing

/// The C-ECHO-RQ PDU DCMTK's echoscu sends (a capture, shared/reference/dicomweb-dimse.md §2.2).
let dcmtkEchoRequestPDU: [UInt8] = {
    var b: [UInt8] = [0x04, 0x00, 0x00, 0x00, 0x00, 0x4A, 0x00, 0x00, 0x00, 0x46, 0x01, 0x03,
                      0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00]
    b += [0x00, 0x00, 0x02, 0x00, 0x12, 0x00, 0x00, 0x00] + Array("1.2.840.10008.1.1".utf8) + [0x00]
    b += [0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x30, 0x00]
    b += [0x00, 0x00, 0x10, 0x01, 0x02, 0x00, 0x00, 0x00, 0x01, 0x00]
    b += [0x00, 0x00, 0x00, 0x08, 0x02, 0x00, 0x00, 0x00, 0x01, 0x01]
    return b
}()

func seed(_ name: String) throws -> [UInt8] {
    let url = packageRoot.appendingPathComponent("Tests/DIMSETests/Seeds/\(name)")
    return [UInt8](try Data(contentsOf: url))
}

@Suite struct PDUTests {
    @Test func decodesDCMTKsEchoRequest() throws {
        #expect(dcmtkEchoRequestPDU.count == 80)
        let (pdus, consumed) = try PDUFramer(advertisedMaxPDULength: 16384).split(dcmtkEchoRequestPDU)
        #expect(consumed == 80)
        guard case .pData(let pdvs)? = pdus.first else { Issue.record("not P-DATA: \(pdus)"); return }
        #expect(pdvs.count == 1 && pdvs[0].contextID == 1 && pdvs[0].isCommand && pdvs[0].isLast)
        let command = try CommandSet(decoding: pdvs[0].data)
        #expect(command.commandField == 0x0030)
        #expect(command.messageID == 1)
        #expect(command.affectedSOPClassUID == "1.2.840.10008.1.1")
        #expect(!command.hasDataSet)
    }

    @Test func encodesTheEchoRequestAsDCMTKDoes() {
        let command = CommandSet.echoRequest(messageID: 1).encoded()
        let pdu = PDU.pData([PDV(contextID: 1, isCommand: true, isLast: true, data: command)]).encoded()
        #expect(pdu == dcmtkEchoRequestPDU)
    }

    /// echoscu's A-ASSOCIATE-RQ, captured with a plain socket (Seeds/echoscu-associate-rq.pdu,
    /// `echoscu -aet LABSCU -aec STUB`).
    @Test func decodesEchoscusAssociateRequest() throws {
        let bytes = try seed("echoscu-associate-rq.pdu")
        let (pdus, consumed) = try PDUFramer(advertisedMaxPDULength: 16384).split(bytes)
        #expect(consumed == bytes.count && bytes.count == 6 + 205)
        guard case .associateRQ(let rq)? = pdus.first else { Issue.record("not an RQ"); return }
        #expect(rq.calledAETitle == "STUB" && rq.callingAETitle == "LABSCU")
        #expect(rq.protocolVersion == 1)
        #expect(rq.applicationContext == "1.2.840.10008.3.1.1.1")
        #expect(rq.presentationContexts == [ProposedContext(id: 1, abstractSyntax: "1.2.840.10008.1.1",
                                                            transferSyntaxes: ["1.2.840.10008.1.2"])])
        #expect(rq.userInformation.maxPDULength == 16384)  // DCMTK's default
        #expect(rq.userInformation.implementationClassUID?.hasPrefix("1.2.276.0.7230010.3") == true)  // DCMTK's UID root
        #expect(rq.userInformation.implementationVersionName?.hasPrefix("OFFIS_DCMTK") == true)
        // Re-encoding gives back the captured bytes (the UIDs are not padded, PS3.8 Annex F), except
        // a reserved byte of the presentation context item, where DCMTK writes FF and we write 00.
        var expected = bytes
        #expect(expected[6 + 68 + 25 + 6] == 0xFF)
        expected[6 + 68 + 25 + 6] = 0
        #expect(PDU.associateRQ(rq).encoded() == expected)
    }

    /// Unknown items in an A-ASSOCIATE-RQ and unknown user-information sub-items are skipped.
    @Test func unknownItemsAreIgnored() throws {
        let bytes = try seed("echoscu-associate-rq.pdu")
        var body = Array(bytes.dropFirst(6))
        body += [0x77, 0x00, 0x00, 0x03, 0x61, 0x62, 0x63]  // an unknown item after user information
        guard let plain = try PDUFramer(advertisedMaxPDULength: 16384).split(bytes).pdus.first else {
            Issue.record("no PDU")
            return
        }
        let decoded = try PDU.decode(type: 0x01, body: body)
        #expect(decoded == plain)
        // An unknown sub-item (0x5F) inside user information.
        guard case .associateRQ(var rq) = plain else { return }
        rq.userInformation.implementationVersionName = nil
        var enc = PDU.associateRQ(rq).encoded()
        // Append sub-item 5F to the user information item (the last item), fixing the lengths.
        let extra: [UInt8] = [0x5F, 0x00, 0x00, 0x02, 0x01, 0x02]
        guard let ui = lastItemOffset(enc, type: 0x50) else { Issue.record("no user information item"); return }
        let uiLength = Int(enc[ui + 2]) << 8 | Int(enc[ui + 3])
        enc.insert(contentsOf: extra, at: ui + 4 + uiLength)
        let newUI = uiLength + extra.count
        enc[ui + 2] = UInt8(newUI >> 8); enc[ui + 3] = UInt8(newUI & 0xFF)
        let total = enc.count - 6
        enc[2] = UInt8(total >> 24); enc[3] = UInt8(total >> 16 & 0xFF); enc[4] = UInt8(total >> 8 & 0xFF); enc[5] = UInt8(total & 0xFF)
        let again = try PDU.decode(type: 0x01, body: Array(enc.dropFirst(6)))
        #expect(again == .associateRQ(rq))
    }

    @Test func truncatedPDUWaitsForMoreBytes() throws {
        for cut in [0, 3, 5, 6, 40, 79] {
            let (pdus, consumed) = try PDUFramer(advertisedMaxPDULength: 16384).split(Array(dcmtkEchoRequestPDU.prefix(cut)))
            #expect(pdus.isEmpty && consumed == 0)
        }
    }

    @Test func absurdLengthIsRefusedFromTheHeaderAlone() {
        let framer = PDUFramer(advertisedMaxPDULength: 16384)
        #expect(throws: PDUError.tooLong(type: 4, length: 0xFFFF_FFFF, limit: 16384 + PDUFramer.dataSlack)) {
            try framer.split([0x04, 0x00, 0xFF, 0xFF, 0xFF, 0xFF])
        }
        #expect(throws: PDUError.tooLong(type: 1, length: 0x0200_0000, limit: PDUFramer.defaultOtherLimit)) {
            try framer.split([0x01, 0x00, 0x02, 0x00, 0x00, 0x00])
        }
        #expect(PDUError.tooLong(type: 4, length: 1, limit: 0).abortReason == 6)
    }

    @Test func unknownPDUTypeIsUnrecognized() {
        #expect(throws: PDUError.unknownType(0x09)) { try PDUFramer(advertisedMaxPDULength: 16384).split([0x09, 0, 0, 0, 0, 0]) }
        #expect(PDUError.unknownType(9).abortReason == 1)
    }

    @Test func pdvLengthBeyondThePDUIsMalformed() throws {
        var bytes = dcmtkEchoRequestPDU
        bytes[9] = 0x47  // PDV length 71 in a PDU whose body has 70 after the length field
        #expect(throws: PDUError.self) { try PDUFramer(advertisedMaxPDULength: 16384).split(bytes) }
        var short = dcmtkEchoRequestPDU
        short[9] = 0x01  // PDV length 1: less than the pc-id and header
        #expect(throws: PDUError.self) { try PDUFramer(advertisedMaxPDULength: 16384).split(short) }
    }

    @Test func fixedLengthPDUsMustHaveLengthFour() {
        for type: UInt8 in [3, 5, 6, 7] {
            #expect(throws: PDUError.self) { try PDU.decode(type: type, body: [0, 0, 0]) }
        }
        #expect(PDU.abort(source: 2, reason: 6).encoded() == [0x07, 0, 0, 0, 0, 4, 0, 0, 2, 6])
        #expect(PDU.associateRJ(.calledAENotRecognized).encoded() == [0x03, 0, 0, 0, 0, 4, 0, 1, 1, 7])
        #expect(PDU.releaseRP.encoded() == [0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0])
    }

    @Test func commandSetBoundsAreChecked() {
        let good = CommandSet.echoRequest(messageID: 7).encoded()
        #expect((try? CommandSet(decoding: good))?.messageID == 7)
        #expect(throws: CommandSetError.self) { try CommandSet(decoding: Array(good.dropLast(1))) }  // value cut off
        #expect(throws: CommandSetError.self) { try CommandSet(decoding: Array(good.prefix(5))) }  // header cut off
        var bigLength = good
        bigLength[4] = 0xFF; bigLength[5] = 0xFF; bigLength[6] = 0xFF; bigLength[7] = 0xFF
        #expect(throws: CommandSetError.self) { try CommandSet(decoding: bigLength) }
        var otherGroup = good
        otherGroup[0] = 0x08
        #expect(throws: CommandSetError.self) { try CommandSet(decoding: otherGroup) }
        #expect(throws: CommandSetError.self) { try CommandSet(decoding: []) }  // no CommandField
    }

    /// Every seed and every crash input the fuzzer found goes through the fuzz target's code
    /// paths without trapping.
    @Test func seedsReplay() throws {
        let dir = packageRoot.appendingPathComponent("Tests/DIMSETests/Seeds")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
        #expect(!names.isEmpty)
        for name in names {
            let bytes = try seed(name)
            for cut in Set([bytes.count, bytes.count / 2, 7]) where cut <= bytes.count {
                _ = try? PDUFramer(advertisedMaxPDULength: 16384).split(Array(bytes.prefix(cut)))
                _ = try? CommandSet(decoding: Array(bytes.prefix(cut)))
            }
        }
    }
}

/// The offset of the last item of `type` at the top level of an A-ASSOCIATE PDU.
func lastItemOffset(_ pdu: [UInt8], type: UInt8) -> Int? {
    var at = 6 + 68
    var found: Int?
    while at + 4 <= pdu.count {
        if pdu[at] == type { found = at }
        at += 4 + (Int(pdu[at + 2]) << 8 | Int(pdu[at + 3]))
    }
    return found
}

@Suite struct NegotiationTests {
    let ct = "1.2.840.10008.5.1.4.1.1.2"
    let ivr = "1.2.840.10008.1.2", ele = "1.2.840.10008.1.2.1", ebe = "1.2.840.10008.1.2.2"
    let j2kLossless = "1.2.840.10008.1.2.4.90", htj2k = "1.2.840.10008.1.2.4.201"

    @Test func choosesOurPreferenceAmongWhatIsOffered() {
        let answers = Negotiation.answer([
            ProposedContext(id: 1, abstractSyntax: "1.2.840.10008.1.1", transferSyntaxes: [ivr]),
            ProposedContext(id: 3, abstractSyntax: ct, transferSyntaxes: [ivr, ele]),
            ProposedContext(id: 5, abstractSyntax: ct, transferSyntaxes: [ele, j2kLossless, htj2k]),
            ProposedContext(id: 7, abstractSyntax: ct, transferSyntaxes: [ebe, ivr]),
            ProposedContext(id: 9, abstractSyntax: "1.2.3.4.5", transferSyntaxes: [ele]),
            ProposedContext(id: 11, abstractSyntax: ct, transferSyntaxes: ["1.2.840.10008.1.2.4.110"]),  // JPEG XL lossless: AHI does not import it
        ], acceptUnknownSOPClasses: false)
        #expect(answers == [
            AcceptedContext(id: 1, result: 0, transferSyntax: ivr),
            AcceptedContext(id: 3, result: 0, transferSyntax: ele),
            AcceptedContext(id: 5, result: 0, transferSyntax: htj2k),
            AcceptedContext(id: 7, result: 0, transferSyntax: ivr),
            AcceptedContext(id: 9, result: 3, transferSyntax: ele),
            AcceptedContext(id: 11, result: 4, transferSyntax: "1.2.840.10008.1.2.4.110"),
        ])
        let open = Negotiation.answer([ProposedContext(id: 1, abstractSyntax: "1.2.3.4.5", transferSyntaxes: [ele])],
                                      acceptUnknownSOPClasses: true)
        #expect(open == [AcceptedContext(id: 1, result: 0, transferSyntax: ele)])
    }

    @Test func knowsTheCommonStorageClasses() {
        // A few from PS3.4 Table B.5-1, typed from the standard.
        for uid in ["1.2.840.10008.5.1.4.1.1.2", "1.2.840.10008.5.1.4.1.1.4", "1.2.840.10008.5.1.4.1.1.7",
                    "1.2.840.10008.5.1.4.1.1.1.2", "1.2.840.10008.5.1.4.1.1.88.11", "1.2.840.10008.5.1.4.1.1.66.4",
                    "1.2.840.10008.5.1.4.1.1.77.1.6", "1.2.840.10008.5.1.4.1.1.481.1"] {
            #expect(StorageSOPClasses.contains(uid), "\(uid)")
        }
        #expect(!StorageSOPClasses.contains("1.2.840.10008.1.20.1"))  // Storage Commitment Push Model
        #expect(StorageSOPClasses.all.count > 100)
    }
}
