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
