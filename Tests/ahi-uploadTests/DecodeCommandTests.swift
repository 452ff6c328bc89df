import Foundation
import TestSupport
import Testing

/// `ahi-upload decode` writes what `ojph_expand` writes, byte for byte, at full and reduced resolution.
@Test(.timeLimit(.minutes(2))) func decodeCommandMatchesOjphExpand() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-decode-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    let images = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/make_j2k_images.py").path, dir.path])
    #expect(images.status == 0, "\(images.err)")
    for name in ["ct16.pgm", "cr12.pgm", "rgb8.ppm"] {
        let source = dir.appendingPathComponent(name).path, stream = source + ".j2c"
        let ext = (name as NSString).pathExtension
        #expect(try run("ojph_compress", ["-i", source, "-o", stream, "-reversible", "true", "-num_decomps", "4"]).status == 0)
        for level in [0, 2] {
            let ours = "\(source)-ours-\(level).\(ext)", theirs = "\(source)-ref-\(level).\(ext)"
            let r = try run(toolPath(), ["decode", stream, "--out", ours, "--level", String(level), "--backend", "openjph"])
            #expect(r.status == 0, "\(r.out)\(r.err)")
            var args = ["-i", stream, "-o", theirs]
            if level > 0 { args += ["-skip_res", "\(level),\(level)"] }
            #expect(try run("ojph_expand", args).status == 0)
            let a = try Data(contentsOf: URL(fileURLWithPath: ours)), b = try Data(contentsOf: URL(fileURLWithPath: theirs))
            #expect(a == b, "\(name) level \(level)")
        }
        if level0Matches(source: source, decoded: "\(source)-ours-0.\(ext)") == false { Issue.record("\(name): lossless decode differs from the source") }
    }
    let bad = try run(toolPath(), ["decode", dir.appendingPathComponent("ct16.raw").path, "--out", dir.appendingPathComponent("x.pgm").path])
    #expect(bad.status == 1 && bad.err.contains("not a JPEG 2000 codestream"), "\(bad.err)")
}

private func level0Matches(source: String, decoded: String) -> Bool {
    (try? Data(contentsOf: URL(fileURLWithPath: source))) == (try? Data(contentsOf: URL(fileURLWithPath: decoded)))
}

/// `ahi-upload decode FILE.dcm --frame N --out X.raw` writes the frame's stored samples as
/// pydicom (with pylibjpeg for JPEG) decodes them, sample for sample, for native, RLE and
/// lossless JPEG files of pydicom's corpus; PGM/PPM carry the same samples big-endian.
@Test(.timeLimit(.minutes(3))) func decodeCommandWritesDICOMFramesAsPydicomDecodesThem() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-decode-dicom-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let oracle = packageRoot.appendingPathComponent("Tests/Oracle/jpeg_oracle.py").path
    // name, frame, bytes per sample, signed, extension for the Netpbm check
    let cases: [(String, Int, Int, Bool, String?)] = [
        ("emri_small.dcm", 4, 2, false, "pgm"),            // native, 10 frames
        ("MR_small_RLE.dcm", 1, 2, true, nil),             // RLE, signed
        ("JPEG-LL.dcm", 1, 2, true, nil),                  // JPEG lossless SV1 (.70), 16-bit signed
        ("JPGLosslessP14SV1_1s_1f_8b.dcm", 1, 1, false, "pgm"),
        ("SC_rgb_jpeg_gdcm.dcm", 1, 1, false, "ppm"),      // JPEG lossless, RGB
    ]
    let found = try run("python3", [oracle, "testdata"] + cases.map(\.0))
    #expect(found.status == 0, "\(found.err)")
    let paths = found.out.split(separator: "\n").map(String.init)
    try #require(paths.count == cases.count)
    for ((name, frame, bps, signed, netpbm), path) in zip(cases, paths) {
        let truthDir = dir.appendingPathComponent(name).path
        try FileManager.default.createDirectory(atPath: truthDir, withIntermediateDirectories: true)
        let samples = try run("python3", [oracle, "samples", truthDir, path, String(frame - 1)])  // the oracle counts from 0
        #expect(samples.status == 0, "\(name): \(samples.err)")
        let truth = try Data(contentsOf: URL(fileURLWithPath: "\(truthDir)/\(frame - 1).raw.bin")).withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        let out = dir.appendingPathComponent("\(name).raw").path
        let r = try run(toolPath(), ["decode", path, "--frame", String(frame), "--out", out])
        #expect(r.status == 0, "\(name): \(r.err)")
        let ours = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        var values: [Int32] = []
        for i in stride(from: 0, to: ours.count - bps + 1, by: bps) {
            let u = bps == 1 ? UInt32(ours[i]) : UInt32(ours[i]) | UInt32(ours[i + 1]) << 8
            values.append(signed ? (bps == 1 ? Int32(Int8(truncatingIfNeeded: u)) : Int32(Int16(truncatingIfNeeded: u))) : Int32(u))
        }
        #expect(values == truth, "\(name) frame \(frame): \(values.count) samples vs pydicom's \(truth.count), \(zip(values, truth).filter { $0 != $1 }.count) differ")
        if let netpbm {
            let pnm = dir.appendingPathComponent("\(name).\(netpbm)").path
            #expect(try run(toolPath(), ["decode", path, "--frame", String(frame), "--out", pnm]).status == 0)
            let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: pnm)))
            let body = Array(bytes.suffix(ours.count))
            let swapped = bps == 1 ? ours : stride(from: 0, to: ours.count, by: 2).flatMap { [ours[$0 + 1], ours[$0]] }
            #expect(body == swapped && bytes.starts(with: Array((netpbm == "pgm" ? "P5" : "P6").utf8)), "\(name) as .\(netpbm)")
        }
    }
    // A frame past Number of Frames is refused with the reason; so is a file that is neither.
    let emri = paths[0]
    let past = try run(toolPath(), ["decode", emri, "--frame", "11", "--out", dir.appendingPathComponent("x.raw").path])
    #expect(past.status == 1 && past.err.contains("11"), "\(past.err)")
}

/// A YBR_FULL_422 JPEG baseline frame comes out as RGB by default and as the stored YCbCr
/// values with --color stored; the two differ, and each is within a JPEG decoder's rounding of
/// pydicom's (pylibjpeg) default and raw=True output.
@Test(.timeLimit(.minutes(2))) func decodeCommandColourChoiceForYBRJPEG() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-decode-ybr-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let oracle = packageRoot.appendingPathComponent("Tests/Oracle/jpeg_oracle.py").path
    let found = try run("python3", [oracle, "testdata", "color3d_jpeg_baseline.dcm"])
    let path = found.out.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(try run("python3", [oracle, "samples", dir.path, path, "6"]).status == 0)  // frame 7, counted from 0
    for (color, truthName) in [("rgb", "6.rgb.bin"), ("stored", "6.raw.bin")] {
        let out = dir.appendingPathComponent("\(color).raw").path
        let r = try run(toolPath(), ["decode", path, "--frame", "7", "--color", color, "--out", out])
        #expect(r.status == 0, "\(r.err)")
        let ours = [UInt8](try Data(contentsOf: URL(fileURLWithPath: out)))
        let truth = try Data(contentsOf: dir.appendingPathComponent(truthName)).withUnsafeBytes { Array($0.bindMemory(to: Int32.self)) }
        try #require(ours.count == truth.count)
        let far = zip(ours, truth).filter { abs(Int32($0) - $1) > 2 }.count
        #expect(far * 1000 < ours.count, "\(color): \(far) of \(ours.count) samples differ by more than 2")
    }
    let rgb = try Data(contentsOf: dir.appendingPathComponent("rgb.raw")), stored = try Data(contentsOf: dir.appendingPathComponent("stored.raw"))
    #expect(rgb != stored)
}
