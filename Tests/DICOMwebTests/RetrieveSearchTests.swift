import DICOMCore
import DICOMweb
import Foundation
import TestSupport
import Testing

/// File Meta for a bare data set, checked by pydicom and an independent walk of group 0002
/// (Tests/Oracle/dicomweb_oracle.py filemeta), never against bytes from our own code.
@Suite struct FileMetaTests {
    static let oracle = packageRoot.appendingPathComponent("Tests/Oracle/dicomweb_oracle.py").path

    /// The fixture's data set without its preamble and File Meta (what a WADO-RS part may hold),
    /// and the fixture's SOP Class / Instance UIDs.
    static func bareDataSet(_ name: String) throws -> (bytes: [UInt8], sopClass: String, sop: String) {
        let file = try DICOMFile.read(path: fixture(name))
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture(name))))
        let sopClass = try #require(file.dataSet.string(.sopClassUID))
        let sop = try #require(file.dataSet.string(.sopInstanceUID))
        return (Array(bytes[file.dataSet.offset...]), sopClass, sop)
    }

    /// Explicit and implicit VR little endian and JPEG 2000: the transfer syntaxes are the
    /// fixtures' own (as pydicom reads them), passed in as a server's Content-Type would.
    @Test(arguments: [("ct_explicit_le.dcm", "1.2.840.10008.1.2.1"), ("ct_implicit_le.dcm", "1.2.840.10008.1.2"),
                      ("j2k_two_fragments_per_frame.dcm", "1.2.840.10008.1.2.4.90"), ("multiframe_8frames.dcm", "1.2.840.10008.1.2.1")])
    func pydicomReadsAFileBuiltFromABareDataSet(name: String, transferSyntax: String) throws {
        let (body, sopClass, sop) = try Self.bareDataSet(name)
        let prefix = try FileMeta.prefix(sopClassUID: sopClass, sopInstanceUID: sop, transferSyntaxUID: transferSyntax)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-filemeta-\(UUID().uuidString).dcm")
        defer { try? FileManager.default.removeItem(at: path) }
        try Data(prefix + body).write(to: path)
        let r = try run("python3", [Self.oracle, "filemeta", path.path, fixture(name), transferSyntax])
        #expect(r.status == 0, "\(r.out)\(r.err)")
        #expect(r.out.hasSuffix("ok\n"), "\(r.out)")
        #expect(FileMeta.hasPreamble(prefix))
    }

    @Test func refusesWhatIsNotAUID() {
        #expect(throws: FileMeta.BuildError.self) {
            try FileMeta.prefix(sopClassUID: "1.2.840.10008.5.1.4.1.1.2", sopInstanceUID: "1.2.03", transferSyntaxUID: "1.2.840.10008.1.2.1")
        }
        #expect(throws: FileMeta.BuildError.self) {
            try FileMeta.prefix(sopClassUID: "1.2.840.10008.5.1.4.1.1.2", sopInstanceUID: "1.2.3", transferSyntaxUID: "*")
        }
    }
}

/// The paging helper's stop conditions, over an in-memory list of records that plays a server's
/// `limit`/`offset` semantics exactly as PS3.18 §8.3.4.4 describes them.
@Suite struct PagingTests {
    /// A server holding `records`: a page is `records[offset..<offset+min(limit, cap)]`; with `cap`
    /// below the limit it says (Warning 299) when more remain; `ignoresLimit` sends everything.
    struct Server {
        let records: [Int]
        var cap = Int.max
        var ignoresLimit = false
        func page(offset: Int, limit: Int) -> (objects: [Int], moreAvailable: Bool) {
            guard offset < records.count else { return ([], false) }
            if ignoresLimit { return (Array(records[offset...]), false) }
            let n = min(limit, cap, records.count - offset)
            return (Array(records[offset..<offset + n]), n < limit && offset + n < records.count)
        }
    }

    func collect(_ server: Server, pageSize: Int, maxResults: Int, offset: Int = 0) async throws -> (SearchResults<Int>, [(Int, Int)]) {
        var requests: [(Int, Int)] = []
        let results = try await DICOMwebClient.collectPages(pageSize: pageSize, maxResults: maxResults, offset: offset) { o, l in
            requests.append((o, l))
            return server.page(offset: o, limit: l)
        }
        return (results, requests)
    }

    @Test func aShortPageEndsIt() async throws {
        let records = Array(100..<125)
        let (r, requests) = try await collect(Server(records: records), pageSize: 10, maxResults: 10_000)
        #expect(r.objects == records)
        #expect(!r.reachedLimit)
        #expect(requests.map(\.0) == [0, 10, 20])
        #expect(requests.map(\.1) == [10, 10, 10])
    }

    @Test func anEmptyPageEndsItWhenTheCountIsAMultipleOfThePage() async throws {
        let records = Array(0..<20)
        let (r, requests) = try await collect(Server(records: records), pageSize: 10, maxResults: 10_000)
        #expect(r.objects == records)
        #expect(!r.reachedLimit)
        #expect(requests.count == 3)
    }

    @Test func theTotalLimitStopsItAndSaysSo() async throws {
        let records = Array(0..<25)
        let (r, requests) = try await collect(Server(records: records), pageSize: 10, maxResults: 15)
        #expect(r.objects == Array(records.prefix(15)))
        #expect(r.reachedLimit)
        #expect(requests.map(\.1) == [10, 5], "the last request asks only for what is still wanted")
    }

    @Test func healthImagingsTenThousandRecords() async throws {
        let records = Array(0..<12_000)
        let (r, requests) = try await collect(Server(records: records), pageSize: DICOMwebClient.healthImagingMaximumPageSize,
                                              maxResults: DICOMwebClient.healthImagingMaximumResults)
        #expect(r.objects.count == 10_000)
        #expect(r.reachedLimit)
        #expect(requests.count == 10)
        #expect(requests.last?.0 == 9_000, "HealthImaging's largest offset")
    }

    @Test func aServerThatCapsItsPagesAndSaysMoreRemainIsFollowed() async throws {
        let records = Array(0..<25)
        let (r, _) = try await collect(Server(records: records, cap: 7), pageSize: 10, maxResults: 10_000)
        #expect(r.objects == records)
        #expect(!r.reachedLimit)
    }

    @Test func aServerThatIgnoresTheLimitIsAskedOnce() async throws {
        let records = Array(0..<25)
        let (r, requests) = try await collect(Server(records: records, ignoresLimit: true), pageSize: 10, maxResults: 10_000)
        #expect(r.objects == records)
        #expect(requests.count == 1)
        let (capped, _) = try await collect(Server(records: records, ignoresLimit: true), pageSize: 10, maxResults: 12)
        #expect(capped.objects == Array(records.prefix(12)))
    }

    @Test func startsAtTheOffsetGiven() async throws {
        let records = Array(0..<25)
        let (r, requests) = try await collect(Server(records: records), pageSize: 10, maxResults: 10_000, offset: 5)
        #expect(r.objects == Array(records[5...]))
        #expect(requests.first?.0 == 5)
    }

    @Test func keysMustNameAttributes() {
        #expect(SearchQuery.keyProblem("PatientID") == nil)
        #expect(SearchQuery.keyProblem("00100020") == nil)
        #expect(SearchQuery.keyProblem("ReferencedStudySequence.ReferencedSOPInstanceUID") == nil)
        #expect(SearchQuery.keyProblem("PatientIdd") != nil)
        #expect(SearchQuery.keyProblem("") != nil)
    }
}
