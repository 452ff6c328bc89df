import Foundation
import ImportPipeline
import HTJ2K
import LocalHealthImaging
import TestSupport
import Testing
@testable import Uploader

/// `ahi-upload verify` passes on an honest import (checksums, downloaded frames, and every
/// reduced-resolution checksum ahi-local wrote), and catches a frame altered in the store.
@Test(.timeLimit(.minutes(4))) func verifyPassesOnAnHonestImportAndCatchesAPlantedMismatch() async throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-verify-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    for name in ["ct_explicit_le.dcm", "ct_explicit_be.dcm", "multiframe_8frames.dcm", "rle_with_bot.dcm"] {
        try FileManager.default.copyItem(at: packageRoot.appendingPathComponent("Fixtures/\(name)"), to: folder.appendingPathComponent(name))
    }
    let server = try await AHILocalProcess()
    defer { server.stop() }
    let datastore = try await createDatastoreAndBucket(server)
    let imported = try run(toolPath(), [folder.path, "--datastore", datastore, "--bucket", "e2e-bucket", "--role-arn",
                                        "arn:aws:iam::123456789012:role/ahi", "--endpoint-url", server.endpoint,
                                        "--s3-endpoint-url", server.endpoint, "--region", "us-east-1", "--output", "json"],
                           environment: server.clientEnvironment)
    #expect(imported.status == 0, "\(imported.out)\(imported.err)")
    let service = ["--datastore", datastore, "--endpoint-url", server.endpoint, "--s3-endpoint-url", server.endpoint, "--region", "us-east-1"]

    let honest = try run(toolPath(), ["verify", folder.path, "--download"] + service, environment: server.clientEnvironment)
    #expect(honest.status == 0, "\(honest.out)\(honest.err)")
    #expect(honest.out.contains("0 problems"), "\(honest.out)")

    // Every resolution level's checksum, from the stored codestreams alone.
    let report = try JSONDecoder().decode(ImportReport.self, from: Data(imported.out.utf8))
    let setId = try #require(report.files.first { $0.path.hasSuffix("multiframe_8frames.dcm") }?.imageSetId)
    let levels = try run(toolPath(), ["verify", "--image-set", setId] + service, environment: server.clientEnvironment)
    #expect(levels.status == 0 && levels.out.contains("0 problems"), "\(levels.out)\(levels.err)")

    // `ahi-upload frame` writes a stored frame as a valid PNG and as the codestream received.
    let client0 = try localClient(server.endpoint)
    let meta0 = try await client0.getImageSetMetadata(datastoreId: datastore, imageSetId: setId)
    let json0 = try #require(try JSONSerialization.jsonObject(with: Data(meta0)) as? [String: Any])
    let anyFrame = try #require(
        ((((json0["Study"] as? [String: Any])?["Series"] as? [String: Any])?.values.first as? [String: Any])?["Instances"] as? [String: Any])?
            .values.compactMap { (($0 as? [String: Any])?["ImageFrames"] as? [[String: Any]])?.first?["ID"] as? String }.first)
    let png = folder.path + "-frame.png", j2c = folder.path + "-frame.j2c"  // beside the source folder, not in it
    defer { try? FileManager.default.removeItem(atPath: png); try? FileManager.default.removeItem(atPath: j2c) }
    let fetched = try run(toolPath(), ["frame", "--image-set", setId, "--frame-id", anyFrame, "--png", png, "--out", j2c] + service,
                          environment: server.clientEnvironment)
    #expect(fetched.status == 0 && fetched.out.contains("image/jph"), "\(fetched.out)\(fetched.err)")
    let checked = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/check_png.py").path, png])
    #expect(checked.status == 0 && checked.out.hasPrefix("png 32 32 1"), "\(checked.out)\(checked.err)")

    // Plant a mismatch: one sample of one stored frame changed, re-encoded in place.
    let client = try localClient(server.endpoint)
    let meta = try await client.getImageSetMetadata(datastoreId: datastore, imageSetId: setId)
    let json = try #require(try JSONSerialization.jsonObject(with: Data(meta)) as? [String: Any])
    let series = try #require((json["Study"] as? [String: Any])?["Series"] as? [String: Any])
    let instance = try #require(series.values.compactMap { ($0 as? [String: Any])?["Instances"] as? [String: Any] }.first?.values.first as? [String: Any])
    let frameId = try #require((instance["ImageFrames"] as? [[String: Any]])?.first?["ID"] as? String)
    let frameFile = server.dataDirectory.appendingPathComponent("ahi/frames/\(frameId)")
    let original = try J2KDecoder.decode([UInt8](try Data(contentsOf: frameFile)))
    var altered = original.bytes
    altered[0] ^= 0x01
    let planted = PixelBuffer(width: original.width, height: original.height, components: original.components,
                              bitsStored: original.bitsStored, isSigned: original.isSigned,
                              bytesPerSample: original.bytesPerSample, bytes: altered)
    try Data(try HTJ2KEncoder.encodeLossless(planted)).write(to: frameFile)
    let caught = try run(toolPath(), ["verify", folder.path, "--download"] + service, environment: server.clientEnvironment)
    #expect(caught.status == 1, "\(caught.out)")
    #expect(caught.out.contains("frame 1: the downloaded frame differs from the source") && caught.out.contains("1 problem"), "\(caught.out)")
    let byLevels = try run(toolPath(), ["verify", "--image-set", setId] + service, environment: server.clientEnvironment)
    #expect(byLevels.status == 1 && byLevels.out.contains("checksum mismatch"), "\(byLevels.out)")
}
