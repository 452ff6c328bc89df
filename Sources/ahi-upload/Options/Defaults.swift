import Foundation

/// Settings that can come from flags, environment variables or the config file, read
/// once per process: flag, else `AHI_<NAME>`, else `name = value` in
/// `~/.config/ahi-upload/config` (or the file `AHI_UPLOAD_CONFIG` names).
struct Defaults: Sendable {
    let environment: [String: String]
    let file: [String: String]

    /// The process's defaults (the config file is read on first use, once).
    static let current = Defaults(environment: ProcessInfo.processInfo.environment)

    init(environment: [String: String]) {
        self.environment = environment
        file = Self.configFile(environment)
    }

    /// `key = value` lines, `#` comments.
    static func configFile(_ env: [String: String]) -> [String: String] {
        let home = env["HOME"] ?? NSHomeDirectory()
        let path = env["AHI_UPLOAD_CONFIG"] ?? "\(home)/.config/ahi-upload/config"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var out: [String: String] = [:]
        for line in text.split(whereSeparator: \.isNewline) {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard !t.isEmpty, !t.hasPrefix("#"), let eq = t.firstIndex(of: "=") else { continue }
            out[t[..<eq].trimmingCharacters(in: .whitespaces)] = t[t.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        return out
    }

    /// Flag, else `AHI_<NAME>`, else the config file's `name`.
    func pick(_ flag: String?, _ name: String) -> String? {
        if let flag, !flag.isEmpty { return flag }
        let variable = "AHI_" + name.uppercased().replacingOccurrences(of: "-", with: "_")
        if let v = environment[variable], !v.isEmpty { return v }
        return file[name]
    }
}
