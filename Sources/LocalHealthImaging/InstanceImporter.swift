import ByteCoding
import DICOMCore
import Foundation
import HTJ2K

/// Stores one DICOM instance the way HealthImaging does, for import jobs and STOW-RS alike:
/// parse, validate, assign it to the primary image set of its series or to a non-primary one
/// (conflicting patient/study attributes), store its frames (lossless sources transcoded to
/// HTJ2K RPCL, with checksums), its metadata, its DICOM JSON and a copy of its Part 10 bytes
/// (so WADO-RS can serve it after the source is gone), and collect HealthImaging warnings.
struct InstanceImporter: Sendable {
    let ahi: HealthImagingStore

    /// Where the Part 10 bytes come from.
    enum Source {
        /// A file (an S3 object of an import job), read memory-mapped and copied as it is.
        case file(path: String, name: String)
        /// A request body part (STOW-RS).
        case bytes([UInt8], name: String)

        var name: String {
            switch self {
            case .file(_, let name), .bytes(_, let name): return name
            }
        }
    }

    /// What happened to one instance.
    enum Outcome {
        /// Stored: the image set, whether it is primary, its version, the warnings (manifest objects).
        case imported(Stored)
        /// Not stored: the manifest's exception type and message, and the STOW-RS FailureReason (PS3.18 Table I.2-2).
        case failed(type: String, message: String, reason: UInt16)
    }

    /// An instance stored.
    struct Stored {
        var imageSetId: String
        var isPrimary: Bool
        var version: Int
        var warnings: [[String: Any]]
        var studyInstanceUID: String
        var seriesInstanceUID: String
        var sopInstanceUID: String
        var sopClassUID: String?
        /// The first warning's HealthImaging code (STOW-RS WarningReason).
        var warningCode: UInt16? { (warnings.first?["warning_reason_code"] as? Int).map { UInt16(truncatingIfNeeded: $0) } }
    }

    /// PS3.18 Table I.2-2 FailureReason values used here.
    enum FailureReason {
        /// Cxxx: cannot understand (not Part 10, no File Meta or transfer syntax).
        static let cannotUnderstand: UInt16 = 0xC000
        /// A9xx: data set does not match SOP Class (a required attribute missing or too long).
        static let dataSetMismatch: UInt16 = 0xA900
        /// A7xx: out of resources (larger than the service takes).
        static let outOfResources: UInt16 = 0xA700
        /// 0110: processing failure.
        static let processingFailure: UInt16 = 0x0110
    }

    /// Reads a source; the failure outcome when it is not a readable Part 10 file.
    static func read(_ source: Source) -> Read {
        do {
            switch source {
            case .file(let path, _): return .file(try DICOMFile.read(path: path))
            case .bytes(let bytes, _): return .file(try DICOMFile.read(bytes: bytes))
            }
        } catch {
            return .failed(.failed(type: "ValidationException",
                                   message: "The file is not a valid DICOM Part 10 file: \(error.at(path: source.name))",
                                   reason: FailureReason.cannotUnderstand))
        }
    }

    /// A source read, or the outcome to report when it is not a readable Part 10 file.
    enum Read {
        case file(DICOMFile)
        case failed(Outcome)
    }

    /// Imports one source into `datastoreId`. `writer` names who wrote it (an import job id,
    /// or `stow-…`); `touched` holds the image sets this job or request already changed, so
    /// each is versioned once per job.
    func importInstance(_ source: Source, datastoreId: String, writer: String, touched: inout Set<String>) async -> Outcome {
        let file: DICOMFile
        switch Self.read(source) {
        case .file(let f): file = f
        case .failed(let outcome): return outcome
        }
        return await importInstance(file, source: source, datastoreId: datastoreId, writer: writer, touched: &touched)
    }

    /// Imports one file already read from `source`.
    func importInstance(_ file: DICOMFile, source: Source, datastoreId: String, writer: String,
                        touched: inout Set<String>) async -> Outcome {
        let errors = Validator.validate(file).filter { $0.severity == .error }
        if let first = errors.first { return .failed(type: "ValidationException", message: first.message, reason: Self.reason(first.code)) }
        let ds = file.dataSet
        guard let study = ds.string(.studyInstanceUID), let series = ds.string(.seriesInstanceUID),
              let sop = ds.string(.sopInstanceUID) else {
            return .failed(type: "ValidationException", message: "DICOM attributes does not exist", reason: FailureReason.dataSetMismatch)
        }
        let levels = ImageSetMetadata.split(file)
        var conflict: [String: Any] = [:]
        for k in ["PatientID", "PatientName", "PatientBirthDate", "PatientSex"] { conflict[k] = levels.patient[k] ?? NSNull() }
        for k in ["StudyDate", "StudyTime", "AccessionNumber", "StudyID"] { conflict[k] = levels.study[k] ?? NSNull() }
        var frames: [HealthImagingStore.Frame] = []
        var warnings: [[String: Any]] = []
        var stored = file.transferSyntax.uid
        if ds.contains(.pixelData) {
            do {
                let transcode = Self.transcodes(file.transferSyntax)
                if transcode { stored = TransferSyntax.htj2kLosslessRPCL.uid }
                let present = try file.frames()
                if present.count < file.numberOfFrames {
                    // As HealthImaging documents (0xB111): stored, frames not retrievable.
                    warnings.append(["warning_reason_code": HealthImagingWarning.frameNumberMismatch.code,
                                     "type": HealthImagingWarning.frameNumberMismatch.rawValue,
                                     "message": "NumberOfFrames is \(file.numberOfFrames) but the pixel data holds \(present.count) frames"])
                } else {
                    for f in present {
                        guard let storedFrame = try await storeFrame(file, f, transcode: transcode, warnings: &warnings) else {
                            // As HealthImaging documents (0xB100): the instance is stored, its pixel
                            // data kept as received in one piece, and no frame can be retrieved.
                            frames = []
                            break
                        }
                        frames.append(storedFrame)
                    }
                    if transcode && frames.count < present.count { stored = file.transferSyntax.uid }
                }
            } catch {
                warnings.append(["warning_reason_code": HealthImagingWarning.framesExtractionFailure.code,
                                 "type": HealthImagingWarning.framesExtractionFailure.rawValue,
                                 "message": "The file was imported but its frames could not be extracted: \(error)"])
            }
        }
        let copyId: String
        do {
            copyId = try await keepCopy(of: source, file: file)
        } catch {
            return .failed(type: "InternalServerException", message: "Could not keep the instance: \(error)",
                           reason: FailureReason.processingFailure)
        }
        let instance = HealthImagingStore.Instance(dicom: ImportRunner.text(levels.instance, sorted: false), vrs: levels.vrs,
                                                   storedTransferSyntaxUID: stored, frames: frames, part10Id: copyId,
                                                   part10TransferSyntaxUID: file.transferSyntax.uid)
        let (setId, primary, version) = await ahi.addInstance(
            datastoreId: datastoreId, study: study, series: series, sopInstanceUID: sop, conflictKey: ImportRunner.text(conflict),
            patient: ImportRunner.text(levels.patient), studyAttributes: ImportRunner.text(levels.study),
            seriesAttributes: ImportRunner.text(levels.series), instance: instance, jobId: writer, touched: &touched)
        return .imported(Stored(imageSetId: setId, isPrimary: primary, version: version, warnings: warnings, studyInstanceUID: study,
                                seriesInstanceUID: series, sopInstanceUID: sop, sopClassUID: ds.string(.sopClassUID)))
    }

    /// The Part 10 copy and the instance's DICOM JSON (PixelData without its value; WADO-RS
    /// metadata points at it with a BulkDataURI) under one new id.
    private func keepCopy(of source: Source, file: DICOMFile) async throws -> String {
        let text = Array(DICOMJSON.encode(file.dataSet, withoutValue: [.pixelData]).utf8)
        switch source {
        case .file(let path, _): return try await ahi.keepInstance(copying: path, json: text)
        case .bytes(let bytes, _): return try await ahi.keepInstance(bytes: bytes, json: text)
        }
    }

    /// The STOW-RS FailureReason for a validator error code.
    static func reason(_ code: String) -> UInt16 {
        if code.hasPrefix("part10.") || code.hasPrefix("meta.") { return FailureReason.cannotUnderstand }
        if code == "ahi.file-too-large" { return FailureReason.outOfResources }
        return FailureReason.dataSetMismatch
    }

    /// True when a file in `syntax` is stored transcoded to HTJ2K Lossless RPCL; the
    /// others are retained as received. HealthImaging transcodes every syntax the
    /// registry marks `.transcoded`; of those, ahi-local transcodes the native, RLE,
    /// JPEG extended (.51) and lossless (.57, .70), JPEG 2000 and HTJ2K ones, and keeps
    /// JPEG-LS and JPEG 2000 Part 2 sources as received. JPEG baseline (.50) is
    /// `.retained`, as HealthImaging keeps it.
    static func transcodes(_ syntax: TransferSyntax) -> Bool {
        guard syntax.healthImagingImport == .transcoded else { return false }
        switch syntax.codec {
        case .native, .rle, .jpegExtended, .jpegLossless, .jpeg2000, .htj2k: return true
        default: return false
        }
    }

    /// Stores one frame: lossless sources transcoded to HTJ2K RPCL with the CRC-32 of the decoded
    /// pixels at every resolution level (smallest first); others as received, with the
    /// full-resolution checksum when the frame can be decoded here. nil, with a
    /// TRANSCODING_EXCEPTION warning, when a frame to transcode cannot be decoded or encoded.
    private func storeFrame(_ file: DICOMFile, _ frame: Frame, transcode: Bool,
                            warnings: inout [[String: Any]]) async throws -> HealthImagingStore.Frame? {
        let pixels: PixelBuffer?
        do { pixels = try FrameDecoder.decode(file, frame: frame, color: .healthImaging) } catch {
            if transcode {
                warnings.append(["warning_reason_code": 45312, "type": "TRANSCODING_EXCEPTION",
                                 "message": "Pixel data stored as received: frame \(frame.index + 1) cannot be decoded: \(error)"])
                return nil
            }
            pixels = nil
        }
        var levels: [HealthImagingStore.Level] = []
        var transcoded: [UInt8]?
        if transcode, let pixels {
            do {
                let codestream = try HTJ2KEncoder.encodeLossless(pixels)
                let header = try J2KHeader.parse(codestream)
                var reducedLevels: [HealthImagingStore.Level] = []
                for skip in stride(from: header.decompositions, through: 1, by: -1) {
                    let reduced = try J2KDecoder.decode(codestream, backend: .openJPH, skipLevels: skip)
                    reducedLevels.append(.init(width: reduced.width, height: reduced.height, checksum: CRC32.of(reduced.bytes).value))
                }
                levels = reducedLevels
                transcoded = codestream
            } catch {
                warnings.append(["warning_reason_code": 45312, "type": "TRANSCODING_EXCEPTION",
                                 "message": "Pixel data stored as received: \(error)"])
                return nil
            }
        }
        if let pixels {
            levels.append(.init(width: pixels.width, height: pixels.height, checksum: CRC32.of(pixels.bytes).value))
        }
        let range = pixels?.sampleRange()
        let lo = range?.min, hi = range?.max
        // Frames kept as received are copied out of the file only here.
        let bytes = transcoded ?? frame.ranges.flatMap { file.dataSet.storage.copyBytes($0) }
        let id = try await ahi.storeFrame(bytes)
        return HealthImagingStore.Frame(id: id, size: bytes.count, levels: levels, minPixelValue: lo, maxPixelValue: hi)
    }
}
