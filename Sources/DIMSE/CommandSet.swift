/// A DIMSE command set (PS3.7 §6.3, Annex E): group 0000 in Implicit VR Little Endian,
/// whatever transfer syntax the presentation context uses.
public struct CommandSet: Sendable, Equatable {
    /// Values by element number (group 0000), as their bytes (UI NUL-padded, AE space-padded).
    public private(set) var elements: [UInt16: [UInt8]] = [:]

    /// Command fields (PS3.7 E.1).
    public enum Field {
        public static let cStoreRQ: UInt16 = 0x0001
        public static let cStoreRSP: UInt16 = 0x8001
        public static let cEchoRQ: UInt16 = 0x0030
        public static let cEchoRSP: UInt16 = 0x8030
    }

    /// Element numbers in group 0000.
    public enum Element {
        public static let groupLength: UInt16 = 0x0000
        public static let affectedSOPClassUID: UInt16 = 0x0002
        public static let commandField: UInt16 = 0x0100
        public static let messageID: UInt16 = 0x0110
        public static let messageIDBeingRespondedTo: UInt16 = 0x0120
        public static let moveDestination: UInt16 = 0x0600
        public static let priority: UInt16 = 0x0700
        public static let commandDataSetType: UInt16 = 0x0800
        public static let status: UInt16 = 0x0900
        public static let errorComment: UInt16 = 0x0902
        public static let affectedSOPInstanceUID: UInt16 = 0x1000
    }

    /// CommandDataSetType value meaning "no data set follows".
    public static let noDataSet: UInt16 = 0x0101

    public init() {}

    /// Sets a US value.
    public mutating func set(_ element: UInt16, uint16 value: UInt16) {
        elements[element] = [UInt8(value & 0xFF), UInt8(value >> 8)]
    }

    /// Sets a UI value, NUL-padded to even length.
    public mutating func set(_ element: UInt16, uid value: String) {
        var v = Array(value.utf8)
        if v.count % 2 == 1 { v.append(0) }
        elements[element] = v
    }

    /// Sets a text value (LO, AE), space-padded to even length.
    public mutating func set(_ element: UInt16, text value: String) {
        var v = Array(value.utf8)
        if v.count % 2 == 1 { v.append(0x20) }
        elements[element] = v
    }

    /// A US value, when present with length 2.
    public func uint16(_ element: UInt16) -> UInt16? {
        guard let v = elements[element], v.count == 2 else { return nil }
        return UInt16(v[0]) | UInt16(v[1]) << 8
    }

    /// A text or UI value without padding.
    public func string(_ element: UInt16) -> String? {
        elements[element].map { String(decoding: $0, as: UTF8.self).trimmingSpacesAndNULs() }
    }

    public var commandField: UInt16? { uint16(Element.commandField) }
    public var messageID: UInt16? { uint16(Element.messageID) }
    public var messageIDBeingRespondedTo: UInt16? { uint16(Element.messageIDBeingRespondedTo) }
    public var status: UInt16? { uint16(Element.status) }
    public var affectedSOPClassUID: String? { string(Element.affectedSOPClassUID) }
    public var affectedSOPInstanceUID: String? { string(Element.affectedSOPInstanceUID) }
    public var errorComment: String? { string(Element.errorComment) }
    /// True when a data set follows (CommandDataSetType ≠ 0101).
    public var hasDataSet: Bool { uint16(Element.commandDataSetType).map { $0 != CommandSet.noDataSet } ?? false }

    /// The command set in Implicit VR Little Endian, ascending tags, with (0000,0000) first.
    public func encoded() -> [UInt8] {
        var body: [UInt8] = []
        for (element, value) in elements.sorted(by: { $0.key < $1.key }) where element != Element.groupLength {
            body += [0, 0, UInt8(element & 0xFF), UInt8(element >> 8)]
            body += le32(UInt32(value.count))
            body += value
        }
        return [0, 0, 0, 0] + le32(4) + le32(UInt32(body.count)) + body
    }

    /// Decodes a command set. Every element must be in group 0000 and fit in the bytes; the
    /// group length, when present, is not trusted for anything.
    public init(decoding bytes: [UInt8]) throws(CommandSetError) {
        var at = 0
        var previous: Int = -1
        while at < bytes.count {
            guard bytes.count - at >= 8 else {
                throw CommandSetError(offset: at, reason: "an element header is cut off (\(bytes.count - at) bytes remain)")
            }
            let group = UInt16(bytes[at]) | UInt16(bytes[at + 1]) << 8
            let element = UInt16(bytes[at + 2]) | UInt16(bytes[at + 3]) << 8
            let length = UInt32(bytes[at + 4]) | UInt32(bytes[at + 5]) << 8 | UInt32(bytes[at + 6]) << 16
                | UInt32(bytes[at + 7]) << 24
            guard group == 0 else {
                throw CommandSetError(offset: at, reason: "element (\(hex(group)),\(hex(element))) is not in group 0000")
            }
            guard Int(element) > previous else {
                throw CommandSetError(offset: at, reason: "element (0000,\(hex(element))) is out of order or repeated")
            }
            guard UInt64(length) <= UInt64(bytes.count - at - 8) else {
                throw CommandSetError(offset: at, reason: "element (0000,\(hex(element))) has length \(length) but only \(bytes.count - at - 8) bytes remain")
            }
            let n = Int(length)
            elements[element] = Array(bytes[at + 8..<at + 8 + n])
            previous = Int(element)
            at += 8 + n
        }
        guard commandField != nil else { throw CommandSetError(offset: 0, reason: "no CommandField (0000,0100)") }
    }

    // MARK: Messages

    /// C-ECHO-RQ (PS3.7 §9.3.5).
    public static func echoRequest(messageID: UInt16) -> CommandSet {
        var c = CommandSet()
        c.set(Element.affectedSOPClassUID, uid: verificationSOPClassUID)
        c.set(Element.commandField, uint16: Field.cEchoRQ)
        c.set(Element.messageID, uint16: messageID)
        c.set(Element.commandDataSetType, uint16: noDataSet)
        return c
    }

    /// C-STORE-RQ (PS3.7 §9.3.1); a data set follows.
    public static func storeRequest(messageID: UInt16, sopClassUID: String, sopInstanceUID: String,
                                    priority: UInt16 = 0) -> CommandSet {
        var c = CommandSet()
        c.set(Element.affectedSOPClassUID, uid: sopClassUID)
        c.set(Element.commandField, uint16: Field.cStoreRQ)
        c.set(Element.messageID, uint16: messageID)
        c.set(Element.priority, uint16: priority)
        c.set(Element.commandDataSetType, uint16: 0x0001)
        c.set(Element.affectedSOPInstanceUID, uid: sopInstanceUID)
        return c
    }

    /// A response to `request`: its command field OR 0x8000, the message ID answered,
    /// the status and, when given, an ErrorComment (cut to LO's 64 characters).
    public static func response(to request: CommandSet, status: DIMSEStatus) -> CommandSet {
        var c = CommandSet()
        if let sop = request.affectedSOPClassUID { c.set(Element.affectedSOPClassUID, uid: sop) }
        c.set(Element.commandField, uint16: (request.commandField ?? 0) | 0x8000)
        c.set(Element.messageIDBeingRespondedTo, uint16: request.messageID ?? 0)
        c.set(Element.commandDataSetType, uint16: noDataSet)
        c.set(Element.status, uint16: status.code)
        if let comment = status.comment, !comment.isEmpty, status.code != 0 {
            c.set(Element.errorComment, text: String(comment.unicodeScalars.filter { $0.isASCII && $0 != "\\" }.prefix(64).map(Character.init)))
        }
        if let uid = request.affectedSOPInstanceUID { c.set(Element.affectedSOPInstanceUID, uid: uid) }
        return c
    }
}

/// Why a command set does not decode.
public struct CommandSetError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Byte offset in the command set.
    public let offset: Int
    public let reason: String
    public var description: String { "command set: \(reason) (byte \(offset))" }
}

/// The Verification SOP Class (PS3.4 Annex A).
public let verificationSOPClassUID = "1.2.840.10008.1.1"

func le32(_ v: UInt32) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 24)] }
func hex(_ v: UInt16) -> String {
    let s = String(v, radix: 16, uppercase: true)
    return String(repeating: "0", count: 4 - s.count) + s
}
