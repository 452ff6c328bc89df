import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// A real Orthanc with its DICOMweb plugin, started for a test on loopback ports
/// (Scripts/setup.sh installs both; shared/reference/dicomweb-dimse.md §4.5).
///
/// Orthanc's HTTP server refuses other hosts (`"RemoteAccessAllowed": false`); its DICOM
/// port has no bind-address option and listens on 0.0.0.0, so it gets a free port too.
public enum Orthanc {
    /// The server binary.
    public static let binary = "/usr/sbin/Orthanc"
    /// The DICOMweb plugin (named alone, so the other plugins do not load).
    public static let plugin = "/usr/share/orthanc/plugins/libOrthancDicomWeb.so"

    /// True when Orthanc and its DICOMweb plugin are installed.
    public static var isInstalled: Bool {
        FileManager.default.isExecutableFile(atPath: binary) && FileManager.default.fileExists(atPath: plugin)
    }

    /// Why Orthanc cannot start, or the server did not come up.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Starts Orthanc with a config file written into a new temporary folder (its database is
    /// there too), waits until `/system` answers, and returns the DICOMweb base URL
    /// (`http://127.0.0.1:PORT/dicom-web`) and a function that stops it and removes the folder.
    /// - Parameter authentication: with users and passwords (`["alice": "alicePassword"]`), HTTP Basic authentication is
    ///   required (`"AuthenticationEnabled": true, "RegisteredUsers": users`).
    public static func start(authentication users: [String: String]? = nil) async throws -> (url: String, stop: @Sendable () -> Void) {
        guard isInstalled else { throw StartError(description: "\(binary) or \(plugin) is not installed (Scripts/setup.sh installs them)") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-orthanc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let httpPort = try freePort(), dicomPort = try freePort()
        var config: [String: Any] = [
            "Name": "ahi-test", "StorageDirectory": dir.appendingPathComponent("db").path,
            "IndexDirectory": dir.appendingPathComponent("db").path,
            "Plugins": [plugin], "HttpPort": httpPort, "DicomPort": dicomPort, "DicomAet": "ORTHANC",
            "RemoteAccessAllowed": false, "AuthenticationEnabled": users != nil,
            "DicomAlwaysAllowFind": true, "SaveJobs": false, "HttpTimeout": 60,
            "DicomWeb": ["Enable": true, "Root": "/dicom-web/", "Host": "127.0.0.1:\(httpPort)", "Ssl": false] as [String: Any],
        ]
        if let users { config["RegisteredUsers"] = users }
        let configURL = dir.appendingPathComponent("orthanc.json")
        try JSONSerialization.data(withJSONObject: config, options: [.prettyPrinted, .sortedKeys]).write(to: configURL)
        let env = ["PATH": "/usr/bin:/bin:/usr/sbin", "HOME": dir.path]
        let process = try BackgroundProcess(binary, [configURL.path], environment: env)
        let stop: @Sendable () -> Void = {
            process.stop()
            try? FileManager.default.removeItem(at: dir)
        }
        var curl = ["-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(httpPort)/system"]
        if let (user, password) = users?.first { curl = ["-u", "\(user):\(password)"] + curl }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let r = try? run("curl", curl), r.out == "200" {
                return ("http://127.0.0.1:\(httpPort)/dicom-web", stop)
            }
            if !process.process.isRunning { break }
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        let log = process.output
        stop()
        throw StartError(description: "Orthanc did not answer /system on port \(httpPort) within 60 s; its log:\n\(log.suffix(4000))")
    }

    /// A loopback TCP port that was free a moment ago (bound to port 0, read, closed).
    public static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw StartError(description: "socket() failed: errno \(errno)") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
        guard bound == 0 else { throw StartError(description: "bind() failed: errno \(errno)") }
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
        return Int(UInt16(bigEndian: addr.sin_port))
    }
}
