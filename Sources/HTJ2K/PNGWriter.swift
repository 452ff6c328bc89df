import ByteCoding
import DICOMCore

/// An 8-bit grey or RGB PNG of a `PixelBuffer`, windowed for viewing: `center`/`width`
/// as DICOM's VOI LUT (PS3.3 C.11.2.1.2, linear), or the samples' min/max when not given.
public enum PNGWriter {
    /// The PNG file bytes.
    public static func png(_ p: PixelBuffer, window: (center: Double, width: Double)? = nil,
                           rescale: (slope: Double, intercept: Double) = (1, 0)) -> [UInt8] {
        let n = p.width * p.height * p.components
        var values = [Double](repeating: 0, count: n)
        var i = 0
        for y in 0..<p.height {
            for x in 0..<p.width {
                for c in 0..<p.components {
                    values[i] = Double(p.sample(x: x, y: y, component: c)) * rescale.slope + rescale.intercept
                    i += 1
                }
            }
        }
        let (lo, hi): (Double, Double)
        if let window, window.width >= 1 {
            lo = window.center - 0.5 - (window.width - 1) / 2
            hi = window.center - 0.5 + (window.width - 1) / 2
        } else if p.components == 3, !p.isSigned, rescale == (1, 0) {
            // Colour is shown as stored: the full sample range, not stretched.
            lo = 0
            hi = Double((1 << min(p.bitsStored, 16)) - 1)
        } else {
            lo = values.min() ?? 0
            hi = values.max() ?? 1
        }
        let span = max(hi - lo, 1e-9)
        var raw: [UInt8] = []
        raw.reserveCapacity(p.height * (1 + p.width * p.components))
        for y in 0..<p.height {
            raw.append(0)  // filter: none
            for k in 0..<(p.width * p.components) {
                let v = (values[y * p.width * p.components + k] - lo) / span * 255
                raw.append(UInt8(max(0, min(255, v.rounded()))))
            }
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
