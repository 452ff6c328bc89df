import DICOMCore
import DICOMweb
import Foundation
import Uploader

/// HealthImaging's DICOMweb (healthimaging.md §8) at `/datastore/{id}/studies…`: STOW-RS
/// here, WADO-RS in `DICOMwebRetrieve.swift`, QIDO-RS in `QIDO.swift`. Errors are a plain
/// status with a short JSON body `{"message": …}`; STOW-RS faults (429/503) use the
/// rest-json error shape of the other operations.
struct DICOMwebAPI: Sendable {
    let ahi: HealthImagingStore
    let faults: Faults
    let counters: Counters

    /// Counts STOW-RS requests for fault injection.
    actor Counters {
        var stows = 0
        func nextStow() -> Int { stows += 1; return stows }
    }

    /// True for `/datastore/{id}/studies…`.
    static func handles(_ r: HTTPRequest) -> Bool {
        let s = segments(r)
        return s.count >= 3 && s[0] == "datastore" && s[2] == "studies"
    }

    static func segments(_ r: HTTPRequest) -> [String] {
        r.rawPath.split(separator: "/").map { SigV4Signer.percentDecode($0) }
    }

    /// A DICOMweb error: status and `{"message": …}`.
    static func error(_ status: Int, _ message: String) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json")],
                     body: Array(ImportRunner.text(["message": message]).utf8))
    }

    /// `http://{Host}/datastore/{id}`, the base of RetrieveURLs.
    static func base(_ r: HTTPRequest, _ datastoreId: String) -> String {
        "http://\(r.header("Host") ?? "127.0.0.1")/datastore/\(datastoreId)"
    }

    func handle(_ r: HTTPRequest) async -> HTTPResponse {
        let s = Self.segments(r)
        let datastoreId = s[1]
        guard await ahi.datastore(datastoreId) != nil else { return Self.error(404, "Datastore \(datastoreId) not found") }
        let path = Array(s.dropFirst(3))  // after `studies`
        if r.method == "POST" {
            guard path.count <= 1 else { return Self.error(405, "STOW-RS takes /studies or /studies/{StudyInstanceUID}") }
            return await store(r, datastoreId: datastoreId, study: path.first)
        }
        guard r.method == "GET" || r.method == "HEAD" else { return Self.error(405, "\(r.method) is not supported here") }
        let retrieve = DICOMwebRetrieve(ahi: ahi)
        let query = QIDOSearch(ahi: ahi)
        switch path.count {
        case 0: return await query.search(r, datastoreId: datastoreId, level: .study, study: nil, series: nil)
        case 1: return await retrieve.instances(r, datastoreId: datastoreId, study: path[0], series: nil, sop: nil)
        case 2 where path[1] == "metadata": return await retrieve.metadata(r, datastoreId: datastoreId, study: path[0], series: nil, sop: nil)
        case 2 where path[1] == "series": return await query.search(r, datastoreId: datastoreId, level: .series, study: path[0], series: nil)
        case 2 where path[1] == "instances": return await query.search(r, datastoreId: datastoreId, level: .instance, study: path[0], series: nil)
        case 3 where path[1] == "series": return await retrieve.instances(r, datastoreId: datastoreId, study: path[0], series: path[2], sop: nil)
        case 4 where path[1] == "series" && path[3] == "metadata":
            return await retrieve.metadata(r, datastoreId: datastoreId, study: path[0], series: path[2], sop: nil)
        case 4 where path[1] == "series" && path[3] == "instances":
            return await query.search(r, datastoreId: datastoreId, level: .instance, study: path[0], series: path[2])
        case 5 where path[1] == "series" && path[3] == "instances":
            return await retrieve.instances(r, datastoreId: datastoreId, study: path[0], series: path[2], sop: path[4])
        case 6 where path[1] == "series" && path[3] == "instances" && path[5] == "metadata":
            return await retrieve.metadata(r, datastoreId: datastoreId, study: path[0], series: path[2], sop: path[4])
        case 7 where path[1] == "series" && path[3] == "instances" && path[5] == "frames":
            return await retrieve.frames(r, datastoreId: datastoreId, study: path[0], series: path[2], sop: path[4], list: path[6])
        case 7 where path[1] == "series" && path[3] == "instances" && path[5] == "bulk":
            return await retrieve.bulk(r, datastoreId: datastoreId, study: path[0], series: path[2], sop: path[4], tag: path[6])
        default: return Self.error(404, "No such DICOMweb resource: \(r.rawPath)")
        }
    }

    // MARK: STOW-RS

    /// One instance of a STOW-RS request body: its bytes, or why the part is not one.
    private enum Part {
        case instance([UInt8])
        case unsupported(String)
    }

    /// Splits the body by its Content-Type; a response when the request itself is refused.
    private static func parts(_ r: HTTPRequest) -> Result<[Part], HTTPErrorResponse> {
        guard let text = r.header("Content-Type"), let type = MediaType(parsing: text) else {
            return .failure(.init(error(415, "Content-Type must be multipart/related; type=\"application/dicom\" or application/dicom")))
        }
        if type.essence == MediaType.dicom { return .success([.instance(r.body)]) }
        guard type.essence == "multipart/related" else {
            return .failure(.init(error(415, "Content-Type \(type.essence) is not supported: send multipart/related; type=\"application/dicom\"")))
        }
        let root = type.rootType?.essence ?? MediaType.dicom
        guard root == MediaType.dicom else {
            return .failure(.init(error(415, "multipart/related of \(root) is not supported: only application/dicom instances")))
        }
        guard let boundary = type.parameter("boundary"), !boundary.isEmpty else {
            return .failure(.init(error(400, "multipart/related without a boundary")))
        }
        do {
            let parts = try Multipart.parts(of: r.body, boundary: boundary)
            guard !parts.isEmpty else { return .failure(.init(error(400, "The request holds no instance"))) }
            return .success(parts.map { p in
                let essence = p.contentType?.essence ?? MediaType.dicom
                return essence == MediaType.dicom ? .instance(p.body) : .unsupported(essence)
            })
        } catch {
            return .failure(.init(Self.error(400, "The multipart body cannot be read: \(error)")))
        }
    }

    private func store(_ r: HTTPRequest, datastoreId: String, study pathStudy: String?) async -> HTTPResponse {
        let n = await counters.nextStow()
        if n <= faults.stowThrottle {
            return MedicalImagingAPI.error(429, "ThrottlingException", "Rate exceeded (injected: STOW-RS request \(n))")
        }
        if n <= faults.stowThrottle + faults.stowUnavailable {
            return MedicalImagingAPI.error(503, "ServiceUnavailableException", "Service unavailable (injected: STOW-RS request \(n))")
        }
        let parts: [Part]
        switch Self.parts(r) {
        case .success(let p): parts = p
        case .failure(let f): return f.response
        }
        let base = Self.base(r, datastoreId)
        var response = StoreResponse()
        var touched = Set<String>()
        let writer = "stow-\(HealthImagingStore.newId())"
        let importer = InstanceImporter(ahi: ahi)
        for (index, part) in parts.enumerated() {
            let name = "part \(index + 1)"
            guard case .instance(let bytes) = part else {
                response.failed.append(.init(sopClassUID: nil, sopInstanceUID: "", failureReason: InstanceImporter.FailureReason.cannotUnderstand))
                continue
            }
            let source = InstanceImporter.Source.bytes(bytes, name: name)
            let file: DICOMFile
            switch InstanceImporter.read(source) {
            case .file(let f): file = f
            case .failed:
                response.failed.append(.init(sopClassUID: nil, sopInstanceUID: "", failureReason: InstanceImporter.FailureReason.cannotUnderstand))
                continue
            }
            let ds = file.dataSet
            let sop = ds.string(.sopInstanceUID) ?? file.meta.string(.mediaStorageSOPInstanceUID) ?? ""
            let sopClass = ds.string(.sopClassUID)
            if let pathStudy, ds.string(.studyInstanceUID) != pathStudy {
                // PS3.18 §10.5.2: every instance must belong to the target study; the closest
                // Table I.2-2 class is A9xx (the data set does not match what was asked).
                response.failed.append(.init(sopClassUID: sopClass, sopInstanceUID: sop, failureReason: InstanceImporter.FailureReason.dataSetMismatch))
                continue
            }
            if faults.stowFail.contains(sop) {
                response.failed.append(.init(sopClassUID: sopClass, sopInstanceUID: sop, failureReason: InstanceImporter.FailureReason.processingFailure))
                continue
            }
            switch await importer.importInstance(file, source: source, datastoreId: datastoreId, writer: writer, touched: &touched) {
            case .imported(let stored):
                var url = "\(base)/studies/\(stored.studyInstanceUID)/series/\(stored.seriesInstanceUID)/instances/\(stored.sopInstanceUID)"
                if !stored.isPrimary { url += "?imageSetId=\(stored.imageSetId)" }
                response.stored.append(.init(sopClassUID: stored.sopClassUID, sopInstanceUID: stored.sopInstanceUID, retrieveURL: url,
                                             warningReason: stored.warningCode))
                if response.retrieveURL == nil { response.retrieveURL = "\(base)/studies/\(stored.studyInstanceUID)" }
            case .failed(_, _, let reason):
                response.failed.append(.init(sopClassUID: sopClass, sopInstanceUID: sop, failureReason: reason))
            }
        }
        if !touched.isEmpty { await ahi.commit() }
        let status = response.stored.isEmpty ? 409 : response.failed.isEmpty ? 200 : 202
        return HTTPResponse(status: status, headers: [("Content-Type", MediaType.dicomJSON)], body: Self.encode(response))
    }

    /// The STOW-RS answer; a failed item of a part with no readable SOP Instance UID has no 00081155.
    static func encode(_ response: StoreResponse) -> [UInt8] {
        var o = response.object
        if var failed = o[.failedSOPSequence], let items = failed.Value {
            failed.Value = items.map { value in
                guard case .item(var item) = value, item.string(.referencedSOPInstanceUID)?.isEmpty ?? true else { return value }
                item.attributes[Tag.referencedSOPInstanceUID.jsonKey] = nil
                return .item(item)
            }
            o[.failedSOPSequence] = failed
        }
        return o.encoded()
    }
}

/// A response that ends a request early (an error), as an `Error` for `Result`.
struct HTTPErrorResponse: Error {
    let response: HTTPResponse
    init(_ response: HTTPResponse) { self.response = response }
}
