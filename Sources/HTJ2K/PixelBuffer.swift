/// Decoded pixels: rows of interleaved components, each sample `bytesPerSample`
/// little-endian (two's complement when signed). One type for every codec.
public struct PixelBuffer: Sendable, Equatable {
    /// Columns.
    public let width: Int
    /// Rows.
    public let height: Int
    /// Samples per pixel (1 or 3).
    public let components: Int
    /// Significant bits per sample.
    public let bitsStored: Int
    /// Two's complement samples.
    public let isSigned: Bool
    /// 1, 2 or 4.
    public let bytesPerSample: Int
    /// The samples.
    public let bytes: [UInt8]

    /// Creates a buffer; `bytes` must hold width × height × components × bytesPerSample bytes.
    public init(width: Int, height: Int, components: Int, bitsStored: Int, isSigned: Bool, bytesPerSample: Int, bytes: [UInt8]) {
        self.width = width
        self.height = height
        self.components = components
        self.bitsStored = bitsStored
        self.isSigned = isSigned
        self.bytesPerSample = bytesPerSample
        self.bytes = bytes
    }

    /// The byte width DICOM would store a sample of `bits` in (8 → 1, ≤16 → 2, else 4).
    public static func bytesPerSample(forBits bits: Int) -> Int { bits <= 8 ? 1 : bits <= 16 ? 2 : 4 }

    /// One sample as an integer (sign-extended when signed).
    public func sample(x: Int, y: Int, component: Int = 0) -> Int {
        let i = ((y * width + x) * components + component) * bytesPerSample
        var v: UInt32 = 0
        for b in 0..<bytesPerSample { v |= UInt32(bytes[i + b]) << (8 * b) }
        guard isSigned else { return Int(v) }
        let shift = 32 - bytesPerSample * 8
        return Int(Int32(bitPattern: v << UInt32(shift)) >> Int32(shift))
    }
}

extension PixelBuffer {
    /// Calls `body` with each sample's position (in `bytes`, counted in samples) and value,
    /// sign-extended when signed, in order: one pass, no copy. Stops at the last whole sample.
    func forEachSample(_ body: (Int, Int) -> Void) {
        let count = bytesPerSample > 0 ? Swift.min(width * height * components, bytes.count / bytesPerSample) : 0
        bytes.withUnsafeBufferPointer { b in
            switch (bytesPerSample, isSigned) {
            case (1, false): for i in 0..<count { body(i, Int(b[i])) }
            case (1, true): for i in 0..<count { body(i, Int(Int8(bitPattern: b[i]))) }
            case (2, false): for i in 0..<count { body(i, Int(UInt16(b[2 * i]) | UInt16(b[2 * i + 1]) << 8)) }
            case (2, true): for i in 0..<count { body(i, Int(Int16(bitPattern: UInt16(b[2 * i]) | UInt16(b[2 * i + 1]) << 8))) }
            default:
                for i in 0..<count {
                    var v: UInt32 = 0
                    for k in 0..<bytesPerSample { v |= UInt32(b[i * bytesPerSample + k]) << (8 * k) }
                    let shift = UInt32(32 - bytesPerSample * 8)
                    body(i, isSigned ? Int(Int32(bitPattern: v << shift) >> Int32(shift)) : Int(v))
                }
            }
        }
    }

    /// The smallest and largest sample of a one-component buffer (sign-extended when
    /// signed); nil for other buffers or no samples.
    public func sampleRange() -> (min: Int, max: Int)? {
        guard components == 1, width > 0, height > 0, bytes.count >= width * height * bytesPerSample else { return nil }
        var lo = Int.max, hi = Int.min
        forEachSample { _, v in lo = Swift.min(lo, v); hi = Swift.max(hi, v) }
        return (lo, hi)
    }

    /// YBR_FULL (PS3.3 C.7.6.3.1.2, ITU-R BT.601 full range) → RGB, for display:
    /// R = Y + 1.402 (Cr − h), G = Y − 0.344136 (Cb − h) − 0.714136 (Cr − h), B = Y + 1.772 (Cb − h),
    /// h half the range, rounded and clamped to the sample range — as pydicom's
    /// `convert_color_space` does. Unsigned 3-component buffers only; others are returned as they are.
    public func rgbFromYBRFull() -> PixelBuffer {
        guard components == 3, !isSigned, bitsStored <= 16 else { return self }
        let maxValue = Double((1 << bitsStored) - 1), half = Double(1 << (bitsStored - 1))
        var out = bytes
        func put(_ v: Double, at i: Int) {
            let x = UInt32(max(0, min(maxValue, (v + 0.5).rounded(.down))))
            for b in 0..<bytesPerSample { out[i + b] = UInt8(truncatingIfNeeded: x >> (8 * b)) }
        }
        for p in 0..<(width * height) {
            let y = p / width, x = p % width
            let luma = Double(sample(x: x, y: y, component: 0))
            let cb = Double(sample(x: x, y: y, component: 1)) - half, cr = Double(sample(x: x, y: y, component: 2)) - half
            let i = p * 3 * bytesPerSample
            put(luma + 1.402 * cr, at: i)
            put(luma - 0.114 * 1.772 / 0.587 * cb - 0.299 * 1.402 / 0.587 * cr, at: i + bytesPerSample)
            put(luma + 1.772 * cb, at: i + 2 * bytesPerSample)
        }
        return PixelBuffer(width: width, height: height, components: 3, bitsStored: bitsStored, isSigned: false,
                           bytesPerSample: bytesPerSample, bytes: out)
    }

    /// This buffer with samples of `target` bytes: itself when they are not narrower, else
    /// widened, sign-extended from bit `bitsStored - 1` when the samples are signed or `signed`
    /// says so (Pixel Representation 1 over an unsigned codestream). How a codestream narrower
    /// than Bits Allocated (8-bit JPEG 2000 in 16) comes out at the data set's sample size, and
    /// how a frame downloaded from HealthImaging is compared with the local one. One pass.
    public func widened(toBytesPerSample target: Int, signed: Bool = false) -> PixelBuffer {
        guard target > bytesPerSample, target <= 4 else { return self }
        let isSigned = self.isSigned || signed
        return PixelBuffer(width: width, height: height, components: components, bitsStored: bitsStored,
                           isSigned: isSigned, bytesPerSample: target,
                           bytes: Self.widen(bytes, from: bytesPerSample, to: target, bits: bitsStored, signed: isSigned))
    }

    /// Little-endian samples of `from` bytes, `bits` of them significant, as samples of `to`
    /// bytes: zero-extended, or sign-extended from bit `bits - 1` when `signed`. The input is
    /// returned as is when it is not narrower. One pass.
    public static func widen(_ b: [UInt8], from: Int, to: Int, bits: Int, signed: Bool) -> [UInt8] {
        guard from > 0, from < to, to <= 4 else { return b }
        let n = b.count / from
        let sign: UInt32 = bits > 0 && bits < 32 ? 1 << UInt32(bits - 1) : 0
        let extend: UInt32 = sign == 0 ? 0 : ~((sign << 1) &- 1)
        var out = [UInt8](repeating: 0, count: n * to)
        for i in 0..<n {
            var v: UInt32 = 0
            for k in 0..<from { v |= UInt32(b[i * from + k]) << (8 * k) }
            if signed && v & sign != 0 { v |= extend }
            for k in 0..<to { out[i * to + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) }
        }
        return out
    }
}

/// Why a codestream could not be read or decoded.
public enum CodecError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Not a J2K codestream or JP2/JPH file.
    case notJ2K(String)
    /// The main header is malformed.
    case malformedHeader(String)
    /// The decoder refused the stream.
    case decodeFailed(backend: String, reason: String)
    /// Something this build does not handle.
    case unsupported(String)

    /// One line for the user.
    public var description: String {
        switch self {
        case .notJ2K(let r): return "not a JPEG 2000 codestream: \(r)"
        case .malformedHeader(let r): return "malformed JPEG 2000 header: \(r)"
        case .decodeFailed(let b, let r): return "\(b) could not decode the codestream: \(r)"
        case .unsupported(let r): return "unsupported: \(r)"
        }
    }
}

/// The text of a NUL-terminated C message buffer.
func cMessage(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
