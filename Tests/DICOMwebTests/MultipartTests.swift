import DICOMCore
import DICOMweb
import Foundation
import Testing

@Suite struct MultipartTests {
    /// A body as dicomweb-client writes it (CRLF before the first delimiter, quoted fixed boundary),
    /// with a preamble-free start, a part holding CRLF and "--" sequences, and an epilogue.
    static let body: [UInt8] = Array(("\r\n--0f3cf5c0-70e0-41ef-baef-c6f9f65ec3e1\r\n"
        + "Content-Type: application/dicom\r\n\r\n" + "first\r\n--0f3cf5c0 not a delimiter\r\n"
        + "\r\n--0f3cf5c0-70e0-41ef-baef-c6f9f65ec3e1  \r\n"
        + "Content-Type: application/dicom; transfer-syntax=1.2.840.10008.1.2.1\r\nContent-Length: 6\r\n\r\n" + "second"
        + "\r\n--0f3cf5c0-70e0-41ef-baef-c6f9f65ec3e1--\r\nepilogue --0f3cf5c0-70e0-41ef-baef-c6f9f65ec3e1\r\n").utf8)

    @Test func readsPartsWholeAndInEveryChunkSize() throws {
        let boundary = "0f3cf5c0-70e0-41ef-baef-c6f9f65ec3e1"
        let whole = try Multipart.parts(of: Self.body, boundary: boundary)
        #expect(whole.count == 2)
        #expect(String(decoding: whole[0].body, as: UTF8.self) == "first\r\n--0f3cf5c0 not a delimiter\r\n")
        #expect(String(decoding: whole[1].body, as: UTF8.self) == "second")
        #expect(whole[1].contentType?.transferSyntax == "1.2.840.10008.1.2.1")
        #expect(whole[1].header("content-length") == "6")
        for size in 1...40 {
            var parser = try MultipartParser(boundary: boundary)
            var bodies: [[UInt8]] = []
            var i = 0
            while i < Self.body.count {
                for e in try parser.feed(Self.body[i..<min(i + size, Self.body.count)]) {
                    switch e {
                    case .headers: bodies.append([])
                    case .data(let d): bodies[bodies.count - 1] += d
                    case .end: break
                    }
                }
                i += size
            }
            _ = try parser.finish()
            #expect(bodies == whole.map(\.body), "chunk size \(size)")
        }
    }

    @Test func writtenBodiesReadBackAndTruncationIsAnError() throws {
        let boundary = Multipart.makeBoundary()
        #expect(boundary.count >= 32)
        let parts: [(contentType: String, body: [UInt8])] = [("application/dicom", Array(0...255)), ("application/dicom", [])]
        let body = Multipart.encode(parts, boundary: boundary)
        let read = try Multipart.parts(of: body, boundary: boundary)
        #expect(read.map(\.body) == parts.map(\.body))
        #expect(throws: MultipartError.self) { try Multipart.parts(of: body.dropLast(8), boundary: boundary) }
        #expect(throws: MultipartError.self) { try Multipart.parts(of: Array("no boundary here".utf8), boundary: boundary) }
    }

    @Test func mediaTypesAsPeersWriteThem() throws {
        let orthanc = try #require(MediaType(parsing: "multipart/related; type=\"application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1\"; boundary=abc"))
        #expect(orthanc.essence == "multipart/related")
        #expect(orthanc.parameter("boundary") == "abc")
        #expect(orthanc.transferSyntax == "1.2.840.10008.1.2.1")
        #expect(orthanc.rootType?.essence == "application/octet-stream")
        let old = try #require(MediaType(parsing: "Multipart/Related;boundary=\"x y\" ;type=application/dicom"))
        #expect(old.rootType?.essence == "application/dicom")
        #expect(old.parameter("BOUNDARY") == "x y")
        let written = MediaType.multipartRelated(type: "application/dicom", boundary: "b1", transferSyntax: "*").description
        #expect(written == "multipart/related; type=\"application/dicom\"; transfer-syntax=*; boundary=b1")
        let ranges = MediaType.acceptRanges("multipart/related; type=\"application/dicom\"; transfer-syntax=*; q=0.5, multipart/related; type=\"application/dicom\"; transfer-syntax=1.2.840.10008.1.2.4.202")
        #expect(ranges.map(\.type.transferSyntax) == ["1.2.840.10008.1.2.4.202", "*"])
        #expect(ranges.map(\.q) == [1, 0.5])
    }

    /// A STOW-RS answer with one stored instance carrying a warning and one failure, as PS3.18 Annex I
    /// lays it out (US values decimal; the AWS sample's SOPInstanceUID spelling in the failed item).
    @Test func storeResponseReadsBothSequences() throws {
        let text = """
        {"00081190":{"vr":"UR","Value":["http://h/studies/1.2"]},
         "00081198":{"vr":"SQ","Value":[{"00081150":{"vr":"UI","Value":["1.2.840.10008.5.1.4.1.1.2"]},
            "00080018":{"vr":"UI","Value":["1.2.3.5"]},"00081197":{"vr":"US","Value":[49442]}}]},
         "00081199":{"vr":"SQ","Value":[{"00081150":{"vr":"UI","Value":["1.2.840.10008.5.1.4.1.1.2"]},
            "00081155":{"vr":"UI","Value":["1.2.3.4"]},"00081196":{"vr":"US","Value":[45329]}}]}}
        """
        let r = try StoreResponse.parse(Array(text.utf8))
        #expect(r.retrieveURL == "http://h/studies/1.2")
        #expect(r.stored == [.init(sopClassUID: "1.2.840.10008.5.1.4.1.1.2", sopInstanceUID: "1.2.3.4", warningReason: 0xB111)])
        #expect(r.failed == [.init(sopClassUID: "1.2.840.10008.5.1.4.1.1.2", sopInstanceUID: "1.2.3.5", failureReason: 0xC122)])
        #expect(StoreResponse.describe(failureReason: 0xC122) == "C122 transfer syntax not supported")
        #expect(StoreResponse.describe(warningReason: 45329) == "B111 FRAME_NUMBER_MISMATCH")
        // Orthanc's success: an empty FailedSOPSequence without Value.
        let orthanc = try StoreResponse.parse(Array(#"{"00081198":{"vr":"SQ"},"00081199":{"vr":"SQ","Value":[{"00081155":{"vr":"UI","Value":["9.9"]}}]}}"#.utf8))
        #expect(orthanc.failed.isEmpty && orthanc.stored.map(\.sopInstanceUID) == ["9.9"])
        // What a server writes reads back the same.
        #expect(try StoreResponse.parse(r.object.encoded()) == StoreResponse(retrieveURL: r.retrieveURL, stored: r.stored, failed: r.failed))
    }
}
