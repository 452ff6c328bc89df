// HTJ2K decode benchmark (and, at the end, JPEG): our Swift API (OpenJPH and OpenJPEG backends) side by side
// with the reference tools `ojph_expand` and `opj_decompress`, on codestreams made by
// `ojph_compress` (lossless, RPCL, as HealthImaging stores frames).
//
//   swift build -c release --product htj2k-bench && .build/release/htj2k-bench [WORKDIR] [REPEATS]
//
// The tools' times are their own reports, without process start: ojph_expand's
// "Elapsed time" (decode and writing the output, which it interleaves line by line)
// and opj_decompress's "decode time" (decode only).
import Foundation
import DICOMCore
import HTJ2K

let work = URL(fileURLWithPath: CommandLine.arguments.count > 1 ? CommandLine.arguments[1] : NSTemporaryDirectory() + "htj2k-bench")
let repeats = CommandLine.arguments.count > 2 ? Int(CommandLine.arguments[2]) ?? 20 : 20
try? FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)

func shell(_ program: String, _ args: [String]) -> Int32 {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [program] + args
    p.standardOutput = FileHandle.nullDevice
    p.standardError = FileHandle.nullDevice
    try? p.run()
    p.waitUntilExit()
    return p.terminationStatus
}

/// A smooth image with noise, as a PGM/PPM.
func makeImage(_ name: String, width: Int, height: Int, bits: Int, components: Int) -> String {
    let path = work.appendingPathComponent(name + (components == 1 ? ".pgm" : ".ppm")).path
    var data = Array("P\(components == 1 ? 5 : 6)\n\(width) \(height)\n\((1 << bits) - 1)\n".utf8)
    var seed: UInt64 = 42
    for y in 0..<height {
        for x in 0..<width {
            for c in 0..<components {
                seed = seed &* 6_364_136_223_846_793_005 &+ 1
                let base = (sin(Double(x) / 23 + Double(c)) + cos(Double(y) / 31)) * 0.22 + 0.5
                let v = min((1 << bits) - 1, Int(base * Double((1 << bits) - 1)) + Int(seed >> 58))
                if bits > 8 { data += [UInt8(v >> 8), UInt8(v & 0xFF)] } else { data.append(UInt8(v)) }
            }
        }
    }
    _ = FileManager.default.createFile(atPath: path, contents: Data(data))
    return path
}

func median(_ xs: [Double]) -> Double { xs.sorted()[xs.count / 2] }

/// Runs a tool and returns the seconds it reports after `label` (× `scale`).
func reported(_ program: String, _ args: [String], label: String, scale: Double) -> Double? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [program] + args
    let log = work.appendingPathComponent("tool.log")
    _ = FileManager.default.createFile(atPath: log.path, contents: nil)
    guard let handle = try? FileHandle(forWritingTo: log) else { return nil }
    p.standardOutput = handle
    p.standardError = handle
    try? p.run()
    p.waitUntilExit()
    try? handle.close()
    let text = (try? String(contentsOf: log, encoding: .utf8)) ?? ""
    guard let line = text.split(separator: "\n").first(where: { $0.contains(label) }) else { return nil }
    let number = line.split(whereSeparator: { $0 == " " || $0 == "=" || $0 == ":" }).compactMap { Double($0) }.first
    return number.map { $0 * scale }
}

func toolTime(_ runs: Int, _ program: String, _ args: [String], label: String, scale: Double) -> Double {
    median((0..<runs).compactMap { _ in reported(program, args, label: label, scale: scale) } + [Double.infinity])
}

func time(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var samples: [Double] = []
    for _ in 0..<runs {
        let t = Date()
        try body()
        samples.append(Date().timeIntervalSince(t))
    }
    return median(samples)
}

let sets: [(String, Int, Int, Int, Int, Int)] = [  // name, w, h, bits, comps, levels
    ("CT 512×512 16-bit", 512, 512, 16, 1, 5),
    ("CR 2048×2048 16-bit", 2048, 2048, 16, 1, 6),
    ("RGB 1024×1024 8-bit", 1024, 1024, 8, 3, 5),
]
print("HTJ2K lossless RPCL decode, median of \(repeats), one core unless noted; MP/s = megapixels per second")
print("tools: their own reported time (ojph_expand: decode + output; opj_decompress: decode)")
print("")
print("| codestream | Swift OpenJPH | ojph_expand | Swift ÷ ojph_expand | Swift OpenJPEG | opj_decompress | Swift OpenJPH ÷ OpenJPEG | batch of 8 on 2 cores |")
print("|---|---|---|---|---|---|---|---|")
for (name, w, h, bits, comps, levels) in sets {
    let src = makeImage(name.split(separator: " ")[0].lowercased(), width: w, height: h, bits: bits, components: comps)
    let cs = src + ".j2c"
    guard shell("ojph_compress", ["-i", src, "-o", cs, "-reversible", "true", "-prog_order", "RPCL", "-num_decomps", String(levels)]) == 0,
          let bytes = FileManager.default.contents(atPath: cs).map({ [UInt8]($0) }) else {
        print("| \(name) | ojph_compress failed |"); continue
    }
    let mp = Double(w * h) / 1e6
    let ours = try time(repeats) { _ = try J2KDecoder.decode(bytes, backend: .openJPH) }
    let ourOpj = try time(max(3, repeats / 4)) { _ = try J2KDecoder.decode(bytes, backend: .openJPEG) }
    let out = work.appendingPathComponent("out" + (comps == 1 ? ".pgm" : ".ppm")).path
    let tool = toolTime(repeats, "ojph_expand", ["-i", cs, "-o", out], label: "Elapsed time", scale: 1)
    let opj = toolTime(max(3, repeats / 4), "opj_decompress", ["-i", cs, "-o", out], label: "decode time", scale: 0.001)
    // Near-linear scaling: 8 frames decoded by a task group on all cores.
    let batch = time(max(3, repeats / 4)) {
        let group = DispatchGroup()
        for _ in 0..<8 {
            DispatchQueue.global().async(group: group) { _ = try? J2KDecoder.decode(bytes, backend: .openJPH) }
        }
        group.wait()
    }
    let scaling = (ours * 8) / batch
    print(String(format: "| %@ | %.0f MP/s (%.1f ms) | %.0f MP/s (%.1f ms) | %.2f× | %.0f MP/s | %.0f MP/s | %.1f× | %.0f MP/s (%.2f× one core) |",
                 name, mp / ours, ours * 1000, mp / tool, tool * 1000, tool / ours, mp / ourOpj, mp / opj, ourOpj / ours,
                 mp * 8 / batch, scaling))
}

// JPEG (DICOM .50, .57, .70): FrameDecoder on files DCMTK's dcmcjpeg makes from a native
// 512×512 slice (and a 640×480 RGB one), in process; 8-bit baseline with both backends.

/// A minimal native Part 10 file (explicit VR little endian), the samples of `makeImage`.
func makeNative(_ name: String, width: Int, height: Int, bits: Int, components: Int) -> String {
    let pnm = FileManager.default.contents(atPath: makeImage(name, width: width, height: height, bits: bits, components: components)) ?? Data()
    let bps = bits > 8 ? 2 : 1, count = width * height * components * bps
    var raw = [UInt8](pnm.suffix(count))
    if bps == 2 { for i in stride(from: 0, to: raw.count, by: 2) { raw.swapAt(i, i + 1) } }  // PNM is big-endian
    func el(_ group: UInt16, _ element: UInt16, _ vr: String, _ value: [UInt8]) -> [UInt8] {
        var v = value
        if v.count % 2 == 1 { v.append(vr == "UI" ? 0 : 0x20) }
        var out = [UInt8(group & 0xFF), UInt8(group >> 8), UInt8(element & 0xFF), UInt8(element >> 8)] + Array(vr.utf8)
        if ["OB", "OW"].contains(vr) {
            out += [0, 0] + (0..<4).map { UInt8(truncatingIfNeeded: v.count >> (8 * $0)) }
        } else {
            out += [UInt8(v.count & 0xFF), UInt8(v.count >> 8)]
        }
        return out + v
    }
    func us(_ v: Int) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
    let sop = "1.2.826.0.1.3680043.10.1.\(width).\(bits).\(components)"
    let meta = el(2, 1, "OB", [0, 1]) + el(2, 2, "UI", Array("1.2.840.10008.5.1.4.1.1.7".utf8)) + el(2, 3, "UI", Array(sop.utf8))
        + el(2, 0x10, "UI", Array("1.2.840.10008.1.2.1".utf8))
    var file = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + el(2, 0, "UL", (0..<4).map { UInt8(truncatingIfNeeded: meta.count >> (8 * $0)) }) + meta
    file += el(8, 0x16, "UI", Array("1.2.840.10008.5.1.4.1.1.7".utf8)) + el(8, 0x18, "UI", Array(sop.utf8))
    file += el(0x28, 2, "US", us(components)) + el(0x28, 4, "CS", Array((components == 3 ? "RGB" : "MONOCHROME2").utf8))
    if components == 3 { file += el(0x28, 6, "US", us(0)) }
    file += el(0x28, 0x10, "US", us(height)) + el(0x28, 0x11, "US", us(width)) + el(0x28, 0x100, "US", us(bps * 8))
    file += el(0x28, 0x101, "US", us(bits)) + el(0x28, 0x102, "US", us(bits - 1)) + el(0x28, 0x103, "US", us(0))
    file += el(0x7FE0, 0x10, bps == 2 ? "OW" : "OB", raw)
    let path = work.appendingPathComponent(name + ".dcm").path
    _ = FileManager.default.createFile(atPath: path, contents: Data(file))
    return path
}

let jpegSets: [(String, Int, Int, Int, Int, [String])] = [  // name, w, h, bits, comps, dcmcjpeg options
    ("512×512 12-bit lossless SV1, P = 16 (dcmcjpeg +e1)", 512, 512, 12, 1, ["+e1"]),
    ("512×512 12-bit lossless SV1, P = 12 (dcmcjpeg +pl +e1 +bt)", 512, 512, 12, 1, ["+pl", "+e1", "+bt"]),
    ("512×512 16-bit lossless SV1 (dcmcjpeg +e1)", 512, 512, 16, 1, ["+e1"]),
    ("512×512 16-bit lossless SV6, .57 (dcmcjpeg +el)", 512, 512, 16, 1, ["+el"]),
    ("512×512 8-bit baseline (dcmcjpeg +eb)", 512, 512, 8, 1, ["+eb"]),
    ("640×480 RGB → YBR_FULL_422 baseline (dcmcjpeg +eb)", 640, 480, 8, 3, ["+eb"]),
]
print("")
print("JPEG decode (FrameDecoder, in process), median of \(repeats), one core")
print("")
print("| frame | codestream | FrameDecoder | libjpeg-turbo | DCMTK IJG |")
print("|---|---|---|---|---|")
for (n, (name, w, h, bits, comps, options)) in jpegSets.enumerated() {
    let native = makeNative("jpeg\(n)", width: w, height: h, bits: bits, components: comps)
    let encoded = work.appendingPathComponent("jpeg\(n).jpeg.dcm").path
    guard shell("dcmcjpeg", options + [native, encoded]) == 0, let file = try? DICOMFile.read(path: encoded),
          let frame = try? file.frames().first else {
        print("| \(name) | dcmcjpeg failed |"); continue
    }
    let cs = frame.ranges.flatMap { file.dataSet.storage.copyBytes($0) }
    let mp = Double(w * h) / 1e6
    let full = try time(repeats) { _ = try FrameDecoder.decode(file, frame: frame) }
    let header = try JPEGHeader.parse(cs)
    let ijg = try time(repeats) { _ = try JPEGDecoder.decode(cs, backend: .dcmtkIJG) }
    let turbo = header.process == .lossless ? nil : try time(repeats) { _ = try JPEGDecoder.decode(cs, backend: .libjpegTurbo) }
    print(String(format: "| %@ | %d bytes, P = %d | %.2f ms (%.0f MP/s) | %@ | %.2f ms |", name, cs.count, header.precision,
                 full * 1000, mp / full, turbo.map { String(format: "%.2f ms", $0 * 1000) } ?? "—", ijg * 1000))
}

batchCurve(folder: work.appendingPathComponent("batch"), repeats: max(3, repeats / 3))
