import Foundation
import HTJ2K
import TestSupport
import Testing

/// Test images (Tests/Oracle/make_j2k_images.py) and codestreams made from them by the
/// reference encoders, `ojph_compress` (OpenJPH) and `opj_compress` (OpenJPEG).
struct CodecFixtures {
    struct Image: Decodable { let name: String; let width: Int; let height: Int; let components: Int; let bits: Int; let signed: Bool; let raw: String; let source: String }
    let dir: URL
    let images: [Image]

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-j2k-\(UUID().uuidString)")
        let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/make_j2k_images.py").path, dir.path])
        guard r.status == 0 else { throw CodecError.unsupported("make_j2k_images.py: \(r.err)") }
        images = try r.out.split(separator: "\n").map { try JSONDecoder().decode(Image.self, from: Data($0.utf8)) }
    }

    func remove() { try? FileManager.default.removeItem(at: dir) }

    /// `ojph_compress` with `options`; returns the codestream.
    func ojph(_ image: Image, _ name: String, _ options: [String]) throws -> [UInt8] {
        let out = dir.appendingPathComponent(name + ".j2c").path
        let args = ["-i", image.source, "-o", out] + options
        let r = try run("ojph_compress", args)
        guard r.status == 0 else { throw CodecError.unsupported("ojph_compress \(args): \(r.out)\(r.err)") }
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    /// `opj_compress` (classic JPEG 2000) with `options`.
    func opj(_ image: Image, _ name: String, _ options: [String]) throws -> [UInt8] {
        let out = dir.appendingPathComponent(name + ".j2k").path
        var args = ["-i", image.source, "-o", out] + options
        if image.signed { args += ["-F", "\(image.width),\(image.height),\(image.components),\(image.bits),s@1x1"] }
        let r = try run("opj_compress", args)
        guard r.status == 0 else { throw CodecError.unsupported("opj_compress: \(r.out)\(r.err)") }
        return [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    func truth(_ image: Image) throws -> [UInt8] { [UInt8](try Data(contentsOf: URL(fileURLWithPath: image.raw))) }

    /// The image's samples as a pixel buffer.
    func pixels(_ image: Image, _ truth: [UInt8]) -> PixelBuffer {
        PixelBuffer(width: image.width, height: image.height, components: image.components, bitsStored: image.bits,
                    isSigned: image.signed, bytesPerSample: image.bits <= 8 ? 1 : 2, bytes: truth)
    }
}

/// Lossless codestreams from both encoders decode bit-exactly to the source through both
/// backends: 8, 12, 16 bits, signed, RGB, RPCL and LRCP, several decomposition levels.
@Test(.timeLimit(.minutes(2))) func losslessDecodesMatchTheSourceThroughBothBackends() throws {
    let fx = try CodecFixtures()
    defer { fx.remove() }
    var checked = 0
    for image in fx.images {
        let truth = try fx.truth(image)
        var streams: [(String, [UInt8])] = [("opj classic", try fx.opj(image, image.name + "-opj", ["-n", "4", "-p", "RPCL"]))]
        if !image.signed {  // signed HTJ2K streams need an encoder that sign-extends (ojph_compress 0.9 does not)
            streams.append(("ojph RPCL 5", try fx.ojph(image, image.name + "-rpcl", ["-reversible", "true", "-prog_order", "RPCL", "-num_decomps", "5"])))
            streams.append(("ojph LRCP 3", try fx.ojph(image, image.name + "-lrcp", ["-reversible", "true", "-prog_order", "LRCP", "-num_decomps", "3"])))
        }
        for (label, cs) in streams {
            let header = try J2KHeader.parse(cs)
            #expect(header.width == image.width && header.height == image.height && header.components == image.components)
            #expect(header.bitDepth == image.bits && header.isSigned == image.signed && header.reversible, "\(image.name) \(label)")
            #expect(header.isHighThroughput == label.hasPrefix("ojph"))
            for backend in J2KBackend.allCases where backend == .openJPEG || header.isHighThroughput {
                let pixels = try J2KDecoder.decode(cs, backend: backend)
                #expect(pixels.width == image.width && pixels.height == image.height && pixels.components == image.components)
                #expect(pixels.bytes == truth, "\(image.name) \(label) via \(backend)")
                checked += 1
            }
        }
    }
    #expect(checked >= 17)
}

/// Lossy (irreversible) HTJ2K: both backends decode to the same pixels as `ojph_expand`, near the source.
@Test(.timeLimit(.minutes(2))) func lossyDecodesAgreeWithTheReferenceTool() throws {
    let fx = try CodecFixtures()
    defer { fx.remove() }
    for image in fx.images where !image.signed && image.components == 1 {
        let cs = try fx.ojph(image, image.name + "-lossy", ["-qstep", "0.005", "-num_decomps", "5"])
        let header = try J2KHeader.parse(cs)
        #expect(!header.reversible)
        let ours = try J2KDecoder.decode(cs, backend: .openJPH)
        let expanded = fx.dir.appendingPathComponent(image.name + "-lossy-expanded.pgm").path
        let r = try run("ojph_expand", ["-i", fx.dir.appendingPathComponent(image.name + "-lossy.j2c").path, "-o", expanded])
        #expect(r.status == 0, "\(r.err)")
        let pgm = [UInt8](try Data(contentsOf: URL(fileURLWithPath: expanded)))
        let samples = pgm.suffix(image.width * image.height * (image.bits <= 8 ? 1 : 2))
        let bps = image.bits <= 8 ? 1 : 2
        var reference = [UInt8](repeating: 0, count: samples.count)
        for (i, b) in samples.enumerated() { reference[bps == 1 ? i : (i ^ 1)] = b }  // PGM is big-endian
        #expect(ours.bytes == reference, "\(image.name): OpenJPH via Swift differs from ojph_expand")
        let viaOpenJPEG = try J2KDecoder.decode(cs, backend: .openJPEG)
        let truth = try fx.truth(image)
        var worst = 0
        for i in stride(from: 0, to: truth.count, by: bps) {
            let a = bps == 1 ? Int(truth[i]) : Int(truth[i]) | Int(truth[i + 1]) << 8
            let b = bps == 1 ? Int(viaOpenJPEG.bytes[i]) : Int(viaOpenJPEG.bytes[i]) | Int(viaOpenJPEG.bytes[i + 1]) << 8
            worst = max(worst, abs(a - b))
        }
        #expect(worst < (1 << image.bits) / 50, "\(image.name): OpenJPEG lossy error \(worst)")
    }
}

/// Reduced resolution: skipping N levels gives ceil(size / 2^N), the same through both backends.
@Test(.timeLimit(.minutes(2))) func reducedResolutionDecodes() throws {
    let fx = try CodecFixtures()
    defer { fx.remove() }
    let image = try #require(fx.images.first { $0.name == "ct16" })
    let cs = try fx.ojph(image, "ct16-levels", ["-reversible", "true", "-prog_order", "RPCL", "-num_decomps", "5"])
    let header = try J2KHeader.parse(cs)
    #expect(header.decompositions == 5 && header.progressionOrder == "RPCL")
    for level in 1...3 {
        let a = try J2KDecoder.decode(cs, backend: .openJPH, skipLevels: level)
        let b = try J2KDecoder.decode(cs, backend: .openJPEG, skipLevels: level)
        let size = header.size(skippingLevels: level)
        #expect(a.width == size.width && a.height == size.height, "level \(level)")
        #expect(a.bytes == b.bytes, "level \(level): the backends differ")
    }
    #expect(throws: CodecError.self) { try J2KDecoder.decode(cs, skipLevels: 6) }
}

/// Damaged input: a clear error, never a crash or a zero-filled image.
@Test func damagedCodestreamsAreRefused() throws {
    let fx = try CodecFixtures()
    defer { fx.remove() }
    let image = try #require(fx.images.first { $0.name == "mono8" })
    let cs = try fx.ojph(image, "mono8-cut", ["-reversible", "true"])
    for backend in J2KBackend.allCases {
        #expect(throws: CodecError.self) { try J2KDecoder.decode(Array(cs.prefix(cs.count / 2)), backend: backend) }
    }
    #expect(throws: CodecError.self) { try J2KHeader.parse([0x00, 0x01, 0x02]) }
    #expect(throws: CodecError.self) { try J2KHeader.parse(Array(cs.prefix(20))) }
    // A JPH file (boxes around the codestream) is unwrapped.
    var jph: [UInt8] = [0, 0, 0, 12] + Array("jP  ".utf8) + [0x0D, 0x0A, 0x87, 0x0A]
    let box = UInt32(cs.count + 8)
    jph += [UInt8(box >> 24), UInt8(box >> 16 & 0xFF), UInt8(box >> 8 & 0xFF), UInt8(box & 0xFF)] + Array("jp2c".utf8) + cs
    #expect(try J2KDecoder.decode(jph).bytes == fx.truth(image))
    // A DICOM fragment pads an odd-length codestream with a NULL byte (PS3.5 A.4): still whole.
    for backend in J2KBackend.allCases {
        #expect(try J2KDecoder.decode(cs + [0x00], backend: backend).bytes == fx.truth(image), "\(backend)")
    }
}

/// Our lossless HTJ2K (RPCL, reversible) round-trips every image — signed included — through
/// both backends and `ojph_expand`, and its reduced-resolution decodes agree between backends.
@Test(.timeLimit(.minutes(2))) func losslessEncodeRoundTrips() throws {
    let fx = try CodecFixtures()
    defer { fx.remove() }
    for image in fx.images {
        let truth = try fx.truth(image)
        let source = fx.pixels(image, truth)
        let cs = try HTJ2KEncoder.encodeLossless(source)
        let header = try J2KHeader.parse(cs)
        #expect(header.isHighThroughput && header.reversible && header.progressionOrder == "RPCL", "\(image.name)")
        #expect(header.isSigned == image.signed && header.bitDepth == image.bits)
        for backend in J2KBackend.allCases {
            #expect(try J2KDecoder.decode(cs, backend: backend) == source, "\(image.name) via \(backend)")
        }
        let a = try J2KDecoder.decode(cs, backend: .openJPH, skipLevels: 2)
        let b = try J2KDecoder.decode(cs, backend: .openJPEG, skipLevels: 2)
        #expect(a == b, "\(image.name) at level 2")
        if !image.signed {
            let path = fx.dir.appendingPathComponent(image.name + "-ours.j2c")
            try Data(cs).write(to: path)
            let out = fx.dir.appendingPathComponent(image.name + "-ours." + (image.components == 1 ? "pgm" : "ppm")).path
            let r = try run("ojph_expand", ["-i", path.path, "-o", out])
            #expect(r.status == 0, "\(r.out)")
            let source = [UInt8](try Data(contentsOf: URL(fileURLWithPath: image.source)))
            let expanded = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
            #expect(expanded.suffix(truth.count) == source.suffix(truth.count), "\(image.name): ojph_expand of our stream")
        }
    }
}

/// The tile-parts of a codestream, read with the markers alone: (TPsot, TNsot, data).
private func tileParts(_ cs: [UInt8]) -> (tlm: Bool, parts: [(index: Int, count: Int, data: ArraySlice<UInt8>)], sot: Int) {
    var i = 2, tlm = false
    while i + 4 <= cs.count, !(cs[i] == 0xFF && cs[i + 1] == 0x90) {
        if cs[i + 1] == 0x55 { tlm = true }
        i += 2 + (Int(cs[i + 2]) << 8 | Int(cs[i + 3]))
    }
    let sot = i
    var parts: [(Int, Int, ArraySlice<UInt8>)] = []
    while i + 14 <= cs.count, cs[i] == 0xFF, cs[i + 1] == 0x90 {
        let psot = cs[(i + 6)...(i + 9)].reduce(0) { $0 << 8 | Int($1) }
        parts.append((Int(cs[i + 10]), Int(cs[i + 11]), cs[(i + 14)..<(i + psot)]))
        i += psot
    }
    return (tlm, parts, sot)
}

/// Our streams carry a TLM marker and one tile-part per resolution, as HealthImaging's do:
/// the tile-parts hold exactly OpenJPH's packets, split where each resolution ends — the
/// first k+1 tile-parts alone decode, at k+1 resolutions, to what the whole stream gives.
@Test(.timeLimit(.minutes(2))) func tilePartsPerResolution() throws {
    let fx = try CodecFixtures()
    defer { fx.remove() }
    for image in fx.images {
        let truth = try fx.truth(image)
        let source = fx.pixels(image, truth)
        let split = try HTJ2KEncoder.encodeLossless(source)
        let plain = try HTJ2KEncoder.encodeLossless(source, tileParts: false)
        let levels = try J2KHeader.parse(split).decompositions
        let s = tileParts(split), p = tileParts(plain)
        #expect(s.tlm && !p.tlm, "\(image.name)")
        #expect(p.parts.count == 1)
        #expect(s.parts.map(\.index) == Array(0...levels) && s.parts.allSatisfy { $0.count == levels + 1 }, "\(image.name)")
        #expect(Array(s.parts.map(\.data).joined()) == Array(p.parts.first?.data ?? []), "\(image.name): the packets moved")
        for k in 0..<levels {
            let skip = levels - k
            var prefix = Array(split[..<s.sot])
            var end = s.sot
            for part in s.parts.prefix(k + 1) { end = part.data.endIndex }
            prefix += split[s.sot..<end]
            prefix += [0xFF, 0xD9]
            let whole = try J2KDecoder.decode(split, backend: .openJPEG, skipLevels: skip)
            let firstParts = try J2KDecoder.decode(prefix, backend: .openJPEG, skipLevels: skip)
            #expect(firstParts == whole, "\(image.name): the first \(k + 1) tile-parts at \(skip) levels down")
        }
    }
    // Odd sizes (ceil at every level, empty high bands) and one resolution only.
    var generator = SystemRandomNumberGenerator()
    for (w, h, bytes, comps) in [(77, 45, 1, 1), (1021, 763, 2, 1), (33, 17, 1, 3), (3, 2, 2, 1), (1, 1, 1, 1)] {
        // 12-bit samples in 16: the little-endian high byte keeps 4 bits.
        let samples = (0..<(w * h * comps * bytes)).map { i in
            UInt8.random(in: 0...255, using: &generator) & (bytes == 2 && i % 2 == 1 ? 0x0F : 0xFF)
        }
        let source = PixelBuffer(width: w, height: h, components: comps, bitsStored: bytes == 2 ? 12 : 8, isSigned: false,
                                 bytesPerSample: bytes, bytes: samples)
        let split = try HTJ2KEncoder.encodeLossless(source)
        let levels = try J2KHeader.parse(split).decompositions
        #expect(tileParts(split).parts.count == levels + 1, "\(w)×\(h)")
        for backend in J2KBackend.allCases { #expect(try J2KDecoder.decode(split, backend: backend) == source, "\(w)×\(h) via \(backend)") }
    }
    // Damaged streams are refused (or split consistently), never a crash or a read past the end.
    let ct = try #require(fx.images.first { $0.name == "ct16" })
    let plain = try HTJ2KEncoder.encodeLossless(fx.pixels(ct, try fx.truth(ct)), tileParts: false)
    var rng = SystemRandomNumberGenerator()
    for trial in 0..<3000 {
        var damaged = plain
        if trial % 3 == 0 {
            damaged = Array(damaged.prefix(Int.random(in: 0..<damaged.count, using: &rng)))
        } else {
            for _ in 0..<(1 + trial % 4) { damaged[Int.random(in: 0..<damaged.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
        }
        _ = try? J2KTileParts.perResolution(damaged)
    }
    // A stream that is not ours is refused, not mangled.
    let image = try #require(fx.images.first { $0.name == "ct16" })
    let lrcp = try fx.ojph(image, "ct16-lrcp", ["-reversible", "true", "-prog_order", "LRCP"])
    #expect(throws: J2KTileParts.Unsplittable.self) { try J2KTileParts.perResolution(lrcp) }
}
