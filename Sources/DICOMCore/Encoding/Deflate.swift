import CZlib

/// zlib's deflate for writers: raw (RFC 1951, as Deflated Explicit VR Little Endian
/// stores a data set) or gzip (RFC 1952, as HealthImaging serves image-set metadata).
public enum Deflate {
    /// The container around the compressed bytes.
    public enum Format: Sendable {
        /// No header or trailer.
        case raw
        /// gzip header and CRC-32 trailer.
        case gzip
        /// zlib header and Adler-32 trailer (PNG's IDAT).
        case zlib
    }

    /// `input` compressed at level 6; empty when zlib cannot start.
    public static func compress(_ input: [UInt8], format: Format) -> [UInt8] {
        var stream = z_stream()
        let windowBits: Int32 = format == .raw ? -15 : format == .gzip ? 31 : 15
        guard deflateInit2_(&stream, 6, Z_DEFLATED, windowBits, 8, Z_DEFAULT_STRATEGY, ZLIB_VERSION,
                            Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return [] }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))) + 64)
        var source = input
        let produced: Int = source.withUnsafeMutableBufferPointer { src in
            output.withUnsafeMutableBufferPointer { dst in
                stream.next_in = src.baseAddress
                stream.avail_in = uInt(src.count)
                stream.next_out = dst.baseAddress
                stream.avail_out = uInt(dst.count)
                _ = deflate(&stream, Z_FINISH)
                return dst.count - Int(stream.avail_out)
            }
        }
        return Array(output.prefix(produced))
    }

    /// The inflated bytes of a gzip (or zlib) stream, or nil when it is not one or
    /// inflates past `cap` bytes.
    public static func gunzip(_ input: [UInt8], cap: Int = 1 << 30) -> [UInt8]? {
        var stream = z_stream()
        guard inflateInit2_(&stream, 47, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK else { return nil }
        defer { inflateEnd(&stream) }
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        var source = input
        return source.withUnsafeMutableBufferPointer { src -> [UInt8]? in
            stream.next_in = src.baseAddress
            stream.avail_in = uInt(src.count)
            while true {
                let (status, produced) = chunk.withUnsafeMutableBufferPointer { dst -> (Int32, Int) in
                    stream.next_out = dst.baseAddress
                    stream.avail_out = uInt(dst.count)
                    let status = inflate(&stream, Z_NO_FLUSH)
                    return (status, dst.count - Int(stream.avail_out))
                }
                output += chunk.prefix(produced)
                if output.count > cap { return nil }
                if status == Z_STREAM_END { return output }
                if status != Z_OK || (produced == 0 && stream.avail_in == 0) { return nil }
            }
        }
    }
}
