import DICOMCore
import DICOMweb
import Foundation
import HTJ2K

/// WADO-RS (PS3.18 §10.4) over the kept instances: instances, metadata, frames and pixel bulk data.
///
/// Accept handling (the `accept` query parameter stands in for the header; ranges are tried
/// best `q` first; none acceptable → 406):
/// - Instances: `multipart/related; type="application/dicom"` (a missing `type` means
///   application/dicom) with `transfer-syntax=*` or the stored syntax serves the kept Part 10
///   bytes; with no `transfer-syntax` the default Explicit VR Little Endian is meant, served
///   when the kept copy is in it (no transcoding: else 406). A missing Accept and `*/*` mean
///   "as stored". Single-part `application/dicom` only for one instance.
/// - Frames: `image/jphc` (or the stored frame's media type), `*`, `*/*` serve frames as stored;
///   `application/octet-stream` serves decoded, uncompressed pixels (HTJ2K/JPEG 2000 frames decoded,
///   native frames as they are; other stored syntaxes → 406).
/// - `imageSetId` addresses that image set (primary or not); without it, primary image sets only.
struct DICOMwebRetrieve: Sendable {
    let ahi: HealthImagingStore

    /// The instances a path addresses, ordered by series and InstanceNumber; a 404 response when none.
    func select(_ r: HTTPRequest, datastoreId: String, study: String, series: String?, sop: String?)
        async -> Result<[HealthImagingStore.Located], HTTPErrorResponse> {
        let all = await ahi.located(datastoreId, imageSetId: r.queryValue("imageSetId"))
        let chosen = all.filter { $0.study == study && (series == nil || $0.series == series) && (sop == nil || $0.sop == sop) }
        guard !chosen.isEmpty else {
            let what = sop.map { "Instance \($0)" } ?? series.map { "Series \($0)" } ?? "Study \(study)"
            return .failure(.init(DICOMwebAPI.error(404, "\(what) not found")))
        }
        return .success(chosen.sorted { a, b in
            a.series != b.series ? a.series < b.series : QIDOSearch.instanceOrder(a.instance, a.sop, b.instance, b.sop)
        })
    }

    /// The media ranges asked for, best first (`accept` query parameter, else the header, else `*/*`).
    static func accepted(_ r: HTTPRequest) -> [MediaType] {
        let header = r.queryValue("accept") ?? r.header("Accept") ?? "*/*"
        let ranges = MediaType.acceptRanges(header).filter { $0.q > 0 }.map(\.type)
        return ranges.isEmpty ? [MediaType("*/*")] : ranges
    }

    // MARK: Instances

    func instances(_ r: HTTPRequest, datastoreId: String, study: String, series: String?, sop: String?) async -> HTTPResponse {
        let chosen: [HealthImagingStore.Located]
        switch await select(r, datastoreId: datastoreId, study: study, series: series, sop: sop) {
        case .success(let c): chosen = c
        case .failure(let f): return f.response
        }
        var files: [(syntax: String, bytes: [UInt8])] = []
        for located in chosen {
            guard let id = located.instance.part10Id, let bytes = await ahi.part10(id) else { continue }
            files.append((located.instance.part10TransferSyntaxUID ?? TransferSyntax.explicitVRLittleEndian.uid, bytes))
        }
        guard !files.isEmpty else { return DICOMwebAPI.error(404, "No Part 10 copy is kept for these instances (stored before ahi-local kept copies)") }
        let syntaxes = Set(files.map(\.syntax))
        for range in Self.accepted(r) {
            let single = range.essence == MediaType.dicom
            guard range.essence == "*/*" || range.essence == "multipart/related" || (single && sop != nil) else { continue }
            if range.essence == "multipart/related", let root = range.rootType?.essence, root != MediaType.dicom, root != "*/*" { continue }
            let asked = range.essence == "*/*" ? "*" : range.transferSyntax ?? TransferSyntax.explicitVRLittleEndian.uid
            guard asked == "*" || syntaxes == [asked] else { continue }
            if single, let file = files.first {
                return HTTPResponse(status: 200, headers: [("Content-Type", "\(MediaType.dicom); transfer-syntax=\(file.syntax)")], body: file.bytes)
            }
            let boundary = Multipart.makeBoundary()
            let body = Multipart.encode(files.map { ("\(MediaType.dicom); transfer-syntax=\($0.syntax)", $0.bytes) }, boundary: boundary)
            let type = MediaType.multipartRelated(type: MediaType.dicom, boundary: boundary, transferSyntax: asked == "*" ? nil : asked)
            return HTTPResponse(status: 200, headers: [("Content-Type", type.description)], body: body)
        }
        return DICOMwebAPI.error(406, "None of the accepted media types can be produced: instances are served as stored "
                                 + "(transfer syntaxes \(syntaxes.sorted().joined(separator: ", "))); ask for transfer-syntax=* or one of those")
    }

    // MARK: Metadata

    func metadata(_ r: HTTPRequest, datastoreId: String, study: String, series: String?, sop: String?) async -> HTTPResponse {
        let chosen: [HealthImagingStore.Located]
        switch await select(r, datastoreId: datastoreId, study: study, series: series, sop: sop) {
        case .success(let c): chosen = c
        case .failure(let f): return f.response
        }
        let base = DICOMwebAPI.base(r, datastoreId)
        var objects: [DICOMJSONObject] = []
        for located in chosen {
            guard var o = await Self.object(ahi, located) else { continue }
            if var pixel = o[.pixelData] {
                var url = "\(base)/studies/\(located.study)/series/\(located.series)/instances/\(located.sop)/bulk/\(Tag.pixelData.jsonKey)"
                if !located.isPrimary { url += "?imageSetId=\(located.imageSetId)" }
                pixel.BulkDataURI = url
                o[.pixelData] = pixel
            }
            objects.append(o)
        }
        return Self.jsonArray(objects)
    }

    /// The kept DICOM JSON of an instance.
    static func object(_ ahi: HealthImagingStore, _ located: HealthImagingStore.Located) async -> DICOMJSONObject? {
        guard let id = located.instance.part10Id, let bytes = await ahi.instanceJSON(id) else { return nil }
        return try? DICOMJSONObject.decodeObject(bytes)
    }

    /// `application/dicom+json` with a JSON array of objects.
    static func jsonArray(_ objects: [DICOMJSONObject]) -> HTTPResponse {
        var body: [UInt8] = [UInt8(ascii: "[")]
        for (i, o) in objects.enumerated() {
            if i > 0 { body.append(UInt8(ascii: ",")) }
            body += o.encoded()
        }
        body.append(UInt8(ascii: "]"))
        return HTTPResponse(status: 200, headers: [("Content-Type", MediaType.dicomJSON)], body: body)
    }

    // MARK: Frames

    /// The media type a frame stored in `syntax` is served as (PS3.18 Table 8.7.3-5).
    static func frameMediaType(_ syntax: TransferSyntax) -> String {
        switch syntax.codec {
        case .htj2k: return "image/jphc"
        case .jpeg2000: return syntax.uid.hasSuffix(".92") || syntax.uid.hasSuffix(".93") ? "image/jpx" : "image/jp2"
        case .jpegLS: return "image/jls"
        case .rle: return "image/dicom-rle"
        case .native: return "application/octet-stream"
        default: return "image/jpeg"
        }
    }

    private enum FrameForm { case stored, decoded }

    /// Which form a media range asks frames in, or nil when it cannot be served.
    private static func frameForm(_ range: MediaType, stored: TransferSyntax) -> FrameForm? {
        var inner = range
        if range.essence == "multipart/related" {
            guard let root = range.rootType else { return .decoded }  // the default: application/octet-stream
            inner = MediaType(root.essence, root.parameters + range.parameters.filter { $0.name == "transfer-syntax" })
        }
        let ts = inner.transferSyntax
        switch inner.essence {
        case "*/*", "*": return .stored
        case "application/octet-stream":
            guard ts == nil || ts == "*" || ts == TransferSyntax.explicitVRLittleEndian.uid else { return nil }
            return .decoded
        case frameMediaType(stored):
            guard ts == nil || ts == "*" || ts == stored.uid else { return nil }
            return .stored
        default: return nil
        }
    }

    func frames(_ r: HTTPRequest, datastoreId: String, study: String, series: String, sop: String, list: String) async -> HTTPResponse {
        let numbers = list.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard !numbers.isEmpty, numbers.allSatisfy({ ($0 ?? 0) >= 1 }) else {
            return DICOMwebAPI.error(400, "frame list must be comma-separated numbers from 1: \(list)")
        }
        let located: HealthImagingStore.Located
        switch await select(r, datastoreId: datastoreId, study: study, series: series, sop: sop) {
        case .success(let c): located = c[0]
        case .failure(let f): return f.response
        }
        let frames = located.instance.frames
        let wanted = numbers.compactMap { $0 }
        if let past = wanted.first(where: { $0 > frames.count }) {
            return DICOMwebAPI.error(404, "Frame \(past) does not exist: the instance has \(frames.count) retrievable frames")
        }
        let stored = TransferSyntax.forUID(located.instance.storedTransferSyntaxUID)
        guard let form = Self.accepted(r).lazy.compactMap({ Self.frameForm($0, stored: stored) }).first else {
            return DICOMwebAPI.error(406, "Frames are stored as \(Self.frameMediaType(stored)) (\(stored.uid)); ask for it, */* or application/octet-stream")
        }
        var parts: [(contentType: String, body: [UInt8])] = []
        let attributes = await Self.object(ahi, located)
        for n in wanted {
            guard let bytes = await ahi.frame(frames[n - 1].id) else { return DICOMwebAPI.error(404, "Frame \(n) is missing from the store") }
            switch form {
            case .stored:
                parts.append(("\(Self.frameMediaType(stored)); transfer-syntax=\(stored.uid)", bytes))
            case .decoded:
                guard let pixels = Self.decode(bytes, stored: stored, attributes: attributes) else {
                    return DICOMwebAPI.error(406, "Frames stored as \(stored.uid) cannot be served uncompressed here")
                }
                parts.append(("application/octet-stream; transfer-syntax=\(TransferSyntax.explicitVRLittleEndian.uid)", pixels))
            }
        }
        let boundary = Multipart.makeBoundary()
        let root = form == .stored ? Self.frameMediaType(stored) : "application/octet-stream"
        let type = MediaType.multipartRelated(type: root, boundary: boundary,
                                              transferSyntax: form == .stored ? stored.uid : TransferSyntax.explicitVRLittleEndian.uid)
        return HTTPResponse(status: 200, headers: [("Content-Type", type.description)], body: Multipart.encode(parts, boundary: boundary))
    }

    /// Uncompressed little-endian samples of a stored frame at Bits Allocated, or nil.
    static func decode(_ bytes: [UInt8], stored: TransferSyntax, attributes: DICOMJSONObject?) -> [UInt8]? {
        switch stored.codec {
        case .native: return bytes
        case .htj2k, .jpeg2000:
            guard let pixels = try? J2KDecoder.decode(bytes) else { return nil }
            let allocated = attributes?.string(.bitsAllocated).flatMap { Int($0) } ?? pixels.bytesPerSample * 8
            let signed = attributes?.string(.pixelRepresentation) == "1"
            return pixels.widened(toBytesPerSample: PixelBuffer.bytesPerSample(forBits: allocated), signed: signed).bytes
        default: return nil
        }
    }

    // MARK: Bulk data

    /// The pixel data of an instance (the BulkDataURI of its metadata): its value bytes as
    /// kept, in one `application/octet-stream` part (encapsulated pixel data as its fragments' items).
    func bulk(_ r: HTTPRequest, datastoreId: String, study: String, series: String, sop: String, tag: String) async -> HTTPResponse {
        guard tag.uppercased() == Tag.pixelData.jsonKey else { return DICOMwebAPI.error(404, "No bulk data \(tag)") }
        let located: HealthImagingStore.Located
        switch await select(r, datastoreId: datastoreId, study: study, series: series, sop: sop) {
        case .success(let c): located = c[0]
        case .failure(let f): return f.response
        }
        guard let id = located.instance.part10Id, let bytes = await ahi.part10(id),
              let file = try? DICOMFile.read(bytes: bytes), let e = file.dataSet[.pixelData] else {
            return DICOMwebAPI.error(404, "No pixel data kept for instance \(sop)")
        }
        let boundary = Multipart.makeBoundary()
        let value = Array(file.dataSet.bytes(of: e))
        return HTTPResponse(status: 200, headers: [("Content-Type", MediaType.multipartRelated(type: "application/octet-stream", boundary: boundary).description)],
                            body: Multipart.encode([("application/octet-stream", value)], boundary: boundary))
    }
}
