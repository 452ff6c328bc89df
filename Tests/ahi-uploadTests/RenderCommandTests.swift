import Foundation
import TestSupport
import Testing

/// `ahi-upload render` writes PNGs a decoder accepts (Python's zlib over the chunks), for a
/// DICOM frame with its own window, a given window, another frame, and a codestream.
@Test(.timeLimit(.minutes(2))) func renderWritesValidPNGs() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-render-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let check = packageRoot.appendingPathComponent("Tests/Oracle/check_png.py").path
    let cases: [([String], String)] = [
        (["Fixtures/ct_explicit_le.dcm"], "png 64 64 1"),
        (["Fixtures/ct_explicit_be.dcm", "--window", "0,2048"], "png 64 64 1"),
        (["Fixtures/multiframe_8frames.dcm", "--frame", "8"], "png 32 32 1"),
        (["Fixtures/rle_with_bot.dcm", "--frame", "3"], "png 32 32 1"),
    ]
    for (i, (args, expected)) in cases.enumerated() {
        let out = dir.appendingPathComponent("\(i).png").path
        let r = try run(toolPath(), ["render", packageRoot.appendingPathComponent(args[0]).path, "--png", out] + args.dropFirst())
        #expect(r.status == 0, "\(args): \(r.err)")
        let p = try run("python3", [check, out])
        #expect(p.status == 0 && p.out.hasPrefix(expected), "\(args): \(p.out)\(p.err)")
        // A real image, not a flat one: the window spreads the values.
        let fields = p.out.split(separator: " ").compactMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        #expect(fields.count == 5 && fields[4] > fields[3], "\(args): \(p.out)")
    }
    let bad = try run(toolPath(), ["render", packageRoot.appendingPathComponent("Fixtures/ct_explicit_le.dcm").path, "--png",
                                   dir.appendingPathComponent("x.png").path, "--frame", "2"])
    #expect(bad.status != 0 && bad.err.contains("1 frame"), "\(bad.err)")
}
