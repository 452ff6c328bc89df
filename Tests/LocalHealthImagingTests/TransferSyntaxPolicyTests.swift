import DICOMCore
@testable import LocalHealthImaging
import Testing

/// ahi-local stores native, RLE, JPEG extended and lossless, JPEG 2000 Lossless and HTJ2K
/// Lossless sources as HTJ2K RPCL, and every other imported syntax as received.
@Test func ahiLocalTranscodesTheLosslessSourcesItDecodes() {
    let transcoded = TransferSyntax.all.filter(InstanceImporter.transcodes).map(\.uid)
    #expect(Set(transcoded) == [
        "1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.5",
        "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
        "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.201", "1.2.840.10008.1.2.4.202",
    ])
}

/// GetImageFrame's Content-Type follows the stored transfer syntax.
@Test func frameContentTypeFollowsTheStoredSyntax() {
    let expected: [(String, String)] = [
        ("1.2.840.10008.1.2.4.50", "image/jpeg"), ("1.2.840.10008.1.2.4.90", "image/j2c"), ("1.2.840.10008.1.2.4.91", "image/j2c"),
        ("1.2.840.10008.1.2.4.201", "image/jph"), ("1.2.840.10008.1.2.4.202", "image/jph"), ("1.2.840.10008.1.2.4.203", "image/jphc"),
        ("1.2.840.10008.1.2.4.112", "image/jxl"), ("1.2.840.10008.1.2.1", "application/octet-stream"),
        ("1.2.840.10008.1.2.4.92", "application/octet-stream"), ("1.2.840.10008.1.2.4.51", "application/octet-stream"),
    ]
    for (uid, type) in expected { #expect(MedicalImagingAPI.contentType(uid) == type, "\(uid)") }
}
