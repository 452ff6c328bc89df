import Foundation
import TestSupport
import Testing
@testable import Uploader

/// The two official SigV4 suites, kept beside this file in Resources/sigv4 (see its README).
private let suiteRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Resources/sigv4")
private let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 20150830T123600Z

/// A request as written in the suites' `.req` / `request.txt` files.
struct RawRequest {
    var method = ""
    var path = ""
    var query: [(String, String?)] = []
    var headers: [(String, String)] = []
    var body = Data()

    init(_ text: String) {
        var lines = text.components(separatedBy: "\n")
        let requestLine = lines.removeFirst().split(separator: " ", omittingEmptySubsequences: false)
        method = String(requestLine.first ?? "")
        let target = requestLine.dropFirst().dropLast().joined(separator: " ")  // the path may hold spaces
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts[0])
        if parts.count == 2 {
            query = parts[1].split(separator: "&").map { pair in
                let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                return (SigV4Signer.percentDecode(kv[0]), kv.count == 2 ? SigV4Signer.percentDecode(kv[1]) : nil)
            }
        }
        while let line = lines.first, !line.isEmpty {
            lines.removeFirst()
            if line.first == " " || line.first == "\t", var last = headers.popLast() {
                last.1 += "\n" + line  // a continuation line
                headers.append(last)
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((String(line[..<colon]), String(line[line.index(after: colon)...])))
            }
        }
        if !lines.isEmpty { lines.removeFirst() }
        body = Data(lines.joined(separator: "\n").utf8)
    }
}

private func read(_ url: URL) throws -> String { try String(contentsOf: url, encoding: .utf8) }

private func caseFolders(_ root: URL) throws -> [URL] {
    try FileManager.default.contentsOfDirectory(at: root, includingPropertiesForKeys: nil)
        .filter { (try? $0.resourceValues(forKeys: [.isDirectoryKey]).isDirectory) == true }
        .sorted { $0.path < $1.path }
}

/// aws-c-auth's v4 suite: 38 cases, header signing and presigned (query) signing.
@Test func awsSigningTestSuiteV4() throws {
    let root = suiteRoot.appendingPathComponent("aws-signing-test-suite-v4")
    var passed = 0, failed: [String] = []
    for dir in try caseFolders(root) {
        let name = dir.lastPathComponent
        let context = try JSONSerialization.jsonObject(with: Data(contentsOf: dir.appendingPathComponent("context.json"))) as? [String: Any] ?? [:]
        let creds = context["credentials"] as? [String: String] ?? [:]
        let credentials = AWSCredentials(accessKeyId: creds["access_key_id"] ?? "", secretAccessKey: creds["secret_access_key"] ?? "",
                                         sessionToken: creds["token"])
        let signBody = context["sign_body"] as? Bool ?? false
        let signer = SigV4Signer(credentials: credentials, region: context["region"] as? String ?? "",
                                 service: context["service"] as? String ?? "", normalizePath: context["normalize"] as? Bool ?? true,
                                 signsContentSHA256Header: signBody)
        let raw = RawRequest(try read(dir.appendingPathComponent("request.txt")))
        var request = SigV4Signer.Request(method: raw.method, path: raw.path, query: raw.query, headers: raw.headers,
                                          payloadHash: SigV4Signer.sha256Hex(raw.body))
        let header = signer.sign(&request, date: suiteDate, omitSessionToken: context["omit_session_token"] as? Bool ?? false)
        let expectedCanonical = try read(dir.appendingPathComponent("header-canonical-request.txt"))
        let expectedSTS = try read(dir.appendingPathComponent("header-string-to-sign.txt"))
        let expectedSignature = try read(dir.appendingPathComponent("header-signature.txt")).trimmingCharacters(in: .whitespacesAndNewlines)
        let ok1 = header.canonicalRequest == expectedCanonical && header.stringToSign == expectedSTS
            && header.signature == expectedSignature
        var ok2 = true
        let queryCanonical = dir.appendingPathComponent("query-canonical-request.txt")
        if FileManager.default.fileExists(atPath: queryCanonical.path) {
            let plain = SigV4Signer.Request(method: raw.method, path: raw.path, query: raw.query, headers: raw.headers,
                                            payloadHash: SigV4Signer.sha256Hex(raw.body))
            let presignSigner = SigV4Signer(credentials: credentials, region: signer.region, service: signer.service,
                                            normalizePath: signer.normalizePath, signsContentSHA256Header: false)
            let (_, q) = presignSigner.presign(plain, date: suiteDate, expires: context["expiration_in_seconds"] as? Int ?? 3600,
                                               omitSessionToken: context["omit_session_token"] as? Bool ?? false)
            let expectedQuery = try read(queryCanonical)
            let expectedQuerySignature = try read(dir.appendingPathComponent("query-signature.txt"))
                .trimmingCharacters(in: .whitespacesAndNewlines)
            ok2 = q.canonicalRequest == expectedQuery && q.signature == expectedQuerySignature
        }
        if ok1 && ok2 { passed += 1 } else {
            failed.append(name)
            print("FAIL \(name) header=\(ok1) query=\(ok2)\n--- ours:\n\(header.canonicalRequest)")
        }
    }
    print("aws-c-auth v4 suite: \(passed) passed, \(failed.count) failed \(failed)")
    #expect(failed.isEmpty)
    #expect(passed == 38)
}

/// The original 2015 AWS suite (as kept in botocore): .creq, .sts and .authz of every case.
@Test func awsSigV4TestSuite() throws {
    let root = suiteRoot.appendingPathComponent("aws-sig-v4-test-suite")
    let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "service", normalizePath: true)
    var cases: [URL] = []
    for dir in try caseFolders(root) {
        if ["normalize-path", "post-sts-token"].contains(dir.lastPathComponent) { cases += try caseFolders(dir) } else { cases.append(dir) }
    }
    // The suite's session token (the signer adds the header itself), as aws-c-auth's context gives it.
    let tokenContext = try JSONSerialization.jsonObject(with: Data(contentsOf: suiteRoot.appendingPathComponent(
        "aws-signing-test-suite-v4/get-vanilla-with-session-token/context.json"))) as? [String: Any]
    let token = (tokenContext?["credentials"] as? [String: String])?["token"]
    var passed = 0, failed: [String] = []
    for dir in cases {
        let name = dir.lastPathComponent
        var signer = signer
        if name == "get-vanilla-with-session-token" {
            signer.credentials = AWSCredentials(accessKeyId: credentials.accessKeyId,
                                                secretAccessKey: credentials.secretAccessKey, sessionToken: token)
        }
        let raw = RawRequest(try read(dir.appendingPathComponent("\(name).req")))
        var request = SigV4Signer.Request(method: raw.method, path: raw.path, query: raw.query, headers: raw.headers,
                                          payloadHash: SigV4Signer.sha256Hex(raw.body))
        let sig = signer.sign(&request, date: suiteDate)
        let authz = request.header("authorization") ?? ""
        let creq = try read(dir.appendingPathComponent("\(name).creq"))
        let sts = try read(dir.appendingPathComponent("\(name).sts"))
        let expectedAuthz = try read(dir.appendingPathComponent("\(name).authz"))
        if sig.canonicalRequest == creq && sig.stringToSign == sts && authz == expectedAuthz {
            passed += 1
        } else {
            failed.append(name)
            print("FAIL \(name)\n--- ours:\n\(sig.canonicalRequest)\n--- expected:\n\(creq)")
        }
    }
    print("aws-sig-v4-test-suite: \(passed) passed, \(failed.count) failed \(failed)")
    #expect(failed.isEmpty)
    #expect(passed == 34)
}

/// Secrets never appear in a description of credentials.
@Test func credentialsDescriptionHidesSecrets() {
    let c = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                           sessionToken: "TOKEN123", source: "environment")
    for text in ["\(c)", String(reflecting: c)] {
        #expect(text.contains("AKIDEXAMPLE"))
        #expect(!text.contains("wJalr") && !text.contains("TOKEN123"))
    }
}
