import ByteCoding
import DICOMCore

/// An 8-bit grey or RGB PNG of a `PixelBuffer`, windowed for viewing: `center`/`width`
/// as DICOM's VOI LUT (PS3.3 C.11.2.1.2, linear), or the samples' min/max when not given.
public enum PNGWriter {
    /// The PNG file bytes.
    public static func png(_ p: PixelBuffer, window: (center: Double, width: Double)? = nil,
                           rescale: (slope: Double, intercept: Double) = (1, 0)) -> [UInt8] {
        let n = p.width * p.height * p.components
        let (lo, hi): (Double, Double)
        if let window, window.width >= 1 {
            lo = window.center - 0.5 - (window.width - 1) / 2
            hi = window.center - 0.5 + (window.width - 1) / 2
        } else if p.components == 3, !p.isSigned, rescale == (1, 0) {
            // Colour is shown as stored: the full sample range, not stretched.
            lo = 0
            hi = Double((1 << min(p.bitsStored, 16)) - 1)
        } else {
            var smallest = Int.max, largest = Int.min
            p.forEachSample { _, v in smallest = Swift.min(smallest, v); largest = Swift.max(largest, v) }
            if smallest > largest { (smallest, largest) = (0, 1) }  // no samples
            let a = Double(smallest) * rescale.slope + rescale.intercept, b = Double(largest) * rescale.slope + rescale.intercept
            (lo, hi) = (Swift.min(a, b), Swift.max(a, b))
        }
        let span = max(hi - lo, 1e-9)
        func grey(_ sample: Int) -> UInt8 {
            let v = ((Double(sample) * rescale.slope + rescale.intercept) - lo) / span * 255
            return UInt8(max(0, min(255, v.rounded())))
        }
        // Up to 16 bits, every possible sample is mapped once (a table), then each pixel is a lookup.
        let table: [UInt8]? = p.bytesPerSample <= 2
            ? (0..<(1 << (8 * p.bytesPerSample))).map { i in
                grey(p.isSigned ? (i >= 1 << (8 * p.bytesPerSample - 1) ? i - (1 << (8 * p.bytesPerSample)) : i) : i)
            }
            : nil
        var mapped = [UInt8](repeating: 0, count: n)
        mapped.withUnsafeMutableBufferPointer { m in
            if let table {
                let mask = table.count - 1
                table.withUnsafeBufferPointer { t in p.forEachSample { i, v in m[i] = t[v & mask] } }
            } else {
                p.forEachSample { i, v in m[i] = grey(v) }
            }
        }
        let rowBytes = p.width * p.components
        var raw: [UInt8] = []
        raw.reserveCapacity(p.height * (1 + rowBytes))
        for y in 0..<p.height {
            raw.append(0)  // filter: none
            raw.append(contentsOf: mapped[(y * rowBytes)..<((y + 1) * rowBytes)])
        }
        var out: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        func be32(_ v: Int) -> [UInt8] { [UInt8(v >> 24 & 0xFF), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func chunk(_ type: String, _ data: [UInt8]) {
            let body = Array(type.utf8) + data
            out += be32(data.count) + body + CRC32.of(body).bigEndianBytes
        }
        chunk("IHDR", be32(p.width) + be32(p.height) + [8, p.components == 1 ? 0 : 2, 0, 0, 0])
        chunk("IDAT", Zlib.deflate(raw, format: .zlib))
        chunk("IEND", [])
        return out
    }
}
