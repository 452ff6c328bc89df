import ByteCoding

extension ByteStorage {
    /// The data set of a Deflated Explicit VR Little Endian file (PS3.5 A.5): `input`,
    /// the bytes after the meta group, inflated into new storage of at most `cap` bytes.
    /// Raw deflate as the standard says, or a zlib stream, which some writers produce.
    ///
    /// - Throws: `.deflate` with the offset in the file when the stream is corrupt,
    ///   ends before its final block, or would exceed `cap`.
    static func inflating(_ input: UnsafeRawBufferPointer, cap: Int, offset: Int, path: String?) throws(DICOMError) -> ByteStorage {
        do {
            let format: Zlib.Format = Zlib.startsWithZlibHeader(input) ? .zlib : .raw
            return ByteStorage(copying: try Zlib.inflate(input, format: format, limit: cap))
        } catch {
            throw .deflate(path: path, offset: offset + error.inputOffset, reason: error.description)
        }
    }
}
