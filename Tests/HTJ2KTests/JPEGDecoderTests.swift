import ByteCoding
import DICOMCore
import Foundation
import HTJ2K
import TestSupport
import Testing

// JPEG baseline (.50), extended (.51) and lossless (.57, .70) through JPEGDecoder and
// FrameDecoder, against pydicom 3 with pylibjpeg-libjpeg (Tests/Oracle/jpeg_oracle.py,
// decoded_crc.py) and against the native sources of DCMTK `dcmcjpeg` encodings.

private let oracle = packageRoot.appendingPathComponent("Tests/Oracle/jpeg_oracle.py").path

/// The paths of pydicom test files (pydicom's own and pydicom-data's).
private func testdata(_ names: [String]) throws -> [String] {
    let r = try run("python3", [oracle, "testdata"] + names)
    #expect(r.status == 0, "\(r.err)")
    return r.out.split(separator: "\n").map(String.init)
}

private func temporaryDirectory(_ label: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-\(label)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Every sample of a buffer, sign-extended, pixel by pixel, components interleaved.
private func samples(_ p: PixelBuffer) -> [Int] {
    p.bytes.withUnsafeBufferPointer { b in
        let n = p.width * p.height * p.components
        switch (p.bytesPerSample, p.isSigned) {
        case (1, false): return (0..<n).map { Int(b[$0]) }
        case (1, true): return (0..<n).map { Int(Int8(bitPattern: b[$0])) }
        case (2, false): return (0..<n).map { Int(UInt16(b[2 * $0]) | UInt16(b[2 * $0 + 1]) << 8) }
        case (2, true): return (0..<n).map { Int(Int16(bitPattern: UInt16(b[2 * $0]) | UInt16(b[2 * $0 + 1]) << 8)) }
        default: return (0..<n).map { p.sample(x: ($0 / p.components) % p.width, y: $0 / p.components / p.width, component: $0 % p.components) }
        }
    }
}

/// Little-endian int32 values written by jpeg_oracle.py `samples`.
private func int32s(_ path: String) throws -> [Int] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return data.withUnsafeBytes { raw in
        (0..<(data.count / 4)).map { Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: Int32.self))) }
    }
}

/// The codestream of the first frame of a file.
private func firstCodestream(_ path: String) throws -> [UInt8] {
    let file = try DICOMFile.read(path: path)
    return frameBytes(try #require(file.frames().first), in: file.dataSet.storage)
}

/// The offset of the first entropy-coded byte (after the first SOS segment).
private func entropyStart(_ b: [UInt8]) -> Int? {
    var i = 2
    while i + 3 < b.count {
        guard b[i] == 0xFF else { return nil }
        let length = Int(b[i + 2]) << 8 | Int(b[i + 3])
        if b[i + 1] == 0xDA { return i + 2 + length }
        i += 2 + length
    }
    return nil
}

// MARK: - Lossless: bit-exact

/// pydicom-data's JPEG-LL.dcm (16-bit signed, SV1), JPGLosslessP14SV1_1s_1f_8b.dcm (8-bit) and
/// pydicom's SC_rgb_jpeg_gdcm.dcm (RGB) decode to exactly pydicom's samples (CRC-32 of the
/// little-endian interleaved samples), in either colour output (lossless is never converted).
@Test(.timeLimit(.minutes(2))) func jpegLosslessTestFilesMatchPydicomExactly() throws {
    let paths = try testdata(["JPEG-LL.dcm", "JPGLosslessP14SV1_1s_1f_8b.dcm", "SC_rgb_jpeg_gdcm.dcm"])
    let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/decoded_crc.py").path] + paths)
    #expect(r.status == 0, "\(r.err)")
    struct Line: Decodable { let path: String; let crcs: [UInt32]? }
    let lines = try r.out.split(separator: "\n").map { try JSONDecoder().decode(Line.self, from: Data($0.utf8)) }
    #expect(lines.count == 3)
    for line in lines {
        let want = try #require(line.crcs, "pydicom cannot decode \(line.path): is pylibjpeg-libjpeg installed?")
        let file = try DICOMFile.read(path: line.path)
        #expect(file.transferSyntax.uid == "1.2.840.10008.1.2.4.70")
        for (frame, crc) in zip(try file.frames(), want) {
            for color in [ColorOutput.rgb, .stored] {
                let pixels = try FrameDecoder.decode(file, frame: frame, color: color)
                #expect(CRC32.of(pixels.bytes).value == crc, "\(line.path) frame \(frame.index) \(color)")
            }
        }
    }
}

/// dcmcjpeg's lossless encodings (SV1 → .70; selection values 1, 6, 7 → .57) of 8-, 12- and
/// 16-bit, unsigned and signed (sign-extended from Bits Stored), grey and RGB, one- and
/// two-frame native sources decode to the source's samples and to pydicom's, bit for bit,
/// through the 8-, 12- and 16-bit IJG libraries.
@Test(.timeLimit(.minutes(3))) func dcmcjpegLosslessDecodesToTheNativeSource() throws {
    let dir = try temporaryDirectory("jpeg-cases")
    defer { try? FileManager.default.removeItem(at: dir) }
    let r = try run("python3", [oracle, "cases", dir.path])
    #expect(r.status == 0, "\(r.err)")
    struct Case: Decodable { let path: String; let source: String; let syntax: String }
    let cases = try r.out.split(separator: "\n").map { try JSONDecoder().decode(Case.self, from: Data($0.utf8)) }
    #expect(cases.count == 26)
    let crc = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/decoded_crc.py").path] + cases.map(\.path))
    #expect(crc.status == 0, "\(crc.err)")
    struct Line: Decodable { let path: String; let crcs: [UInt32]? }
    var pydicom: [String: [UInt32]] = [:]
    for line in crc.out.split(separator: "\n") {
        let l = try JSONDecoder().decode(Line.self, from: Data(line.utf8))
        pydicom[l.path] = l.crcs
    }
    var precisions: Set<Int> = [], syntaxes: Set<String> = [], frames = 0
    for c in cases {
        let compressed = try DICOMFile.read(path: c.path), source = try DICOMFile.read(path: c.source)
        #expect(compressed.transferSyntax.uid == c.syntax)
        syntaxes.insert(c.syntax)
        let a = try compressed.frames(), b = try source.frames()
        #expect(a.count == b.count, "\(c.path)")
        let want = try #require(pydicom[c.path], "pydicom cannot decode \(c.path)")
        for ((x, y), crc) in zip(zip(a, b), want) {
            let header = try JPEGHeader.parse(frameBytes(x, in: compressed.dataSet.storage))
            #expect(header.process == .lossless)
            precisions.insert(header.precision)
            let ours = try FrameDecoder.decode(compressed, frame: x)
            #expect(ours == (try FrameDecoder.decode(source, frame: y)), "\(c.path) frame \(x.index)")
            #expect(CRC32.of(ours.bytes).value == crc, "\(c.path) frame \(x.index): pydicom")
            frames += 1
        }
    }
    #expect(precisions == [8, 12, 16])
    #expect(syntaxes == ["1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70"])
    #expect(frames == 30)
}

// MARK: - Lossy: within the oracle's own tolerance

/// How far our samples are from pydicom's: the largest difference, the number of samples more
/// than 2 apart, and the count.
private func distance(_ ours: [Int], _ theirs: [Int]) -> (max: Int, over2: Int, count: Int) {
    var worst = 0, over = 0
    for (a, b) in zip(ours, theirs) {
        let d = abs(a - b)
        worst = max(worst, d)
        if d > 2 { over += 1 }
    }
    return (worst, over, ours.count)
}

/// JPGExtended.dcm (12-bit extended, .51), SC_rgb_jpeg_dcmtk.dcm (YBR_FULL baseline) and frames
/// 1, 60 and 120 of color3d_jpeg_baseline.dcm (YBR_FULL_422 baseline, 640×480): `.rgb` against
/// pydicom's default (YBR converted to RGB) and `.stored` against pydicom's `raw=True`.
///
/// The two decoders are different JPEG implementations (IJG/libjpeg-turbo against Thomas
/// Richter's libjpeg): their IDCTs differ by 1 on a few samples, and by 3 on 4 of the 921,600
/// stored samples of a color3d frame (5 after pydicom's floating-point YCbCr → RGB, on about
/// 70 samples). So: every sample within ±2 except at most 1 in 10,000, none beyond ±5, and
/// identical size. (IJG and libjpeg-turbo agree exactly: `turboAndIJGDecodeBaselineAlike`.)
@Test(.timeLimit(.minutes(3))) func jpegLossyMatchesPydicomWithinTolerance() throws {
    let files = try testdata(["JPGExtended.dcm", "SC_rgb_jpeg_dcmtk.dcm", "color3d_jpeg_baseline.dcm"])
    let dir = try temporaryDirectory("jpeg-lossy")
    defer { try? FileManager.default.removeItem(at: dir) }
    struct Line: Decodable { let frame: Int; let rgb: String; let raw: String; let shape: [Int] }
    var compared = 0
    for (n, path) in files.enumerated() {
        let file = try DICOMFile.read(path: path)
        let frames = try file.frames()
        let wanted = frames.count > 1 ? [0, 59, 119] : [0]
        let out = dir.appendingPathComponent("\(n)").path
        let r = try run("python3", [oracle, "samples", out, path] + wanted.map(String.init))
        #expect(r.status == 0, "\(r.err)")
        for text in r.out.split(separator: "\n") {
            let line = try JSONDecoder().decode(Line.self, from: Data(text.utf8))
            for (color, oraclePath) in [(ColorOutput.rgb, line.rgb), (.stored, line.raw)] {
                let ours = samples(try FrameDecoder.decode(file, frame: frames[line.frame], color: color))
                let theirs = try int32s(oraclePath)
                #expect(ours.count == theirs.count, "\(path) frame \(line.frame) \(color)")
                let d = distance(ours, theirs)
                #expect(d.max <= 5 && d.over2 * 10_000 <= d.count,
                        "\(path) frame \(line.frame) \(color): max \(d.max), \(d.over2) of \(d.count) beyond ±2")
                compared += 1
            }
        }
    }
    #expect(compared == 10)
}

/// `.rgb` and `.stored` differ only for a YBR Photometric Interpretation: the 12-bit extended
/// frame (MONOCHROME2) is the same either way, the YBR_FULL one is not.
@Test func colourOutputChangesOnlyYBRFrames() throws {
    for (name, same) in [("JPGExtended.dcm", true), ("SC_rgb_jpeg_dcmtk.dcm", false)] {
        let path = try #require(try testdata([name]).first)
        let file = try DICOMFile.read(path: path)
        let frame = try #require(file.frames().first)
        let rgb = try FrameDecoder.decode(file, frame: frame), stored = try FrameDecoder.decode(file, frame: frame, color: .stored)
        #expect((rgb == stored) == same, "\(name)")
    }
}

/// libjpeg-turbo (the default for 8-bit baseline) and DCMTK's IJG 8-bit library give the same
/// samples (the brief allowed ±1), stored and converted to RGB, grey and 4:2:2 colour.
@Test(.timeLimit(.minutes(2))) func turboAndIJGDecodeBaselineAlike() throws {
    let paths = try testdata(["SC_rgb_jpeg_dcmtk.dcm", "color3d_jpeg_baseline.dcm", "SC_rgb_jpeg.dcm"])
    var codestreams: [[UInt8]] = []
    for path in paths {
        let file = try DICOMFile.read(path: path)
        let frames = try file.frames()
        for f in [frames[0], frames[frames.count - 1]] { codestreams.append(frameBytes(f, in: file.dataSet.storage)) }
    }
    // A grey 8-bit baseline frame: dcmcjpeg +eb of the 8-bit fixture.
    let dir = try temporaryDirectory("jpeg-eb")
    defer { try? FileManager.default.removeItem(at: dir) }
    let grey = dir.appendingPathComponent("grey.dcm").path
    let e = try run("dcmcjpeg", ["+eb", fixture("multiframe_8frames.dcm"), grey])
    #expect(e.status == 0, "\(e.err)")
    codestreams.append(try firstCodestream(grey))
    for (n, cs) in codestreams.enumerated() {
        #expect(try JPEGHeader.parse(cs).process == .baseline)
        for convert in [false, true] {
            let ijg = try JPEGDecoder.decode(cs, convertYBRToRGB: convert, backend: .dcmtkIJG)
            let turbo = try JPEGDecoder.decode(cs, convertYBRToRGB: convert, backend: .libjpegTurbo)
            let d = distance(samples(ijg), samples(turbo))
            #expect(d.max <= 1 && ijg.width == turbo.width && ijg.components == turbo.components, "codestream \(n) convert \(convert)")
        }
    }
}

/// The frame headers of the test files, read without decoding.
@Test func frameHeadersAreRead() throws {
    let paths = try testdata(["JPEG-LL.dcm", "JPGExtended.dcm", "SC_rgb_jpeg_dcmtk.dcm", "JPGLosslessP14SV1_1s_1f_8b.dcm"])
    let headers = try paths.map { try JPEGHeader.parse(try firstCodestream($0)) }
    #expect(headers.map(\.process) == [.lossless, .extended, .baseline, .lossless])
    #expect(headers.map(\.precision) == [16, 12, 8, 8])
    #expect(headers.map { [$0.width, $0.height, $0.components] } == [[256, 1024, 1], [256, 1024, 1], [100, 100, 3], [1024, 768, 1]])
}

// MARK: - Corrupt codestreams

/// A codestream cut short (in its headers, in the middle of a scan — "truncated" —, just
/// before the end), with bytes inverted in its entropy-coded data, or with a frame header
/// changed fails with a `CodecError`, for lossless (IJG 16-bit) and baseline (libjpeg-turbo
/// and IJG 8-bit); one lacking only its EOI marker decodes.
@Test(.timeLimit(.minutes(2))) func corruptJPEGFailsWithACodecError() throws {
    let dir = try temporaryDirectory("jpeg-corrupt")
    defer { try? FileManager.default.removeItem(at: dir) }
    let lossless = dir.appendingPathComponent("ll.dcm").path
    #expect(try run("dcmcjpeg", ["+e1", fixture("ct_explicit_le.dcm"), lossless]).status == 0)
    let baseline = try #require(try testdata(["SC_rgb_jpeg_dcmtk.dcm"]).first)
    for (path, backends) in [(lossless, [JPEGBackend.dcmtkIJG]), (baseline, [.libjpegTurbo, .dcmtkIJG])] {
        let good = try firstCodestream(path)
        let start = try #require(entropyStart(good))
        var end = good.count
        while end > 0 && good[end - 1] != 0xD9 { end -= 1 }  // past any padding
        for backend in backends {
            func decode(_ b: [UInt8]) throws(CodecError) -> PixelBuffer { try JPEGDecoder.decode(b, backend: backend) }
            /// The error decoding `b` gives, or nil when it decodes.
            func failure(_ b: [UInt8]) -> CodecError? {
                do { _ = try decode(b); return nil } catch { return error }
            }
            let reference = try decode(good)
            #expect(try decode(Array(good[..<(end - 2)])) == reference, "\(path) \(backend): no EOI")
            for cut in [start / 2, start + (end - start) / 2, end - 6] {
                #expect(failure(Array(good[..<cut])) != nil, "\(path) \(backend): cut at \(cut)")
            }
            let cut = failure(Array(good[..<(start + (end - start) / 2)]))
            #expect(cut?.description.contains("truncated") == true, "\(String(describing: cut))")
            // 64 bytes inverted mid-scan: the Huffman decoder loses step (a few bytes may not be
            // noticed: Huffman codes resynchronise, and T.81 has no checksum).
            var flipped = good
            let middle = start + (end - start) / 2
            for i in middle..<min(middle + 64, end - 2) { flipped[i] ^= 0xFF }
            #expect(failure(flipped) != nil, "\(path) \(backend): inverted entropy bytes")

            // The frame header: P (0, 7, 13: refused for baseline; lossless samples of another
            // precision cannot be told from right ones, so only P = 0 there), Y (more lines,
            // fewer), X (more, fewer), Nf.
            let sof = try JPEGHeader.parse(good).offset + 4
            let lossless = try JPEGHeader.parse(good).process == .lossless
            let precisions: [UInt8] = lossless ? [0] : [0, 7, 13]
            for (offset, value) in precisions.map({ (0, $0) }) + [(1, 0x10), (2, 1), (3, 0xFF), (4, 0x10), (4, 1), (5, 2), (5, 0)] {
                var bad = good
                bad[sof + offset] = value
                #expect(failure(bad) != nil, "\(path) \(backend): SOF byte \(offset) = \(value)")
            }
        }
    }
}

/// A frame header claiming 65535 × 65535 is refused from the codestream's size, before any
/// allocation (it would be 4 to 8 GiB), by JPEGDecoder and, from Rows/Columns, by FrameDecoder.
@Test func hugeFrameHeaderAllocatesNothing() throws {
    let path = try #require(try testdata(["JPEG-LL.dcm"]).first)
    let file = try DICOMFile.read(path: path)
    var cs = try firstCodestream(path)
    let sof = try JPEGHeader.parse(cs).offset + 5
    for i in 0..<4 { cs[sof + i] = 0xFF }
    let header = try JPEGHeader.parse(cs)
    #expect(header.width == 65535 && header.height == 65535)
    let clock = ContinuousClock()
    let elapsed = clock.measure {
        #expect((try? JPEGDecoder.decode(cs)) == nil)
        #expect((try? FrameDecoder.decodeJPEG(cs, of: file)) == nil)
    }
    #expect(elapsed < .seconds(1))
    do {
        _ = try JPEGDecoder.decode(cs)
    } catch {
        #expect(error.description.contains("cannot hold"), "\(error)")
    }
}

/// Single bytes changed anywhere in a lossless and a baseline codestream never crash: each
/// decode either gives a buffer of the frame's size or throws a `CodecError`.
@Test(.timeLimit(.minutes(2))) func randomlyDamagedJPEGNeverCrashes() throws {
    let paths = try testdata(["SC_rgb_jpeg_gdcm.dcm", "SC_rgb_jpeg_dcmtk.dcm", "JPGExtended.dcm"])
    for (n, path) in paths.enumerated() {
        let good = try firstCodestream(path)
        let noise = testBytes(600, seed: UInt64(n))
        for k in 0..<200 {
            var bad = good
            let at = (Int(noise[3 * k]) << 8 | Int(noise[3 * k + 1])) % bad.count
            bad[at] = noise[3 * k + 2]
            if let p = try? JPEGDecoder.decode(bad, convertYBRToRGB: k % 2 == 0) {
                #expect(p.bytes.count == p.width * p.height * p.components * p.bytesPerSample)
            }
        }
    }
}

/// DCMTK's logger writes nothing: the fuzz replayer decoding corrupt JPEG frames prints no warning.
@Test(.timeLimit(.minutes(2))) func dcmtkPrintsNothing() throws {
    let dir = try temporaryDirectory("jpeg-quiet")
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("ll.dcm").path
    #expect(try run("dcmcjpeg", ["+e1", fixture("ct_explicit_le.dcm"), path]).status == 0)
    var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
    let file = try DICOMFile.read(path: path)
    let range = try #require(file.frames().first?.ranges.first)
    for i in (range.offset + range.count / 2)..<(range.offset + range.count / 2 + 32) { bytes[i] ^= 0x5A }
    let corrupt = dir.appendingPathComponent("corrupt.dcm")
    try Data(bytes).write(to: corrupt)
    let damaged = try DICOMFile.read(path: corrupt.path)
    let frame = try #require(damaged.frames().first)
    #expect((try? FrameDecoder.decode(damaged, frame: frame)) == nil)
    let r = try run(toolPath("dicom-fuzz"), [corrupt.path, path])
    #expect(r.status == 0)
    #expect(r.err.isEmpty, "\(r.err)")
}
