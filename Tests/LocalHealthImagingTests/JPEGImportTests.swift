import ByteCoding
import DICOMCore
import Foundation
import HTJ2K
import ImportPipeline
@testable import LocalHealthImaging
import TestSupport
import Testing
import Uploader

/// JPEG sources stored by an in-process ahi-local (STOW-RS, the same `InstanceImporter` as import
/// jobs), as HealthImaging stores them (healthimaging.md §4.4): lossless (.70 JPEG-LL.dcm, 16-bit
/// signed; .57, dcmcjpeg of an 8-frame fixture) and extended (.51 JPGExtended.dcm) transcoded to
/// HTJ2K Lossless RPCL (.202), the lossless frames decoding (OpenJPH) to exactly pydicom's samples
/// of the source; baseline (.50 SC_rgb_jpeg_dcmtk.dcm, YBR_FULL) kept as received (image/jpeg,
/// the source's bytes). `FrameVerifier` (`verify --download`) finds no problem in any frame.
@Test(.timeLimit(.minutes(3))) func jpegSourcesAreTranscodedOrRetainedAndVerify() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-jpeg-import-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let found = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/jpeg_oracle.py").path, "testdata",
                                    "JPEG-LL.dcm", "JPGExtended.dcm", "SC_rgb_jpeg_dcmtk.dcm"])
    #expect(found.status == 0, "\(found.err)")
    let pydicomFiles = found.out.split(separator: "\n").map(String.init)
    let multiframe = dir.appendingPathComponent("multiframe_57.dcm").path
    let encoded = try run("dcmcjpeg", ["+el", fixture("multiframe_8frames.dcm"), multiframe])
    #expect(encoded.status == 0, "\(encoded.err)")
    let sources = pydicomFiles + [multiframe]
    #expect(sources.count == 4)
    let lossless = [pydicomFiles[0], multiframe]

    let server = try await LocalHealthImagingServer.start(.init(dataDirectory: dir.appendingPathComponent("local")))
    let datastore = await server.healthImaging.createDatastore(name: "jpeg", clientToken: "jpeg", storageFormat: nil).datastoreId
    let stow = DICOMwebAPI(ahi: server.healthImaging, faults: Faults(), counters: DICOMwebAPI.Counters())
    for path in sources {
        let body = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        let response = await stow.handle(HTTPRequest(method: "POST", target: "/datastore/\(datastore)/studies",
                                                     headers: [("Host", "127.0.0.1"), ("Content-Type", "application/dicom")], body: body))
        #expect(response.status == 200, "\(path): \(String(decoding: response.body, as: UTF8.self))")
    }

    let pydicom = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/decoded_crc.py").path] + lossless)
    #expect(pydicom.status == 0, "\(pydicom.err)")
    struct Line: Decodable { let path: String; let crcs: [UInt32]? }
    var oracle: [String: [UInt32]] = [:]
    for line in pydicom.out.split(separator: "\n") {
        let l = try JSONDecoder().decode(Line.self, from: Data(line.utf8))
        oracle[l.path] = l.crcs
    }

    let client = try localClient(server.endpoint)
    let verifier = FrameVerifier(client: client, datastoreId: datastore)
    var checkedFrames = 0
    for path in sources {
        let file = try DICOMFile.read(path: path)
        let study = try #require(file.dataSet.string(.studyInstanceUID))
        let sop = try #require(file.dataSet.string(.sopInstanceUID))
        let stored = try #require(try await verifier.storedInstances(study: study)[sop], "\(path) not stored")
        let metadata = try await client.getImageSetMetadata(datastoreId: datastore, imageSetId: stored.imageSetId)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(metadata)) as? [String: Any])
        let series = try #require((json["Study"] as? [String: Any])?["Series"] as? [String: Any])
        let instances = series.values.compactMap { ($0 as? [String: Any])?["Instances"] as? [String: Any] }
        let instance = try #require(instances.compactMap { $0[sop] as? [String: Any] }.first)
        let storedSyntax = instance["StoredTransferSyntaxUID"] as? String
        let frames = try file.frames()
        #expect(stored.frames.count == frames.count, "\(path)")

        if file.transferSyntax.uid == "1.2.840.10008.1.2.4.50" {
            #expect(storedSyntax == "1.2.840.10008.1.2.4.50", "\(path)")
            for (frame, remote) in zip(frames, stored.frames) {
                let (bytes, type) = try await client.getImageFrame(datastoreId: datastore, imageSetId: stored.imageSetId, imageFrameId: remote.id)
                #expect(type == "image/jpeg", "\(path)")
                #expect(bytes == frameBytes(frame, in: file.dataSet.storage), "\(path): not the source's bytes")
            }
        } else {
            #expect(storedSyntax == "1.2.840.10008.1.2.4.202", "\(path): \(String(describing: storedSyntax))")
            let want = oracle[path]
            for (n, remote) in stored.frames.enumerated() {
                let (bytes, type) = try await client.getImageFrame(datastoreId: datastore, imageSetId: stored.imageSetId, imageFrameId: remote.id)
                #expect(type == "image/jph", "\(path)")
                guard lossless.contains(path) else { continue }
                let crc = try #require(want?[n], "pydicom cannot decode \(path)")
                let ht = try J2KDecoder.decode(bytes, backend: .openJPH)
                    .widened(toBytesPerSample: file.dataSet.int(.bitsAllocated) == 16 ? 2 : 1,
                             signed: file.dataSet.int(.pixelRepresentation) == 1)
                #expect(CRC32.of(ht.bytes).value == crc, "\(path) frame \(n + 1): HTJ2K ≠ pydicom")
            }
        }
        for item in try verifier.items(path: path, sop: sop, stored: stored) {
            let problems = await verifier.check(item, download: true)
            #expect(problems.isEmpty, "\(problems)")
            checkedFrames += 1
        }
    }
    #expect(checkedFrames == 1 + 1 + 1 + 8)
    await server.stop()
}

/// A JPEG lossless file whose codestream is cut short is stored as HealthImaging documents a
/// TRANSCODING_EXCEPTION (0xB100): the instance is kept with its original transfer syntax, no
/// frame is offered for retrieval, and the pixel data is not mislabelled as HTJ2K.
@Test(.timeLimit(.minutes(2))) func undecodableJPEGIsKeptAsReceivedWithoutFrames() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-jpeg-broken-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let broken = dir.appendingPathComponent("broken.dcm").path
    let script = """
        import sys, pydicom
        from pydicom.data import get_testdata_file
        from pydicom.encaps import encapsulate, generate_frames
        ds = pydicom.dcmread(get_testdata_file("JPEG-LL.dcm"))
        frame = next(generate_frames(ds.PixelData, number_of_frames=1))
        ds.PixelData = encapsulate([frame[: len(frame) // 3 * 2]])
        ds.save_as(sys.argv[1])
        """
    let made = try run("python3", ["-c", script, broken])
    try #require(made.status == 0, "\(made.err)")

    let server = try await LocalHealthImagingServer.start(.init(dataDirectory: dir.appendingPathComponent("local")))
    let datastore = await server.healthImaging.createDatastore(name: "broken", clientToken: "broken", storageFormat: nil).datastoreId
    let stow = DICOMwebAPI(ahi: server.healthImaging, faults: Faults(), counters: DICOMwebAPI.Counters())
    let response = await stow.handle(HTTPRequest(method: "POST", target: "/datastore/\(datastore)/studies",
                                                 headers: [("Host", "127.0.0.1"), ("Content-Type", "application/dicom")],
                                                 body: try [UInt8](Data(contentsOf: URL(fileURLWithPath: broken)))))
    let answer = String(decoding: response.body, as: UTF8.self)
    #expect(response.status == 202 || response.status == 200, "\(answer)")
    #expect(answer.contains("45312") || answer.contains("B100") || answer.contains("TRANSCODING"), "no transcoding warning: \(answer)")

    let client = try localClient(server.endpoint)
    let file = try DICOMFile.read(path: broken)
    let study = try #require(file.dataSet.string(.studyInstanceUID)), sop = try #require(file.dataSet.string(.sopInstanceUID))
    let verifier = FrameVerifier(client: client, datastoreId: datastore)
    let stored = try #require(try await verifier.storedInstances(study: study)[sop])
    #expect(stored.frames.isEmpty)
    let metadata = try await client.getImageSetMetadata(datastoreId: datastore, imageSetId: stored.imageSetId)
    let text = String(decoding: metadata, as: UTF8.self)
    #expect(text.contains("\"StoredTransferSyntaxUID\":\"1.2.840.10008.1.2.4.70\"") || text.contains("\"StoredTransferSyntaxUID\" : \"1.2.840.10008.1.2.4.70\""),
            "stored transfer syntax: \(text.prefix(400))")
    await server.stop()
}
