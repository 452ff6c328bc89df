import Foundation
import Testing
@testable import DICOMCore
import TestSupport

/// Every file of pydicom's test corpus (and pydicom-data) dumps to the same DICOM JSON as pydicom's to_json_dict.
@Test(.timeLimit(.minutes(20))) func pydicomCorpusOracle() throws {
    let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/pydicom_compare.py").path,
                                "--tool", toolPath()])
    print(r.out)
    #expect(r.status == 0, "unexplained differences with pydicom:\n\(r.out)\n\(r.err.suffix(2000))")
    #expect(r.out.contains(" identical"))
}

/// Fixtures converted by DCMTK (dcmconv) and GDCM (gdcmconv) parse, their frames are found and
/// match pydicom's, and their JSON matches pydicom's.
@Test(.timeLimit(.minutes(10))) func dcmtkAndGdcmConversions() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ahi-conv-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let sources = ["ct_explicit_le.dcm", "multiframe_8frames.dcm", "nested_private.dcm", "charset_utf8.dcm"]
    let conversions: [(String, [String])] = [
        ("dcmconv", ["+te"]), ("dcmconv", ["+tb"]), ("dcmconv", ["+ti"]), ("dcmconv", ["+td"]),
        ("gdcmconv", ["--jpegls"]), ("gdcmconv", ["--j2k"]), ("gdcmconv", ["--rle"]),
    ]
    var outputs: [String] = []
    for source in sources {
        for (tool, flags) in conversions {
            let out = dir.appendingPathComponent("\(tool)\(flags[0])_\(source)").path
            let r = try run(tool, flags + [fixture(source), out])
            #expect(r.status == 0, "\(tool) \(flags) \(source): \(r.err)")
            outputs.append(out)
        }
    }
    for out in outputs {
        let file = try DICOMFile.read(path: out)
        #expect(!file.diagnostics.contains { $0.severity == .error }, "\(out): \(file.diagnostics)")
        let frames = try file.frames()
        #expect(frames.count == file.numberOfFrames, "\(out)")
    }
    try compareFramesWithPydicom(outputs.filter { !$0.contains("dcmconv+tb") })
    let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/pydicom_compare.py").path,
                                "--tool", toolPath()] + outputs)
    print(r.out)
    #expect(r.status == 0, "\(r.out)")
}
