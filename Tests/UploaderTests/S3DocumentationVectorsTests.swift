import Foundation
import Testing
@testable import Uploader

/// The five examples of the S3 API Reference, "Signature Calculations for the Authorization
/// Header" (single chunk) and "… Chunked Upload": access key AKIAIOSFODNN7EXAMPLE, 2013-05-24, us-east-1.
private let docCredentials = AWSCredentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE",
                                            secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
private let docDate = Date(timeIntervalSince1970: 1_369_353_600)  // 20130524T000000Z
private let s3 = SigV4Signer(credentials: docCredentials, region: "us-east-1", service: "s3")

private func signature(_ request: SigV4Signer.Request) -> String {
    var r = request
    return s3.sign(&r, date: docDate).signature
}

@Test func getObjectWithRange() {
    let r = SigV4Signer.Request(method: "GET", path: "/test.txt",
                                headers: [("Host", "examplebucket.s3.amazonaws.com"), ("Range", "bytes=0-9")])
    #expect(signature(r) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
}

@Test func putObjectWithDollarInKey() {
    let body = Data("Welcome to Amazon S3.".utf8)
    let r = SigV4Signer.Request(method: "PUT", path: "/test$file.text",
                                headers: [("Host", "examplebucket.s3.amazonaws.com"),
                                          ("Date", "Fri, 24 May 2013 00:00:00 GMT"),
                                          ("x-amz-storage-class", "REDUCED_REDUNDANCY")],
                                payloadHash: SigV4Signer.sha256Hex(body))
    #expect(r.payloadHash == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
    var signed = r
    let sig = s3.sign(&signed, date: docDate)
    #expect(sig.canonicalRequest.split(separator: "\n")[1] == "/test%24file.text")
    #expect(sig.signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
}

@Test func getBucketLifecycle() {
    let r = SigV4Signer.Request(method: "GET", path: "/", query: [("lifecycle", nil)],
                                headers: [("Host", "examplebucket.s3.amazonaws.com")])
    #expect(signature(r) == "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543")
}

@Test func listObjectsWithQuery() {
    let r = SigV4Signer.Request(method: "GET", path: "/", query: [("max-keys", "2"), ("prefix", "J")],
                                headers: [("Host", "examplebucket.s3.amazonaws.com")])
    #expect(signature(r) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
}

@Test func awsChunkedUpload() {
    let payload = 66_560, chunk = 65_536
    let encoded = SigV4Signer.awsChunkedLength(payload: payload, chunkSize: chunk)
    #expect(encoded == 66_824)
    var r = SigV4Signer.Request(method: "PUT", path: "/examplebucket/chunkObject.txt",
                                headers: [("Host", "s3.amazonaws.com"),
                                          ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
                                          ("Content-Encoding", "aws-chunked"),
                                          ("x-amz-decoded-content-length", String(payload)),
                                          ("Content-Length", String(encoded))],
                                payloadHash: "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    let seed = s3.sign(&r, date: docDate).signature
    #expect(seed == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9")
    let first = s3.chunkSignature(previous: seed, chunk: Data(repeating: 0x61, count: chunk), date: docDate)
    #expect(first == "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648")
    let second = s3.chunkSignature(previous: first, chunk: Data(repeating: 0x61, count: payload - chunk), date: docDate)
    #expect(second == "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497")
    let last = s3.chunkSignature(previous: second, chunk: Data(), date: docDate)
    #expect(last == "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9")
}

/// S3 keys are encoded once and never normalized.
@Test func s3PathRules() {
    #expect(SigV4Signer.canonicalPath("/bucket/a b+c/./d//e.dcm", normalize: false) == "/bucket/a%20b%2Bc/./d//e.dcm")
    #expect(SigV4Signer.canonicalPath("/bucket/Ünï.dcm", normalize: false) == "/bucket/%C3%9Cn%C3%AF.dcm")
    #expect(SigV4Signer.canonicalQuery([("uploadId", "a/b"), ("partNumber", "2")]) == "partNumber=2&uploadId=a%2Fb")
}
