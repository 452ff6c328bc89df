import Foundation
import DICOMCore

/// The package's root folder (this file is Tests/DICOMCoreTests/Support.swift).
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The path of a committed fixture.
public func fixture(_ name: String) -> String { packageRoot.appendingPathComponent("Fixtures/\(name)").path }

/// Runs a program (looked up on PATH) and returns its status and output.
///
/// Output goes through temporary files, not pipes: a pipe's write end can leak
/// into a server another test starts at the same moment, and then reading to
/// end-of-file would wait for that server to exit.
@discardableResult
public func run(_ program: String, _ arguments: [String], cwd: URL? = nil,
                environment: [String: String]? = nil) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = [program] + arguments
    if let cwd { p.currentDirectoryURL = cwd }
    if let environment { p.environment = environment }
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-run-\(UUID().uuidString)")
    let outURL = base.appendingPathExtension("out"), errURL = base.appendingPathExtension("err")
    _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
    _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: outURL)
        try? FileManager.default.removeItem(at: errURL)
    }
    let outHandle = try FileHandle(forWritingTo: outURL), errHandle = try FileHandle(forWritingTo: errURL)
    p.standardOutput = outHandle
    p.standardError = errHandle
    p.standardInput = FileHandle.nullDevice
    try p.run()
    p.waitUntilExit()
    try? outHandle.close()
    try? errHandle.close()
    let out = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
    let err = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
    return (p.terminationStatus, out, err)
}

/// A server process started for a test, its output in a file; stopped with `stop()`.
public final class BackgroundProcess: @unchecked Sendable {
    /// The process.
    public let process = Process()
    /// Where its standard output goes.
    public let outputFile: URL

    /// Starts `program` with `arguments` (looked up on PATH).
    /// With `environment`, the program gets exactly that environment and its standard
    /// error goes to the same file as its output.
    public init(_ program: String, _ arguments: [String], environment: [String: String]? = nil) throws {
        outputFile = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-bg-\(UUID().uuidString).out")
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [program] + arguments
        let handle = try FileHandle(forWritingTo: outputFile)
        process.standardOutput = handle
        process.standardError = environment == nil ? FileHandle.nullDevice : handle
        process.standardInput = FileHandle.nullDevice
        if let environment { process.environment = environment }
        try process.run()
    }

    /// Everything it has written so far.
    public var output: String { (try? String(contentsOf: outputFile, encoding: .utf8)) ?? "" }

    /// Waits (up to `seconds`) for it to exit; its status, or nil if it is still running.
    public func wait(seconds: Double) async -> Int32? {
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { try? await Task.sleep(nanoseconds: 100_000_000) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Waits (up to `seconds`) for a line of output starting with `prefix`; returns that line.
    /// The output is read once more after the deadline: on a loaded machine this task may not
    /// run for a while (other tests block the cooperative threads), and a line written meanwhile counts.
    public func waitForLine(startingWith prefix: String, seconds: Double = 30) async throws -> String? {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let text = (try? String(contentsOf: outputFile, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix(prefix) }) { return String(line) }
            if !process.isRunning || Date() >= deadline { return nil }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
    }

    /// The port of a "listening on PORT" line.
    public func listeningPort(seconds: Double = 30) async throws -> Int? {
        try await waitForLine(startingWith: "listening on", seconds: seconds).flatMap { Int($0.split(separator: " ").last ?? "") }
    }

    /// Kills the process and waits for it. SIGKILL, because a child inherits the
    /// test runner's signal mask, in which libdispatch has blocked SIGTERM.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: outputFile)
    }
}

/// The bytes of a frame, fragments concatenated.
public func frameBytes(_ frame: Frame, in storage: ByteStorage) -> [UInt8] {
    frame.ranges.flatMap { Array(storage.bytes($0)) }
}

/// Builds data sets byte by byte for unit tests, in any of the three encodings.
public struct DataSetWriter {
    public var bytes: [UInt8] = []
    public var explicit = true
    public var little = true

    public init(explicit: Bool = true, little: Bool = true) {
        self.explicit = explicit
        self.little = little
    }

    public mutating func u16(_ v: UInt16) { bytes += little ? [UInt8(v & 0xFF), UInt8(v >> 8)] : [UInt8(v >> 8), UInt8(v & 0xFF)] }
    public mutating func u32(_ v: UInt32) {
        u16(UInt16(truncatingIfNeeded: little ? v : v >> 16))
        u16(UInt16(truncatingIfNeeded: little ? v >> 16 : v))
    }
    public mutating func tag(_ t: UInt32) { u16(UInt16(t >> 16)); u16(UInt16(t & 0xFFFF)) }

    /// An element header (with `length` as given) followed by `value`.
    public mutating func element(_ t: UInt32, _ vr: String, _ value: [UInt8], length: UInt32? = nil) {
        tag(t)
        let len = length ?? UInt32(value.count)
        if explicit {
            bytes += Array(vr.utf8)
            if VR(rawValue: vr)?.hasLongLength ?? false { bytes += [0, 0]; u32(len) } else { u16(UInt16(truncatingIfNeeded: len)) }
        } else {
            u32(len)
        }
        bytes += value
    }

    /// A text element, padded to even length with a space (or NUL for UI).
    public mutating func text(_ t: UInt32, _ vr: String, _ s: String) {
        var v = Array(s.utf8)
        if v.count % 2 == 1 { v.append(vr == "UI" ? 0 : 0x20) }
        element(t, vr, v)
    }

    /// An item or delimiter header.
    public mutating func item(_ t: UInt32, length: UInt32) { tag(t); u32(length) }
}

/// A Part 10 file: preamble, DICM, File Meta group (explicit VR LE) and `body`.
public func part10(transferSyntax: String, body: [UInt8]) -> [UInt8] {
    var m = DataSetWriter()
    m.element(0x0002_0001, "OB", [0, 1])
    m.text(0x0002_0002, "UI", "1.2.840.10008.5.1.4.1.1.7")
    m.text(0x0002_0003, "UI", "1.2.3.4")
    m.text(0x0002_0010, "UI", transferSyntax)
    var g = DataSetWriter()
    g.element(0x0002_0000, "UL", [UInt8(m.bytes.count & 0xFF), UInt8(m.bytes.count >> 8 & 0xFF), 0, 0])
    return [UInt8](repeating: 0, count: 128) + Array("DICM".utf8) + g.bytes + m.bytes + body
}

public func le16(_ v: UInt16) -> [UInt8] { [UInt8(v & 0xFF), UInt8(v >> 8)] }
public func le32(_ v: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: v >> ($0 * 8)) } }

/// A built executable of the package (`ahi-upload` by default), beside the test bundle.
public func toolPath(_ name: String = "ahi-upload") -> String {
    if name == "ahi-upload", let env = ProcessInfo.processInfo.environment["AHI_UPLOAD"] { return env }
    let exe = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    var dir = exe.deletingLastPathComponent()
    for _ in 0..<4 {
        let candidate = dir.appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        dir = dir.deletingLastPathComponent()
    }
    return packageRoot.appendingPathComponent(".build/debug/\(name)").path
}

/// Random bytes of a given size (deterministic per seed).
public func testBytes(_ count: Int, seed: UInt64) -> [UInt8] {
    var state = seed &+ 0x9E37_79B9_7F4A_7C15
    var out = [UInt8](repeating: 0, count: count)
    for i in 0..<count {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        out[i] = UInt8(truncatingIfNeeded: state >> 33)
    }
    return out
}
