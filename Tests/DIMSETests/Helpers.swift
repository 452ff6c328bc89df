import DIMSE
import Foundation
import NIOConcurrencyHelpers
import TestSupport

#if canImport(Glibc)
import Glibc
#endif

/// A delegate for tests: accepts calling AEs from a list (all when nil), writes each instance's
/// Part 10 bytes to `dir/<SOPInstanceUID>.dcm` and answers `status`.
final class RecordingDelegate: StorageDelegate {
    let dir: URL
    let allowedCallingAEs: Set<String>?
    let status: DIMSEStatus
    let received = NIOLockedValueBox<[String]>([])

    init(dir: URL, allowedCallingAEs: Set<String>? = nil, status: DIMSEStatus = .success) {
        self.dir = dir
        self.allowedCallingAEs = allowedCallingAEs
        self.status = status
    }

    func shouldAccept(_ association: AssociationInfo) async -> AssociationRejection? {
        if let allowedCallingAEs, !allowedCallingAEs.contains(association.callingAETitle) { return .callingAENotRecognized }
        return nil
    }

    func store(_ instance: ReceivedInstance) async -> DIMSEStatus {
        received.withLockedValue { $0.append(instance.sopInstanceUID) }
        guard status.isSuccess else { return status }
        do {
            let bytes = try instance.part10()
            try Data(bytes).write(to: dir.appendingPathComponent("\(instance.sopInstanceUID).dcm"))
        } catch {
            return DIMSEStatus.outOfResources.with(comment: "cannot write: \(error)")
        }
        return status
    }
}

/// Log lines collected from a server.
final class LogLines: Sendable {
    let lines = NIOLockedValueBox<[String]>([])
    var all: [String] { lines.withLockedValue { $0 } }
    var sink: @Sendable (String) -> Void { { line in self.lines.withLockedValue { $0.append(line) } } }
}

func temporaryDirectory(_ name: String) throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-dimse-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
}

/// Runs a program without blocking a Swift concurrency thread (the server's delegate calls run
/// on that pool); its standard output and error together.
func runAsync(_ program: String, _ arguments: [String], seconds: Double = 120) async throws -> (status: Int32, output: String) {
    let p = try BackgroundProcess(program, arguments, environment: ProcessInfo.processInfo.environment)
    let status = await p.wait(seconds: seconds)
    let output = p.output
    p.stop()
    return (status ?? -1, output)
}

/// A TCP port free at the moment of asking.
func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = 0
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A raw TCP connection for feeding a server bad bytes.
final class RawSocket {
    let fd: Int32

    init(port: Int) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 { throw POSIXError(.ECONNREFUSED) }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    func send(_ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads until the peer closes or `seconds` pass; returns the bytes and whether it closed.
    func readUntilClosed(seconds: Double) async -> (bytes: [UInt8], closed: Bool) {
        var out: [UInt8] = []
        let deadline = Date().addingTimeInterval(seconds)
        var buffer = [UInt8](repeating: 0, count: 65536)
        // Read before looking at the clock: on a loaded machine this task may wake long after the
        // deadline, and what arrived meanwhile still counts.
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (out, true) }
            if n > 0 {
                out += buffer[0..<n]
                continue
            }
            if errno == ECONNRESET { return (out, true) }
            if Date() >= deadline { return (out, false) }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// Reads until `count` whole PDUs arrived (or the connection closed, or `seconds` passed).
func readPDUs(_ s: RawSocket, count: Int, seconds: Double = 60) async throws -> (pdus: [PDU], closed: Bool) {
    var bytes: [UInt8] = []
    let deadline = Date().addingTimeInterval(seconds)
    while true {
        let (more, closed) = await s.readUntilClosed(seconds: 0.1)
        bytes += more
        let (pdus, _) = try PDUFramer(advertisedMaxPDULength: 1 << 20).split(bytes)
        if pdus.count >= count || closed || Date() >= deadline { return (pdus, closed) }
    }
}

/// Fixtures in Explicit/Implicit VR Little Endian with distinct SOP Instance UIDs.
let uncompressedFixtures = ["sample-study/series-1/CT0001.dcm", "sample-study/series-1/CT0002.dcm", "sample-study/series-1/CT0003.dcm",
                            "sample-study/series-2/CT0001.dcm", "sample-study/series-2/CT0002.dcm", "sample-study/series-2/CT0003.dcm",
                            "ct_explicit_le.dcm", "multiframe_8frames.dcm", "charset_utf8.dcm", "nested_private_implicit.dcm",
                            "bitmap_1bit_3frames.dcm"]

/// Copies fixtures into a fresh folder (so a tool scanning it sees only these).
func fixtureFolder(_ names: [String]) throws -> URL {
    let dir = try temporaryDirectory("src")
    for (i, name) in names.enumerated() {
        try FileManager.default.copyItem(atPath: fixture(name), toPath: dir.appendingPathComponent("\(i)-\(URL(fileURLWithPath: name).lastPathComponent)").path)
    }
    return dir
}

/// pydicom's verdict: every original file arrived in `dir`, equal as a data set.
func oracleCompare(_ dir: URL, _ files: [String], sameTS: Bool = false) async throws -> (ok: Bool, output: String) {
    let script = packageRoot.appendingPathComponent("Tests/Oracle/dimse_oracle.py").path
    let r = try await runAsync("python3", [script, "compare", dir.path] + files + (sameTS ? ["--same-ts"] : []))
    return (r.status == 0, r.output)
}
