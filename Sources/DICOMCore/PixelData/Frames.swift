/// One frame of pixel data, located in the storage without copying.
public struct Frame: Sendable, Hashable {
    /// Frame number, from 0.
    public let index: Int
    /// The byte ranges that hold the frame: one for native data; one per
    /// fragment for encapsulated data (concatenate them to get the codestream).
    public let ranges: [ByteRange]
    /// For 1-bit native data: the bit (0–7, from the least significant) of the
    /// first byte where the frame starts. Zero otherwise.
    public let bitOffset: Int
    /// Total number of bytes in `ranges`.
    public var byteCount: Int { ranges.reduce(0) { $0 + $1.count } }
}

/// Why frames could not be located.
public enum FrameError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The data set has no (7FE0,0010), (7FE0,0008) or (7FE0,0009).
    case noPixelData
    /// Rows, Columns, Bits Allocated or Samples per Pixel is missing or zero.
    case missingImageAttribute(Tag)
    /// Native pixel data is shorter than the frames need.
    case nativeDataTooShort(expected: Int, actual: Int)
    /// An offset table points outside the pixel data or is not ascending.
    case invalidOffsetTable(String)
    /// Fragments could not be assigned to frames.
    case cannotAssignFragments(fragments: Int, frames: Int)
    /// Pixel data was not walked (header-only parse).
    case notIndexed
    /// Frame `number` (from 1) is declared by Number of Frames but not in the pixel data,
    /// which holds `available` whole frames.
    case frameMissing(number: Int, declared: Int, available: Int)
    /// Frame `number` (from 1) is past Number of Frames.
    case noSuchFrame(number: Int, declared: Int)

    /// A sentence.
    public var description: String {
        switch self {
        case .noPixelData: return "no pixel data"
        case .missingImageAttribute(let t): return "missing or zero image attribute \(t)"
        case .nativeDataTooShort(let e, let a): return "pixel data holds \(a) bytes; the frames need \(e)"
        case .invalidOffsetTable(let r): return "invalid offset table: \(r)"
        case .cannotAssignFragments(let f, let n): return "cannot assign \(f) fragments to \(n) frames"
        case .notIndexed: return "pixel data not indexed (header-only parse)"
        case .frameMissing(let n, let declared, let available):
            return "frame \(n) is missing: Number of Frames is \(declared) but the pixel data holds only \(available) whole frame\(available == 1 ? "" : "s")"
        case .noSuchFrame(let n, let declared): return "there is no frame \(n): the image has \(declared) frame\(declared == 1 ? "" : "s")"
        }
    }
}

extension DICOMFile {
    /// Number of frames: (0028,0008) Number of Frames, or 1.
    public var numberOfFrames: Int {
        max(1, dataSet.int(.numberOfFrames) ?? 1)
    }

    /// The frames of the image that are present, as byte ranges of `dataSet.storage`.
    ///
    /// Native data are cut by the ``NativePixelLayout`` (bit-exact for 1-bit data, two
    /// samples per pixel for YBR_FULL_422); when the value holds fewer whole frames than
    /// Number of Frames, the frames it holds are returned (``frame(number:)`` names the
    /// missing ones). Encapsulated data use the Extended Offset Table (7FE0,0001/0002),
    /// else the Basic Offset Table, else one fragment per frame, else fragment boundaries
    /// where a codestream starts (JPEG SOI, JPEG 2000 SOC, JP2 signature).
    /// - Throws: ``FrameError``: no pixel data, missing image attributes, native data
    ///   shorter than one frame, or fragments that cannot be assigned to frames.
    public func frames() throws(FrameError) -> [Frame] {
        let ds = dataSet
        guard let pixel = ds[.pixelData] ?? ds[.floatPixelData] ?? ds[.doubleFloatPixelData] else {
            throw .noPixelData
        }
        let n = numberOfFrames
        if pixel.isUndefinedLength {
            guard let fragments = pixel.fragments else { throw .notIndexed }
            return try encapsulatedFrames(fragments: fragments, count: n)
        }
        let layout = try NativePixelLayout(ds, pixelTag: pixel.tag)
        let present = min(n, layout.wholeFrames(inLength: pixel.valueLength))
        guard present > 0 else { throw .nativeDataTooShort(expected: layout.byteCount(frames: n), actual: pixel.valueLength) }
        return (0..<present).map { layout.frame($0, valueOffset: pixel.valueOffset) }
    }

    /// Frame `number` (from 1), or why it cannot be had.
    /// - Throws: ``FrameError/noSuchFrame(number:declared:)`` past Number of Frames,
    ///   ``FrameError/frameMissing(number:declared:available:)`` for a declared frame the
    ///   pixel data does not hold, or what ``frames()`` throws.
    public func frame(number: Int) throws(FrameError) -> Frame {
        let declared = numberOfFrames
        guard number >= 1, number <= declared else { throw .noSuchFrame(number: number, declared: declared) }
        let present = try frames()
        guard number <= present.count else { throw .frameMissing(number: number, declared: declared, available: present.count) }
        return present[number - 1]
    }

    func encapsulatedFrames(fragments all: [ByteRange], count n: Int) throws(FrameError) -> [Frame] {
        guard let bot = all.first else { throw .cannotAssignFragments(fragments: 0, frames: n) }
        let fragments = Array(all.dropFirst())
        guard !fragments.isEmpty else { throw .cannotAssignFragments(fragments: 0, frames: n) }
        // Offsets in the tables are measured from the first fragment's item header.
        let origin = fragments[0].offset - 8
        let itemStarts = fragments.map { $0.offset - 8 - origin }

        // A table with fewer offsets than Number of Frames gives the frames that are there.
        func group(by offsets: [Int]) throws(FrameError) -> [Frame] {
            guard !offsets.isEmpty, offsets.count <= n else {
                throw .invalidOffsetTable("\(offsets.count) offsets for \(n) frames")
            }
            var frames: [Frame] = []
            for (i, start) in offsets.enumerated() {
                let end = i + 1 < offsets.count ? offsets[i + 1] : Int.max
                guard end > start || i + 1 == offsets.count else {
                    throw .invalidOffsetTable("offsets are not ascending at frame \(i)")
                }
                let members = fragments.indices.filter { itemStarts[$0] >= start && itemStarts[$0] < end }
                guard let firstMember = members.first, itemStarts[firstMember] == start else {
                    throw .invalidOffsetTable("offset \(start) of frame \(i) is not the start of a fragment")
                }
                frames.append(Frame(index: i, ranges: members.map { fragments[$0] }, bitOffset: 0))
            }
            return frames
        }

        let ds = dataSet
        if let eot = ds[.extendedOffsetTable], eot.valueLength > 0 {
            let offsets = ds.fixed(eot, UInt64.self).map { Int(clamping: $0) }
            return try group(by: offsets)
        }
        if bot.count >= 4 {
            let b = ds.storage.bytes(bot)
            let offsets: [Int] = stride(from: 0, to: b.count - 3, by: 4).map {
                Int(UInt32(littleEndian: b.loadUnaligned(fromByteOffset: $0, as: UInt32.self)))
            }
            return try group(by: offsets)
        }
        // One fragment per frame, the usual encoding; fewer fragments than Number of Frames:
        // the frames that are there (``frame(number:)`` names the missing ones).
        if fragments.count <= n {
            return fragments.enumerated().map { Frame(index: $0.offset, ranges: [$0.element], bitOffset: 0) }
        }
        if n == 1 { return [Frame(index: 0, ranges: fragments, bitOffset: 0)] }
        // More fragments than frames and no table: a new frame starts where a codestream starts.
        let starts = fragments.indices.filter { startsCodestream(ds.storage.bytes(fragments[$0])) }
        guard starts.count == n, starts.first == 0 else {
            throw .cannotAssignFragments(fragments: fragments.count, frames: n)
        }
        return try group(by: starts.map { itemStarts[$0] })
    }

    /// True when bytes begin a JPEG (SOI), JPEG 2000 / HTJ2K codestream (SOC SIZ) or JP2 file.
    func startsCodestream(_ b: UnsafeRawBufferPointer) -> Bool {
        guard b.count >= 4 else { return false }
        if b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF { return true }
        if b[0] == 0xFF && b[1] == 0x4F && b[2] == 0xFF && b[3] == 0x51 { return true }
        if b.count >= 8 && b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] == 0x0C && b[4] == 0x6A && b[5] == 0x50 {
            return true
        }
        return false
    }
}
