import COpenJPH

/// Lossless HTJ2K encoding with OpenJPH, as HealthImaging stores frames
/// (1.2.840.10008.1.2.4.202: reversible, RPCL, a TLM marker and one tile-part per
/// resolution). OpenJPH 0.9 writes one tile-part and no TLM; `J2KTileParts` splits
/// its stream at the resolution boundaries.
public enum HTJ2KEncoder {
    /// The codestream of `pixels` with `levels` decompositions (5 by default, fewer for small images).
    /// With `tileParts` false, the stream is left as OpenJPH writes it (one tile-part, no TLM).
    public static func encodeLossless(_ pixels: PixelBuffer, levels: Int? = nil, tileParts: Bool = true) throws(CodecError) -> [UInt8] {
        guard pixels.bytesPerSample <= 2 else { throw .unsupported("HTJ2K encoding of more than 16 bits per sample") }
        // Each level halves the image; stop before a side would reach 0.
        var fit = 0
        while fit < 5 && (pixels.width >> (fit + 1)) > 0 && (pixels.height >> (fit + 1)) > 0 { fit += 1 }
        let decompositions = min(levels ?? 5, fit)
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = pixels.bytes.withUnsafeBufferPointer { b in
            ahi_ojph_encode(b.baseAddress, UInt32(pixels.width), UInt32(pixels.height), UInt32(pixels.components),
                            UInt32(pixels.bitsStored), pixels.isSigned ? 1 : 0, UInt32(pixels.bytesPerSample),
                            UInt32(decompositions), &out, &size, &message, message.count)
        }
        guard status == 0, let out else { throw .decodeFailed(backend: "OpenJPH encoder", reason: cMessage(message)) }
        defer { ahi_ojph_free(out) }
        let stream = Array(UnsafeBufferPointer(start: out, count: size))
        guard tileParts else { return stream }
        do {
            return try J2KTileParts.perResolution(stream)
        } catch {
            // Our own encoder's streams are always splittable; anything else is a bug worth a loud failure.
            throw .unsupported("tile-parts per resolution: \(error)")
        }
    }
}
