import CZlib

/// zlib's deflate and inflate (RFC 1950–1952) over byte arrays: raw deflate as
/// Deflated Explicit VR Little Endian stores a data set, gzip as HealthImaging
/// serves image-set metadata, zlib as PNG's IDAT chunk holds pixels.
public enum Zlib {
    /// The container around the compressed bytes.
    public enum Format: Sendable, Hashable {
        /// RFC 1951: no header or trailer.
        case raw
        /// RFC 1950: a 2-byte header and an Adler-32 trailer.
        case zlib
        /// RFC 1952: a gzip header and a CRC-32 trailer. When inflating, a zlib
        /// stream is accepted too (zlib detects which of the two it is).
        case gzip

        /// zlib's `windowBits` for this container (32 K window; +32 asks inflate to detect gzip or zlib).
        func windowBits(inflating: Bool) -> Int32 {
            switch self {
            case .raw: return -15
            case .zlib: return 15
            case .gzip: return inflating ? 47 : 31
            }
        }
    }

    /// Why a stream did not inflate.
    public enum InflateError: Error, Sendable, Hashable, CustomStringConvertible {
        /// zlib could not start (`code` is zlib's return code; out of memory in practice).
        case cannotStart(code: Int32)
        /// The input ended before the stream's final block; `inputOffset` is the number of input bytes consumed.
        case truncated(inputOffset: Int)
        /// The stream is not valid at about `inputOffset` (input bytes consumed); `reason` is zlib's message.
        case corrupt(inputOffset: Int, reason: String)
        /// The output would exceed `limit` bytes.
        case tooLarge(limit: Int)

        /// The input offset the error refers to (0 when it concerns no position).
        public var inputOffset: Int {
            switch self {
            case .truncated(let o), .corrupt(let o, _): return o
            case .cannotStart, .tooLarge: return 0
            }
        }

        /// For the user: `the deflate stream ends before its final block`, ….
        public var description: String {
            switch self {
            case .cannotStart(let code): return "zlib init failed (\(code))"
            case .truncated: return "the deflate stream ends before its final block"
            case .corrupt(_, let reason): return "corrupt stream: \(reason)"
            case .tooLarge(let limit): return "inflates to more than the \(limit)-byte limit"
            }
        }
    }

    /// `input` compressed at `level` (0–9; 6 is zlib's default balance) in `format`.
    /// Returns an empty array only when zlib cannot start (out of memory).
    public static func deflate(_ input: [UInt8], format: Format, level: Int32 = 6) -> [UInt8] {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, format.windowBits(inflating: false), 8, Z_DEFAULT_STRATEGY,
                            ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        // deflateBound is enough for one Z_FINISH call; the margin covers the gzip header.
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        let produced: Int = input.withUnsafeBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                stream.next_in = UnsafeMutablePointer(mutating: src.baseAddress)
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                _ = CZlib.deflate(&stream, Z_FINISH)
                return dst.count - Int(stream.avail_out)
            }
        }
        output.removeSubrange(produced...)
        return output
    }

    /// The inflated bytes of one `format` stream at the start of `input` (bytes after
    /// the stream's end are ignored). Allocates at most `limit` bytes plus one 64 KiB chunk.
    ///
    /// - Throws: `InflateError`: `.truncated` when the input ends first, `.corrupt`
    ///   when it is not such a stream, `.tooLarge` when the output passes `limit` bytes.
    public static func inflate(_ input: UnsafeRawBufferPointer, format: Format, limit: Int) throws(InflateError) -> [UInt8] {
        var stream = z_stream()
        let rc = inflateInit2_(&stream, format.windowBits(inflating: true), ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw .cannotStart(code: rc) }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        output.reserveCapacity(max(4096, min(limit, input.count.multipliedReportingOverflow(by: 4).partialValue)))
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        while true {
            let (status, produced) = chunk.withUnsafeMutableBufferPointer { dst -> (Int32, Int) in
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                let status = CZlib.inflate(&stream, Z_NO_FLUSH)
                return (status, dst.count - Int(stream.avail_out))
            }
            guard output.count + produced <= limit else { throw .tooLarge(limit: limit) }
            output.append(contentsOf: chunk[..<produced])
            switch status {
            case Z_STREAM_END:
                return output
            case Z_OK, Z_BUF_ERROR:
                // Every call gets a fresh chunk of output space, so no progress means no input left.
                if stream.avail_in == 0 && (status == Z_BUF_ERROR || stream.avail_out > 0) {
                    throw .truncated(inputOffset: Int(stream.total_in))
                }
            default:
                throw .corrupt(inputOffset: Int(stream.total_in), reason: stream.msg.map { String(cString: $0) } ?? "code \(status)")
            }
        }
    }

    /// ``inflate(_:format:limit:)`` over an array.
    public static func inflate(_ input: [UInt8], format: Format, limit: Int) throws(InflateError) -> [UInt8] {
        // Array.withUnsafeBytes rethrows `any Error`; a Result keeps the error typed.
        try input.withUnsafeBytes { b in
            Result { () throws(InflateError) in try inflate(b, format: format, limit: limit) }
        }.get()
    }

    /// True when `bytes` begin with a valid zlib header (RFC 1950 §2.2: method 8, check bits).
    /// Some writers wrap a stream that should be raw deflate in one.
    public static func startsWithZlibHeader(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 2 && bytes[0] & 0x0F == 8 && (UInt16(bytes[0]) << 8 | UInt16(bytes[1])) % 31 == 0
    }
}
