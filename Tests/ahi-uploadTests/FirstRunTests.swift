import Foundation
import TestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// A loopback port nothing listens on (bound, then closed).
private func closedPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, len) } }
    _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &len) } }
    return Int(UInt16(bigEndian: addr.sin_port))
}

/// A new user's machine: an empty HOME, no AWS variables, no metadata service.
private func scrubbed() throws -> (home: URL, env: [String: String]) {
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-first-run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
    let env = ["HOME": home.path, "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin",
               "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:\(closedPort())"]
    return (home, env)
}

private let awsArguments = ["--datastore", String(repeating: "0", count: 32), "--bucket", "my-import-bucket",
                            "--role-arn", "arn:aws:iam::123456789012:role/HealthImagingImport", "--region", "us-east-1"]

/// No credentials anywhere: one message lists every source tried and why each gave
/// nothing, then what to do — not the last provider's failure alone.
@Test(.timeLimit(.minutes(2))) func noCredentialsListsEverySourceTried() throws {
    let (home, env) = try scrubbed()
    defer { try? FileManager.default.removeItem(at: home) }
    let r = try run(toolPath(), [fixture("sample-study")] + awsArguments, environment: env)
    #expect(r.status == 1, "\(r.out)\(r.err)")
    for expected in ["no AWS credentials found", "environment: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set",
                     "web identity: AWS_WEB_IDENTITY_TOKEN_FILE is not set",
                     "profile default: no \(home.path)/.aws/credentials or \(home.path)/.aws/config (neither file exists)",
                     "container endpoint: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and AWS_CONTAINER_CREDENTIALS_FULL_URI are not set",
                     "instance metadata: ", "aws configure", "AWS_PROFILE", "--profile", "--local"] {
        #expect(r.err.contains(expected), "missing \"\(expected)\" in:\n\(r.err)")
    }
    #expect(!r.err.contains("Error: instance metadata"), "\(r.err)")
}

/// A profile that does not exist names the files searched (and the profiles they hold).
@Test(.timeLimit(.minutes(2))) func unknownProfileNamesTheFilesSearched() throws {
    let (home, env) = try scrubbed()
    defer { try? FileManager.default.removeItem(at: home) }
    let r = try run(toolPath(), [fixture("sample-study"), "--profile", "nosuch"] + awsArguments, environment: env)
    #expect(r.status == 1)
    #expect(r.err.contains("profile \"nosuch\"") && r.err.contains("\(home.path)/.aws/credentials or \(home.path)/.aws/config"),
            "\(r.err)")
    try FileManager.default.createDirectory(at: home.appendingPathComponent(".aws"), withIntermediateDirectories: true)
    try "[profile work]\nregion = eu-west-1\n".write(to: home.appendingPathComponent(".aws/config"), atomically: true, encoding: .utf8)
    let again = try run(toolPath(), [fixture("sample-study"), "--profile", "nosuch"] + awsArguments, environment: env)
    #expect(again.err.contains("not in \(home.path)/.aws/credentials or \(home.path)/.aws/config (profiles there: work)"), "\(again.err)")
}

/// A path that does not exist is an error before anything starts (exit 2), for every command that takes paths.
@Test(.timeLimit(.minutes(2))) func missingPathsStopBeforeAnythingStarts() throws {
    let (home, env) = try scrubbed()
    defer { try? FileManager.default.removeItem(at: home) }
    let missing = "/no/such/folder"
    for arguments in [[missing, "--local"], ["validate", missing], ["dump", missing], ["verify", missing, "--local"],
                      ["upload", missing, "s3://bucket/prefix"], ["sync", missing, "--local"], ["watch", missing, "--local"],
                      ["decode", missing, "--out", "x.pgm"], ["render", missing, "--png", "x.png"]] {
        let r = try run(toolPath(), arguments, environment: env)
        #expect(r.status == 2, "\(arguments): \(r.status) \(r.out)\(r.err)")
        #expect(r.err.contains("\(missing): no such file or directory"), "\(arguments): \(r.err)")
        #expect(!r.err.contains("local: HealthImaging") && !r.out.contains("files:"), "\(arguments) started anyway: \(r.out)\(r.err)")
    }
    // A file where a folder is needed.
    let file = try run(toolPath(), ["sync", fixture("ct_explicit_le.dcm"), "--local"], environment: env)
    #expect(file.status == 2 && file.err.contains("not a folder"), "\(file.err)")
}

/// `status` before the first `sync`: says so, exits 0 (monitoring calls it), in text and JSON.
@Test func statusBeforeTheFirstSync() throws {
    let (home, env) = try scrubbed()
    defer { try? FileManager.default.removeItem(at: home) }
    let state = home.appendingPathComponent("state").path
    let r = try run(toolPath(), ["status", "--state-dir", state], environment: env)
    #expect(r.status == 0 && r.out.contains("no sync has run yet with the state directory \(state)"), "\(r.out)\(r.err)")
    let j = try run(toolPath(), ["status", "--state-dir", state, "--output", "json"], environment: env)
    let o = try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any]
    #expect(j.status == 0 && o?["exists"] as? Bool == false && (o?["counts"] as? [String: Int])?["imported"] == 0, "\(j.out)")
    #expect(!FileManager.default.fileExists(atPath: state))  // looking does not create it
}

/// After the first import, on a terminal only: the `verify` and `render` commands that prove it worked.
@Test(.timeLimit(.minutes(3))) func nextStepsOnATerminalOnly() throws {
    let (home, env) = try scrubbed()
    defer { try? FileManager.default.removeItem(at: home) }
    let sample = fixture("sample-study"), dir = home.appendingPathComponent("local").path
    let command = "\(toolPath()) \(sample) --local --local-dir \(dir)"
    let tty = try run("script", ["-qec", command, "/dev/null"], environment: env)
    #expect(tty.status == 0, "\(tty.out)\(tty.err)")
    #expect(tty.out.contains("Next steps:"), "\(tty.out)")
    #expect(tty.out.contains("ahi-upload verify \(sample) --local --local-dir \(dir)"), "\(tty.out)")
    #expect(tty.out.contains("ahi-upload render \(sample)/") && tty.out.contains("--png "), "\(tty.out)")
    let piped = try run(toolPath(), [sample, "--local", "--local-dir", dir], environment: env)
    #expect(piped.status == 0 && piped.out.contains("6 files:") && !piped.out.contains("Next steps"), "\(piped.out)")
    // The suggested verify works as printed.
    let verify = try run(toolPath(), ["verify", sample, "--local", "--local-dir", dir], environment: env)
    #expect(verify.status == 0 && verify.out.contains("0 problems"), "\(verify.out)\(verify.err)")
}

/// The top-level help answers the first questions: what the default does, how to try it, where defaults come from.
@Test func topLevelHelpSaysWhatTheDefaultDoes() throws {
    let r = try run(toolPath(), ["--help"])
    #expect(r.status == 0)
    // Help is wrapped to the terminal's width: compare the text with its line breaks folded.
    let text = r.out.split(whereSeparator: \.isWhitespace).joined(separator: " ")
    for phrase in ["(the default command, import) validates every file", "Try it without an AWS account: ahi-upload FOLDER --local",
                   "come from AHI_* variables (AHI_DATASTORE, …) or ~/.config/ahi-upload/config"] {
        #expect(text.contains(phrase), "missing \"\(phrase)\" in:\n\(r.out)")
    }
}
