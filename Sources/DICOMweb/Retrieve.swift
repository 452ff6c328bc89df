import AsyncHTTPClient
import DICOMCore
import Foundation
import NIOCore
import NIOHTTP1
import Uploader

/// One instance brought back by WADO-RS and written as a Part 10 file.
public struct RetrievedInstance: Sendable, Hashable, Codable {
    /// Where it was written: `DIR/<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`.
    public var path: String
    /// Its Study Instance UID (0020,000D), from the data set.
    public var studyInstanceUID: String
    /// Its Series Instance UID (0020,000E), from the data set.
    public var seriesInstanceUID: String
    /// Its SOP Instance UID (0008,0018), from the data set.
    public var sopInstanceUID: String
    /// The transfer syntax of the data set (from its File Meta, or the part's `Content-Type`).
    public var transferSyntaxUID: String?
    /// The file's size in bytes.
    public var size: Int
    /// True when the server sent a bare data set and this tool wrote the File Meta
    /// (``FileMeta``); false when the part was a Part 10 file, kept byte for byte.
    public var fileMetaAdded: Bool

    public init(path: String, studyInstanceUID: String, seriesInstanceUID: String, sopInstanceUID: String,
                transferSyntaxUID: String?, size: Int, fileMetaAdded: Bool) {
        self.path = path
        self.studyInstanceUID = studyInstanceUID
        self.seriesInstanceUID = seriesInstanceUID
        self.sopInstanceUID = sopInstanceUID
        self.transferSyntaxUID = transferSyntaxUID
        self.size = size
        self.fileMetaAdded = fileMetaAdded
    }
}

/// How far a WADO-RS retrieve is: reported as the answer streams in.
public struct RetrieveProgress: Sendable, Hashable {
    /// Instances written so far.
    public var instances: Int
    /// Bytes of the answer received so far (multipart framing included).
    public var bytes: Int
}

/// One frame brought back by WADO-RS (`…/frames/{list}`).
public struct RetrievedFrame: Sendable, Hashable {
    /// The part's `Content-Type` (e.g. `application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1`).
    public var contentType: String?
    /// The frame's bytes: native pixels, or one compressed frame (a JPEG 2000 codestream, …).
    public var bytes: [UInt8]
}

extension DICOMwebClient {
    /// `transfer-syntax=*`: the instances as stored, nothing transcoded (PS3.18 §8.7.3.5.2).
    public static let anyTransferSyntax = "*"

    /// The `Accept` header of a retrieve: `multipart/related; type="application/dicom"; transfer-syntax=…`.
    public static func retrieveAccept(transferSyntax: String) -> String {
        MediaType("multipart/related", [.init("type", MediaType.dicom), .init("transfer-syntax", transferSyntax)]).description
    }

    /// WADO-RS retrieve (PS3.18 §10.4.1): a study, one of its series, or one instance, streamed
    /// to Part 10 files under `directory` as `<StudyInstanceUID>/<SeriesInstanceUID>/<SOPInstanceUID>.dcm`
    /// (the UIDs read from each data set and checked to be UIDs before they name anything).
    ///
    /// - `Accept: multipart/related; type="application/dicom"; transfer-syntax=…`: `*` (the default)
    ///   asks for the instances as stored; a UID asks the server to transcode (HealthImaging: the
    ///   stored syntax, or Explicit VR Little Endian `1.2.840.10008.1.2.1`; otherwise 406).
    /// - `imageSetId` (HealthImaging) addresses a non-primary image set; without it only primary
    ///   image sets are searched.
    /// - Each part is written to a temporary file in `directory` as it arrives (memory stays at one
    ///   chunk of the answer), then read back as DICOM and renamed into place. A part that is a
    ///   Part 10 file (preamble and `DICM`) keeps its bytes; a bare data set gets File Meta
    ///   (``FileMeta/prefix(sopClassUID:sopInstanceUID:transferSyntaxUID:)``) with the transfer
    ///   syntax of the part's `Content-Type`, or else the answer's, or else the one asked for.
    /// - An answer that ends before its closing boundary is an error, and the part it was
    ///   writing leaves no file; parts completed before it stay in place.
    /// - `progress` is called for every chunk received, from one task at a time.
    /// - Returns: the instances written, in the order the server sent them.
    /// - Throws: ``DICOMwebError`` (`.http` with status 404 for an unknown UID, 401/403 for
    ///   authentication), `MultipartError` for a malformed or truncated answer, file errors.
    public func retrieve(study: String, series: String? = nil, instance: String? = nil, imageSetId: String? = nil,
                         transferSyntax: String = DICOMwebClient.anyTransferSyntax, into directory: String,
                         progress: (@Sendable (RetrieveProgress) -> Void)? = nil) async throws -> [RetrievedInstance] {
        try Self.checkUID(study, "Study Instance UID")
        if let series { try Self.checkUID(series, "Series Instance UID") }
        if let instance {
            guard series != nil else { throw DICOMwebError.invalidArgument("an instance is retrieved within its series: give the Series Instance UID") }
            try Self.checkUID(instance, "SOP Instance UID")
        }
        if transferSyntax != Self.anyTransferSyntax { try Self.checkUID(transferSyntax, "Transfer Syntax UID") }
        let resource = Self.describe(study: study, series: series, instance: instance)
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let request = AWSRequest(operation: "WADO-RS retrieve", method: "GET", path: path(study: study, series: series, instance: instance),
                                 query: imageSetId.map { [("imageSetId", $0)] } ?? [],
                                 headers: [("Accept", Self.retrieveAccept(transferSyntax: transferSyntax))])
        let sink = RetrieveSink(directory: directory, requested: transferSyntax, resource: resource, progress: progress)
        do {
            _ = try await send(request, resource: resource) { _, headers, body in
                try await sink.consume(headers: headers, body: body)
            }
        } catch {
            sink.abandon()
            throw error
        }
        return sink.results
    }

    /// WADO-RS metadata (PS3.18 §10.4.1.1.2): `…/metadata` of a study, a series or an instance,
    /// one DICOM JSON object per instance. Large values come as `BulkDataURI` or `InlineBinary`.
    /// The answer is held in memory (up to the transport's 64 MB limit for collected answers).
    /// - Throws: ``DICOMwebError`` (404 for an unknown UID; `.invalidAnswer` for a body that is not a JSON array).
    public func metadata(study: String, series: String? = nil, instance: String? = nil,
                         imageSetId: String? = nil) async throws -> [DICOMJSONObject] {
        try Self.checkUID(study, "Study Instance UID")
        if let series { try Self.checkUID(series, "Series Instance UID") }
        if let instance { try Self.checkUID(instance, "SOP Instance UID") }
        let resource = "metadata of " + Self.describe(study: study, series: series, instance: instance)
        let request = AWSRequest(operation: "WADO-RS metadata", method: "GET",
                                 path: path(study: study, series: series, instance: instance) + "/metadata",
                                 query: imageSetId.map { [("imageSetId", $0)] } ?? [], headers: [("Accept", MediaType.dicomJSON)])
        let response = try await send(request, resource: resource)
        do {
            return try DICOMJSONObject.decodeArray(response.body)
        } catch {
            throw DICOMwebError.invalidAnswer(operation: request.operation, resource: resource, reason: "not a DICOM JSON array: \(error)")
        }
    }

    /// WADO-RS frames (PS3.18 §10.4.1.1.3): frames `numbers` (1-based) of one instance, in the
    /// order asked, each with its part's `Content-Type`.
    ///
    /// - `mediaType`: `application/octet-stream` for native frames (the default), or a compressed
    ///   frame type (`image/jp2`, `image/jphc`, `image/jls`, …, PS3.18 Table 8.7.3-5).
    /// - `transferSyntax`: `*` (the default) for frames as stored; a UID to ask for that one; nil
    ///   for none (the server's default, Explicit VR Little Endian for `octet-stream`).
    /// - The answer is held in memory.
    /// - Throws: ``DICOMwebError`` (404, 400/406 for a frame or syntax the server cannot give,
    ///   `.invalidAnswer` when the number of parts differs from the number asked), `MultipartError`.
    public func frames(study: String, series: String, instance: String, numbers: [Int],
                       mediaType: String = "application/octet-stream", transferSyntax: String? = DICOMwebClient.anyTransferSyntax,
                       imageSetId: String? = nil) async throws -> [RetrievedFrame] {
        try Self.checkUID(study, "Study Instance UID")
        try Self.checkUID(series, "Series Instance UID")
        try Self.checkUID(instance, "SOP Instance UID")
        guard !numbers.isEmpty, numbers.allSatisfy({ $0 >= 1 }) else {
            throw DICOMwebError.invalidArgument("frame numbers are 1-based and at least one is needed: \(numbers)")
        }
        var parameters: [MediaType.Parameter] = [.init("type", mediaType)]
        if let transferSyntax { parameters.append(.init("transfer-syntax", transferSyntax)) }
        let list = numbers.map(String.init).joined(separator: ",")
        let resource = "frames \(list) of " + Self.describe(study: study, series: series, instance: instance)
        var request = AWSRequest(operation: "WADO-RS frames", method: "GET",
                                 path: path(study: study, series: series, instance: instance) + "/frames/\(list)",
                                 query: imageSetId.map { [("imageSetId", $0)] } ?? [],
                                 headers: [("Accept", MediaType("multipart/related", parameters).description)])
        request.literalQueryCharacters = ","
        let response = try await send(request, resource: resource)
        guard let type = response.header("Content-Type").flatMap({ MediaType(parsing: $0) }) else {
            throw DICOMwebError.invalidAnswer(operation: request.operation, resource: resource, reason: "no Content-Type")
        }
        let frames: [RetrievedFrame]
        if type.isMultipart {
            guard let boundary = type.parameter("boundary") else {
                throw DICOMwebError.invalidAnswer(operation: request.operation, resource: resource, reason: "\(type) has no boundary")
            }
            frames = try Multipart.parts(of: response.body, boundary: boundary).map {
                RetrievedFrame(contentType: $0.header("Content-Type"), bytes: $0.body)
            }
        } else {
            frames = [RetrievedFrame(contentType: type.description, bytes: response.body)]
        }
        guard frames.count == numbers.count else {
            throw DICOMwebError.invalidAnswer(operation: request.operation, resource: resource,
                                              reason: "\(frames.count) part(s) for \(numbers.count) frame(s) asked")
        }
        return frames
    }
}

/// Writes a WADO-RS answer's parts to files as they stream in.
final class RetrieveSink: @unchecked Sendable {
    // @unchecked: used by the one body consumer of one request (calls never overlap);
    // `abandon()` and `results` are called after it returned or threw.
    let directory: String
    let requested: String
    let resource: String
    let progress: (@Sendable (RetrieveProgress) -> Void)?
    private(set) var results: [RetrievedInstance] = []
    private var current: Part?
    private var received = 0
    private var partCount = 0
    private var outerType: MediaType?

    /// The part being written.
    final class Part {
        let path: String
        let handle: FileHandle
        let contentType: MediaType?
        let index: Int
        init(path: String, handle: FileHandle, contentType: MediaType?, index: Int) {
            self.path = path
            self.handle = handle
            self.contentType = contentType
            self.index = index
        }
    }

    init(directory: String, requested: String, resource: String, progress: (@Sendable (RetrieveProgress) -> Void)?) {
        self.directory = directory
        self.requested = requested
        self.resource = resource
        self.progress = progress
    }

    func consume(headers: HTTPHeaders, body: HTTPClientResponse.Body) async throws {
        let type = headers.first(name: "Content-Type").flatMap { MediaType(parsing: $0) }
        outerType = type
        if let type, type.isMultipart {
            guard let boundary = type.parameter("boundary") else {
                throw DICOMwebError.invalidAnswer(operation: "WADO-RS retrieve", resource: resource, reason: "\(type) has no boundary")
            }
            var parser = try MultipartParser(boundary: boundary)
            for try await chunk in body {
                for event in try parser.feed(chunk.readableBytesView) { try handle(event) }
                received += chunk.readableBytes
                progress?(RetrieveProgress(instances: results.count, bytes: received))
            }
            for event in try parser.finish() { try handle(event) }
        } else if let type, type.essence == MediaType.dicom {
            // A single-part answer (PS3.18 §10.4.4 allows it for one instance).
            try handle(.headers([("Content-Type", type.description)]))
            for try await chunk in body {
                try handle(.data(ArraySlice(chunk.readableBytesView)))
                received += chunk.readableBytes
                progress?(RetrieveProgress(instances: results.count, bytes: received))
            }
            try handle(.end)
        } else {
            throw DICOMwebError.invalidAnswer(operation: "WADO-RS retrieve", resource: resource,
                                              reason: "Content-Type \(type?.description ?? "missing"); expected multipart/related")
        }
        progress?(RetrieveProgress(instances: results.count, bytes: received))
    }

    private func handle(_ event: MultipartParser.Event) throws {
        switch event {
        case .headers(let headers):
            try finishPart()
            let path = directory + "/.ahi-retrieve-\(UUID().uuidString).part"
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            let type = headers.first { $0.0.lowercased() == "content-type" }.flatMap { MediaType(parsing: $0.1) }
            current = Part(path: path, handle: handle, contentType: type, index: partCount)
            partCount += 1
        case .data(let bytes):
            guard let current else { return }
            try current.handle.write(contentsOf: bytes)
        case .end:
            try finishPart()
        }
    }

    /// Closes the current part, checks it, and moves it into place.
    private func finishPart() throws {
        guard let part = current else { return }
        current = nil
        try part.handle.close()
        var temporaries = [part.path]
        defer { for p in temporaries { try? FileManager.default.removeItem(atPath: p) } }
        let placed = try place(part, temporaries: &temporaries)
        results.append(placed)
    }

    /// Removes the part being written (after an error).
    func abandon() {
        guard let part = current else { return }
        current = nil
        try? part.handle.close()
        try? FileManager.default.removeItem(atPath: part.path)
    }

    private func invalid(_ part: Part, _ reason: String) -> DICOMwebError {
        .invalidAnswer(operation: "WADO-RS retrieve", resource: resource, reason: "part \(part.index + 1): \(reason)")
    }

    private func place(_ part: Part, temporaries: inout [String]) throws -> RetrievedInstance {
        let file: DICOMFile
        do {
            file = try DICOMFile.read(path: part.path, options: ParseOptions(stopBeforePixelData: true))
        } catch {
            throw invalid(part, "not a DICOM data set (\(error))")
        }
        var uids: [String] = []
        for (tag, name) in [(Tag.studyInstanceUID, "Study Instance UID"), (Tag.seriesInstanceUID, "Series Instance UID"),
                            (Tag.sopInstanceUID, "SOP Instance UID")] {
            guard let uid = file.dataSet.string(tag), !uid.isEmpty else { throw invalid(part, "the data set has no \(name)") }
            if let problem = Validator.uidProblem(uid) { throw invalid(part, "the \(name) \(uid.debugDescription) is not a UID (\(problem))") }
            uids.append(uid)
        }
        let (study, series, sop) = (uids[0], uids[1], uids[2])
        var source = part.path
        var transferSyntax = file.meta.string(.transferSyntaxUID)
        var added = false
        if !file.hasPreamble {
            let prefix: [UInt8]
            if !file.meta.elements.isEmpty {
                // `DICM` and File Meta without the preamble: only the preamble is missing.
                prefix = [UInt8](repeating: 0, count: 128)
            } else {
                guard let sopClass = file.dataSet.string(.sopClassUID), !sopClass.isEmpty else {
                    throw invalid(part, "a bare data set without a SOP Class UID: no File Meta can be written")
                }
                let ts = [part.contentType?.transferSyntax, outerType?.transferSyntax, requested]
                    .compactMap { $0 }.first { $0 != DICOMwebClient.anyTransferSyntax }
                    ?? (file.dataSet.isExplicitVR ? (file.dataSet.isLittleEndian ? TransferSyntax.explicitVRLittleEndian.uid
                                                      : TransferSyntax.explicitVRBigEndian.uid) : TransferSyntax.implicitVRLittleEndian.uid)
                do {
                    prefix = try FileMeta.prefix(sopClassUID: sopClass, sopInstanceUID: sop, transferSyntaxUID: ts)
                } catch {
                    throw invalid(part, "\(error)")
                }
                transferSyntax = ts
                added = true
            }
            let wrapped = directory + "/.ahi-retrieve-\(UUID().uuidString).part"
            temporaries.append(wrapped)
            try Self.write(prefix, then: part.path, to: wrapped)
            source = wrapped
            // Read back what was written: it must be a Part 10 file of the same instance.
            let check: DICOMFile
            do {
                check = try DICOMFile.read(path: wrapped, options: ParseOptions(stopBeforePixelData: true))
            } catch {
                throw invalid(part, "the file written with File Meta cannot be read back (\(error))")
            }
            guard check.hasPreamble, check.dataSet.string(.sopInstanceUID) == sop else {
                throw invalid(part, "the file written with File Meta does not read back as the same instance")
            }
        }
        let folder = directory + "/\(study)/\(series)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let destination = folder + "/\(sop).dcm"
        guard rename(source, destination) == 0 else {
            let code = errno
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination,
                                                           NSLocalizedDescriptionKey: "cannot move into \(destination): \(String(cString: strerror(code)))"])
        }
        temporaries.removeAll { $0 == source }
        let size = (try? FileManager.default.attributesOfItem(atPath: destination))?[.size] as? Int ?? 0
        return RetrievedInstance(path: destination, studyInstanceUID: study, seriesInstanceUID: series, sopInstanceUID: sop,
                                 transferSyntaxUID: transferSyntax, size: size, fileMetaAdded: added)
    }

    /// Writes `prefix` and then the bytes of the file at `path` (in chunks) to a new file `destination`.
    static func write(_ prefix: [UInt8], then path: String, to destination: String) throws {
        guard FileManager.default.createFile(atPath: destination, contents: Data(prefix)) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: destination])
        }
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: destination))
        defer { try? output.close() }
        try output.seekToEnd()
        let input = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? input.close() }
        while let chunk = try input.read(upToCount: 1 << 20), !chunk.isEmpty {
            try output.write(contentsOf: chunk)
        }
    }
}
