import Foundation
import TestSupport
import Testing
@testable import Uploader

/// The shared-config grammar (ProfileFiles), checked against botocore (the AWS CLI's reader)
/// through Tests/Oracle/shared_config.py, and the region and key checks on what it reads.
@Suite struct SharedConfigTests {
    /// A temporary folder with `files` written into it (name → text).
    func folder(_ files: [String: String]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".aws"), withIntermediateDirectories: true)
        for (name, text) in files { try Data(text.utf8).write(to: dir.appendingPathComponent(name)) }
        return dir
    }

    /// botocore's profiles for `text`: settings with empty values left out, and sub-sections; nil when it refuses the file.
    func botocore(_ text: String) throws -> (settings: [String: [String: String]], subsections: [String: [String: [String: String]]])? {
        let dir = try folder(["config": text])
        defer { try? FileManager.default.removeItem(at: dir) }
        let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/shared_config.py").path, dir.appendingPathComponent("config").path])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any], "\(r.err)")
        guard let profiles = json["profiles"] as? [String: [String: Any]] else { return nil }
        var settings: [String: [String: String]] = [:], subsections: [String: [String: [String: String]]] = [:]
        for (profile, values) in profiles {
            settings[profile] = [:]
            for (key, value) in values {
                if let nested = value as? [String: String] { subsections[profile, default: [:]][key] = nested }
                if let text = value as? String, !text.isEmpty { settings[profile]?[key] = text }
            }
        }
        return (settings, subsections)
    }

    /// Files both readers accept, and read alike.
    static let agreed: [String] = [
        // A sub-section (blank and comment lines inside it), then a setting after it.
        "[default]\nregion = eu-west-1\ns3 =\n  max_concurrent_requests = 20\n\n  # tuned\n  Addressing_Style = path\noutput = json\n",
        // ':' as the delimiter, tabs, upper-case keys, '=' and ':' inside values, an empty value.
        "[profile tools]\nRegion: us-east-2\nrole_arn = arn:aws:iam::123456789012:role/x\ncredential_process\t=\thelper --a=b\noutput =\n",
        // A value continued on indented lines (a long credential_process).
        "[profile long]\ncredential_process = helper\n  --profile x\n\t--verbose\nregion = ap-south-1\n",
        // CRLF line endings, comments of both kinds, indented comments, a spaced profile header.
        "; top\r\n[profile  spaced]\r\n# a comment\r\nregion = sa-east-1\r\n   ; indented comment\r\n",
        // Sections that are not profiles, with sub-sections of their own.
        "[sso-session corp]\nsso_region = us-east-1\n[services local]\ns3 =\n  endpoint_url = http://127.0.0.1:9000\n[default]\nregion = us-west-2\n",
    ]

    @Test func grammarAgreesWithBotocore() throws {
        for text in Self.agreed {
            let mine = try ProfileFiles.parse(text, path: "config", isConfig: true)
            let theirs = try #require(try botocore(text), "botocore refused \(text.debugDescription)")
            #expect(mine.settings.filter { !$0.value.isEmpty } == theirs.settings.filter { !$0.value.isEmpty }, "\(text.debugDescription)")
            #expect(mine.subsections == theirs.subsections, "\(text.debugDescription)")
        }
    }

    /// Lines that cannot be read stop with the file and line; botocore refuses these too
    /// (without a line) or, for the first two, silently misreads them.
    @Test func unparsableLinesNameFileAndLine() throws {
        let cases: [(text: String, line: Int, says: String, botocoreRefuses: Bool)] = [
            ("[default]\n  region = eu-west-1\n", 2, "no setting above it to continue", false),
            ("[default]\noutput = json\n  region = eu-west-1\n", 3, "continues the value of output (line 2) and sets nothing", false),
            ("[default]\nregion = eu-west-1\nthis line has no equals sign\n", 3, "neither a [section] header", true),
            ("region = eu-west-1\n[default]\n", 1, "before the first [section]", true),
            ("[default]\ns3 =\n  max_concurrent_requests\n", 3, "sub-section s3 (line 2) holds key = value lines", true),
            ("# ok\n[default\nregion = eu-west-1\n", 2, "closing ]", true),
            ("[default]\n= value\n", 2, "without a name", true),
        ]
        for c in cases {
            do {
                _ = try ProfileFiles.parse(c.text, path: "/home/u/.aws/config", isConfig: true)
                Issue.record("accepted \(c.text.debugDescription)")
            } catch {
                #expect("\(error)".hasPrefix("/home/u/.aws/config line \(c.line): "), "\(error)")
                #expect("\(error)".contains(c.says), "\(error)")
            }
            if c.botocoreRefuses { #expect(try botocore(c.text) == nil, "\(c.text.debugDescription)") }
        }
        // What botocore makes of the first two: region is not set.
        #expect(try botocore("[default]\noutput = json\n  region = eu-west-1\n")?.settings["default"]?["region"] == nil)
        // A line that could be a pasted secret is never quoted.
        do {
            _ = try ProfileFiles.parse("[default]\nwJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY\n", path: "credentials", isConfig: false)
        } catch {
            #expect(!"\(error)".contains("wJalrXUtnFEMI"), "\(error)")
        }
    }

    /// Where ahi-upload reads more than botocore: a byte-order mark, inline comments
    /// (the SDKs' rule: `#` or `;` after a blank), a profile named twice (merged).
    @Test func friendlierThanBotocore() throws {
        let bom = "\u{FEFF}[default]\nregion = eu-west-1\n"
        #expect(try ProfileFiles.parse(bom, path: "config", isConfig: true).settings["default"]?["region"] == "eu-west-1")
        #expect(try botocore(bom) == nil)
        let inline = "[default]\nregion = eu-west-1 # Ireland\nrole_arn = arn:aws:iam::1:role/a#b\n"
        let parsed = try ProfileFiles.parse(inline, path: "config", isConfig: true).settings["default"]
        #expect(parsed?["region"] == "eu-west-1" && parsed?["role_arn"] == "arn:aws:iam::1:role/a#b")
        let twice = "[default]\nregion = eu-west-1\n[profile x]\nregion = us-east-1\n[default]\noutput = json\n"
        #expect(try ProfileFiles.parse(twice, path: "config", isConfig: true).settings["default"] == ["region": "eu-west-1", "output": "json"])
        #expect(try botocore(twice) == nil)
    }

    /// The chain as a user meets it: an indented region is an error with file and line,
    /// not a silent us-east-1; an empty `region =` is unset; a bad region names its source.
    @Test func regionFromTheFilesAndItsErrors() throws {
        let dir = try folder([".aws/config": "[default]\n  region = eu-west-1\n",
                              ".aws/credentials": "[default]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = secretexample\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = dir.appendingPathComponent(".aws/config")
        let env = ["HOME": dir.path]
        #expect(failure { try CredentialChain(environment: env).resolve() }.contains("\(config.path) line 2:"))
        #expect(failure { try resolveRegion(explicit: nil, environment: env, profile: "default") }
            .contains("\(config.path) line 2: an indented line under [default]"))

        try Data("[default]\nregion =\n[profile bad]\nregion = EU_WEST_1\n[profile spaced]\nregion = eu west 1\n".utf8).write(to: config)
        #expect(try resolveRegion(explicit: nil, environment: env, profile: "default") == nil)
        #expect(try CredentialChain(environment: env).resolve().accessKeyId == "AKIDEXAMPLE")
        for (profile, line) in [("bad", 4), ("spaced", 6)] {
            let error = failure { try resolveRegion(explicit: nil, environment: env, profile: profile) }
            #expect(error.hasPrefix("profile \(profile) in \(config.path) line \(line): region ") && error.contains("is not a region name"), "\(error)")
        }
        for (variable, value) in [("AWS_REGION", "eu-west-1\r"), ("AWS_DEFAULT_REGION", "s3.amazonaws.com/x"), ("AWS_REGION", "-x")] {
            let error = failure { try resolveRegion(explicit: nil, environment: env.merging([variable: value]) { $1 }, profile: "default") }
            #expect(error.hasPrefix("\(variable): region "), "\(error)")
        }
        let upper = failure { try resolveRegion(explicit: "US-EAST-1", environment: env, profile: "default") }
        #expect(upper.hasPrefix("--region: ") && upper.contains("lower-case: us-east-1"), "\(upper)")
        // Empty variables are unset; the one place every client's region comes from.
        #expect(try resolveRegion(explicit: "", environment: env.merging(["AWS_REGION": "", "AWS_DEFAULT_REGION": "us-gov-west-1"]) { $1 },
                                  profile: "default") == "us-gov-west-1")
    }

    @Test func regionForClients() async throws {
        let env = ["HOME": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"]
        #expect(try await signingRegion(explicit: nil, environment: env, profile: "default", customEndpoint: true) == "us-east-1")
        #expect(try await signingRegion(explicit: "eu-west-1", environment: env, profile: "default", customEndpoint: false) == "eu-west-1")
        #expect(await failure { try await signingRegion(explicit: nil, environment: env, profile: "default", customEndpoint: false) }
            .hasPrefix("no region: pass --region"))
        #expect(await failure { try await signingRegion(explicit: "eu_west_1", environment: env, profile: "default", customEndpoint: true) }
            .hasPrefix("--region: "))
    }

    /// Keys with a carriage return (a file saved on Windows, a pasted variable) or continued
    /// on an indented line are refused as they are loaded, naming the variable or the file
    /// and line, never the value.
    @Test func controlCharactersInKeys() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let base = ["HOME": "/nonexistent", "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": secret]
        for (variable, value, says) in [("AWS_SECRET_ACCESS_KEY", secret + "\r", "AWS_SECRET_ACCESS_KEY ends with a carriage return (U+000D)"),
                                        ("AWS_ACCESS_KEY_ID", "AKID EXAMPLE", "AWS_ACCESS_KEY_ID has, at character 5 of 12, a space"),
                                        ("AWS_SESSION_TOKEN", "\ttoken", "AWS_SESSION_TOKEN starts with a tab")] {
            let error = failure { try CredentialChain(environment: base.merging([variable: value]) { $1 }).resolve() }
            #expect(error.hasPrefix("environment: \(says)") && !error.contains("wJalrXUtn"), "\(error)")
        }
        let dir = try folder([".aws/credentials": "[default]\r\naws_access_key_id = AKIDEXAMPLE\r\naws_secret_access_key = \(secret)\u{0B}\r\n",
                              ".aws/config": "[profile wrapped]\naws_access_key_id = AKIDEXAMPLE\naws_secret_access_key = wJalrXUtnFEMI\n  K7MDENGbPxRfiCYEXAMPLEKEY\n"])
        defer { try? FileManager.default.removeItem(at: dir) }
        let vt = failure { try CredentialChain(environment: ["HOME": dir.path]).resolve() }
        #expect(vt.hasPrefix("profile default in \(dir.path)/.aws/credentials line 3: aws_secret_access_key ends with the character U+000B")
                && !vt.contains("wJalrXUtn"), "\(vt)")
        let wrapped = failure { try CredentialChain(environment: ["HOME": dir.path], profile: "wrapped").resolve() }
        #expect(wrapped.hasPrefix("profile wrapped in \(dir.path)/.aws/config line 3: aws_secret_access_key has, at character 14 of 39, a line feed")
                && wrapped.contains("remove that line's indentation") && !wrapped.contains("wJalrXUtn"), "\(wrapped)")
    }
}

/// The error `body` throws, as its message; "" (and an issue recorded) when it throws none.
func failure<T>(_ body: () throws -> T, sourceLocation: SourceLocation = #_sourceLocation) -> String {
    do { _ = try body() } catch { return "\(error)" }
    Issue.record("no error thrown", sourceLocation: sourceLocation)
    return ""
}

/// The error `body` throws, as its message; "" (and an issue recorded) when it throws none.
func failure<T>(_ body: () async throws -> T, sourceLocation: SourceLocation = #_sourceLocation) async -> String {
    do { _ = try await body() } catch { return "\(error)" }
    Issue.record("no error thrown", sourceLocation: sourceLocation)
    return ""
}

