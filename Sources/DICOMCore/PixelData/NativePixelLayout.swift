/// How native (uncompressed) pixel data of a data set is laid out: the one frame-size
/// model the validator, the frame index and the frame decoder share.
///
/// A frame holds Rows × Columns pixels of Samples per Pixel samples of Bits Allocated
/// bits (PS3.5 8.1.1), frames following each other without padding — for 1-bit data
/// even inside a byte (PS3.5 8.1.1, 8.2) — except that YBR_FULL_422 stores two samples
/// per pixel: each pair of horizontally adjacent pixels is Y Y Cb Cr (PS3.3
/// C.7.6.3.1.2). Planar Configuration 1 puts each sample's plane after the other
/// (PS3.3 C.7.6.3.1.3); it changes the order, not the size. The value is padded to an
/// even length (PS3.5 7.1.1).
public struct NativePixelLayout: Sendable, Equatable {
    public let rows: Int
    public let columns: Int
    /// Samples per pixel as the data set says (3 for YBR_FULL_422).
    public let samplesPerPixel: Int
    public let bitsAllocated: Int
    /// YBR_FULL_422: two adjacent pixels share one Cb and one Cr.
    public let isYBRFull422: Bool
    /// Planar Configuration 1.
    public let isPlanar: Bool

    /// Reads the Image Pixel module of `ds` for the pixel data element `pixelTag`
    /// ((7FE0,0008) and (7FE0,0009) have 32- and 64-bit samples).
    /// - Throws: `FrameError.missingImageAttribute` when Rows, Columns or Bits Allocated is missing or zero.
    public init(_ ds: DataSet, pixelTag: Tag = .pixelData) throws(FrameError) {
        func attr(_ t: Tag) throws(FrameError) -> Int {
            guard let v = ds.int(t), v > 0 else { throw .missingImageAttribute(t) }
            return v
        }
        rows = try attr(.rows)
        columns = try attr(.columns)
        samplesPerPixel = max(1, ds.int(.samplesPerPixel) ?? 1)
        if pixelTag == .floatPixelData { bitsAllocated = 32 } else if pixelTag == .doubleFloatPixelData { bitsAllocated = 64 } else {
            bitsAllocated = try attr(.bitsAllocated)
        }
        isYBRFull422 = samplesPerPixel == 3 && ds.string(.photometricInterpretation) == "YBR_FULL_422"
        isPlanar = ds.int(.planarConfiguration) == 1
    }

    /// Samples stored per frame: Rows × Columns × Samples per Pixel, or Rows × Columns × 2 for YBR_FULL_422.
    public var samplesPerFrame: Int { rows * columns * (isYBRFull422 ? 2 : samplesPerPixel) }

    /// Bits of one frame.
    public var bitsPerFrame: Int { samplesPerFrame * bitsAllocated }

    /// Bytes `frames` frames take, rounded up to whole bytes (1-bit data), without the even-length pad.
    public func byteCount(frames: Int) -> Int { (bitsPerFrame * frames + 7) / 8 }

    /// The value length `frames` frames need: `byteCount` padded to even.
    public func paddedLength(frames: Int) -> Int { let n = byteCount(frames: frames); return n + n % 2 }

    /// How many whole frames a value of `length` bytes holds.
    public func wholeFrames(inLength length: Int) -> Int {
        bitsPerFrame > 0 ? (length * 8) / bitsPerFrame : 0
    }

    /// Frame `index` (from 0) of pixel data whose value starts at `valueOffset`: its bytes,
    /// and for 1-bit data the bit of the first byte where it starts.
    public func frame(_ index: Int, valueOffset: Int) -> Frame {
        let startBit = index * bitsPerFrame
        let first = startBit / 8, last = (startBit + bitsPerFrame + 7) / 8
        return Frame(index: index, ranges: [ByteRange(offset: valueOffset + first, count: last - first)], bitOffset: startBit % 8)
    }

    /// `R×C, S samples of B bits (YBR_FULL_422: 2 stored per pixel)`, for messages.
    public var summary: String {
        "\(rows)×\(columns), \(samplesPerPixel) sample\(samplesPerPixel == 1 ? "" : "s") of \(bitsAllocated) bit\(bitsAllocated == 1 ? "" : "s")"
            + (isYBRFull422 ? " (YBR_FULL_422: 2 stored per pixel)" : "")
    }
}
