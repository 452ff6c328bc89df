import Foundation
@testable import LocalHealthImaging
import TestSupport
import Testing
import Uploader

/// boto3 (and the AWS CLI when installed) put, get, list (boto3's automatic
/// `encoding-type=url`, an explicit one, and raw signed requests without it), page,
/// delete and multipart-upload every kind of key S3 accepts against ahi-local; 1,025-byte
/// keys get `KeyTooLongError`. A restart on the same data then lists the same keys.
@Test(.timeLimit(.minutes(5))) func everyKeyS3AcceptsRoundTripsThroughAHILocal() async throws {
    let script = packageRoot.appendingPathComponent("Tests/Oracle/ahi_local_keys.py").path
    let server = try await AHILocalProcess()
    let r = try run("python3", [script, server.endpoint], environment: server.clientEnvironment)
    server.stop(keepData: true)
    print(r.out)
    #expect(r.status == 0, "\(r.out)\n\(r.err.suffix(3000))")
    #expect(r.out.contains("all ok"))
    let again = try await AHILocalProcess(dataDirectory: server.dataDirectory)
    defer { again.stop() }
    let p = try run("python3", [script, again.endpoint, "--persisted"], environment: again.clientEnvironment)
    print(p.out)
    #expect(p.status == 0, "\(p.out)\n\(p.err.suffix(3000))")
    #expect(p.out.contains("all ok"))
}

/// Escaping works on Unicode scalars: CR, NUL and a combining mark right after `&` or `>`
/// (one `Character` with it) survive a round trip, and blocks are found around them.
@Test func xmlEscapingKeepsEveryScalar() {
    for key in ["a\r\nb", "a\rb", "nul\u{0}x", "&\u{301}", "\u{301}lead", ">\u{301}", "e\u{301} vs \u{E9}", "\u{1F}\u{7F}\u{FFFF}"] {
        let doc = "<Object><Key>\(XML.escape(key))</Key></Object>"
        #expect(XML.value("Key", in: doc[...]).map { Array($0.unicodeScalars) } == Array(key.unicodeScalars), "\(key.debugDescription)")
        let echoed = XML.escape(key, unrepresentable: .replacementCharacter)
        #expect(!echoed.unicodeScalars.contains { $0.value < 0x20 && $0 != "\t" && $0 != "\n" }, "\(echoed.debugDescription)")
    }
    #expect(XML.escape("\r") == "&#13;")
    #expect(XML.escape("\u{0}") == "&#0;")
    #expect(XML.document(Array("<Key>a\r\nb\rc&#13;</Key>".utf8)) == "<Key>a\nb\nc&#13;</Key>")
}

/// Paths split on bytes: a key may start with a combining mark, hold `//` and `..`, end
/// in `/`; a path that is not UTF-8 is refused.
@Test func s3PathsSplitOnBytes() {
    #expect(S3API.bucketAndKey("/b/%CC%81lead").map { Array($0.key.unicodeScalars) } == Array("\u{301}lead".unicodeScalars))
    #expect(S3API.bucketAndKey("/b//x/../y/")?.key == "/x/../y/")
    #expect(S3API.bucketAndKey("/b/a%00b")?.key == "a\u{0}b")
    #expect(S3API.bucketAndKey("/b/")?.key == "")
    #expect(S3API.bucketAndKey("/b/%FF") == nil)
    #expect(KeyBytes("e\u{301}") != KeyBytes("\u{E9}"))
    #expect(KeyBytes("tree/b\u{0}/1").rolledUp(skipping: 5, delimiter: KeyBytes("/"))?.string == "tree/b\u{0}/")
}
