import Testing
@testable import DICOMCore

@Test func dictionaryHasStandardEntries() {
    #expect(StandardDictionary.entry(for: Tag(0x0010_0010))?.keyword == "PatientName")
}
