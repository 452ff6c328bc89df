import DICOMweb
import Foundation
@testable import LocalHealthImaging
import TestSupport
import Testing

/// dicomweb-client, requests and boto3 judge ahi-local's DICOMweb end to end
/// (Tests/Oracle/dicomweb_judge.py): STOW-RS, QIDO-RS, WADO-RS, frames, image sets,
/// a re-sent instance, and the stow-fail fault.
@Test(.timeLimit(.minutes(5))) func dicomwebClientJudgesAHILocal() async throws {
    let failing = ["2.25.\(UInt64.random(in: 1...UInt64.max))", "2.25.\(UInt64.random(in: 1...UInt64.max))"]
    let server = try await AHILocalProcess(arguments: ["--fault", "stow-fail=" + failing.joined(separator: "+")])
    defer { server.stop() }
    let names = ["ct_explicit_le.dcm", "nested_private.dcm", "multiframe_8frames.dcm", "rle_with_bot.dcm",
                 "j2k_two_fragments_per_frame.dcm", "charset_utf8.dcm"]
    let files = names.map { fixture($0) }.filter { FileManager.default.fileExists(atPath: $0) }
    #expect(files.count == names.count, "fixtures missing: \(names)")
    let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/dicomweb_judge.py").path, server.endpoint,
                                failing.joined(separator: "+")] + files, environment: server.clientEnvironment)
    print(r.out)
    #expect(r.status == 0, "\(r.out)\n\(r.err.suffix(3000))")
    #expect(r.out.contains("all ok"))
}

/// The first STOW-RS requests answer what `stow-throttle` and `stow-unavailable` say, then STOW works.
@Test(.timeLimit(.minutes(2))) func stowThrottleAndUnavailableFaults() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-local-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: dir) }
    var config = LocalHealthImagingServer.Configuration(dataDirectory: dir)
    try config.faults.add("stow-throttle=1")
    try config.faults.add("stow-unavailable=2")
    let server = try await LocalHealthImagingServer.start(config)
    defer { Task { await server.stop() } }
    let ds = await server.healthImaging.createDatastore(name: "t", clientToken: "t", storageFormat: nil)
    let api = DICOMwebAPI(ahi: server.healthImaging, faults: config.faults, counters: DICOMwebAPI.Counters())
    let body = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixture("ct_explicit_le.dcm"))))
    let request = HTTPRequest(method: "POST", target: "/datastore/\(ds.datastoreId)/studies",
                              headers: [("Host", "127.0.0.1"), ("Content-Type", "application/dicom")], body: body)
    var statuses: [Int] = []
    for _ in 0..<4 { statuses.append(await api.handle(request).status) }
    #expect(statuses == [429, 503, 503, 200])
}

// MARK: QIDO matching, expected values written by hand

@Test func qidoWildcards() {
    #expect(QIDOMatch.matches(text: "DOE^JOHN", vr: "PN", value: "doe*"))
    #expect(QIDOMatch.matches(text: "DOE^JOHN", vr: "PN", value: "D?E^J*N"))
    #expect(!QIDOMatch.matches(text: "DOE^JOHN", vr: "PN", value: "DOE"))
    #expect(QIDOMatch.matches(text: "ABC123", vr: "LO", value: "ABC*"))
    #expect(!QIDOMatch.matches(text: "ABC123", vr: "LO", value: "abc*"))  // case-sensitive except PN
    #expect(QIDOMatch.matches(text: "ABC123", vr: "LO", value: "*12?"))
    #expect(!QIDOMatch.matches(text: "ABC123", vr: "LO", value: "*12"))
    #expect(QIDOMatch.matches(text: "", vr: "LO", value: "*"))
    #expect(QIDOMatch.matches(nil, vr: "LO", value: ""))  // universal matching
    #expect(!QIDOMatch.matches(nil, vr: "LO", value: "X"))
}

@Test func qidoUIDLists() {
    #expect(QIDOMatch.matches(text: "1.2.4", vr: "UI", value: "1.2.3,1.2.4"))
    #expect(!QIDOMatch.matches(text: "1.2.5", vr: "UI", value: "1.2.3,1.2.4"))
    #expect(QIDOMatch.matches(text: "1.2.3", vr: "UI", value: "1.2.3"))
    #expect(!QIDOMatch.matches(text: "1.2.34", vr: "UI", value: "1.2.3"))
}

@Test func qidoRanges() {
    #expect(QIDOMatch.matches(text: "20240615", vr: "DA", value: "20240101-20241231"))
    #expect(QIDOMatch.matches(text: "20241231", vr: "DA", value: "20240101-20241231"))
    #expect(!QIDOMatch.matches(text: "20250101", vr: "DA", value: "20240101-20241231"))
    #expect(QIDOMatch.matches(text: "20250101", vr: "DA", value: "20240101-"))
    #expect(!QIDOMatch.matches(text: "20231231", vr: "DA", value: "20240101-"))
    #expect(QIDOMatch.matches(text: "19991231", vr: "DA", value: "-20000101"))
    #expect(QIDOMatch.matches(text: "103000", vr: "TM", value: "10-11"))
    #expect(QIDOMatch.matches(text: "115959.5", vr: "TM", value: "10-11"))
    #expect(!QIDOMatch.matches(text: "120000", vr: "TM", value: "10-11"))
    #expect(QIDOMatch.matches(text: "103000.5", vr: "TM", value: "103000-103001"))
    #expect(!QIDOMatch.matches(text: "103001.5", vr: "TM", value: "103000-103001.2"))
    #expect(!QIDOMatch.matches(text: "", vr: "DA", value: "20240101-20241231"))
}

@Test func qidoQueryParameters() throws {
    let q = try QIDOQuery([("PatientID", "A*"), ("00100010", "DOE"), ("includefield", "StudyDescription,00081030"),
                           ("limit", "5000"), ("offset", "3"), ("nonsense", "1")])
    #expect(q.filters.map(\.tag.jsonKey) == ["00100020", "00100010"])
    #expect(q.include.map(\.jsonKey) == ["00081030", "00081030"])
    #expect(q.limit == 1000 && q.offset == 3)
    #expect(throws: QIDOQueryError.self) { try QIDOQuery([("limit", "-1")]) }
}
