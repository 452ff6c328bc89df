import DICOMCore
import DICOMweb

/// Who is on the other end of an association.
public struct AssociationInfo: Sendable, Hashable {
    /// The requestor's AE title (trimmed).
    public let callingAETitle: String
    /// The AE title the requestor asked for (trimmed).
    public let calledAETitle: String
    /// The peer's address, "ip:port".
    public let peer: String

    public init(callingAETitle: String, calledAETitle: String, peer: String) {
        self.callingAETitle = callingAETitle
        self.calledAETitle = calledAETitle
        self.peer = peer
    }
}

/// A DIMSE status (PS3.7 Annex C) with an optional ErrorComment (0000,0902), LO ≤ 64 characters.
public struct DIMSEStatus: Sendable, Hashable, CustomStringConvertible {
    public let code: UInt16
    public let comment: String?

    public init(_ code: UInt16, comment: String? = nil) {
        self.code = code
        self.comment = comment
    }

    /// 0000.
    public static let success = DIMSEStatus(0x0000)
    /// A700: refused, out of resources (SCUs tend to retry later).
    public static let outOfResources = DIMSEStatus(0xA700)
    /// C000: cannot understand (the data set does not parse).
    public static let cannotUnderstand = DIMSEStatus(0xC000)
    /// 0122: SOP Class not supported.
    public static let sopClassNotSupported = DIMSEStatus(0x0122)
    /// A900: data set does not match SOP Class.
    public static let dataSetMismatch = DIMSEStatus(0xA900)
    /// 0110: processing failure.
    public static let processingFailure = DIMSEStatus(0x0110)
    /// 0211: unrecognized operation (a command this SCP does not perform).
    public static let unrecognizedOperation = DIMSEStatus(0x0211)

    /// This status with a comment.
    public func with(comment: String) -> DIMSEStatus { DIMSEStatus(code, comment: comment) }

    /// 0000.
    public var isSuccess: Bool { code == 0 }
    /// B000–BFFF (PS3.4 B.2.3; C-STORE warnings) and 0001 (attribute list error, a warning).
    public var isWarning: Bool { (0xB000...0xBFFF).contains(code) || code == 0x0001 || code == 0x0107 || code == 0x0116 }
    /// Neither success, warning nor pending.
    public var isFailure: Bool { !isSuccess && !isWarning && code != 0xFF00 && code != 0xFF01 }

    /// The code as four hex digits.
    public var hexCode: String { hex(code) }

    /// "0000 success", "A700 out of resources: comment", …
    public var description: String {
        let meaning: String
        switch code {
        case 0x0000: meaning = "success"
        case 0x0110: meaning = "processing failure"
        case 0x0117: meaning = "invalid SOP instance"
        case 0x0122: meaning = "SOP Class not supported"
        case 0x0124: meaning = "not authorized"
        case 0x0211: meaning = "unrecognized operation"
        case 0xA700...0xA7FF: meaning = "refused: out of resources"
        case 0xA900...0xA9FF: meaning = "error: data set does not match SOP Class"
        case 0xC000...0xCFFF: meaning = "error: cannot understand"
        case 0xB000...0xBFFF: meaning = "warning"
        default: meaning = isWarning ? "warning" : "failure"
        }
        return "\(hexCode) \(meaning)" + (comment.map { ": \($0)" } ?? "")
    }
}

/// An instance received in a C-STORE.
public struct ReceivedInstance: Sendable {
    public let association: AssociationInfo
    /// AffectedSOPClassUID of the C-STORE-RQ (checked against (0008,0016) of the data set).
    public let sopClassUID: String
    /// AffectedSOPInstanceUID of the C-STORE-RQ (checked against (0008,0018)).
    public let sopInstanceUID: String
    /// The transfer syntax accepted for the presentation context the data set came on.
    public let transferSyntaxUID: String
    /// The data set as received, without File Meta.
    public let dataSet: [UInt8]
    /// MessageID of the C-STORE-RQ.
    public let messageID: UInt16

    public init(association: AssociationInfo, sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String,
                dataSet: [UInt8], messageID: UInt16) {
        self.association = association
        self.sopClassUID = sopClassUID
        self.sopInstanceUID = sopInstanceUID
        self.transferSyntaxUID = transferSyntaxUID
        self.dataSet = dataSet
        self.messageID = messageID
    }

    /// The Part 10 bytes: `FileMeta.prefix(...)` (from the command's UIDs and the negotiated
    /// transfer syntax) followed by the data set unchanged. Costs one copy of the data set.
    /// - Throws: `FileMeta.BuildError` when a UID is not valid.
    public func part10() throws -> [UInt8] {
        var out = try FileMeta.prefix(sopClassUID: sopClassUID, sopInstanceUID: sopInstanceUID,
                                      transferSyntaxUID: transferSyntaxUID)
        out.reserveCapacity(out.count + dataSet.count)
        out += dataSet
        return out
    }
}

/// What the SCP asks its owner for: whether to accept an association, and what to do with
/// each received instance.
public protocol StorageDelegate: Sendable {
    /// nil accepts; else the rejection (result/source/reason) sent in A-ASSOCIATE-RJ.
    func shouldAccept(_ association: AssociationInfo) async -> AssociationRejection?
    /// Called once per C-STORE after its data set was reassembled (and checked to parse — a data
    /// set that does not parse is answered C000 without calling this). The returned status goes
    /// into the C-STORE-RSP. The SCP never answers success on its own.
    func store(_ instance: ReceivedInstance) async -> DIMSEStatus
}

/// An A-ASSOCIATE-RJ's result, source and reason (PS3.8 §9.3.4).
public struct AssociationRejection: Sendable, Hashable, Error, CustomStringConvertible {
    /// 1 rejected-permanent, 2 rejected-transient.
    public let result: UInt8
    /// 1 service user, 2 service provider (ACSE), 3 service provider (presentation).
    public let source: UInt8
    public let reason: UInt8

    public init(result: UInt8, source: UInt8, reason: UInt8) {
        self.result = result
        self.source = source
        self.reason = reason
    }

    /// 1,1,1.
    public static let noReason = AssociationRejection(result: 1, source: 1, reason: 1)
    /// 1,1,2.
    public static let applicationContextNotSupported = AssociationRejection(result: 1, source: 1, reason: 2)
    /// 1,1,3.
    public static let callingAENotRecognized = AssociationRejection(result: 1, source: 1, reason: 3)
    /// 1,1,7.
    public static let calledAENotRecognized = AssociationRejection(result: 1, source: 1, reason: 7)
    /// 1,2,2.
    public static let protocolVersionNotSupported = AssociationRejection(result: 1, source: 2, reason: 2)
    /// 2,3,2 (local limit exceeded), as pynetdicom sends when it has too many associations.
    public static let tooManyAssociations = AssociationRejection(result: 2, source: 3, reason: 2)

    /// "rejected (permanent) by the service user: called AE title not recognized".
    public var description: String {
        let r = result == 1 ? "permanent" : result == 2 ? "transient" : "result \(result)"
        let s: String, why: String
        switch source {
        case 1:
            s = "the service user"
            switch reason {
            case 1: why = "no reason given"
            case 2: why = "application context name not supported"
            case 3: why = "calling AE title not recognized"
            case 7: why = "called AE title not recognized"
            default: why = "reason \(reason)"
            }
        case 2:
            s = "the ACSE provider"
            why = reason == 1 ? "no reason given" : reason == 2 ? "protocol version not supported" : "reason \(reason)"
        case 3:
            s = "the presentation provider"
            why = reason == 1 ? "temporary congestion" : reason == 2 ? "local limit exceeded" : "reason \(reason)"
        default:
            s = "source \(source)"
            why = "reason \(reason)"
        }
        return "rejected (\(r)) by \(s): \(why)"
    }
}

/// Text for an A-ABORT source and reason.
public func abortDescription(source: UInt8, reason: UInt8) -> String {
    if source == 0 { return "aborted by the peer (service user)" }
    let why: String
    switch reason {
    case 0: why = "reason not specified"
    case 1: why = "unrecognized PDU"
    case 2: why = "unexpected PDU"
    case 4: why = "unrecognized PDU parameter"
    case 5: why = "unexpected PDU parameter"
    case 6: why = "invalid PDU parameter value"
    default: why = "reason \(reason)"
    }
    return "aborted by the service provider (source \(source)): \(why)"
}
