/// Splits a byte stream into PDUs without trusting a length before its bytes arrive.
///
/// The 6-byte header is checked first: an unknown type or a length over the limit is an error
/// at once, before any body byte is buffered, so a peer cannot make this side reserve memory by
/// declaring a large length. The body is accumulated by the caller (NIO's cumulation buffer),
/// which grows only as bytes arrive.
public struct PDUFramer: Sendable {
    /// The largest P-DATA-TF length accepted: what this side advertised plus some slack for
    /// peers that count the PDU header in (a few do).
    public var maxDataPDULength: Int
    /// The largest length of any other PDU (an A-ASSOCIATE-RQ with 128 contexts of many
    /// transfer syntaxes stays far below 1 MiB).
    public var maxOtherPDULength: Int

    /// Slack over the advertised maximum for P-DATA-TF.
    public static let dataSlack = 64 * 1024
    /// The limit for PDUs other than P-DATA-TF.
    public static let defaultOtherLimit = 1 << 20

    public init(advertisedMaxPDULength: UInt32, maxOtherPDULength: Int = PDUFramer.defaultOtherLimit) {
        // 0 advertised would mean "unlimited"; this side never advertises 0, but cap anyway.
        let advertised = advertisedMaxPDULength == 0 ? 16 << 20 : Int(advertisedMaxPDULength)
        maxDataPDULength = advertised + PDUFramer.dataSlack
        self.maxOtherPDULength = maxOtherPDULength
    }

    /// Checks a PDU header (`type 00 length(4)`), returning the type and body length.
    public func checkHeader(type: UInt8, length: UInt32) throws(PDUError) -> Int {
        guard (0x01...0x07).contains(type) else { throw .unknownType(type) }
        let limit = type == 0x04 ? maxDataPDULength : maxOtherPDULength
        guard UInt64(length) <= UInt64(limit) else { throw .tooLong(type: type, length: length, limit: limit) }
        return Int(length)
    }

    /// Reads every complete PDU from the front of `bytes`; returns them and the count of bytes
    /// consumed (the rest is an incomplete PDU). Used by the fuzz target and tests; the server
    /// does the same on NIO's buffer.
    public func split(_ bytes: [UInt8]) throws(PDUError) -> (pdus: [PDU], consumed: Int) {
        var pdus: [PDU] = []
        var at = 0
        while bytes.count - at >= 6 {
            let length = UInt32(bytes[at + 2]) << 24 | UInt32(bytes[at + 3]) << 16 | UInt32(bytes[at + 4]) << 8
                | UInt32(bytes[at + 5])
            let n = try checkHeader(type: bytes[at], length: length)
            guard bytes.count - at - 6 >= n else { break }
            pdus.append(try PDU.decode(type: bytes[at], body: Array(bytes[at + 6..<at + 6 + n])))
            at += 6 + n
        }
        return (pdus, at)
    }
}
