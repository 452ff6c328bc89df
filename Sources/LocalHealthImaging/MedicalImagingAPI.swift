import ByteCoding
import DICOMCore
import Foundation
import Uploader

/// The `medical-imaging` operations of the local server, in the service's rest-json
/// wire format (botocore's model `medical-imaging/2023-07-19`): data stores, import
/// jobs, image-set search and reads, metadata (gzip JSON) and frames. Errors carry
/// `x-amzn-ErrorType` and `{"message": …}`; timestamps are epoch seconds.
struct MedicalImagingAPI: Sendable {
    let ahi: HealthImagingStore
    let runner: ImportRunner
    let faults: Faults
    let counters: Counters

    /// Request counters for fault injection and the 1 request/s start quota.
    actor Counters {
        var starts = 0, polls = 0, jobs = 0
        var startTimes: [Date] = []
        func nextStart() -> Int { starts += 1; return starts }
        func nextPoll() -> Int { polls += 1; return polls }
        func nextJob() -> Int { jobs += 1; return jobs }
        /// StartDICOMImportJob's documented 1 request/s with a burst of 2.
        func allowStart(now: Date = Date()) -> Bool {
            startTimes = startTimes.filter { now.timeIntervalSince($0) < 2 }
            guard startTimes.count < 2 else { return false }
            startTimes.append(now)
            return true
        }
    }

    static func error(_ status: Int, _ type: String, _ message: String) -> HTTPResponse {
        let body = ImportRunner.text(["__type": type, "message": message])
        return HTTPResponse(status: status, headers: [("Content-Type", "application/json"), ("x-amzn-ErrorType", type),
                                                      ("x-amzn-RequestId", UUID().uuidString)], body: Array(body.utf8))
    }

    static func json(_ object: [String: Any], status: Int = 200) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", "application/json"), ("x-amzn-RequestId", UUID().uuidString)],
                     body: Array(ImportRunner.text(object).utf8))
    }

    static func epoch(_ d: Date) -> Double { (d.timeIntervalSince1970 * 1000).rounded() / 1000 }

    func handle(_ r: HTTPRequest) async -> HTTPResponse {
        let segments = SigV4Signer.percentDecode(r.rawPath).split(separator: "/").map(String.init)
        let body = (try? JSONSerialization.jsonObject(with: Data(r.body.isEmpty ? Array("{}".utf8) : r.body))) as? [String: Any] ?? [:]
        switch (r.method, segments.count, segments.first) {
        case ("POST", 1, "datastore"): return await createDatastore(body)
        case ("GET", 1, "datastore"): return await listDatastores(r)
        case ("GET", 2, "datastore"): return await getDatastore(segments[1])
        case ("DELETE", 2, "datastore"): return await deleteDatastore(segments[1])
        case ("POST", 3, "startDICOMImportJob"): return await startJob(segments[2], body)
        case ("GET", 5, "getDICOMImportJob"): return await getJob(segments[2], segments[4])
        case ("GET", 3, "listDICOMImportJobs"): return await listJobs(segments[2], r)
        case ("POST", 3, "datastore") where segments[2] == "searchImageSets": return await search(segments[1], body, r)
        case ("POST", 5, "datastore") where segments[2] == "imageSet":
            switch segments[4] {
            case "getImageSet": return await getImageSet(segments[1], segments[3])
            case "getImageSetMetadata": return await getMetadata(segments[1], segments[3], version: r.queryValue("version"))
            case "getImageFrame": return await getFrame(segments[1], segments[3], body)
            default: break
            }
        default: break
        }
        return Self.error(404, "ResourceNotFoundException", "No such operation: \(r.method) \(r.rawPath)")
    }

    // MARK: Data stores

    private func createDatastore(_ body: [String: Any]) async -> HTTPResponse {
        guard let token = body["clientToken"] as? String, !token.isEmpty else {
            return Self.error(400, "ValidationException", "clientToken is required")
        }
        let ds = await ahi.createDatastore(name: body["datastoreName"] as? String ?? "ahi-local", clientToken: token,
                                           storageFormat: body["losslessStorageFormat"] as? String)
        return Self.json(["datastoreId": ds.datastoreId, "datastoreStatus": ds.datastoreStatus])
    }

    static func properties(_ ds: HealthImagingStore.Datastore) -> [String: Any] {
        var p: [String: Any] = ["datastoreId": ds.datastoreId, "datastoreName": ds.datastoreName, "datastoreStatus": ds.datastoreStatus,
                                "datastoreArn": "arn:aws:medical-imaging:us-east-1:000000000000:datastore/\(ds.datastoreId)",
                                "createdAt": epoch(ds.createdAt), "updatedAt": epoch(ds.updatedAt)]
        if let f = ds.losslessStorageFormat { p["losslessStorageFormat"] = f }
        return p
    }

    private func getDatastore(_ id: String) async -> HTTPResponse {
        guard let ds = await ahi.datastore(id) else { return Self.error(404, "ResourceNotFoundException", "Datastore \(id) not found") }
        return Self.json(["datastoreProperties": Self.properties(ds)])
    }

    private func deleteDatastore(_ id: String) async -> HTTPResponse {
        guard let ds = await ahi.deleteDatastore(id) else { return Self.error(404, "ResourceNotFoundException", "Datastore \(id) not found") }
        return Self.json(["datastoreId": ds.datastoreId, "datastoreStatus": "DELETING"])
    }

    private func listDatastores(_ r: HTTPRequest) async -> HTTPResponse {
        var all = await ahi.datastores().sorted { $0.createdAt < $1.createdAt }
        if let status = r.queryValue("datastoreStatus") { all = all.filter { $0.datastoreStatus == status } }
        let (page, next) = Self.page(all, r)
        var out: [String: Any] = ["datastoreSummaries": page.map { Self.properties($0) }]
        if let next { out["nextToken"] = next }
        return Self.json(out)
    }

    /// `maxResults` (1–50, default 50) and an opaque `nextToken` (the offset).
    static func page<T>(_ items: [T], _ r: HTTPRequest) -> ([T], String?) {
        let max = min(50, Swift.max(1, Int(r.queryValue("maxResults") ?? "") ?? 50))
        let start = r.queryValue("nextToken").flatMap { Base64.decode($0) }.flatMap { Int(String(decoding: $0, as: UTF8.self)) } ?? 0
        let page = Array(items.dropFirst(start).prefix(max))
        let next = start + page.count < items.count ? Base64.encode(String(start + page.count).utf8) : nil
        return (page, next)
    }

    // MARK: Import jobs

    private func startJob(_ datastoreId: String, _ body: [String: Any]) async -> HTTPResponse {
        let n = await counters.nextStart()
        if n <= faults.throttleStarts {
            return Self.error(429, "ThrottlingException", "Rate exceeded (injected: start \(n) of the first \(faults.throttleStarts))")
        }
        if faults.throttleEvery > 0, n % faults.throttleEvery == 0 {
            return Self.error(429, "ThrottlingException", "Rate exceeded (injected)")
        }
        guard await counters.allowStart() else { return Self.error(429, "ThrottlingException", "Rate exceeded: StartDICOMImportJob allows 1 request per second") }
        guard await ahi.datastore(datastoreId) != nil else {
            return Self.error(404, "ResourceNotFoundException", "Datastore \(datastoreId) not found")
        }
        guard let role = body["dataAccessRoleArn"] as? String, let input = body["inputS3Uri"] as? String,
              let output = body["outputS3Uri"] as? String, let token = body["clientToken"] as? String else {
            return Self.error(400, "ValidationException", "dataAccessRoleArn, clientToken, inputS3Uri and outputS3Uri are required")
        }
        guard role.range(of: #"^arn:aws(-[^:]+)?:iam::[0-9]{12}:role/.+$"#, options: .regularExpression) != nil else {
            return Self.error(400, "ValidationException", "dataAccessRoleArn must be an IAM role ARN")
        }
        let outputURI: S3URI
        do throws(S3URI.ParseError) {
            _ = try S3URI(parsing: input)
            outputURI = try S3URI(parsing: output)
        } catch {
            return Self.error(400, "ValidationException", "\(error.text) is not a valid S3 URI (\(error.problem))")
        }
        let jobId = HealthImagingStore.newId()
        let job = HealthImagingStore.Job(jobId: jobId, jobName: body["jobName"] as? String ?? jobId, jobStatus: "SUBMITTED",
                                         datastoreId: datastoreId, dataAccessRoleArn: role, inputS3Uri: input,
                                         outputS3Uri: outputURI.folder.appending("\(datastoreId)-DicomImport-\(jobId)/").description, submittedAt: Date(), endedAt: nil,
                                         message: nil, clientToken: token, inputOwnerAccountId: body["inputOwnerAccountId"] as? String)
        let (stored, isNew) = await ahi.startJob(job)
        if isNew {
            let n = await counters.nextJob()
            let runner = self.runner
            let failing = faults.failJob > 0 && n == faults.failJob
            Task.detached { await runner.run(stored, failing: failing) }
        }
        return Self.json(["datastoreId": datastoreId, "jobId": stored.jobId, "jobStatus": stored.jobStatus,
                          "submittedAt": Self.epoch(stored.submittedAt)])
    }

    static func jobProperties(_ j: HealthImagingStore.Job) -> [String: Any] {
        var p: [String: Any] = ["jobId": j.jobId, "jobName": j.jobName, "jobStatus": j.jobStatus, "datastoreId": j.datastoreId,
                                "dataAccessRoleArn": j.dataAccessRoleArn, "inputS3Uri": j.inputS3Uri, "outputS3Uri": j.outputS3Uri,
                                "submittedAt": epoch(j.submittedAt)]
        if let e = j.endedAt { p["endedAt"] = epoch(e) }
        if let m = j.message { p["message"] = m }
        return p
    }

    private func getJob(_ datastoreId: String, _ jobId: String) async -> HTTPResponse {
        if faults.throttleEvery > 0, await counters.nextPoll() % faults.throttleEvery == 0 {
            return Self.error(429, "ThrottlingException", "Rate exceeded (injected)")
        }
        guard let job = await ahi.job(datastoreId, jobId) else {
            return Self.error(404, "ResourceNotFoundException", "Import job \(jobId) not found")
        }
        return Self.json(["jobProperties": Self.jobProperties(job)])
    }

    private func listJobs(_ datastoreId: String, _ r: HTTPRequest) async -> HTTPResponse {
        guard await ahi.datastore(datastoreId) != nil else {
            return Self.error(404, "ResourceNotFoundException", "Datastore \(datastoreId) not found")
        }
        var jobs = await ahi.jobs(datastoreId)
        if let status = r.queryValue("jobStatus") { jobs = jobs.filter { $0.jobStatus == status } }
        let (page, next) = Self.page(jobs, r)
        var out: [String: Any] = ["jobSummaries": page.map { j -> [String: Any] in
            var p = Self.jobProperties(j)
            p["inputS3Uri"] = nil
            p["outputS3Uri"] = nil
            return p
        }]
        if let next { out["nextToken"] = next }
        return Self.json(out)
    }

    // MARK: Image sets

    private func search(_ datastoreId: String, _ criteria: [String: Any], _ r: HTTPRequest) async -> HTTPResponse {
        guard await ahi.datastore(datastoreId) != nil else {
            return Self.error(404, "ResourceNotFoundException", "Datastore \(datastoreId) not found")
        }
        var sets = await ahi.imageSets(datastoreId)
        for filter in criteria["filters"] as? [[String: Any]] ?? [] {
            guard let values = filter["values"] as? [[String: Any]], let first = values.first, let (key, value) = first.first else { continue }
            let op = filter["operator"] as? String ?? "EQUAL"
            sets = sets.filter { set in
                let tags = Self.dicomTags(set)
                switch key {
                case "isPrimary": return set.isPrimary == (value as? Bool ?? true)
                case "createdAt", "updatedAt":
                    let d = Self.epoch(key == "createdAt" ? set.createdAt : set.updatedAt)
                    let lo = (first[key] as? Double) ?? 0
                    let hi = values.count > 1 ? (values[1][key] as? Double ?? .infinity) : .infinity
                    return op == "BETWEEN" ? (lo...hi).contains(d) : d == lo
                default:
                    return (tags[key] as? String) == (value as? String)
                }
            }
        }
        sets.sort { $0.updatedAt > $1.updatedAt }
        let (page, next) = Self.page(sets, r)
        var out: [String: Any] = ["imageSetsMetadataSummaries": page.map { s -> [String: Any] in
            ["imageSetId": s.imageSetId, "version": s.version, "createdAt": Self.epoch(s.createdAt), "updatedAt": Self.epoch(s.updatedAt),
             "isPrimary": s.isPrimary, "DICOMTags": Self.dicomTags(s)]
        }]
        if let next { out["nextToken"] = next }
        return Self.json(out)
    }

    /// A stored JSON object text as a dictionary (empty when it is not one).
    static func object(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// The `DICOMTags` summary of an image set.
    static func dicomTags(_ s: HealthImagingStore.ImageSet) -> [String: Any] {
        let p = Self.object(s.patient), st = Self.object(s.study), se = Self.object(s.series)
        var t: [String: Any] = ["DICOMStudyInstanceUID": s.studyInstanceUID, "DICOMSeriesInstanceUID": s.seriesInstanceUID,
                                "DICOMNumberOfStudyRelatedInstances": s.instances.count, "DICOMNumberOfStudyRelatedSeries": 1]
        let map: [(String, [String: Any], String)] = [
            ("DICOMPatientId", p, "PatientID"), ("DICOMPatientName", p, "PatientName"), ("DICOMPatientBirthDate", p, "PatientBirthDate"),
            ("DICOMPatientSex", p, "PatientSex"), ("DICOMStudyId", st, "StudyID"), ("DICOMStudyDescription", st, "StudyDescription"),
            ("DICOMAccessionNumber", st, "AccessionNumber"), ("DICOMStudyDate", st, "StudyDate"), ("DICOMStudyTime", st, "StudyTime"),
            ("DICOMSeriesModality", se, "Modality"), ("DICOMSeriesBodyPart", se, "BodyPartExamined"),
        ]
        for (name, level, keyword) in map { if let v = level[keyword] as? String { t[name] = v } }
        if let n = se["SeriesNumber"] as? String, let i = Int(n.trimmingCharacters(in: .whitespaces)) { t["DICOMSeriesNumber"] = i }
        return t
    }

    private func getImageSet(_ datastoreId: String, _ id: String) async -> HTTPResponse {
        guard let s = await ahi.imageSet(datastoreId, id) else { return Self.error(404, "ResourceNotFoundException", "Image set \(id) not found") }
        return Self.json(["datastoreId": datastoreId, "imageSetId": id, "versionId": String(s.version), "imageSetState": "ACTIVE",
                          "imageSetWorkflowStatus": s.workflowStatus, "createdAt": Self.epoch(s.createdAt), "updatedAt": Self.epoch(s.updatedAt),
                          "imageSetArn": "arn:aws:medical-imaging:us-east-1:000000000000:datastore/\(datastoreId)/imageset/\(id)",
                          "isPrimary": s.isPrimary])
    }

    private func getMetadata(_ datastoreId: String, _ id: String, version: String?) async -> HTTPResponse {
        guard let s = await ahi.imageSet(datastoreId, id) else { return Self.error(404, "ResourceNotFoundException", "Image set \(id) not found") }
        if let version, version != String(s.version) {
            return Self.error(404, "ResourceNotFoundException", "Image set \(id) has no version \(version) (latest: \(s.version))")
        }
        var instances: [String: Any] = [:]
        for (sop, inst) in s.instances {
            instances[sop] = [
                "DICOM": Self.object(inst.dicom), "DICOMVRs": inst.vrs, "StoredTransferSyntaxUID": inst.storedTransferSyntaxUID,
                "ChecksumType": "DECOMPRESSED",
                "ImageFrames": inst.frames.map { f -> [String: Any] in
                    [
                        "ID": f.id, "FrameSizeInBytes": f.size,
                        "MinPixelValue": f.minPixelValue.map { $0 as Any } ?? NSNull(),
                        "MaxPixelValue": f.maxPixelValue.map { $0 as Any } ?? NSNull(),
                        "PixelDataChecksumFromBaseToFullResolution": f.levels.map { ["Width": $0.width, "Height": $0.height, "Checksum": $0.checksum] },
                    ]
                },
            ] as [String: Any]
        }
        let metadata: [String: Any] = [
            "SchemaVersion": "1.1", "DatastoreID": datastoreId, "ImageSetID": id,
            "Patient": ["DICOM": Self.object(s.patient)],
            "Study": ["DICOM": Self.object(s.study), "Series": [s.seriesInstanceUID: ["DICOM": Self.object(s.series), "Instances": instances]]],
        ]
        return HTTPResponse(status: 200, headers: [("Content-Type", "application/json"), ("Content-Encoding", "gzip")],
                            body: Zlib.deflate(Array(ImportRunner.text(metadata).utf8), format: .gzip))
    }

    /// Content-Type by stored transfer syntax (the model's GetImageFrame documentation).
    static func contentType(_ uid: String) -> String {
        let syntax = TransferSyntax.forUID(uid)
        switch syntax.codec {
        case .jpegBaseline: return "image/jpeg"
        case .jpeg2000: return "image/j2c"
        case .htj2k: return syntax.isLossless ? "image/jph" : "image/jphc"
        case .jpegXL: return "image/jxl"
        default: return "application/octet-stream"
        }
    }

    private func getFrame(_ datastoreId: String, _ id: String, _ body: [String: Any]) async -> HTTPResponse {
        guard let frameId = body["imageFrameId"] as? String else { return Self.error(400, "ValidationException", "imageFrameId is required") }
        guard let s = await ahi.imageSet(datastoreId, id) else { return Self.error(404, "ResourceNotFoundException", "Image set \(id) not found") }
        guard let inst = s.instances.values.first(where: { $0.frames.contains { $0.id == frameId } }),
              let bytes = await ahi.frame(frameId) else {
            return Self.error(404, "ResourceNotFoundException", "Image frame \(frameId) not found in image set \(id)")
        }
        return HTTPResponse(status: 200, headers: [("Content-Type", Self.contentType(inst.storedTransferSyntaxUID))], body: bytes)
    }
}
