import COpenJPEG
import COpenJPH

/// The library that decodes a codestream.
public enum J2KBackend: String, Sendable, CaseIterable {
    /// OpenJPH: HTJ2K only, the fast path.
    case openJPH = "openjph"
    /// OpenJPEG 2.5: classic JPEG 2000 and HTJ2K.
    case openJPEG = "openjpeg"
}

/// Decodes JPEG 2000 and HTJ2K codestreams (raw, as GetImageFrame returns them, or
/// JP2/JPH files) to a `PixelBuffer`, at full or reduced resolution.
public enum J2KDecoder {
    /// The backend for a codestream when none is asked for: OpenJPH for HTJ2K, OpenJPEG otherwise.
    public static func defaultBackend(for header: J2KHeader) -> J2KBackend { header.isHighThroughput ? .openJPH : .openJPEG }

    /// Decodes `bytes`, skipping `skipLevels` resolution levels (0 = full resolution).
    public static func decode(_ bytes: [UInt8], backend: J2KBackend? = nil, skipLevels: Int = 0) throws(CodecError) -> PixelBuffer {
        let codestream = try J2KFile.codestream(bytes)
        let header = try J2KHeader.parse(codestream)
        guard skipLevels >= 0, skipLevels <= header.decompositions else {
            throw .unsupported("\(skipLevels) levels skipped; the codestream has \(header.decompositions)")
        }
        switch backend ?? defaultBackend(for: header) {
        case .openJPH:
            guard header.isHighThroughput else { throw .unsupported("OpenJPH decodes HTJ2K only; use OpenJPEG for classic JPEG 2000") }
            return try openJPH(codestream, header: header, skipLevels: skipLevels)
        case .openJPEG:
            return try openJPEG(codestream, header: header, skipLevels: skipLevels)
        }
    }

    static func openJPH(_ cs: [UInt8], header: J2KHeader, skipLevels: Int) throws(CodecError) -> PixelBuffer {
        var info = ahi_ojph_info()
        var message = [CChar](repeating: 0, count: 256)
        let bps = PixelBuffer.bytesPerSample(forBits: header.bitDepth)
        let probed = cs.withUnsafeBufferPointer { b in
            ahi_ojph_probe(b.baseAddress, b.count, UInt32(skipLevels), &info, &message, message.count)
        }
        guard probed == 0 else { throw .decodeFailed(backend: "OpenJPH", reason: cMessage(message)) }
        var out = [UInt8](repeating: 0, count: Int(info.width) * Int(info.height) * Int(info.components) * bps)
        let status = cs.withUnsafeBufferPointer { b in
            out.withUnsafeMutableBufferPointer { o in
                ahi_ojph_decode(b.baseAddress, b.count, UInt32(skipLevels), UInt32(bps), o.baseAddress, o.count, &info,
                                &message, message.count)
            }
        }
        guard status == 0 else { throw .decodeFailed(backend: "OpenJPH", reason: cMessage(message)) }
        return PixelBuffer(width: Int(info.width), height: Int(info.height), components: Int(info.components),
                           bitsStored: Int(info.bit_depth), isSigned: info.is_signed != 0, bytesPerSample: bps, bytes: out)
    }

    /// The codestream OpenJPEG reads through its stream callbacks.
    final class MemoryStream {
        let bytes: UnsafeBufferPointer<UInt8>
        var offset = 0
        var errors: [String] = []
        init(_ bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }
    }

    static func openJPEG(_ cs: [UInt8], header: J2KHeader, skipLevels: Int) throws(CodecError) -> PixelBuffer {
        let result: Result<PixelBuffer, CodecError> = cs.withUnsafeBufferPointer { b in
            let source = MemoryStream(b)
            let user = Unmanaged.passUnretained(source).toOpaque()
            guard let codec = opj_create_decompress(OPJ_CODEC_J2K) else { return .failure(.decodeFailed(backend: "OpenJPEG", reason: "no codec")) }
            defer { opj_destroy_codec(codec) }
            let onError: opj_msg_callback = { message, data in
                guard let message, let data else { return }
                Unmanaged<MemoryStream>.fromOpaque(data).takeUnretainedValue().errors.append(String(cString: message))
            }
            opj_set_error_handler(codec, onError, user)
            opj_set_warning_handler(codec, { _, _ in }, nil)
            opj_set_info_handler(codec, { _, _ in }, nil)
            var params = opj_dparameters_t()
            opj_set_default_decoder_parameters(&params)
            params.cp_reduce = OPJ_UINT32(skipLevels)
            guard opj_setup_decoder(codec, &params) != 0, let stream = opj_stream_create(1 << 16, 1) else {
                return .failure(.decodeFailed(backend: "OpenJPEG", reason: "cannot set up the decoder"))
            }
            defer { opj_stream_destroy(stream) }
            opj_stream_set_user_data(stream, user, nil)
            opj_stream_set_user_data_length(stream, OPJ_UINT64(b.count))
            opj_stream_set_read_function(stream) { buffer, count, data in
                guard let buffer, let data else { return OPJ_SIZE_T.max }
                let s = Unmanaged<MemoryStream>.fromOpaque(data).takeUnretainedValue()
                let n = min(Int(count), s.bytes.count - s.offset)
                guard n > 0 else { return OPJ_SIZE_T.max }
                buffer.copyMemory(from: s.bytes.baseAddress! + s.offset, byteCount: n)
                s.offset += n
                return OPJ_SIZE_T(n)
            }
            opj_stream_set_skip_function(stream) { count, data in
                guard let data else { return -1 }
                let s = Unmanaged<MemoryStream>.fromOpaque(data).takeUnretainedValue()
                let target = max(0, min(s.bytes.count, s.offset + Int(count)))
                let moved = target - s.offset
                s.offset = target
                return OPJ_OFF_T(moved)
            }
            opj_stream_set_seek_function(stream) { position, data in
                guard let data else { return 0 }
                let s = Unmanaged<MemoryStream>.fromOpaque(data).takeUnretainedValue()
                guard position >= 0, Int(position) <= s.bytes.count else { return 0 }
                s.offset = Int(position)
                return 1
            }
            var image: UnsafeMutablePointer<opj_image_t>?
            guard opj_read_header(stream, codec, &image) != 0, let img = image else {
                return .failure(.decodeFailed(backend: "OpenJPEG", reason: source.errors.joined(separator: "; ")))
            }
            defer { opj_image_destroy(img) }
            guard opj_decode(codec, stream, img) != 0, opj_end_decompress(codec, stream) != 0 else {
                return .failure(.decodeFailed(backend: "OpenJPEG", reason: source.errors.last ?? "decode failed"))
            }
            let comps = Int(img.pointee.numcomps)
            guard comps >= 1, let c0 = img.pointee.comps else { return .failure(.decodeFailed(backend: "OpenJPEG", reason: "no components")) }
            let width = Int(c0[0].w), height = Int(c0[0].h)
            let depth = Int(c0[0].prec), signed = c0[0].sgnd != 0
            for c in 0..<comps where Int(c0[c].w) != width || Int(c0[c].h) != height || c0[c].data == nil {
                return .failure(.unsupported("subsampled components"))
            }
            let bps = PixelBuffer.bytesPerSample(forBits: depth)
            var out = [UInt8](repeating: 0, count: width * height * comps * bps)
            out.withUnsafeMutableBufferPointer { o in
                for c in 0..<comps {
                    guard let data = c0[c].data else { continue }
                    for i in 0..<(width * height) {
                        let v = UInt32(bitPattern: data[i])
                        let base = (i * comps + c) * bps
                        for k in 0..<bps { o[base + k] = UInt8(truncatingIfNeeded: v >> (8 * k)) }
                    }
                }
            }
            return .success(PixelBuffer(width: width, height: height, components: comps, bitsStored: depth, isSigned: signed,
                                        bytesPerSample: bps, bytes: out))
        }
        return try result.get()
    }
}
