import ByteCoding
import Uploader
import DICOMCore
import Foundation
import HTJ2K

/// Faults the local server can inject, for tests of the importer's failure paths.
public struct Faults: Sendable {
    /// Every Nth StartDICOMImportJob and GetDICOMImportJob answers 429 ThrottlingException (0: never).
    public var throttleEvery = 0
    /// The first N StartDICOMImportJob calls answer 429 ThrottlingException (0: none).
    public var throttleStarts = 0
    /// The Nth import job (counting from 1 since start) ends FAILED (0: never).
    public var failJob = 0
    /// Seconds between a job's COMPLETED and its manifests appearing in S3.
    public var manifestDelay = 0.0
    /// Seconds a job stays IN_PROGRESS before it reads its input (to restart the server mid-job).
    public var jobDelay = 0.0

    /// No faults.
    public init() {}

    /// Parses `throttle=N`, `throttle-starts=N`, `fail-job=N`, `manifest-delay=S`, `job-delay=S`.
    public mutating func add(_ spec: String) throws {
        let kv = spec.split(separator: "=", maxSplits: 1).map(String.init)
        guard kv.count == 2 else { throw LocalServerError.badOption("--fault \(spec): expected NAME=VALUE") }
        switch kv[0] {
        case "throttle": throttleEvery = Int(kv[1]) ?? 0
        case "throttle-starts": throttleStarts = Int(kv[1]) ?? 0
        case "fail-job": failJob = Int(kv[1]) ?? 0
        case "manifest-delay": manifestDelay = Double(kv[1]) ?? 0
        case "job-delay": jobDelay = Double(kv[1]) ?? 0
        default: throw LocalServerError.badOption("--fault \(kv[0]): not one of throttle, throttle-starts, fail-job, manifest-delay, job-delay")
        }
    }
}

/// Errors of the local server's setup.
public enum LocalServerError: Error, CustomStringConvertible, Sendable {
    /// A bad command-line value.
    case badOption(String)
    /// What went wrong, for the user.
    public var description: String {
        switch self { case .badOption(let m): return m }
    }
}

/// Runs import jobs the way HealthImaging does: scan every object under the input
/// prefix, validate, group into image sets by study and series (conflicting
/// patient/study attributes → a non-primary image set), store frames, write the
/// metadata, then the manifests under `<output>/<datastore>-DicomImport-<job>/`.
struct ImportRunner: Sendable {
    let s3: S3Store
    let ahi: HealthImagingStore
    let faults: Faults

    func run(_ job: HealthImagingStore.Job, failing: Bool) async {
        await ahi.setJob(job.jobId, status: "IN_PROGRESS")
        if faults.jobDelay > 0 { try? await Task.sleep(nanoseconds: UInt64(faults.jobDelay * 1e9)) }
        if failing {
            await ahi.setJob(job.jobId, status: "FAILED", message: "Injected failure (ahi-local --fault fail-job)")
            return
        }
        guard let input = S3URI(job.inputS3Uri), await s3.hasBucket(input.bucket) else {
            await ahi.setJob(job.jobId, status: "FAILED", message: "The input S3 bucket does not exist or is not accessible")
            return
        }
        let objects = (try? await s3.list(bucket: input.bucket, prefix: input.key)) ?? []
        guard !objects.isEmpty else {
            await ahi.setJob(job.jobId, status: "FAILED", message: "No files were found under the input S3 URI")
            return
        }
        var success: [String] = [], failure: [String] = [], warning: [String] = []
        var touched = Set<String>()
        var matched: [String: Int] = [:]
        var serverErrors = 0
        for object in objects {
            guard let url = await s3.fileURL(bucket: input.bucket, key: object.key) else { continue }
            switch await importOne(path: url.path, key: object.key, datastoreId: job.datastoreId, jobId: job.jobId, touched: &touched) {
            case .imported(let setId, let primary, let version, let warnings):
                matched[setId, default: 0] += 1
                var response: [String: Any] = ["imageSetId": setId, "isPrimary": primary, "imageSetVersion": version]
                if warnings.isEmpty {
                    success.append(Self.text(["inputFile": object.key, "importResponse": response]))
                } else {
                    response["warnings"] = warnings
                    warning.append(Self.text(["inputFile": object.key, "importResponse": response]))
                }
            case .failed(let type, let message):
                if type == "InternalServerException" { serverErrors += 1 }
                failure.append(Self.text(["inputFile": object.key, "exception": ["exceptionType": type, "message": message]]))
            }
        }
        await ahi.commit()
        await ahi.setJob(job.jobId, status: "COMPLETED")
        if faults.manifestDelay > 0 { try? await Task.sleep(nanoseconds: UInt64(faults.manifestDelay * 1e9)) }
        await writeManifests(job, input: input, scanned: objects.count, success: success, failure: failure, warning: warning,
                             serverErrors: serverErrors, matched: matched)
    }

    enum Outcome {
        case imported(String, Bool, Int, [[String: Any]])
        case failed(String, String)
    }

    private func importOne(path: String, key: String, datastoreId: String, jobId: String, touched: inout Set<String>) async -> Outcome {
        let file: DICOMFile
        do {
            file = try DICOMFile.read(path: path)
        } catch {
            return .failed("ValidationException", "The file is not a valid DICOM Part 10 file: \(error.at(path: key))")
        }
        let errors = Validator.validate(file).filter { $0.severity == .error }
        if let first = errors.first { return .failed("ValidationException", first.message) }
        let ds = file.dataSet
        guard let study = ds.string(.studyInstanceUID), let series = ds.string(.seriesInstanceUID),
              let sop = ds.string(.sopInstanceUID) else {
            return .failed("ValidationException", "DICOM attributes does not exist")
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
                        frames.append(try await storeFrame(file, f, transcode: transcode, warnings: &warnings))
                    }
                }
            } catch {
                warnings.append(["warning_reason_code": HealthImagingWarning.framesExtractionFailure.code,
                                 "type": HealthImagingWarning.framesExtractionFailure.rawValue,
                                 "message": "The file was imported but its frames could not be extracted: \(error)"])
            }
        }
        let instance = HealthImagingStore.Instance(dicom: Self.text(levels.instance), vrs: levels.vrs,
                                                   storedTransferSyntaxUID: stored, frames: frames)
        let (setId, primary, version) = await ahi.addInstance(
            datastoreId: datastoreId, study: study, series: series, sopInstanceUID: sop, conflictKey: Self.text(conflict),
            patient: Self.text(levels.patient), studyAttributes: Self.text(levels.study), seriesAttributes: Self.text(levels.series),
            instance: instance, jobId: jobId, touched: &touched)
        return .imported(setId, primary, version, warnings)
    }

    /// True when a file in `syntax` is stored transcoded to HTJ2K Lossless RPCL; the
    /// others are retained as received. HealthImaging transcodes every syntax the
    /// registry marks `.transcoded`; of those, ahi-local transcodes the native, RLE,
    /// JPEG 2000 and HTJ2K ones, and keeps JPEG (which `FrameDecoder` cannot decode),
    /// JPEG-LS and JPEG 2000 Part 2 sources as received.
    static func transcodes(_ syntax: TransferSyntax) -> Bool {
        guard syntax.healthImagingImport == .transcoded else { return false }
        switch syntax.codec {
        case .native, .rle, .jpeg2000, .htj2k: return true
        default: return false
        }
    }

    /// Stores one frame: lossless sources transcoded to HTJ2K RPCL with the CRC-32 of the decoded
    /// pixels at every resolution level (smallest first); others as received, with the
    /// full-resolution checksum when the frame can be decoded here.
    private func storeFrame(_ file: DICOMFile, _ frame: Frame, transcode: Bool,
                            warnings: inout [[String: Any]]) async throws -> HealthImagingStore.Frame {
        let pixels = try? FrameDecoder.decode(file, frame: frame)
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
            }
        }
        if let pixels {
            levels.append(.init(width: pixels.width, height: pixels.height, checksum: CRC32.of(pixels.bytes).value))
        }
        var lo: Int?, hi: Int?
        if let pixels, pixels.components == 1 {
            for y in 0..<pixels.height {
                for x in 0..<pixels.width {
                    let v = pixels.sample(x: x, y: y)
                    lo = min(lo ?? v, v)
                    hi = max(hi ?? v, v)
                }
            }
        }
        // Frames kept as received are copied out of the file only here.
        let bytes = transcoded ?? frame.ranges.flatMap { file.dataSet.storage.copyBytes($0) }
        let id = try await ahi.storeFrame(bytes)
        return HealthImagingStore.Frame(id: id, size: bytes.count, levels: levels, minPixelValue: lo, maxPixelValue: hi)
    }

    private func writeManifests(_ job: HealthImagingStore.Job, input: S3URI, scanned: Int,
                                success: [String], failure: [String], warning: [String], serverErrors: Int, matched: [String: Int]) async {
        guard let out = S3URI(job.outputS3Uri)?.folder else { return }
        if !(await s3.hasBucket(out.bucket)) { _ = try? await s3.createBucket(out.bucket) }
        var summaries: [[String: Any]] = []
        for (id, count) in matched.sorted(by: { $0.key < $1.key }) {
            let set = await ahi.imageSet(job.datastoreId, id)
            summaries.append(["imageSetId": id, "numberOfMatchedSOPInstances": count, "imageSetVersion": set?.version ?? 1,
                              "isPrimary": set?.isPrimary ?? true])
        }
        let root = out.description
        let manifest: [String: Any] = ["jobSummary": [
            "jobId": job.jobId, "datastoreId": job.datastoreId, "inputS3Uri": job.inputS3Uri, "outputS3Uri": root,
            "successOutputS3Uri": root + "SUCCESS/", "failureOutputS3Uri": root + "FAILURE/", "warningsOutputS3Uri": root + "WARNING/",
            "numberOfScannedFiles": scanned, "numberOfImportedFiles": success.count + warning.count,
            "numberOfFilesWithCustomerError": failure.count - serverErrors, "numberOfFilesWithServerError": serverErrors,
            "numberOfGeneratedImageSets": matched.count, "imageSetsSummary": summaries,
        ]]
        let files: [(String, String)] = [
            ("SUCCESS/success.ndjson", success.map { $0 + "\n" }.joined()),
            ("FAILURE/failure.ndjson", failure.map { $0 + "\n" }.joined()),
            ("WARNING/warning.ndjson", warning.map { $0 + "\n" }.joined()),
            ("job-output-manifest.json", Self.text(manifest)),  // last: its presence means the rest is there
        ]
        for (name, text) in files {
            _ = try? await s3.put(bucket: out.bucket, key: out.appending(name).key, body: Array(text.utf8), contentType: "application/json")
        }
    }

    static func text(_ object: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

}
