import CZlib

/// Raw deflate (RFC 1951) decoding for Deflated Explicit VR Little Endian.
enum Inflate {
    /// Inflates `input` into new storage of at most `cap` bytes.
    ///
    /// - Throws: `.deflate` when the stream is corrupt, does not end, or would exceed `cap`.
    static func raw(_ input: UnsafeRawBufferPointer, cap: Int, offset: Int, path: String?) throws(DICOMError) -> ByteStorage {
        var stream = z_stream()
        // Some writers add a zlib header although PS3.5 A.5 says raw deflate; accept both.
        let zlibHeader = input.count >= 2 && input[0] & 0x0F == 8 && (UInt16(input[0]) << 8 | UInt16(input[1])) % 31 == 0
        let rc = inflateInit2_(&stream, zlibHeader ? 15 : -15, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard rc == Z_OK else { throw .deflate(path: path, offset: offset, reason: "zlib init failed (\(rc))") }
        defer { inflateEnd(&stream) }

        var capacity = max(4096, min(cap, input.count * 4))
        var out = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16)
        var produced = 0
        stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.avail_in = uInt(input.count)
        while true {
            if produced == capacity {
                guard capacity < cap else {
                    out.deallocate()
                    throw .deflate(path: path, offset: offset, reason: "inflates to more than the \(cap)-byte limit")
                }
                let bigger = min(cap, capacity * 2)
                let next = UnsafeMutableRawPointer.allocate(byteCount: bigger, alignment: 16)
                next.copyMemory(from: out, byteCount: produced)
                out.deallocate()
                out = next
                capacity = bigger
            }
            stream.next_out = (out + produced).assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(capacity - produced)
            let before = stream.avail_out
            let status = inflate(&stream, Z_NO_FLUSH)
            produced += Int(before - stream.avail_out)
            if status == Z_STREAM_END { break }
            if status == Z_BUF_ERROR && stream.avail_in == 0 || (status == Z_OK && stream.avail_in == 0 && stream.avail_out > 0) {
                out.deallocate()
                throw .deflate(path: path, offset: offset + Int(stream.total_in),
                               reason: "the deflate stream ends before its final block")
            }
            guard status == Z_OK || status == Z_BUF_ERROR else {
                out.deallocate()
                let msg = stream.msg.map { String(cString: $0) } ?? "code \(status)"
                throw .deflate(path: path, offset: offset + Int(stream.total_in), reason: "corrupt stream: \(msg)")
            }
        }
        return ByteStorage(adopting: out, count: produced)
    }
}
