/// Rewrites a single-tile RPCL codestream into one tile-part per resolution with a
/// TLM marker, as HealthImaging stores frames, so a reader can fetch the first
/// tile-parts for a thumbnail. OpenJPH 0.9 writes one tile-part and no TLM; the
/// resolution boundaries are found by reading every packet header (ITU-T T.800
/// B.10 with the T.814 HT code-block rules), and the lengths found must add up to
/// the tile's data exactly, or the stream is left as it was.
public enum J2KTileParts {
    /// Why a stream is left as it is.
    public enum Unsplittable: Error, Equatable, CustomStringConvertible {
        /// Outside what the splitter reads: several tiles, precinct partitions, SOP/EPH, subsampling, offsets, …
        case unsupported(String)
        /// The packet headers do not add up to the tile's data.
        case inconsistent(String)

        public var description: String {
            switch self {
            case .unsupported(let s): return "not split: \(s)"
            case .inconsistent(let s): return "not split: \(s)"
            }
        }
    }

    /// The layout found in a codestream.
    struct Layout {
        var width = 0, height = 0, components = 0
        var levels = 0, layers = 0
        var xcb = 0, ycb = 0
        /// Offset of the SOT marker, and of the tile data (after SOD).
        var sot = 0, data = 0, dataEnd = 0
    }

    /// `codestream` with a TLM marker and one tile-part per resolution (smallest first).
    public static func perResolution(_ codestream: [UInt8]) throws(Unsplittable) -> [UInt8] {
        let layout = try parse(codestream)
        let lengths = try resolutionLengths(codestream, layout)
        var out = Array(codestream[0..<layout.sot])
        // TLM: Ztlm 0, Stlm ST=1 (8-bit tile index), SP=1 (32-bit tile-part length).
        let n = lengths.count
        out += [0xFF, 0x55]
        out += be16(2 + 2 + 5 * n)
        out += [0x00, 0x50]
        for length in lengths {
            out.append(0)
            out += be32(14 + length)
        }
        var offset = layout.data
        for (r, length) in lengths.enumerated() {
            out += [0xFF, 0x90] + be16(10) + be16(0) + be32(14 + length) + [UInt8(r), UInt8(n)]
            out += [0xFF, 0x93]
            out += codestream[offset..<(offset + length)]
            offset += length
        }
        out += [0xFF, 0xD9]
        return out
    }

    static func be16(_ v: Int) -> [UInt8] { [UInt8(truncatingIfNeeded: v >> 8), UInt8(truncatingIfNeeded: v)] }
    static func be32(_ v: Int) -> [UInt8] { be16(v >> 16) + be16(v) }

    /// The main header (read by `J2KHeader.parse`), checked for what the splitter reads, and the single tile's SOT/SOD.
    static func parse(_ b: [UInt8]) throws(Unsplittable) -> Layout {
        guard b.count >= 4, b[0] == 0xFF, b[1] == 0x4F else { throw .unsupported("not a raw codestream") }
        let header: J2KHeader
        do { header = try J2KHeader.parse(b) } catch { throw .inconsistent("\(error)") }
        let d = header.details
        guard d.atOrigin else { throw .unsupported("image or tile offsets") }
        guard d.tileWidth >= header.width, d.tileHeight >= header.height else { throw .unsupported("more than one tile") }
        guard !d.subsampled else { throw .unsupported("subsampled components") }
        guard d.scod == 0 else { throw .unsupported("precinct partitions or SOP/EPH markers (Scod \(d.scod))") }
        guard d.codeBlockStyle & 0x40 != 0 else { throw .unsupported("not HT code-blocks") }
        if let m = d.markers.first(where: { [0xFF53, 0xFF5D, 0xFF5F, 0xFF55, 0xFF57, 0xFF60, 0xFF63].contains($0) }) {
            throw .unsupported("marker \(String(m, radix: 16, uppercase: true)) in the main header")
        }
        var l = Layout(width: header.width, height: header.height, components: header.components, levels: header.decompositions,
                       layers: d.layers, xcb: d.xcb, ycb: d.ycb)
        guard header.progressionOrder == "RPCL" else { throw .unsupported("not RPCL") }
        guard l.layers == 1 else { throw .unsupported("\(l.layers) quality layers") }
        guard l.width > 0, l.height > 0, l.width <= 65535, l.height <= 65535, l.components <= 4 else {
            throw .unsupported("a \(l.width)×\(l.height) image of \(l.components) components")
        }
        guard l.levels <= 32, l.xcb + l.ycb <= 12 else { throw .inconsistent("bad COD code-block sizes or levels") }
        // The single tile-part: SOT (Lsot 10, Isot 0, Psot, TPsot 0, TNsot 1), then SOD at once.
        let i = d.end
        guard i + 14 <= b.count, b[i] == 0xFF, b[i + 1] == 0x90 else { throw .inconsistent("no SOT after the main header") }
        func u16(_ at: Int) -> Int { Int(b[at]) << 8 | Int(b[at + 1]) }
        guard u16(i + 2) == 10, u16(i + 4) == 0 else { throw .inconsistent("bad SOT") }
        let psot = u16(i + 6) << 16 | u16(i + 8)
        guard b[i + 10] == 0, b[i + 11] == 1 else { throw .unsupported("already in several tile-parts") }
        guard u16(i + 12) == 0xFF93 else { throw .unsupported("markers in the tile-part header") }
        l.sot = i
        l.data = i + 14
        l.dataEnd = psot == 0 ? b.count - 2 : i + psot
        guard l.dataEnd <= b.count, l.dataEnd >= l.data else { throw .inconsistent("Psot runs past the end") }
        guard l.dataEnd + 2 <= b.count, b[l.dataEnd] == 0xFF, b[l.dataEnd + 1] == 0xD9 else { throw .unsupported("data after the tile") }
        return l
    }

    /// The packet header bit reader (T.800 B.10.1: after an 0xFF byte, 7 bits).
    struct Bits {
        let bytes: [UInt8]
        var position: Int
        /// The end of the tile's data.
        let end: Int
        var buffer = 0
        var count = 0

        mutating func bit() throws(Unsplittable) -> Int {
            if count == 0 {
                guard position < end else { throw .inconsistent("packet header runs past the data") }
                buffer = (buffer << 8) & 0xFFFF
                count = buffer == 0xFF00 ? 7 : 8
                buffer |= Int(bytes[position])
                position += 1
            }
            count -= 1
            return (buffer >> count) & 1
        }

        mutating func bits(_ n: Int) throws(Unsplittable) -> Int {
            var v = 0
            for _ in 0..<n { v = (v << 1) | (try bit()) }
            return v
        }

        /// Ends the header: a last 0xFF byte is followed by a stuffed byte.
        mutating func align() throws(Unsplittable) {
            if buffer & 0xFF == 0xFF {
                guard position < end else { throw .inconsistent("packet header runs past the data") }
                position += 1
            }
            count = 0
        }
    }

    /// A tag tree (T.800 B.10.2) over a w × h grid of leaves.
    struct TagTree {
        var widths: [Int] = [], heights: [Int] = []
        var value: [[Int]] = [], low: [[Int]] = []

        init(width: Int, height: Int) {
            var w = width, h = height
            while true {
                widths.append(w)
                heights.append(h)
                value.append([Int](repeating: Int.max, count: w * h))
                low.append([Int](repeating: 0, count: w * h))
                if w * h <= 1 { break }
                w = (w + 1) / 2
                h = (h + 1) / 2
            }
        }

        /// True when the leaf's value is below `threshold`.
        mutating func decode(x: Int, y: Int, threshold: Int, _ bits: inout Bits) throws(Unsplittable) -> Bool {
            var path: [(Int, Int)] = []
            var px = x, py = y
            for level in 0..<widths.count {
                path.append((level, py * widths[level] + px))
                px /= 2
                py /= 2
            }
            var lowest = 0
            for (level, i) in path.reversed() {
                if lowest > low[level][i] { low[level][i] = lowest } else { lowest = low[level][i] }
                while lowest < threshold && lowest < value[level][i] {
                    if try bits.bit() == 1 { value[level][i] = lowest } else { lowest += 1 }
                }
                low[level][i] = lowest
            }
            return value[0][path[0].1] < threshold
        }
    }

    /// Code-blocks (columns, rows) of each subband of resolution `r`: LL for r = 0, then HL, LH, HH.
    static func codeBlockGrids(_ l: Layout, resolution r: Int) -> [(Int, Int)] {
        func ceilDiv(_ a: Int, _ d: Int) -> Int { a <= 0 ? 0 : (a + d - 1) / d }
        let cw = 1 << l.xcb, ch = 1 << l.ycb
        func grid(_ w: Int, _ h: Int) -> (Int, Int) { (ceilDiv(w, cw), ceilDiv(h, ch)) }
        if r == 0 {
            let d = 1 << l.levels
            return [grid(ceilDiv(l.width, d), ceilDiv(l.height, d))]
        }
        let nb = l.levels - r + 1, d = 1 << nb, half = 1 << (nb - 1)
        let lowW = ceilDiv(l.width, d), lowH = ceilDiv(l.height, d)
        let highW = ceilDiv(l.width - half, d), highH = ceilDiv(l.height - half, d)
        return [grid(highW, lowH), grid(lowW, highH), grid(highW, highH)]
    }

    /// The byte length of each resolution's packets (all components), smallest first.
    static func resolutionLengths(_ b: [UInt8], _ l: Layout) throws(Unsplittable) -> [Int] {
        var position = l.data
        var lengths: [Int] = []
        for r in 0...l.levels {
            let start = position
            let grids = codeBlockGrids(l, resolution: r)
            for _ in 0..<l.components {
                var bits = Bits(bytes: b, position: position, end: l.dataEnd)
                var body = 0
                if try bits.bit() == 1 {
                    for (w, h) in grids where w > 0 && h > 0 {
                        var inclusion = TagTree(width: w, height: h)
                        var zeroPlanes = TagTree(width: w, height: h)
                        for y in 0..<h {
                            for x in 0..<w {
                                guard try inclusion.decode(x: x, y: y, threshold: 1, &bits) else { continue }
                                var planes = 0
                                while try !zeroPlanes.decode(x: x, y: y, threshold: planes + 1, &bits) { planes += 1 }
                                // HT code-blocks (T.814): the cleanup segment's length in Lblock bits, then the
                                // refinement passes' segment in Lblock + floor(log2(passes − 1)) bits.
                                let passes = try passCount(&bits)
                                guard passes <= 3 else { throw .unsupported("\(passes) coding passes in a code-block") }
                                var lblock = 3
                                while try bits.bit() == 1 { lblock += 1 }
                                guard lblock <= 32 else { throw .inconsistent("a code-block length of \(lblock) bits") }
                                body += try bits.bits(lblock)
                                if passes > 1 { body += try bits.bits(lblock + (passes == 3 ? 1 : 0)) }
                            }
                        }
                    }
                }
                try bits.align()
                position = bits.position + body
                guard position <= l.dataEnd else { throw .inconsistent("packets of resolution \(r) run past the tile") }
            }
            lengths.append(position - start)
        }
        guard position == l.dataEnd else {
            throw .inconsistent("packets add up to \(position - l.data) bytes, the tile holds \(l.dataEnd - l.data)")
        }
        return lengths
    }

    /// The number of coding passes (T.800 Table B.4).
    static func passCount(_ bits: inout Bits) throws(Unsplittable) -> Int {
        if try bits.bit() == 0 { return 1 }
        if try bits.bit() == 0 { return 2 }
        var n = try bits.bits(2)
        if n != 3 { return 3 + n }
        n = try bits.bits(5)
        if n != 31 { return 6 + n }
        return 37 + (try bits.bits(7))
    }
}
