import CCharLS
import DICOMCore

/// What a JPEG baseline or extended frame whose Photometric Interpretation is YBR_FULL or
/// YBR_FULL_422 decodes to (PS3.5 8.2.1). Other frames are the same either way.
public enum ColorOutput: Sendable {
    /// Converted to RGB, as pydicom's `pixel_array` and `dcmdjpeg` (`+cp`) give it.
    case rgb
    /// The YCbCr values the codestream stores (pydicom's `raw=True`, `dcmdjpeg +cn`),
    /// chroma upsampled to every pixel.
    case stored

    /// What a HealthImaging frame holds for a JPEG frame in YBR, and what its checksum is of:
    /// the stored values (pydicom's `raw=True`), not RGB. HealthImaging keeps the instance's
    /// attributes, Photometric Interpretation included, so a YBR_FULL(_422) extended frame
    /// transcoded to HTJ2K must still hold YCbCr for that attribute to describe it (RGB
    /// samples under a YBR label would be converted twice by a viewer). Lossless JPEG is never
    /// converted, and baseline is kept as received, so for it this decides only the checksum.
    /// ahi-local transcodes and checksums with it; `verify` decodes both sides with it.
    public static let healthImaging = ColorOutput.stored
}

/// Decodes one frame of a DICOM file, whatever its transfer syntax, to a `PixelBuffer`:
/// native (little- and big-endian, planar or interleaved, deflated data sets included),
/// RLE Lossless, JPEG-LS (CharLS), JPEG 2000 and HTJ2K, and JPEG baseline, extended and
/// lossless (`JPEGDecoder`: DCMTK's IJG, libjpeg-turbo for 8-bit baseline). Signed data in
/// JPEG-LS and JPEG, which store it as unsigned bit patterns, is sign-extended from Bits Stored.
///
/// Samples always come out at the data set's sample size (Bits Allocated), whatever the
/// precision of the codestream: an 8-bit JPEG-LS or JPEG 2000 codestream in Bits Allocated 16
/// decodes to 16-bit samples, as pydicom returns them (`PixelBuffer.widen`, one place for every codec).
public enum FrameDecoder {
    /// The pixel description of a data set.
    public struct ImagePixel: Sendable {
        public let rows: Int, columns: Int, samplesPerPixel: Int, bitsAllocated: Int, bitsStored: Int
        public let isSigned: Bool, planar: Bool

        /// Reads the Image Pixel module; nil when Rows/Columns/BitsAllocated are missing.
        public init?(_ ds: DataSet) {
            func int(_ t: Tag) -> Int? {
                guard let e = ds[t] else { return nil }
                switch ds.value(of: e) {
                case .unsigned(let v): return v.first.map { Int(truncatingIfNeeded: $0) }
                case .integers(let v): return v.first.map { Int(truncatingIfNeeded: $0) }
                case .strings(let v): return v.first.flatMap { Int($0.filter { $0 != " " }) }
                default: return nil
                }
            }
            guard let rows = int(.rows), let columns = int(.columns), let allocated = int(.bitsAllocated),
                  rows > 0, columns > 0 else { return nil }
            self.rows = rows
            self.columns = columns
            samplesPerPixel = int(.samplesPerPixel) ?? 1
            bitsAllocated = allocated
            bitsStored = int(.bitsStored) ?? allocated
            isSigned = int(.pixelRepresentation) == 1
            planar = int(.planarConfiguration) == 1
        }
    }

    /// Decodes `frame` of `file`; `color` says what a JPEG frame in YBR_FULL or YBR_FULL_422
    /// comes out as (see `ColorOutput`; native YBR data is returned as stored either way).
    public static func decode(_ file: DICOMFile, frame: Frame, color: ColorOutput = .rgb) throws(CodecError) -> PixelBuffer {
        let ds = file.dataSet
        guard let px = ImagePixel(ds) else { throw .unsupported("no Rows/Columns/BitsAllocated") }
        var bytes: [UInt8] = []
        for r in frame.ranges { bytes += ds.storage.copyBytes(r) }
        let syntax = file.transferSyntax
        if !syntax.isEncapsulated {
            let layout: NativePixelLayout
            do { layout = try NativePixelLayout(ds) } catch { throw .unsupported("\(error)") }
            if layout.bitsAllocated == 1 { return try bits(bytes, layout, bitOffset: frame.bitOffset) }
            if layout.isYBRFull422 { return try ybrFull422(bytes, layout, px, littleEndian: ds.isLittleEndian) }
            return try native(bytes, px, littleEndian: ds.isLittleEndian)
        }
        switch syntax.codec {
        case .rle:
            return try native(try rle(bytes, px), px, littleEndian: true, planarOverride: true)
        case .jpegLS:
            // JPEG-LS cannot store signed samples: zero-extend here; `native` sign-extends from Bits Stored.
            let (samples, bits, planar) = try jpegLS(bytes)
            let widened = PixelBuffer.widen(samples, from: PixelBuffer.bytesPerSample(forBits: bits),
                                            to: px.bitsAllocated / 8, bits: bits, signed: false)
            return try native(widened, px, littleEndian: true, planarOverride: planar)
        case .jpeg2000, .jpeg2000MultiComponent, .htj2k:
            return try J2KDecoder.decode(bytes).widened(toBytesPerSample: px.bitsAllocated / 8, signed: px.isSigned)
        case .jpegBaseline, .jpegExtended, .jpegLossless:
            return try jpeg(bytes, ds, px, color: color)
        case .native, .jpegXL, .mpeg2, .h264, .hevc, .jpipReferenced, .other:
            throw .unsupported("pixel data in \(syntax.name)")
        }
    }

    /// Decodes `codestream`, a JPEG frame of `file` (as GetImageFrame returns a frame HealthImaging
    /// kept as received), exactly as `decode(_:frame:color:)` decodes the frames of `file`.
    public static func decodeJPEG(_ codestream: [UInt8], of file: DICOMFile, color: ColorOutput = .rgb) throws(CodecError) -> PixelBuffer {
        guard let px = ImagePixel(file.dataSet) else { throw .unsupported("no Rows/Columns/BitsAllocated") }
        return try jpeg(codestream, file.dataSet, px, color: color)
    }

    /// A JPEG frame: its frame header checked against the Image Pixel module (so a lying one
    /// allocates nothing), decoded, YBR converted to RGB for `.rgb`, zero-extended to Bits
    /// Allocated, then `native` sign-extends signed data from Bits Stored.
    static func jpeg(_ bytes: [UInt8], _ ds: DataSet, _ px: ImagePixel, color: ColorOutput) throws(CodecError) -> PixelBuffer {
        let header = try JPEGHeader.parse(bytes)
        guard header.width == px.columns, header.height == px.rows, header.components == px.samplesPerPixel else {
            throw .decodeFailed(backend: JPEGBackend.dcmtkIJG.displayName,
                                reason: "the codestream is \(header.width)×\(header.height)×\(header.components); the data set "
                                    + "says \(px.columns)×\(px.rows)×\(px.samplesPerPixel)")
        }
        let bps = PixelBuffer.bytesPerSample(forBits: header.precision)
        guard bps * 8 <= px.bitsAllocated else {
            throw .unsupported("\(header.precision)-bit JPEG samples in Bits Allocated \(px.bitsAllocated)")
        }
        let pi = ds.string(.photometricInterpretation)
        let toRGB = color == .rgb && header.process != .lossless && (pi == "YBR_FULL" || pi == "YBR_FULL_422")
        let decoded = try JPEGDecoder.decode(bytes, header: header, isSigned: px.isSigned, convertYBRToRGB: toRGB)
        let widened = PixelBuffer.widen(decoded.bytes, from: bps, to: px.bitsAllocated / 8, bits: header.precision, signed: false)
        return try native(widened, px, littleEndian: true, planarOverride: false)
    }

    /// Native samples → interleaved little-endian, sign-extended to their byte width.
    static func native(_ b: [UInt8], _ px: ImagePixel, littleEndian: Bool, planarOverride: Bool? = nil) throws(CodecError) -> PixelBuffer {
        guard px.bitsAllocated == 8 || px.bitsAllocated == 16 || px.bitsAllocated == 32 else {
            throw .unsupported("\(px.bitsAllocated)-bit samples")
        }
        let bps = px.bitsAllocated / 8, n = px.rows * px.columns, spp = px.samplesPerPixel
        guard b.count >= n * spp * bps else { throw .decodeFailed(backend: "native", reason: "frame has \(b.count) bytes, needs \(n * spp * bps)") }
        let planar = planarOverride ?? px.planar
        var out = [UInt8](repeating: 0, count: n * spp * bps)
        let mask: UInt32 = px.bitsStored >= 32 ? .max : (1 << UInt32(px.bitsStored)) - 1
        // The common layouts (little endian, interleaved or one sample, 8 or 16 bits) in one pass.
        if littleEndian, !planar || spp == 1, bps <= 2, px.bitsStored > 0 {
            let total = n * spp
            let m = UInt16(truncatingIfNeeded: mask)
            let sign: UInt16 = px.isSigned && px.bitsStored < bps * 8 ? UInt16(1) << UInt16(px.bitsStored - 1) : 0
            out.withUnsafeMutableBufferPointer { o in
                b.withUnsafeBufferPointer { src in
                    for i in 0..<total {
                        var v = (bps == 2 ? UInt16(src[2 * i]) | UInt16(src[2 * i + 1]) << 8 : UInt16(src[i])) & m
                        if v & sign != 0 { v |= ~m }
                        if bps == 2 {
                            o[2 * i] = UInt8(truncatingIfNeeded: v)
                            o[2 * i + 1] = UInt8(truncatingIfNeeded: v >> 8)
                        } else {
                            o[i] = UInt8(truncatingIfNeeded: v)
                        }
                    }
                }
            }
            return PixelBuffer(width: px.columns, height: px.rows, components: spp, bitsStored: px.bitsStored, isSigned: px.isSigned,
                               bytesPerSample: bps, bytes: out)
        }
        for i in 0..<n {
            for c in 0..<spp {
                let src = (planar ? c * n + i : i * spp + c) * bps
                var v: UInt32 = 0
                for k in 0..<bps { v |= UInt32(b[src + (littleEndian ? k : bps - 1 - k)]) << (8 * k) }
                v &= mask
                if px.isSigned, px.bitsStored < 32, v & (1 << UInt32(px.bitsStored - 1)) != 0 { v |= ~mask }
                let dst = (i * spp + c) * bps
                for k in 0..<bps { out[dst + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) }
            }
        }
        return PixelBuffer(width: px.columns, height: px.rows, components: spp, bitsStored: px.bitsStored, isSigned: px.isSigned,
                           bytesPerSample: bps, bytes: out)
    }

    /// 1-bit native samples (PS3.5 8.1.1: least significant bit first, frames packed
    /// without padding) → one byte per sample, 0 or 1.
    static func bits(_ b: [UInt8], _ layout: NativePixelLayout, bitOffset: Int) throws(CodecError) -> PixelBuffer {
        let n = layout.samplesPerFrame
        guard b.count * 8 >= bitOffset + n else {
            throw .decodeFailed(backend: "native", reason: "frame has \(b.count * 8 - bitOffset) bits, needs \(n)")
        }
        var out = [UInt8](repeating: 0, count: n)
        for i in 0..<n {
            let bit = bitOffset + i
            out[i] = b[bit >> 3] >> UInt8(bit & 7) & 1
        }
        return PixelBuffer(width: layout.columns, height: layout.rows, components: layout.samplesPerPixel, bitsStored: 1,
                           isSigned: false, bytesPerSample: 1, bytes: out)
    }

    /// YBR_FULL_422 native samples (each two pixels stored Y Y Cb Cr, PS3.3 C.7.6.3.1.2) →
    /// interleaved YBR_FULL, each pair's Cb and Cr given to both pixels.
    static func ybrFull422(_ b: [UInt8], _ layout: NativePixelLayout, _ px: ImagePixel, littleEndian: Bool) throws(CodecError) -> PixelBuffer {
        let bps = (layout.bitsAllocated + 7) / 8, needed = layout.samplesPerFrame * bps
        guard layout.columns % 2 == 0 else { throw .unsupported("YBR_FULL_422 with an odd number of columns (\(layout.columns))") }
        guard b.count >= needed else { throw .decodeFailed(backend: "native", reason: "frame has \(b.count) bytes, needs \(needed)") }
        // Expand to Y Cb Cr per pixel, then read as ordinary interleaved samples.
        var full = [UInt8](repeating: 0, count: layout.rows * layout.columns * 3 * bps)
        for pair in 0..<(layout.rows * layout.columns / 2) {
            let src = pair * 4 * bps, dst = pair * 6 * bps
            for k in 0..<bps {
                let y0 = b[src + k], y1 = b[src + bps + k], cb = b[src + 2 * bps + k], cr = b[src + 3 * bps + k]
                full[dst + k] = y0; full[dst + bps + k] = cb; full[dst + 2 * bps + k] = cr
                full[dst + 3 * bps + k] = y1; full[dst + 4 * bps + k] = cb; full[dst + 5 * bps + k] = cr
            }
        }
        return try native(full, px, littleEndian: littleEndian, planarOverride: false)
    }

    /// RLE Lossless (PS3.5 G): a 64-byte header of segment offsets, each segment PackBits of one
    /// byte plane (most significant first, per sample). Returns planar little-endian samples.
    static func rle(_ b: [UInt8], _ px: ImagePixel) throws(CodecError) -> [UInt8] {
        func u32(_ i: Int) -> Int { Int(b[i]) | Int(b[i + 1]) << 8 | Int(b[i + 2]) << 16 | Int(b[i + 3]) << 24 }
        guard b.count >= 64 else { throw .decodeFailed(backend: "RLE", reason: "no RLE header") }
        let segments = u32(0), bps = px.bitsAllocated / 8, n = px.rows * px.columns
        guard segments == bps * px.samplesPerPixel, segments <= 15 else {
            throw .decodeFailed(backend: "RLE", reason: "\(segments) segments for \(px.samplesPerPixel) samples of \(bps) bytes")
        }
        var out = [UInt8](repeating: 0, count: n * px.samplesPerPixel * bps)
        for s in 0..<segments {
            let start = u32(4 + 4 * s), end = s + 1 < segments ? u32(8 + 4 * s) : b.count
            guard start >= 64, start <= end, end <= b.count else { throw .decodeFailed(backend: "RLE", reason: "bad segment offset") }
            let sample = s / bps, byte = bps - 1 - s % bps  // segments go from the most significant byte
            var i = start, written = 0
            while i < end && written < n {
                let h = Int(Int8(bitPattern: b[i]))
                i += 1
                if h >= 0 {
                    let count = min(h + 1, end - i, n - written)
                    for k in 0..<count { out[(sample * n + written + k) * bps + byte] = b[i + k] }
                    i += h + 1
                    written += count
                } else if h != -128 {
                    guard i < end else { break }
                    let count = min(1 - h, n - written)
                    for k in 0..<count { out[(sample * n + written + k) * bps + byte] = b[i] }
                    i += 1
                    written += count
                }
            }
            guard written == n else { throw .decodeFailed(backend: "RLE", reason: "segment \(s + 1) decodes to \(written) of \(n) bytes") }
        }
        return out
    }

    /// JPEG-LS through CharLS: the samples (1 byte up to 8 bits, else 2, little-endian), the
    /// codestream's bits per sample, and whether they are planar (interleave mode none).
    static func jpegLS(_ b: [UInt8]) throws(CodecError) -> ([UInt8], Int, Bool) {
        guard let decoder = charls_jpegls_decoder_create() else { throw .decodeFailed(backend: "CharLS", reason: "no decoder") }
        defer { charls_jpegls_decoder_destroy(decoder) }
        func check(_ e: charls_jpegls_errc, _ what: String) throws(CodecError) {
            guard e.rawValue == 0 else {
                throw .decodeFailed(backend: "CharLS", reason: "\(what): \(String(cString: charls_get_error_message(e)))")
            }
        }
        let result: Result<([UInt8], Int, Bool), CodecError> = b.withUnsafeBytes { src in
            Result { () throws(CodecError) -> ([UInt8], Int, Bool) in
                guard let base = src.baseAddress else { throw .decodeFailed(backend: "CharLS", reason: "empty frame") }
                try check(charls_jpegls_decoder_set_source_buffer(decoder, base, src.count), "source")
                try check(charls_jpegls_decoder_read_header(decoder), "header")
                var mode = charls_interleave_mode(0)
                try check(charls_jpegls_decoder_get_interleave_mode(decoder, &mode), "interleave mode")
                var info = charls_frame_info()
                try check(charls_jpegls_decoder_get_frame_info(decoder, &info), "frame info")
                var size = 0
                try check(charls_jpegls_decoder_get_destination_size(decoder, 0, &size), "size")
                guard size > 0 else { throw .decodeFailed(backend: "CharLS", reason: "empty image") }
                var out = [UInt8](repeating: 0, count: size)
                let e = out.withUnsafeMutableBytes { o in
                    o.baseAddress.map { charls_jpegls_decoder_decode_to_buffer(decoder, $0, o.count, 0) } ?? charls_jpegls_errc(1)
                }
                try check(e, "decode")
                return (out, Int(info.bits_per_sample), mode.rawValue == 0)
            }
        }
        return try result.get()
    }
}
