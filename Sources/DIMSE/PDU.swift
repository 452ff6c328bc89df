/// The DICOM upper layer protocol data units (PS3.8 §9.3): encoding and decoding.
///
/// Every PDU is `type(1) 00 length(4, big-endian) body`. Decoding works on a complete body
/// (the framing layer, ``PDUFramer``, has already checked the length against a limit and waited
/// for the bytes); every item length inside is checked against the bytes that remain.

/// A protocol data unit of the upper layer.
public enum PDU: Sendable, Equatable {
    case associateRQ(AssociateRequest)
    case associateAC(AssociateAccept)
    case associateRJ(AssociationRejection)
    case pData([PDV])
    case releaseRQ
    case releaseRP
    case abort(source: UInt8, reason: UInt8)

    /// The PDU type byte.
    public var type: UInt8 {
        switch self {
        case .associateRQ: 0x01
        case .associateAC: 0x02
        case .associateRJ: 0x03
        case .pData: 0x04
        case .releaseRQ: 0x05
        case .releaseRP: 0x06
        case .abort: 0x07
        }
    }

    /// A short name for logs ("A-ASSOCIATE-RQ", "P-DATA-TF", …).
    public var name: String { PDU.name(ofType: type) }

    /// The name of a PDU type byte, or "unknown PDU type 0xNN".
    public static func name(ofType type: UInt8) -> String {
        switch type {
        case 0x01: "A-ASSOCIATE-RQ"
        case 0x02: "A-ASSOCIATE-AC"
        case 0x03: "A-ASSOCIATE-RJ"
        case 0x04: "P-DATA-TF"
        case 0x05: "A-RELEASE-RQ"
        case 0x06: "A-RELEASE-RP"
        case 0x07: "A-ABORT"
        default: "unknown PDU type 0x\(String(type, radix: 16))"
        }
    }

    /// The whole PDU, header included.
    public func encoded() -> [UInt8] {
        var body = ByteWriter()
        switch self {
        case .associateRQ(let rq):
            rq.encodeBody(into: &body)
        case .associateAC(let ac):
            ac.encodeBody(into: &body)
        case .associateRJ(let rj):
            body.bytes += [0, rj.result, rj.source, rj.reason]
        case .pData(let pdvs):
            for pdv in pdvs {
                body.u32(UInt32(pdv.data.count + 2))
                body.bytes += [pdv.contextID, (pdv.isCommand ? 1 : 0) | (pdv.isLast ? 2 : 0)]
                body.bytes += pdv.data
            }
        case .releaseRQ, .releaseRP:
            body.bytes += [0, 0, 0, 0]
        case .abort(let source, let reason):
            body.bytes += [0, 0, source, reason]
        }
        var out = ByteWriter()
        out.bytes.reserveCapacity(body.bytes.count + 6)
        out.bytes += [type, 0]
        out.u32(UInt32(body.bytes.count))
        out.bytes += body.bytes
        return out.bytes
    }

    /// Decodes the body of a PDU of type `type` (the bytes after the 6-byte header).
    /// Unknown items and sub-items inside an A-ASSOCIATE are skipped (PS3.8 §9.3.1, D.2).
    public static func decode(type: UInt8, body: [UInt8]) throws(PDUError) -> PDU {
        var r = ByteReader(body)
        switch type {
        case 0x01:
            return .associateRQ(try AssociateRequest.decodeBody(&r))
        case 0x02:
            return .associateAC(try AssociateAccept.decodeBody(&r))
        case 0x03:
            try expectLength(body, 4, type)
            return .associateRJ(AssociationRejection(result: body[1], source: body[2], reason: body[3]))
        case 0x04:
            var pdvs: [PDV] = []
            while r.remaining > 0 {
                let at = r.position
                let length = try r.u32()
                guard length >= 2 else {
                    throw .malformed("PDV item at byte \(at + 6) has length \(length); it must be at least 2")
                }
                guard Int(length) <= r.remaining else {
                    throw .malformed("PDV item at byte \(at + 6) has length \(length) but only \(r.remaining) bytes remain in the PDU")
                }
                let id = try r.u8()
                let header = try r.u8()
                let data = try r.bytes(Int(length) - 2)
                pdvs.append(PDV(contextID: id, isCommand: header & 1 != 0, isLast: header & 2 != 0, data: data))
            }
            guard !pdvs.isEmpty else { throw .malformed("P-DATA-TF without a PDV item") }
            return .pData(pdvs)
        case 0x05:
            try expectLength(body, 4, type)
            return .releaseRQ
        case 0x06:
            try expectLength(body, 4, type)
            return .releaseRP
        case 0x07:
            try expectLength(body, 4, type)
            return .abort(source: body[2], reason: body[3])
        default:
            throw .unknownType(type)
        }
    }

    private static func expectLength(_ body: [UInt8], _ n: Int, _ type: UInt8) throws(PDUError) {
        guard body.count == n else {
            throw .malformed("\(name(ofType: type)) has length \(body.count); it must be \(n)")
        }
    }
}

/// A presentation data value: one fragment of a command set or data set (PS3.8 §9.3.5, Annex E).
public struct PDV: Sendable, Equatable {
    /// The presentation context the message travels on.
    public var contextID: UInt8
    /// True for a command-set fragment, false for a data-set fragment (MCH bit 0).
    public var isCommand: Bool
    /// True for the last fragment of the message (MCH bit 1).
    public var isLast: Bool
    /// The fragment.
    public var data: [UInt8]

    public init(contextID: UInt8, isCommand: Bool, isLast: Bool, data: [UInt8]) {
        self.contextID = contextID
        self.isCommand = isCommand
        self.isLast = isLast
        self.data = data
    }
}

/// Why bytes are not a valid PDU; each case names the A-ABORT reason the acceptor sends.
public enum PDUError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A PDU type this protocol does not define (abort reason 1, unrecognized PDU).
    case unknownType(UInt8)
    /// A PDU length beyond what this side accepts (abort reason 6, invalid parameter value).
    case tooLong(type: UInt8, length: UInt32, limit: Int)
    /// A length or layout that does not fit (abort reason 6).
    case malformed(String)

    /// The A-ABORT reason (source 2, service provider) for this error (PS3.8 §9.3.8).
    public var abortReason: UInt8 {
        switch self {
        case .unknownType: 1
        case .tooLong, .malformed: 6
        }
    }

    public var description: String {
        switch self {
        case .unknownType(let t): "unknown PDU type 0x\(String(t, radix: 16))"
        case .tooLong(let type, let length, let limit):
            "\(PDU.name(ofType: type)) declares length \(length), more than the \(limit) bytes accepted"
        case .malformed(let why): why
        }
    }
}

// MARK: - A-ASSOCIATE

/// The fixed application context name of DICOM (PS3.7 Annex A.2.1).
public let dicomApplicationContextName = "1.2.840.10008.3.1.1.1"

/// A presentation context proposed in an A-ASSOCIATE-RQ (item 0x20).
public struct ProposedContext: Sendable, Equatable {
    /// Odd, 1…255.
    public var id: UInt8
    public var abstractSyntax: String
    public var transferSyntaxes: [String]

    public init(id: UInt8, abstractSyntax: String, transferSyntaxes: [String]) {
        self.id = id
        self.abstractSyntax = abstractSyntax
        self.transferSyntaxes = transferSyntaxes
    }
}

/// A presentation context answered in an A-ASSOCIATE-AC (item 0x21).
public struct AcceptedContext: Sendable, Equatable {
    public var id: UInt8
    /// 0 acceptance, 1 user rejection, 2 no reason, 3 abstract syntax not supported,
    /// 4 transfer syntaxes not supported.
    public var result: UInt8
    public var transferSyntax: String

    public init(id: UInt8, result: UInt8, transferSyntax: String) {
        self.id = id
        self.result = result
        self.transferSyntax = transferSyntax
    }

    /// Text for a result code.
    public static func resultText(_ result: UInt8) -> String {
        switch result {
        case 0: "accepted"
        case 1: "user rejection"
        case 2: "no reason (provider rejection)"
        case 3: "abstract syntax not supported"
        case 4: "transfer syntaxes not supported"
        default: "result \(result)"
        }
    }
}

/// The user information item (0x50) fields this implementation uses.
public struct UserInformation: Sendable, Equatable {
    /// Sub-item 0x51: the largest P-DATA-TF length its sender accepts; 0 = no limit.
    public var maxPDULength: UInt32?
    /// Sub-item 0x52.
    public var implementationClassUID: String?
    /// Sub-item 0x55.
    public var implementationVersionName: String?
    /// Sub-item 0x53 (invoked, performed), when present.
    public var asyncOperations: (invoked: UInt16, performed: UInt16)?

    public init(maxPDULength: UInt32? = nil, implementationClassUID: String? = nil, implementationVersionName: String? = nil) {
        self.maxPDULength = maxPDULength
        self.implementationClassUID = implementationClassUID
        self.implementationVersionName = implementationVersionName
    }

    public static func == (a: UserInformation, b: UserInformation) -> Bool {
        a.maxPDULength == b.maxPDULength && a.implementationClassUID == b.implementationClassUID
            && a.implementationVersionName == b.implementationVersionName
            && a.asyncOperations?.invoked == b.asyncOperations?.invoked
            && a.asyncOperations?.performed == b.asyncOperations?.performed
    }

    func encode(into w: inout ByteWriter) {
        var sub = ByteWriter()
        if let maxPDULength {
            sub.bytes += [0x51, 0]
            sub.u16(4)
            sub.u32(maxPDULength)
        }
        if let implementationClassUID { sub.item(0x52, Array(implementationClassUID.utf8)) }
        if let asyncOperations {
            sub.bytes += [0x53, 0]
            sub.u16(4)
            sub.u16(asyncOperations.invoked)
            sub.u16(asyncOperations.performed)
        }
        if let implementationVersionName { sub.item(0x55, Array(implementationVersionName.utf8)) }
        w.item(0x50, sub.bytes)
    }

    static func decode(_ value: [UInt8]) throws(PDUError) -> UserInformation {
        var info = UserInformation()
        var r = ByteReader(value)
        while r.remaining > 0 {
            let (type, sub) = try r.item(context: "user information sub-item")
            switch type {
            case 0x51:
                guard sub.count == 4 else { throw .malformed("maximum length sub-item has length \(sub.count); it must be 4") }
                var s = ByteReader(sub)
                info.maxPDULength = try s.u32()
            case 0x52: info.implementationClassUID = uidString(sub)
            case 0x55: info.implementationVersionName = String(decoding: sub, as: UTF8.self).trimmingSpacesAndNULs()
            case 0x53:
                guard sub.count == 4 else { throw .malformed("asynchronous operations sub-item has length \(sub.count); it must be 4") }
                var s = ByteReader(sub)
                info.asyncOperations = (try s.u16(), try s.u16())
            default: break  // role selection, extended negotiation, user identity, unknown: ignored
            }
        }
        return info
    }
}

/// The fixed header of A-ASSOCIATE-RQ and -AC.
struct AssociateHeader {
    var protocolVersion: UInt16
    var calledAE: String
    var callingAE: String

    static func decode(_ r: inout ByteReader) throws(PDUError) -> AssociateHeader {
        guard r.remaining >= 68 else {
            throw .malformed("A-ASSOCIATE body has \(r.remaining) bytes; the fixed part needs 68")
        }
        let version = try r.u16()
        _ = try r.u16()
        let called = try r.bytes(16), calling = try r.bytes(16)
        _ = try r.bytes(32)
        return AssociateHeader(protocolVersion: version, calledAE: aeString(called), callingAE: aeString(calling))
    }

    func encode(into w: inout ByteWriter) {
        w.u16(protocolVersion)
        w.u16(0)
        w.bytes += aeField(calledAE)
        w.bytes += aeField(callingAE)
        w.bytes += [UInt8](repeating: 0, count: 32)
    }
}

/// An A-ASSOCIATE-RQ (PS3.8 §9.3.2).
public struct AssociateRequest: Sendable, Equatable {
    /// Bit 0 set for version 1.
    public var protocolVersion: UInt16 = 1
    /// Trimmed of padding.
    public var calledAETitle: String
    public var callingAETitle: String
    public var applicationContext: String = dicomApplicationContextName
    public var presentationContexts: [ProposedContext]
    public var userInformation: UserInformation

    public init(calledAETitle: String, callingAETitle: String, presentationContexts: [ProposedContext],
                userInformation: UserInformation) {
        self.calledAETitle = calledAETitle
        self.callingAETitle = callingAETitle
        self.presentationContexts = presentationContexts
        self.userInformation = userInformation
    }

    func encodeBody(into w: inout ByteWriter) {
        AssociateHeader(protocolVersion: protocolVersion, calledAE: calledAETitle, callingAE: callingAETitle).encode(into: &w)
        w.item(0x10, Array(applicationContext.utf8))
        for pc in presentationContexts {
            var v = ByteWriter()
            v.bytes += [pc.id, 0, 0, 0]
            v.item(0x30, Array(pc.abstractSyntax.utf8))
            for ts in pc.transferSyntaxes { v.item(0x40, Array(ts.utf8)) }
            w.item(0x20, v.bytes)
        }
        userInformation.encode(into: &w)
    }

    static func decodeBody(_ r: inout ByteReader) throws(PDUError) -> AssociateRequest {
        let header = try AssociateHeader.decode(&r)
        var rq = AssociateRequest(calledAETitle: header.calledAE, callingAETitle: header.callingAE,
                                  presentationContexts: [], userInformation: UserInformation())
        rq.protocolVersion = header.protocolVersion
        var sawContext = false, sawUserInfo = false
        while r.remaining > 0 {
            let (type, value) = try r.item(context: "A-ASSOCIATE-RQ item")
            switch type {
            case 0x10:
                rq.applicationContext = uidString(value)
                sawContext = true
            case 0x20:
                guard value.count >= 4 else { throw .malformed("presentation context item has length \(value.count); it must be at least 4") }
                var v = ByteReader(value)
                let id = try v.u8()
                _ = try v.bytes(3)
                var abstract: String?
                var syntaxes: [String] = []
                while v.remaining > 0 {
                    let (subType, sub) = try v.item(context: "presentation context sub-item")
                    switch subType {
                    case 0x30: abstract = uidString(sub)
                    case 0x40: syntaxes.append(uidString(sub))
                    default: break
                    }
                }
                guard let abstract else { throw .malformed("presentation context \(id) has no abstract syntax") }
                rq.presentationContexts.append(ProposedContext(id: id, abstractSyntax: abstract, transferSyntaxes: syntaxes))
            case 0x50:
                rq.userInformation = try UserInformation.decode(value)
                sawUserInfo = true
            default: break  // unknown items are ignored (PS3.8 §9.3.1)
            }
        }
        guard sawContext else { throw .malformed("A-ASSOCIATE-RQ without an application context item") }
        guard sawUserInfo else { throw .malformed("A-ASSOCIATE-RQ without a user information item") }
        return rq
    }
}

/// An A-ASSOCIATE-AC (PS3.8 §9.3.3).
public struct AssociateAccept: Sendable, Equatable {
    public var protocolVersion: UInt16 = 1
    /// Echoed from the request (not tested by the receiver).
    public var calledAETitle: String
    public var callingAETitle: String
    public var applicationContext: String = dicomApplicationContextName
    public var presentationContexts: [AcceptedContext]
    public var userInformation: UserInformation

    public init(calledAETitle: String, callingAETitle: String, presentationContexts: [AcceptedContext],
                userInformation: UserInformation) {
        self.calledAETitle = calledAETitle
        self.callingAETitle = callingAETitle
        self.presentationContexts = presentationContexts
        self.userInformation = userInformation
    }

    func encodeBody(into w: inout ByteWriter) {
        AssociateHeader(protocolVersion: protocolVersion, calledAE: calledAETitle, callingAE: callingAETitle).encode(into: &w)
        w.item(0x10, Array(applicationContext.utf8))
        for pc in presentationContexts {
            var v = ByteWriter()
            v.bytes += [pc.id, 0, pc.result, 0]
            v.item(0x40, Array(pc.transferSyntax.utf8))
            w.item(0x21, v.bytes)
        }
        userInformation.encode(into: &w)
    }

    static func decodeBody(_ r: inout ByteReader) throws(PDUError) -> AssociateAccept {
        let header = try AssociateHeader.decode(&r)
        var ac = AssociateAccept(calledAETitle: header.calledAE, callingAETitle: header.callingAE,
                                 presentationContexts: [], userInformation: UserInformation())
        ac.protocolVersion = header.protocolVersion
        while r.remaining > 0 {
            let (type, value) = try r.item(context: "A-ASSOCIATE-AC item")
            switch type {
            case 0x10: ac.applicationContext = uidString(value)
            case 0x21:
                guard value.count >= 4 else { throw .malformed("presentation context item has length \(value.count); it must be at least 4") }
                var v = ByteReader(value)
                let id = try v.u8()
                _ = try v.u8()
                let result = try v.u8()
                _ = try v.u8()
                var ts = ""
                while v.remaining > 0 {
                    let (subType, sub) = try v.item(context: "presentation context sub-item")
                    if subType == 0x40 { ts = uidString(sub) }
                }
                ac.presentationContexts.append(AcceptedContext(id: id, result: result, transferSyntax: ts))
            case 0x50: ac.userInformation = try UserInformation.decode(value)
            default: break
            }
        }
        return ac
    }
}

// MARK: - Byte helpers

/// A UID from an item value: unpadded on the wire, but a trailing NUL or space is tolerated.
func uidString(_ bytes: [UInt8]) -> String {
    String(decoding: bytes, as: UTF8.self).trimmingSpacesAndNULs()
}

/// An AE title from its 16-byte field, trimmed.
func aeString(_ bytes: [UInt8]) -> String {
    String(decoding: bytes, as: UTF8.self).trimmingSpacesAndNULs()
}

/// An AE title as 16 space-padded bytes (longer titles are cut).
func aeField(_ title: String) -> [UInt8] {
    let v = Array(title.utf8.prefix(16))
    return v + [UInt8](repeating: 0x20, count: 16 - v.count)
}

extension String {
    /// Without leading and trailing spaces and NULs.
    func trimmingSpacesAndNULs() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { $0 != " " && $0 != "\0" }),
              let last = scalars.lastIndex(where: { $0 != " " && $0 != "\0" }) else { return "" }
        return String(scalars[first...last])
    }
}

/// Big-endian writer for the upper layer.
struct ByteWriter {
    var bytes: [UInt8] = []
    mutating func u16(_ v: UInt16) { bytes += [UInt8(v >> 8), UInt8(v & 0xFF)] }
    mutating func u32(_ v: UInt32) { bytes += [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
    /// `type 00 length(2) value`.
    mutating func item(_ type: UInt8, _ value: [UInt8]) {
        bytes += [type, 0]
        u16(UInt16(truncatingIfNeeded: value.count))
        bytes += value
    }
}

/// Big-endian reader; every read checks the bytes that remain.
struct ByteReader {
    let bytes: [UInt8]
    private(set) var position = 0
    init(_ bytes: [UInt8]) { self.bytes = bytes }
    var remaining: Int { bytes.count - position }

    mutating func u8() throws(PDUError) -> UInt8 {
        guard remaining >= 1 else { throw .malformed("ends at byte \(position) where 1 more byte is needed") }
        defer { position += 1 }
        return bytes[position]
    }

    mutating func u16() throws(PDUError) -> UInt16 {
        guard remaining >= 2 else { throw .malformed("ends at byte \(position) where 2 more bytes are needed") }
        defer { position += 2 }
        return UInt16(bytes[position]) << 8 | UInt16(bytes[position + 1])
    }

    mutating func u32() throws(PDUError) -> UInt32 {
        guard remaining >= 4 else { throw .malformed("ends at byte \(position) where 4 more bytes are needed") }
        defer { position += 4 }
        return UInt32(bytes[position]) << 24 | UInt32(bytes[position + 1]) << 16 | UInt32(bytes[position + 2]) << 8
            | UInt32(bytes[position + 3])
    }

    mutating func bytes(_ n: Int) throws(PDUError) -> [UInt8] {
        guard n >= 0, remaining >= n else {
            throw .malformed("ends at byte \(position) where \(n) more bytes are needed (\(remaining) remain)")
        }
        defer { position += n }
        return Array(bytes[position..<position + n])
    }

    /// `type 00 length(2) value` with the length checked.
    mutating func item(context: String) throws(PDUError) -> (UInt8, [UInt8]) {
        let at = position
        guard remaining >= 4 else { throw .malformed("\(context) header at byte \(at) is cut off (\(remaining) bytes remain)") }
        let type = try u8()
        _ = try u8()
        let length = Int(try u16())
        guard length <= remaining else {
            throw .malformed("\(context) 0x\(String(type, radix: 16)) at byte \(at) has length \(length) but only \(remaining) bytes remain")
        }
        return (type, try bytes(length))
    }
}
