import Testing
import DICOMCore

/// The generated tag constants are the dictionary's tags, named by keyword in lowerCamelCase.
@Test func tagConstantsMatchTheDictionary() {
    let cases: [(DICOMCore.Tag, String)] = [
        (.studyInstanceUID, "StudyInstanceUID"), (.sopInstanceUID, "SOPInstanceUID"), (.rtPlanLabel, "RTPlanLabel"),
        (.patientName, "PatientName"), (.transferSyntaxUID, "TransferSyntaxUID"), (.item, "Item"),
        (.sequenceDelimitationItem, "SequenceDelimitationItem"), (.pixelData, "PixelData"), (.dBdt, "dBdt"),
        (.lutDescriptor, "LUTDescriptor"), (.commandLengthToEnd, "CommandLengthToEnd"),  // retired
    ]
    for (tag, keyword) in cases {
        #expect(StandardDictionary.entry(forKeyword: keyword)?.tag == tag, "\(keyword)")
    }
    #expect(DICOMCore.Tag.studyInstanceUID == DICOMCore.Tag(group: 0x0020, element: 0x000D))
}

/// Every known transfer syntax is in the registry once, and its flags agree with its name.
@Test func transferSyntaxRegistryIsConsistent() {
    #expect(Set(TransferSyntax.all.map(\.uid)).count == TransferSyntax.all.count)
    for ts in TransferSyntax.all {
        #expect(TransferSyntax.forUID(ts.uid) == ts)
        if ts.name.contains("Lossless") && !ts.name.contains("Lossy") { #expect(ts.isLossless, "\(ts)") }
        if ts.name.contains("Lossy") || ts.name.hasPrefix("MPEG") || ts.name.contains("H.26") { #expect(!ts.isLossless, "\(ts)") }
        if !ts.isEncapsulated { #expect([.native, .jpipReferenced, .other].contains(ts.codec), "\(ts)") }
    }
    let unknown = TransferSyntax.forUID("1.2.3.4")
    #expect(!unknown.isKnown && unknown.codec == .other && unknown.healthImagingImport == nil && !unknown.isLossless)
}

/// HealthImaging imports the 35 syntaxes of its documentation, transcoding the lossless
/// and older lossy ones and retaining lossy JPEG, JPEG 2000, HTJ2K, JPEG XL and video.
@Test func healthImagingImportsTheDocumentedSyntaxes() {
    let imported = TransferSyntax.all.filter { $0.healthImagingImport != nil }
    #expect(imported.count == 35)
    let retained = imported.filter { $0.healthImagingImport == .retained }
    #expect(Set(retained.map(\.codec)) == [.jpegBaseline, .jpeg2000, .htj2k, .jpegXL, .mpeg2, .h264, .hevc])
    #expect(retained.allSatisfy { !$0.isLossless })
    #expect(TransferSyntax.htj2kLosslessRPCL.healthImagingImport == .transcoded)
    #expect(TransferSyntax.explicitVRLittleEndian.healthImagingImport == .transcoded)
    for refused in ["1.2.840.10008.1.2.1.98", "1.2.840.10008.1.2.4.52", "1.2.840.10008.1.2.4.58",
                    "1.2.840.10008.1.2.4.94", "1.2.840.10008.1.2.4.110", "1.2.840.10008.1.2.4.204", "1.2.840.10008.1.20"] {
        #expect(TransferSyntax.forUID(refused).healthImagingImport == nil, "\(refused)")
    }
}
