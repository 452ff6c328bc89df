import Foundation
import Testing
@testable import Uploader

/// `credential_process` as a user meets it: its Expiration taken at its word (never "does
/// not expire" when it cannot be read), refreshed before expiry by running it again, and
/// its failures explained with its own stderr, secrets blanked.
@Suite struct CredentialProcessTests {
    /// A HOME whose ~/.aws/config has one profile per (name, credential_process), and a scratch folder.
    func home(_ profiles: [(String, String)]) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-process-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent(".aws"), withIntermediateDirectories: true)
        let config = profiles.map { "[profile \($0.0)]\ncredential_process = \($0.1)\n" }.joined(separator: "\n")
        try Data(config.utf8).write(to: dir.appendingPathComponent(".aws/config"))
        return dir
    }

    /// A helper printing keys with `expiration` (a shell word) as their Expiration.
    static func helper(expiration: String, counter: String? = nil) -> String {
        (counter.map { "echo run >> \($0); " } ?? "")
            + #"printf '{"Version": 1, "AccessKeyId": "ASIAPROCESS", "SecretAccessKey": "processsecret", "SessionToken": "processtoken", "Expiration": %s}' "#
            + expiration
    }

    @Test func anExpirationThatCannotBeTrustedIsAnError() throws {
        let dir = try home([
            ("empty", Self.helper(expiration: #"'""'"#)),
            ("words", Self.helper(expiration: #"'"tomorrow"'"#)),
            ("number", Self.helper(expiration: "1767225600")),
            ("past", Self.helper(expiration: #"'"2020-01-01T00:00:00Z"'"#)),
            ("null", Self.helper(expiration: "null")),
            ("offset", Self.helper(expiration: #"'"2099-01-01T00:00:00.123+02:00"'"#)),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = ["HOME": dir.path]
        for (profile, says) in [("empty", #"its Expiration "" is not an ISO 8601 time"#),
                                ("words", #"its Expiration "tomorrow" is not an ISO 8601 time"#),
                                ("number", "its Expiration is not a string"),
                                ("past", "it returned credentials that expired at 2020-01-01T00:00:00Z")] {
            let error = failure { try CredentialChain(environment: env, profile: profile).resolve() }
            #expect(error.hasPrefix("credential_process \"printf") && error.contains(says), "\(profile): \(error)")
            #expect(!error.contains("processsecret") && !error.contains("processtoken"))
        }
        #expect(try CredentialChain(environment: env, profile: "null").resolve().expiration == nil)
        #expect(try CredentialChain(environment: env, profile: "offset").resolve().expiration == parseISO8601("2098-12-31T22:00:00.123Z"))
    }

    @Test func theRefreshMarginFitsShortLifetimes() {
        #expect(CredentialProvider.refreshMargin(lifetime: 3600) == 300)
        #expect(CredentialProvider.refreshMargin(lifetime: 900) == 225)
        #expect(CredentialProvider.refreshMargin(lifetime: 20) == 5)
        #expect(CredentialProvider.refreshMargin(lifetime: -5) == 0)
    }

    /// Credentials that live 40 s are reused at once, refreshed (the process run again)
    /// before they expire, and concurrent callers share one run. (Sleeps are measured from the
    /// credentials' own Expiration, so a loaded machine's slow process start does not matter.)
    @Test(.timeLimit(.minutes(1))) func shortLivedCredentialsAreRefreshedBeforeExpiry() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-process-\(UUID().uuidString)")
        let counter = dir.appendingPathComponent("runs").path
        let home = try self.home([("short", Self.helper(expiration: #""\"$(date -u -d '+40 seconds' +%Y-%m-%dT%H:%M:%SZ)\"""#, counter: counter))])
        defer { try? FileManager.default.removeItem(at: home) }
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func runs() -> Int { ((try? String(contentsOfFile: counter, encoding: .utf8)) ?? "").split(separator: "\n").count }

        let provider = CredentialProvider(chain: CredentialChain(environment: ["HOME": home.path], profile: "short"))
        let first = try await provider.credentials()
        let expiration = try #require(first.expiration)
        // Generous bounds: on a loaded machine the helper process may take seconds to start.
        #expect(expiration.timeIntervalSinceNow > 12 && expiration.timeIntervalSinceNow <= 40)
        _ = try await provider.credentials()
        #expect(runs() == 1)
        // Into the last quarter of the lifetime (the refresh margin is a quarter of it), not past it.
        try await Task.sleep(for: .seconds(max(0, expiration.timeIntervalSinceNow - 3)))
        // Due (a quarter of the lifetime ahead): eight callers at once, one run.
        try await withThrowingTaskGroup(of: AWSCredentials.self) { group in
            for _ in 0..<8 { group.addTask { try await provider.credentials() } }
            for try await c in group { #expect(c.expiration.map { $0 > Date() } == true) }
        }
        #expect(runs() == 2)
        #expect(await provider.resolutions == 2)
    }

    /// A failing helper's stderr is quoted (first lines), with anything that looks like a
    /// key, secret or token it printed blanked.
    @Test func failuresQuoteTheHelpersStderrWithoutSecrets() throws {
        let secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
        let dir = try home([
            ("mfa", "echo 'MFA token required: run mfa-login first' >&2; exit 1"),
            ("leaky", #"printf '{"Version": 1, "AccessKeyId": "ASIALEAKYEXAMPLE1234", "SecretAccessKey": "short-secret-1"}'; "#
                + "echo 'debug: got ASIALEAKYEXAMPLE1234 / short-secret-1' >&2; echo 'aws_secret_access_key=\(secret)' >&2; "
                + "echo 'password: hunter2hunter2' >&2; exit 2"),
            ("chatty", "for i in 1 2 3 4 5 6 7; do echo line $i >&2; done; exit 3"),
            ("silent", "exit 4"),
            ("garbage", "echo not json; echo 'cannot reach the vault' >&2"),
            ("multiline", "printf\n  '{\"Version\": 1, \"AccessKeyId\": \"AKIDMULTI\", \"SecretAccessKey\": \"multi\"}'"),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let env = ["HOME": dir.path]
        func error(_ profile: String) -> String { failure { try CredentialChain(environment: env, profile: profile).resolve() } }

        #expect(error("mfa").hasSuffix("exited with status 1; its stderr:\n    MFA token required: run mfa-login first"), "\(error("mfa"))")
        let leaky = error("leaky")
        #expect(leaky.contains("exited with status 2; its stderr:\n    debug: got [redacted] / [redacted]"), "\(leaky)")
        for s in ["ASIALEAKYEXAMPLE1234", "short-secret-1", secret, "hunter2"] { #expect(!leaky.contains(s), "\(leaky)") }
        let chatty = error("chatty")
        #expect(chatty.contains("line 5") && !chatty.contains("line 6") && chatty.hasSuffix("… (2 more lines)"), "\(chatty)")
        #expect(error("silent").hasSuffix("exited with status 4 (nothing on stderr)"))
        #expect(error("garbage").contains("printed no JSON object on stdout (9 bytes); its stderr:\n    cannot reach the vault"))
        #expect(try CredentialChain(environment: env, profile: "multiline").resolve().accessKeyId == "AKIDMULTI")
    }
}
