import Foundation

/// The AWS shared `credentials` and `config` files, read with the grammar botocore
/// (the AWS CLI) uses (`configloader.raw_config_parse` over Python's `configparser`),
/// made strict where botocore is silent, so a line that would be misread stops the run
/// with its file and line instead of signing for the wrong region:
///
/// - Lines end at `\n`, `\r\n` or `\r`; a UTF-8 byte-order mark at the start is skipped.
/// - Blank lines, and lines whose first non-blank character is `#` or `;`, are ignored
///   (indented or not).
/// - `[name]` at the start of a line opens a section; after the `]` only blanks or a
///   comment may follow. In `credentials` the name is the profile; in `config` it is
///   `default` or `profile NAME`, and `[sso-session NAME]`, `[services NAME]` and others
///   are other kinds of section, parsed but not profiles. A section named twice is one
///   section (later settings win).
/// - `key = value` (or `key: value`, as botocore) at the start of a line is a property.
///   Keys are case-insensitive (sub-setting keys keep their case, as in botocore); the value is trimmed, and `#` or `;` after a blank
///   starts a comment (values may hold `#` and `;` otherwise). An empty value is unset.
/// - A line that starts with a blank (space or tab) continues the property above it.
///   Under a property with an empty value (`s3 =`) the indented lines are a sub-section
///   of `key = value` lines; under a non-empty value they are further lines of it,
///   joined with `\n` (a long `credential_process`). Stricter than botocore: an indented
///   line right under a section header (with no property to continue) and an indented
///   `name = value` under a non-empty value (which botocore silently folds into that
///   value, so `name` stays unset) are errors, as is any other line that is none of the
///   above (a property before the first section, a line without `=`).
public struct ProfileFiles: Sendable {
    /// Settings by profile name from the credentials file (empty values left out).
    public var credentials: [String: [String: String]] = [:]
    /// Settings by profile name from the config file (empty values left out).
    public var config: [String: [String: String]] = [:]
    /// Sub-sections (`s3 =` followed by indented `key = value` lines) by profile and key, from both files.
    public var subsections: [String: [String: [String: String]]] = [:]
    /// The credentials file read (or looked for).
    public var credentialsPath = ""
    /// The config file read (or looked for).
    public var configPath = ""
    /// Which of the two files exist.
    public var existing: [String] = []
    /// Line numbers of the settings, by profile and key, per file (for messages).
    var credentialsLines: [String: [String: Int]] = [:]
    var configLines: [String: [String: Int]] = [:]

    /// `PATH or PATH`, and whether they exist, for messages.
    public var searched: String {
        let both = "\(credentialsPath) or \(configPath)"
        if existing.isEmpty { return "no \(both) (neither file exists)" }
        let names = Set(credentials.keys).union(config.keys).sorted()
        return "not in \(both)" + (names.isEmpty ? "" : " (profiles there: \(names.joined(separator: ", ")))")
    }

    /// Reads the files named by `AWS_SHARED_CREDENTIALS_FILE` / `AWS_CONFIG_FILE`,
    /// or `~/.aws/credentials` and `~/.aws/config`. Missing files are empty.
    /// - Throws: ``CredentialError/invalid(source:reason:)`` naming the file and line of
    ///   the first line that cannot be parsed, or a file that is not UTF-8.
    public static func load(environment: [String: String]) throws(CredentialError) -> ProfileFiles {
        let home = environment["HOME"] ?? NSHomeDirectory()
        func expand(_ p: String) -> String { p.hasPrefix("~/") ? home + p.dropFirst() : p }
        var files = ProfileFiles()
        files.credentialsPath = expand(environment["AWS_SHARED_CREDENTIALS_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "~/.aws/credentials")
        files.configPath = expand(environment["AWS_CONFIG_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? "~/.aws/config")
        for isConfig in [true, false] {
            let path = isConfig ? files.configPath : files.credentialsPath
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            guard let text = String(data: data, encoding: .utf8) else {
                throw .invalid(source: path, reason: "not UTF-8 text")
            }
            let parsed = try parse(text, path: path, isConfig: isConfig)
            if isConfig {
                (files.config, files.configLines) = (parsed.settings, parsed.lines)
            } else {
                (files.credentials, files.credentialsLines) = (parsed.settings, parsed.lines)
            }
            files.subsections.merge(parsed.subsections) { fromConfig, fromCredentials in
                fromConfig.merging(fromCredentials) { _, b in b }
            }
            files.existing.append(path)
        }
        return files
    }

    /// One parsed file: settings, sub-sections and line numbers by profile.
    public struct Parsed: Sendable, Equatable {
        /// Settings by profile and key; empty values left out.
        public var settings: [String: [String: String]] = [:]
        /// Sub-sections by profile and key.
        public var subsections: [String: [String: [String: String]]] = [:]
        /// The line each setting was defined on (its first line).
        public var lines: [String: [String: Int]] = [:]
    }

    /// Parses one file's text (see the type's documentation for the grammar).
    /// - Parameters:
    ///   - path: the file's name, for messages.
    ///   - isConfig: `config` (profiles are `[default]` and `[profile NAME]`) rather than `credentials`.
    /// - Throws: ``CredentialError/invalid(source:reason:)`` with source `PATH line N`.
    public static func parse(_ text: String, path: String, isConfig: Bool) throws(CredentialError) -> Parsed {
        var raw = RawParse(path: path)
        var body = Substring(text)
        if body.unicodeScalars.first == "\u{FEFF}" { body = Substring(body.unicodeScalars.dropFirst()) }
        var number = 0
        for line in body.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" }) {
            number += 1
            try raw.read(line, number: number)
        }
        return raw.finish(isConfig: isConfig)
    }

    /// The settings of `profile`: the config file's, overridden by the credentials file's.
    public func settings(of profile: String) -> [String: String]? {
        let c = config[profile], k = credentials[profile]
        if c == nil && k == nil { return nil }
        return (c ?? [:]).merging(k ?? [:]) { _, fromCredentials in fromCredentials }
    }

    /// Where a setting of `profile` comes from, as messages name it: `profile NAME in PATH line N`.
    public func origin(of key: String, in profile: String) -> String {
        if let line = credentialsLines[profile]?[key] { return "profile \(profile) in \(credentialsPath) line \(line)" }
        if let line = configLines[profile]?[key] { return "profile \(profile) in \(configPath) line \(line)" }
        return "profile \(profile)"
    }
}

/// The line-by-line state of one file's parse: sections by their header, and the
/// property that indented lines continue.
private struct RawParse {
    struct Property {
        var key: String
        var value: String
        var line: Int
        /// Defined with an empty value: indented lines below are `key = value` sub-settings.
        var isSubsection: Bool
        var subsettings: [String: String] = [:]
    }

    let path: String
    /// Section name → key → property. Messages never quote a line: it could hold a secret.
    var sections: [String: [String: Property]] = [:]
    /// Section names in the order they first appear (a profile named twice, as `[default]`
    /// and `[profile default]`, takes the later section's settings).
    var order: [String] = []
    var section: String?
    var property: String?

    init(path: String) { self.path = path }

    func error(_ number: Int, _ reason: String) -> CredentialError {
        .invalid(source: "\(path) line \(number)", reason: reason)
    }

    mutating func read(_ line: Substring, number: Int) throws(CredentialError) {
        let text = line.trimmingCharacters(in: .whitespaces)
        if text.isEmpty || text.hasPrefix("#") || text.hasPrefix(";") { return }
        if line.first == " " || line.first == "\t" {
            try continueProperty(text, number: number)
        } else if text.hasPrefix("[") {
            try openSection(text, number: number)
        } else {
            try defineProperty(text, number: number)
        }
    }

    mutating func openSection(_ text: String, number: Int) throws(CredentialError) {
        guard let close = text.firstIndex(of: "]") else {
            throw error(number, "a section header needs a closing ]")
        }
        let after = text[text.index(after: close)...].trimmingCharacters(in: .whitespaces)
        guard after.isEmpty || after.hasPrefix("#") || after.hasPrefix(";") else {
            throw error(number, "text after the section header's ]; only a # or ; comment may follow it")
        }
        let name = text[text.index(after: text.startIndex)..<close].trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty else { throw error(number, "a section header without a name ([])") }
        section = name
        property = nil
        if sections[name] == nil {
            sections[name] = [:]
            order.append(name)
        }
    }

    mutating func defineProperty(_ text: String, number: Int) throws(CredentialError) {
        guard let section else {
            throw error(number, "a setting before the first [section] header; put it under [default] or [profile NAME]")
        }
        guard let (name, value) = Self.split(text) else {
            throw error(number, "neither a [section] header, a key = value setting, an indented continuation nor a # comment")
        }
        let key = name.lowercased()
        guard !key.isEmpty else { throw error(number, "a setting without a name before its =") }
        sections[section, default: [:]][key] = Property(key: key, value: value, line: number, isSubsection: value.isEmpty)
        property = key
    }

    mutating func continueProperty(_ text: String, number: Int) throws(CredentialError) {
        guard let section, let key = property, var p = sections[section]?[key] else {
            let under = section.map { "under [\($0)]" } ?? "before the first [section] header"
            throw error(number, "an indented line \(under) with no setting above it to continue; "
                            + "remove the indentation (an indented line continues the setting above it)")
        }
        if p.isSubsection {
            guard let (subkey, subvalue) = Self.split(text), !subkey.isEmpty else {
                throw error(number, "the sub-section \(key) (line \(p.line)) holds key = value lines; this one has no =")
            }
            p.subsettings[subkey] = subvalue
        } else {
            if let (name, _) = Self.split(text), !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) {
                // botocore folds it into the value above and leaves the setting unset: say so instead.
                throw error(number, "this indented key = value line continues the value of \(key) (line \(p.line)) and sets nothing; "
                                + "remove its indentation to make it a setting, or leave \(key) = empty to make \(key) a sub-section")
            }
            p.value += "\n" + text
        }
        sections[section]?[key] = p
    }

    /// `key = value` (or `key: value`, at whichever comes first): the key (settings'
    /// keys are lower-cased by the caller, sub-settings' kept, as botocore does) and the
    /// value without an inline comment (`#`/`;` after a blank); nil without a delimiter.
    static func split(_ text: String) -> (String, String)? {
        guard let delimiter = text.firstIndex(where: { $0 == "=" || $0 == ":" }) else { return nil }
        let key = text[..<delimiter].trimmingCharacters(in: .whitespaces)
        var value = Substring(text[text.index(after: delimiter)...])
        var previous: Character = " "
        for i in value.indices {
            let c = value[i]
            if (c == "#" || c == ";"), previous == " " || previous == "\t" { value = value[..<i]; break }
            previous = c
        }
        return (key, value.trimmingCharacters(in: .whitespaces))
    }

    /// Profiles (config: `default` and `profile NAME`) with non-empty settings and sub-sections.
    func finish(isConfig: Bool) -> ProfileFiles.Parsed {
        var out = ProfileFiles.Parsed()
        for name in order {
            guard let properties = sections[name], let profile = Self.profileName(name, isConfig: isConfig) else { continue }
            var settings = out.settings[profile] ?? [:], lines = out.lines[profile] ?? [:]
            for (key, p) in properties {
                if p.isSubsection {
                    if !p.subsettings.isEmpty { out.subsections[profile, default: [:]][key] = p.subsettings }
                } else {
                    settings[key] = p.value
                    lines[key] = p.line
                }
            }
            out.settings[profile] = settings
            out.lines[profile] = lines
        }
        return out
    }

    /// The profile a section is: any name in `credentials`; `default` or `profile NAME` in `config`.
    static func profileName(_ section: String, isConfig: Bool) -> String? {
        guard isConfig else { return section }
        if section == "default" { return "default" }
        guard section.hasPrefix("profile"), let blank = section.dropFirst("profile".count).first, blank == " " || blank == "\t" else {
            return nil
        }
        let name = section.dropFirst("profile".count).trimmingCharacters(in: .whitespaces)
        return name.isEmpty ? nil : name
    }
}
