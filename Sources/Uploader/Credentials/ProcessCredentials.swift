import Foundation

/// `credential_process`: a helper program that prints credentials as JSON
/// (`Version` 1, `AccessKeyId`, `SecretAccessKey`, optional `SessionToken` and `Expiration`).
///
/// Run again by ``CredentialProvider`` before its credentials expire. Its failures say
/// why: the exit status with the first lines of its stderr (as botocore shows them,
/// with anything that looks like a key, secret or token blanked), an `Expiration` that
/// is not a time, credentials that have already expired.
enum ProcessCredentials {
    /// Lines and characters of the helper's stderr quoted in an error.
    static let quotedLines = 5, quotedLineLength = 200

    /// Runs `command` through `/bin/sh -c` (a value continued over several lines is one
    /// command, as botocore splits it) and reads its JSON. Errors name the command, with
    /// anything in it that looks like a secret (or that the helper printed as one) blanked.
    static func run(_ shellCommand: String, source: String) throws(CredentialError) -> AWSCredentials {
        let shellCommand = shellCommand.split(separator: "\n").joined(separator: " ")
        var command = redact(shellCommand, hiding: [])
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", shellCommand]
        let out = Pipe()
        p.standardOutput = out
        // stderr to a private file, not a pipe: a chatty helper cannot block on a full pipe.
        let errURL = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-credential-process-\(UUID().uuidString)")
        guard FileManager.default.createFile(atPath: errURL.path, contents: nil, attributes: [.posixPermissions: 0o600]),
              let errHandle = try? FileHandle(forWritingTo: errURL) else {
            throw .process(command: command, reason: "cannot create a file for its stderr in \(errURL.deletingLastPathComponent().path)")
        }
        defer { try? FileManager.default.removeItem(at: errURL) }
        p.standardError = errHandle
        do { try p.run() } catch {
            try? errHandle.close()
            throw .process(command: command, reason: "cannot start /bin/sh: \(error)")
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        try? errHandle.close()
        let errData = (try? FileHandle(forReadingFrom: errURL)).flatMap { h in
            defer { try? h.close() }
            return try? h.read(upToCount: 64 << 10)
        } ?? Data()
        let obj = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
        // Whatever it printed that could be secret is blanked from the stderr it printed.
        let printed = ["AccessKeyId", "SecretAccessKey", "SessionToken", "Token"].compactMap { obj?[$0] as? String }
        command = redact(command, hiding: printed)
        func said() -> String { stderrExcerpt(errData, hiding: printed) }

        if p.terminationReason == .uncaughtSignal {
            throw .process(command: command, reason: "was killed by signal \(p.terminationStatus)" + said())
        }
        guard p.terminationStatus == 0 else {
            throw .process(command: command, reason: "exited with status \(p.terminationStatus)" + said())
        }
        guard let obj else {
            throw .process(command: command, reason: "printed no JSON object on stdout (\(data.count) bytes)" + said())
        }
        guard (obj["Version"] as? Int) == 1 else {
            throw .process(command: command, reason: "unsupported Version (expected 1)")
        }
        guard let id = obj["AccessKeyId"] as? String, !id.isEmpty,
              let secret = obj["SecretAccessKey"] as? String, !secret.isEmpty else {
            throw .process(command: command, reason: "AccessKeyId or SecretAccessKey missing")
        }
        let token = (obj["SessionToken"] as? String).flatMap { $0.isEmpty ? nil : $0 }
        for (name, value) in [("AccessKeyId", id), ("SecretAccessKey", secret), ("SessionToken", token ?? "")] {
            if let problem = AWSCredentials.keyProblem(value, name: "its " + name) { throw .process(command: command, reason: problem) }
        }
        return AWSCredentials(accessKeyId: id, secretAccessKey: secret, sessionToken: token,
                              expiration: try expiration(obj["Expiration"], command: command), source: "\(source) credential_process")
    }

    /// The `Expiration` field: absent (or null) for long-term keys; otherwise an ISO 8601
    /// time still in the future. Anything else is an error, never "does not expire".
    static func expiration(_ field: Any?, command: String) throws(CredentialError) -> Date? {
        guard let field, !(field is NSNull) else { return nil }
        guard let text = field as? String else {
            throw .process(command: command, reason: "its Expiration is not a string (an ISO 8601 time such as 2026-11-23T12:00:00Z)")
        }
        let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
        guard let date = parseISO8601(text) else {
            throw .process(command: command, reason: "its Expiration \(shown.debugDescription) is not an ISO 8601 time such as 2026-11-23T12:00:00Z")
        }
        let left = date.timeIntervalSinceNow
        guard left > 0 else {
            throw .process(command: command, reason: "it returned credentials that expired at \(text) (\(Int(-left)) s ago); "
                               + "check the helper's cache and this machine's clock")
        }
        return date
    }

    /// `; its stderr:` and the first lines the helper wrote there (anything like a
    /// key, secret or token blanked), or `(nothing on stderr)`.
    static func stderrExcerpt(_ data: Data, hiding secrets: [String]) -> String {
        let text = redact(String(decoding: data, as: UTF8.self), hiding: secrets)
        let lines = text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" || $0 == "\r" })
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !lines.isEmpty else { return " (nothing on stderr)" }
        let quoted = lines.prefix(quotedLines).map { line in
            "\n    " + (line.count > quotedLineLength ? String(line.prefix(quotedLineLength)) + "…" : line)
        }
        let more = lines.count > quotedLines ? "\n    … (\(lines.count - quotedLines) more lines)" : ""
        return "; its stderr:" + quoted.joined() + more
    }

    /// `text` with the given values, and anything shaped like an access key id, a secret
    /// or session token (40+ base64 characters), or a `secret=`/`token:`/`password=`
    /// value, replaced by `[redacted]`.
    static func redact(_ text: String, hiding secrets: [String]) -> String {
        var out = text
        for s in secrets where s.count >= 8 { out = out.replacingOccurrences(of: s, with: "[redacted]") }
        out = out.replacing(#/(?i)((?:secret|token|password|passwd)[A-Za-z_-]*["']?\s*[:=]\s*)["']?[^\s"',}]+/#) { match in
            match.output.1 + "[redacted]"
        }
        out = out.replacing(#/(?:AKIA|ASIA|AROA|AIDA|AGPA|ANPA|ANVA|AIPA|A3T[A-Z0-9])[A-Z0-9]{12,}/#, with: "[redacted]")
        return out.replacing(#/[A-Za-z0-9\/+=]{40,}/#, with: "[redacted]")
    }
}
