import ByteCoding
import Uploader
import DICOMCore
import Foundation
import HTJ2K

/// Runs import jobs the way HealthImaging does: scan every object under the input
/// prefix, validate, group into image sets by study and series (conflicting
/// patient/study attributes → a non-primary image set), store frames, write the
/// metadata, then the manifests under `<output>/<datastore>-DicomImport-<job>/`.
struct ImportRunner: Sendable {
    let s3: S3Store
    let ahi: HealthImagingStore
    let faults: Faults

    private var importer: InstanceImporter { InstanceImporter(ahi: ahi) }

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
            switch await importer.importInstance(.file(path: url.path, name: object.key), datastoreId: job.datastoreId,
                                                 writer: job.jobId, touched: &touched) {
            case .imported(let stored):
                matched[stored.imageSetId, default: 0] += 1
                var response: [String: Any] = ["imageSetId": stored.imageSetId, "isPrimary": stored.isPrimary,
                                               "imageSetVersion": stored.version]
                let warnings = stored.warnings
                if warnings.isEmpty {
                    success.append(Self.text(["inputFile": object.key, "importResponse": response]))
                } else {
                    response["warnings"] = warnings
                    warning.append(Self.text(["inputFile": object.key, "importResponse": response]))
                }
            case .failed(let type, let message, _):
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

    /// JSON text of `object`; keys sorted (texts compared for conflicts must be canonical) unless `sorted` is false.
    static func text(_ object: Any, sorted: Bool = true) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: sorted ? [.sortedKeys] : []) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }

}
