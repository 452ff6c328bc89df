import DICOMCore
import Foundation
import HTJ2K
import TestSupport
import Testing

/// The generated cases of Tests/Oracle/make_pixel_cases.py, with what pydicom/numpy say they hold.
private struct Generated {
    let dir: URL
    let lines: [[String: Any]]

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-pixel-cases-\(UUID().uuidString)")
        let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/make_pixel_cases.py").path, dir.path])
        guard r.status == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSLocalizedDescriptionKey: r.err]) }
        lines = r.out.split(separator: "\n").compactMap { try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    }

    func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
    func line(_ name: String) -> [String: Any]? { lines.first { $0["name"] as? String == name } }
    func remove() { try? FileManager.default.removeItem(at: dir) }
}

/// Frame `number` of `path` decoded, as rows of pixels of samples (RGB after YBR_FULL(_422) → RGB).
private func decoded(_ path: String, frame number: Int, rgb: Bool = false) throws -> [[[Int]]] {
    let file = try DICOMFile.read(path: path)
    var p = try FrameDecoder.decode(file, frame: try file.frame(number: number))
    if rgb { p = p.rgbFromYBRFull() }
    return (0..<p.height).map { y in (0..<p.width).map { x in (0..<p.components).map { p.sample(x: x, y: y, component: $0) } } }
}

/// pydicom's pixel_array of a file (RGB for YBR), frames first.
private func pydicomFrames(_ path: String) throws -> [[[[Int]]]] {
    let script = """
        import json, sys, pydicom
        d = pydicom.dcmread(sys.argv[1]); a = d.pixel_array
        if int(getattr(d, "NumberOfFrames", 1) or 1) == 1: a = a[None, ...]
        if a.ndim == 3: a = a[..., None]
        print(json.dumps(a.tolist()))
        """
    let r = try run("python3", ["-c", script, path])
    guard r.status == 0, let v = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [[[[Int]]]] else {
        throw CocoaError(.fileReadUnknown, userInfo: [NSLocalizedDescriptionKey: r.err])
    }
    return v
}

/// The native frame-size model: YBR_FULL_422 stores two samples per pixel (Y Y Cb Cr per pair).
/// The case from the field: 2×4, 16 bytes, valid; its RGB row 0 is pydicom's, and DCMTK's within ±2.
@Test(.timeLimit(.minutes(2))) func ybrFull422FromTheField() throws {
    let path = fixture("realworld/15-ybr-full-422-native.dcm")
    let file = try DICOMFile.read(path: path)
    #expect(try file.frames().map(\.byteCount) == [16])
    #expect(Validator.validate(file).filter { $0.severity == .error }.isEmpty)
    let rgb = try decoded(path, frame: 1, rgb: true)
    #expect(rgb[0] == [[254, 0, 0], [254, 0, 0], [0, 255, 1], [0, 255, 1]])
    #expect(rgb == (try pydicomFrames(path))[0])
    // DCMTK's own conversion, within ±2.
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-ybr-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let ppm = dir.appendingPathComponent("f.ppm").path
    let r = try run("dcmj2pnm", ["+op", path, ppm])
    #expect(r.status == 0, "\(r.err)")
    let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: ppm)))
    let body = Array(bytes.suffix(4 * 2 * 3))
    let ours = rgb.flatMap { $0.flatMap { $0 } }
    #expect(zip(ours, body).allSatisfy { abs($0 - Int($1)) <= 2 }, "ours \(ours) dcmj2pnm \(body)")
}

/// The second YBR_FULL_422 case: 3 frames of 4×6, every frame equal to pydicom's RGB.
@Test(.timeLimit(.minutes(2))) func ybrFull422ThreeFrames() throws {
    let g = try Generated()
    defer { g.remove() }
    let oracle = try #require(g.line("ybr422_3frames.dcm#oracle")?["rgb"] as? [[[[Int]]]])
    let file = try DICOMFile.read(path: g.path("ybr422_3frames.dcm"))
    #expect(try file.frames().map(\.byteCount) == [48, 48, 48])
    for n in 1...3 { #expect(try decoded(g.path("ybr422_3frames.dcm"), frame: n, rgb: true) == oracle[n - 1], "frame \(n)") }
}

/// Frames that exist are readable; a missing one is diagnosed by itself. The case from the
/// field: Number of Frames 3, two 2×2 frames of native data.
@Test func framesThatExistAreReadable() throws {
    let path = fixture("realworld/26-frames-mismatch.dcm")
    let file = try DICOMFile.read(path: path)
    #expect(try file.frames().count == 2)
    #expect(try decoded(path, frame: 1) == [[[0], [1]], [[2], [3]]])
    #expect(try decoded(path, frame: 2) == [[[4], [5]], [[6], [7]]])
    #expect(throws: FrameError.frameMissing(number: 3, declared: 3, available: 2)) { try file.frame(number: 3) }
    #expect(throws: FrameError.noSuchFrame(number: 4, declared: 3)) { try file.frame(number: 4) }
    let found = Validator.validate(file)
    #expect(found.allSatisfy { $0.severity != .error }, "\(found)")
    #expect(found.contains { $0.code == "pixel.frame-count" && $0.ahiWarning == .frameNumberMismatch })
}

/// The second case: RLE with three fragments and Number of Frames 4 — frames 1–3 are the
/// encoded arrays, frame 4 is missing, and the validator predicts FRAME_NUMBER_MISMATCH.
@Test(.timeLimit(.minutes(2))) func encapsulatedFramesThatExistAreReadable() throws {
    let g = try Generated()
    defer { g.remove() }
    let frames = try #require(g.line("rle_frames_missing.dcm")?["frames"] as? [[[Int]]])
    let path = g.path("rle_frames_missing.dcm")
    let file = try DICOMFile.read(path: path)
    #expect(try file.frames().count == 3)
    for n in 1...3 { #expect(try decoded(path, frame: n).map { $0.map { $0[0] } } == frames[n - 1], "frame \(n)") }
    #expect(throws: FrameError.frameMissing(number: 4, declared: 4, available: 3)) { try file.frame(number: 4) }
    #expect(Validator.validate(file).contains { $0.ahiWarning == .frameNumberMismatch && $0.severity == .warning })
}
