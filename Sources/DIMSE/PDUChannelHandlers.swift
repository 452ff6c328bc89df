import NIOCore

/// Frames PDUs out of the byte stream (see ``PDUFramer``): checks each header before
/// buffering its body, then decodes the PDU.
struct PDUFrameDecoder: ByteToMessageDecoder {
    typealias InboundOut = PDU
    let framer: PDUFramer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard buffer.readableBytes >= 6,
              let type = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 2, as: UInt32.self) else { return .needMoreData }
        let n = try framer.checkHeader(type: type, length: length)
        guard buffer.readableBytes >= 6 + n else { return .needMoreData }
        buffer.moveReaderIndex(forwardBy: 6)
        guard let body = buffer.readBytes(length: n) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(try PDU.decode(type: type, body: body)))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        return .needMoreData
    }
}

/// Splits a message (command or data set) into PDVs of at most `maxFragment` bytes, each in its
/// own P-DATA-TF PDU (encoded).
func fragment(_ message: [UInt8], contextID: UInt8, isCommand: Bool, maxFragment: Int) -> [[UInt8]] {
    var pdus: [[UInt8]] = []
    var at = 0
    repeat {
        let n = min(maxFragment, message.count - at)
        let last = at + n == message.count
        pdus.append(PDU.pData([PDV(contextID: contextID, isCommand: isCommand, isLast: last,
                                   data: Array(message[at..<at + n]))]).encoded())
        at += n
    } while at < message.count
    return pdus
}

/// The largest PDV fragment for a peer's maximum PDU length (0 = no limit, capped at 128 KiB):
/// the PDU length minus the 6-byte PDV header, even.
func maxFragmentLength(peerMaxPDU: UInt32?) -> Int {
    let cap = 128 * 1024
    let peer = Int(peerMaxPDU ?? 0)
    let pdu = peer == 0 ? cap : min(max(peer, 16), cap * 8)
    return (pdu - 6) & ~1
}
