import Testing
import Uploader

/// `s3://bucket[/key]` parses into bucket and key, and prints back the same value.
@Test func s3URIParsesAndPrintsBack() throws {
    let cases: [(String, String, String, String)] = [
        // text, bucket, key, description
        ("s3://my-bucket", "my-bucket", "", "s3://my-bucket/"),
        ("s3://my-bucket/", "my-bucket", "", "s3://my-bucket/"),
        ("s3://my.bucket-1/study", "my.bucket-1", "study", "s3://my.bucket-1/study"),
        ("s3://abc/runs/job-0001/", "abc", "runs/job-0001/", "s3://abc/runs/job-0001/"),
        ("s3://abc//leading", "abc", "/leading", "s3://abc//leading"),
        ("s3://abc/a b/ü?x=1#y", "abc", "a b/ü?x=1#y", "s3://abc/a b/ü?x=1#y"),
    ]
    for (text, bucket, key, description) in cases {
        let uri = try S3URI(parsing: text)
        #expect(uri.bucket == bucket && uri.key == key, "\(text)")
        #expect(uri.description == description)
        #expect(S3URI(uri.description) == uri)
        #expect("\(uri)" == description)
    }
    #expect(try S3URI(bucket: "abc", key: "x/y") == S3URI(parsing: "s3://abc/x/y"))
}

/// Each malformed URI fails with the reason, and the text, in its message.
@Test func s3URIRejectsWithReason() {
    let cases: [(String, S3URI.ParseError.Problem, String)] = [
        ("bucket/key", .notS3, "expected s3://bucket[/key]"),
        ("S3://abc/key", .notS3, "expected s3://"),
        ("https://abc/key", .notS3, "expected s3://"),
        ("s3://", .bucketLength(0), "3 to 63 characters (this one has 0)"),
        ("s3:///key", .bucketLength(0), "3 to 63"),
        ("s3://ab/key", .bucketLength(2), "this one has 2"),
        ("s3://" + String(repeating: "a", count: 64), .bucketLength(64), "this one has 64"),
        ("s3://My-Bucket/key", .bucketCharacter("M"), "lower-case letters, digits"),
        ("s3://my_bucket", .bucketCharacter("_"), "not \"_\""),
        ("s3://-abc/key", .bucketEdge, "begin and end"),
        ("s3://abc./key", .bucketEdge, "begin and end"),
    ]
    for (text, problem, message) in cases {
        do {
            let uri = try S3URI(parsing: text)
            Issue.record("\(text) parsed as \(uri)")
        } catch {
            #expect(error.problem == problem, "\(text)")
            #expect(error.text == text)
            #expect(error.description.hasPrefix(text + ": ") && error.description.contains(message), "\(error)")
        }
        #expect(S3URI(text) == nil)
    }
    #expect { try S3URI(bucket: "a") } throws: { ($0 as? S3URI.ParseError)?.problem == .bucketLength(1) }
    #expect(S3URI.bucketNameProblem("ahi-local-imports") == nil)
    #expect(S3URI.bucketNameProblem("192.168.0.1") == nil)  // the IP-address rule is not checked
}

/// Appending adds to the key as it is; `folder` adds the one slash a prefix needs.
@Test func s3URIAppendingAndFolder() throws {
    let out = try S3URI(parsing: "s3://abc/out")
    #expect(out.appending("SUCCESS/").description == "s3://abc/outSUCCESS/")
    #expect(out.folder.description == "s3://abc/out/")
    #expect(out.folder.appending("SUCCESS/success.ndjson").key == "out/SUCCESS/success.ndjson")
    #expect(out.folder.folder == out.folder)
    let bucketOnly = try S3URI(parsing: "s3://abc")
    #expect(bucketOnly.folder == bucketOnly)
    #expect(bucketOnly.appending("job-output-manifest.json").description == "s3://abc/job-output-manifest.json")
}
