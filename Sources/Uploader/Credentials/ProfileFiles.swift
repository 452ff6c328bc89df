import Foundation

/// The AWS shared `credentials` and `config` files (INI), as the SDKs read them.
///
/// - credentials: sections are bare profile names (`[default]`, `[prod]`).
/// - config: `[default]` and `[profile NAME]`; `[sso-session NAME]` and
///   `[services NAME]` are other kinds of section and are kept apart.
/// Keys are case-insensitive; `#` and `;` start comment lines; indented lines
/// under a key (`s3 =` sub-settings) belong to that key and are ignored here.
public struct ProfileFiles: Sendable {
    /// Settings by profile name from the credentials file.
    public var credentials: [String: [String: String]] = [:]
    /// Settings by profile name from the config file.
    public var config: [String: [String: String]] = [:]
    /// The credentials file read (or looked for).
    public var credentialsPath = ""
    /// The config file read (or looked for).
    public var configPath = ""
    /// Which of the two files exist.
    public var existing: [String] = []

    /// `PATH or PATH`, and whether they exist, for messages.
    public var searched: String {
        let both = "\(credentialsPath) or \(configPath)"
        if existing.isEmpty { return "no \(both) (neither file exists)" }
        let names = Set(credentials.keys).union(config.keys).sorted()
        return "not in \(both)" + (names.isEmpty ? "" : " (profiles there: \(names.joined(separator: ", ")))")
    }

    /// Reads the files named by `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`,
    /// or `~/.aws/credentials` and `~/.aws/config`. Missing files are empty.
    public static func load(environment: [String: String]) -> ProfileFiles {
        let home = environment["HOME"] ?? NSHomeDirectory()
        func expand(_ p: String) -> String { p.hasPrefix("~/") ? home + p.dropFirst() : p }
        let credentialsPath = expand(environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials")
        let configPath = expand(environment["AWS_CONFIG_FILE"] ?? "~/.aws/config")
        var files = ProfileFiles()
        files.credentialsPath = credentialsPath
        files.configPath = configPath
        if let text = try? String(contentsOfFile: credentialsPath, encoding: .utf8) {
            files.credentials = parse(text, isConfig: false)
            files.existing.append(credentialsPath)
        }
        if let text = try? String(contentsOfFile: configPath, encoding: .utf8) {
            files.config = parse(text, isConfig: true)
            files.existing.append(configPath)
        }
        return files
    }

    /// Parses one file into profile → settings.
    public static func parse(_ text: String, isConfig: Bool) -> [String: [String: String]] {
        var out: [String: [String: String]] = [:]
        var current: String?
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            if rawLine.first == " " || rawLine.first == "\t" { continue }  // sub-setting of the previous key
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("[") {
                guard let close = line.firstIndex(of: "]") else { current = nil; continue }
                let name = line[line.index(after: line.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                if !isConfig {
                    current = name
                } else if name == "default" {
                    current = "default"
                } else if name.hasPrefix("profile ") || name.hasPrefix("profile\t") {
                    current = name.dropFirst("profile".count).trimmingCharacters(in: .whitespaces)
                } else {
                    current = nil  // sso-session, services, …: not profiles
                }
                if let c = current, out[c] == nil { out[c] = [:] }
                continue
            }
            guard let profile = current, let eq = line.firstIndex(of: "=") else { continue }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces).lowercased()
            var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            // An inline comment needs whitespace before it (values may hold # and ;).
            for marker in [" #", " ;", "\t#", "\t;"] {
                if let r = value.range(of: marker) { value = value[..<r.lowerBound].trimmingCharacters(in: .whitespaces) }
            }
            out[profile, default: [:]][key] = value
        }
        return out
    }

    /// The settings of `profile`: the config file's, overridden by the credentials file's.
    public func settings(of profile: String) -> [String: String]? {
        let c = config[profile], k = credentials[profile]
        if c == nil && k == nil { return nil }
        return (c ?? [:]).merging(k ?? [:]) { _, fromCredentials in fromCredentials }
    }
}
