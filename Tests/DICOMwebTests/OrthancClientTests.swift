import DICOMCore
import DICOMweb
import Foundation
import TestSupport
import Testing
import Uploader

/// The library's WADO-RS metadata and frames, and retrieve with a transfer syntax, against a real
/// Orthanc loaded by Python `requests`; frames are checked against pydicom's (Tests/Oracle/dicomweb_oracle.py).
@Suite(.serialized, .enabled(if: Orthanc.isInstalled, "Orthanc (/usr/sbin/Orthanc) and its DICOMweb plugin are not installed: run Scripts/setup.sh"))
struct OrthancClientTests {
    static let oracle = packageRoot.appendingPathComponent("Tests/Oracle/dicomweb_oracle.py").path
    /// The fixtures' identities as pydicom reads them.
    static let study = "1.2.826.0.1.3680043.10.1234.1"
    static let series = "1.2.826.0.1.3680043.10.1234.2.163"
    static let multiframe = "1.2.826.0.1.3680043.10.1234.3.10"
    static let j2k = "1.2.826.0.1.3680043.10.1234.3.14"
    static let rle = "1.2.826.0.1.3680043.10.1234.3.11"
    static let files = ["multiframe_8frames.dcm", "j2k_two_fragments_per_frame.dcm", "rle_with_bot.dcm", "ct_explicit_le.dcm"].map(fixture)

    struct NoCredentials: Error {}

    static func client(_ url: String) throws -> DICOMwebClient {
        try DICOMwebClient.make(url: url, region: "us-east-1", datastoreId: nil, authentication: .none,
                                credentials: { throw NoCredentials() })
    }

    /// SHA-256 and length of `bytes`, by sha256sum, as the oracle prints them.
    static func digest(_ bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-frame-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: path) }
        try Data(bytes).write(to: path)
        let r = try run("sha256sum", [path.path])
        return "\(r.out.prefix(64)) \(bytes.count)"
    }

    @Test(.timeLimit(.minutes(5))) func metadataFramesAndTranscodedRetrieve() async throws {
        let (url, stop) = try await Orthanc.start()
        defer { stop() }
        let stow = try run("python3", [Self.oracle, "stow", url] + Self.files)
        #expect(stow.status == 0, "\(stow.out)\(stow.err)")
        let client = try Self.client(url)

        // Metadata: one object per instance of the study, pixel data as a BulkDataURI or inline.
        let metadata = try await client.metadata(study: Self.study)
        #expect(metadata.count == 4)
        #expect(Set(metadata.compactMap { $0.string(.sopInstanceUID) }) == ["1.2.826.0.1.3680043.10.1234.3.1", "1.2.826.0.1.3680043.10.1234.3.10",
                                                                           "1.2.826.0.1.3680043.10.1234.3.11", Self.j2k])
        let one = try await client.metadata(study: Self.study, series: Self.series, instance: Self.multiframe)
        #expect(one.count == 1 && one.first?.string(.numberOfFrames) == "8")

        // Frames in the order asked, equal to pydicom's.
        let frames = try await client.frames(study: Self.study, series: Self.series, instance: Self.multiframe, numbers: [2, 1, 8])
        #expect(frames.count == 3)
        for (frame, n) in zip(frames, [2, 1, 8]) {
            let expected = try run("python3", [Self.oracle, "frame", fixture("multiframe_8frames.dcm"), String(n)])
            #expect(try Self.digest(frame.bytes) + "\n" == expected.out, "frame \(n)")
        }
        // Compressed frames as stored (Orthanc 1.10 without GDCM cannot cut JPEG 2000 frames, so RLE).
        let compressed = try await client.frames(study: Self.study, series: Self.series, instance: Self.rle, numbers: [3, 1],
                                                 mediaType: "image/dicom-rle", transferSyntax: "1.2.840.10008.1.2.5")
        #expect(compressed.count == 2)
        for (frame, n) in zip(compressed, [3, 1]) {
            #expect(frame.contentType?.hasPrefix("image/dicom-rle") == true, "\(frame.contentType ?? "-")")
            let expected = try run("python3", [Self.oracle, "frame", fixture("rle_with_bot.dcm"), String(n)])
            #expect(try Self.digest(frame.bytes) + "\n" == expected.out, "RLE frame \(n)")
        }

        // Retrieve asking for Explicit VR Little Endian (the native instance needs no transcoding).
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-client-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let got = try await client.retrieve(study: Self.study, series: "1.2.826.0.1.3680043.10.1234.2.151",
                                            transferSyntax: "1.2.840.10008.1.2.1", into: out.path)
        #expect(got.count == 1 && got.first?.transferSyntaxUID == "1.2.840.10008.1.2.1")
        let c = try run("python3", [Self.oracle, "compare", out.path, fixture("ct_explicit_le.dcm")])
        #expect(c.status == 0, "\(c.out)")

        // An unknown instance: DICOMwebError 404.
        await #expect(throws: DICOMwebError.self) {
            try await client.metadata(study: Self.study, series: Self.series, instance: "1.2.3.999")
        }
        do {
            _ = try await client.retrieve(study: "1.2.3.999", into: out.path)
            Issue.record("an unknown study was retrieved")
        } catch let error as DICOMwebError {
            #expect(error.status == 404)
            #expect(error.description.contains("study 1.2.3.999"))
        }
        // A UID that is not one is refused before anything is sent.
        await #expect(throws: DICOMwebError.self) { try await client.retrieve(study: "1.2.3/../4", into: out.path) }
    }
}
