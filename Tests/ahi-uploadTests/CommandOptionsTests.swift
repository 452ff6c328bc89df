import Foundation
import TestSupport
import Testing

/// Every command says `--output text|json`; every command that talks to HealthImaging takes `--local`.
@Test(arguments: ["import", "dump", "validate", "upload", "jobs", "job", "verify", "decode", "render", "frame", "sync", "watch", "status",
                  "search", "retrieve", "echo", "send"])
func everyCommandHasOutput(command: String) throws {
    let help = try run(toolPath(), [command, "--help"])
    #expect(help.status == 0, "\(help.err)")
    #expect(help.out.contains("--output <output>"), "\(command) --help:\n\(help.out)")
    let talksToHealthImaging = ["import", "jobs", "job", "verify", "frame", "sync", "watch", "search", "retrieve"].contains(command)
    #expect(help.out.contains("--local ") == talksToHealthImaging, "\(command) --help:\n\(help.out)")
}

/// `dump --output json` and the older `dump --format json` (kept, hidden) print the same DICOM JSON.
@Test func dumpFormatIsAHiddenAliasOfOutput() throws {
    let a = try run(toolPath(), ["dump", "--output", "json", fixture("ct_explicit_le.dcm")])
    let b = try run(toolPath(), ["dump", "--format", "json", fixture("ct_explicit_le.dcm")])
    #expect(a.status == 0 && b.status == 0 && a.out == b.out && a.out.hasPrefix("{"))
    let help = try run(toolPath(), ["dump", "--help"])
    #expect(!help.out.contains("--format"))
}

/// `render --output json` describes what it wrote.
@Test func renderDescribesItsOutputAsJSON() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-render-json-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let png = dir.appendingPathComponent("f.png").path
    let r = try run(toolPath(), ["render", fixture("ct_explicit_le.dcm"), "--png", png, "--output", "json"])
    let o = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
    #expect(r.status == 0 && o?["out"] as? String == png && (o?["width"] as? Int ?? 0) > 0, "\(r.out)\(r.err)")
}
