/// The main header of a JPEG 2000 / HTJ2K codestream (SIZ, COD, CAP), read without
/// decoding: enough to size buffers, pick a backend and list resolution levels.
public struct J2KHeader: Sendable, Equatable {
    /// Image width (Xsiz − XOsiz).
    public let width: Int
    /// Image height (Ysiz − YOsiz).
    public let height: Int
    /// Components.
    public let components: Int
    /// Bit depth of component 0.
    public let bitDepth: Int
    /// Whether component 0 is signed.
    public let isSigned: Bool
    /// Wavelet decomposition levels (resolution levels − 1).
    public let decompositions: Int
    /// Reversible 5/3 wavelet (lossless-capable) rather than 9/7.
    public let reversible: Bool
    /// `LRCP`, `RLCP`, `RPCL`, `PCRL` or `CPRL`.
    public let progressionOrder: String
    /// A CAP marker announcing Part 15 (HTJ2K) is present.
    public let isHighThroughput: Bool
    /// Multiple component transform (RCT/ICT) in use.
    public let usesColorTransform: Bool

    /// What the tile-part splitter needs beyond the public fields (offsets in the codestream).
    struct Details: Sendable, Equatable {
        /// XOsiz, YOsiz, XTOsiz and YTOsiz are all 0.
        var atOrigin = false
        /// XTsiz, YTsiz.
        var tileWidth = 0, tileHeight = 0
        /// Some component has XRsiz or YRsiz other than 1.
        var subsampled = false
        /// COD: Scod, layers, code-block width/height exponents (xcb, ycb), code-block style.
        var scod = 0, layers = 0, xcb = 0, ycb = 0, codeBlockStyle = 0
        /// Every marker of the main header, in order.
        var markers: [Int] = []
        /// Where the main header ends (the first SOT, SOD or EOC).
        var end = 0
    }

    /// Filled by `parse`.
    var details = Details()

    /// Parses the header of a raw codestream, or of the `jp2c` box of a JP2/JPH file.
    public static func parse(_ bytes: [UInt8]) throws(CodecError) -> J2KHeader {
        let cs = try J2KFile.codestream(bytes)
        return try cs.withUnsafeBufferPointer { b throws(CodecError) -> J2KHeader in
            func u16(_ i: Int) throws(CodecError) -> Int {
                guard i + 2 <= b.count else { throw .malformedHeader("ends inside a marker segment") }
                return Int(b[i]) << 8 | Int(b[i + 1])
            }
            func u32(_ i: Int) throws(CodecError) -> Int { (try u16(i) << 16) | (try u16(i + 2)) }
            guard b.count >= 4, b[0] == 0xFF, b[1] == 0x4F else { throw .notJ2K("no SOC marker") }
            var i = 2
            var siz: (w: Int, h: Int, c: Int, depth: Int, signed: Bool)?
            var cod: (order: Int, mct: Bool, levels: Int, reversible: Bool)?
            var cap = false
            var details = Details()
            while i + 4 <= b.count {
                let marker = try u16(i)
                if marker == 0xFF90 || marker == 0xFF93 || marker == 0xFFD9 { break }  // SOT, SOD, EOC
                guard marker >> 8 == 0xFF else { throw .malformedHeader("expected a marker at offset \(i)") }
                let length = try u16(i + 2)
                guard length >= 2, i + 2 + length <= b.count else { throw .malformedHeader("marker \(String(marker, radix: 16)) runs past the end") }
                let body = i + 4
                details.markers.append(marker)
                switch marker {
                case 0xFF51:
                    // Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz, Csiz, then Ssiz/XRsiz/YRsiz per component.
                    let c = try u16(body + 34)
                    guard c >= 1, body + 36 + 3 * c <= i + 2 + length else { throw .malformedHeader("SIZ too short") }
                    let ssiz = Int(b[body + 36])
                    siz = (try u32(body + 2) - u32(body + 10), try u32(body + 6) - u32(body + 14), c, (ssiz & 0x7F) + 1, ssiz & 0x80 != 0)
                    let offsets = [try u32(body + 10), try u32(body + 14), try u32(body + 26), try u32(body + 30)]
                    details.atOrigin = offsets.allSatisfy { $0 == 0 }
                    details.tileWidth = try u32(body + 18)
                    details.tileHeight = try u32(body + 22)
                    details.subsampled = (0..<c).contains { b[body + 37 + 3 * $0] != 1 || b[body + 38 + 3 * $0] != 1 }
                case 0xFF52:
                    guard length >= 12 else { throw .malformedHeader("COD too short") }
                    cod = (Int(b[body + 1]), b[body + 4] != 0, Int(b[body + 5]), b[body + 9] == 1)
                    details.scod = Int(b[body])
                    details.layers = try u16(body + 2)
                    details.xcb = Int(b[body + 6]) + 2
                    details.ycb = Int(b[body + 7]) + 2
                    details.codeBlockStyle = Int(b[body + 8])
                case 0xFF50:
                    cap = true
                default:
                    break
                }
                i += 2 + length
            }
            guard let siz else { throw .malformedHeader("no SIZ marker") }
            guard let cod else { throw .malformedHeader("no COD marker") }
            let orders = ["LRCP", "RLCP", "RPCL", "PCRL", "CPRL"]
            details.end = i
            var header = J2KHeader(width: siz.w, height: siz.h, components: siz.c, bitDepth: siz.depth, isSigned: siz.signed,
                             decompositions: cod.levels, reversible: cod.reversible,
                             progressionOrder: cod.order < orders.count ? orders[cod.order] : "unknown(\(cod.order))",
                             isHighThroughput: cap, usesColorTransform: cod.mct)
            header.details = details
            return header
        }
    }

    /// Width and height after skipping `levels` resolution levels (ceil(size / 2^levels)).
    public func size(skippingLevels levels: Int) -> (width: Int, height: Int) {
        let d = 1 << levels
        return ((width + d - 1) / d, (height + d - 1) / d)
    }
}

/// JP2 / JPH files: the box structure around a codestream.
enum J2KFile {
    /// The raw codestream: the input itself (starts with SOC) or the content of its `jp2c` box.
    static func codestream(_ bytes: [UInt8]) throws(CodecError) -> [UInt8] {
        if bytes.count >= 2, bytes[0] == 0xFF, bytes[1] == 0x4F { return bytes }
        var i = 0
        while i + 8 <= bytes.count {
            var length = Int(bytes[i]) << 24 | Int(bytes[i + 1]) << 16 | Int(bytes[i + 2]) << 8 | Int(bytes[i + 3])
            let type = String(decoding: bytes[(i + 4)..<(i + 8)], as: UTF8.self)
            var header = 8
            if length == 1 {
                guard i + 16 <= bytes.count else { break }
                length = (i + 8..<i + 16).reduce(0) { $0 << 8 | Int(bytes[$1]) }
                header = 16
            } else if length == 0 {
                length = bytes.count - i
            }
            guard length >= header, i + length <= bytes.count else { throw .notJ2K("box \(type) runs past the end") }
            if type == "jp2c" { return Array(bytes[(i + header)..<(i + length)]) }
            i += length
        }
        throw .notJ2K("neither a codestream (FF 4F) nor a JP2/JPH file with a jp2c box")
    }
}
