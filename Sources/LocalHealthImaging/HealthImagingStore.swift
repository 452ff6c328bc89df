import Foundation

/// The HealthImaging state of the local server — data stores, import jobs, image
/// sets — kept in `<data>/ahi/state.json` (rewritten on each change) with frames
/// under `<data>/ahi/frames/`, so it survives a restart.
public actor HealthImagingStore {
    /// A data store.
    public struct Datastore: Codable, Sendable {
        var datastoreId: String
        var datastoreName: String
        var datastoreStatus: String
        var createdAt: Date
        var updatedAt: Date
        var clientToken: String
        var losslessStorageFormat: String?
    }

    /// An import job.
    public struct Job: Codable, Sendable {
        var jobId: String
        var jobName: String
        var jobStatus: String
        var datastoreId: String
        var dataAccessRoleArn: String
        var inputS3Uri: String
        var outputS3Uri: String
        var submittedAt: Date
        var endedAt: Date?
        var message: String?
        var clientToken: String
        var inputOwnerAccountId: String?
    }

    /// One instance of an image set: its attributes (JSON text) and frames.
    struct Instance: Codable, Sendable {
        var dicom: String
        var vrs: [String: String]
        var storedTransferSyntaxUID: String
        var frames: [Frame]
        /// Every import job that wrote this instance, oldest first (one entry when it was imported once).
        var importedBy: [String]?
        /// The id of the kept Part 10 copy (`instances/<id>.dcm`) and its DICOM JSON (`instances/<id>.json`);
        /// nil for instances stored before copies were kept.
        var part10Id: String?
        /// The transfer syntax of the Part 10 copy.
        var part10TransferSyntaxUID: String?
    }

    /// A stored frame: id, size, the CRC-32 of its decoded pixels at each resolution
    /// (smallest first; empty when the frame could not be decoded here), min and max.
    struct Frame: Codable, Sendable {
        var id: String
        var size: Int
        var levels: [Level]
        var minPixelValue: Int?
        var maxPixelValue: Int?
    }

    /// One resolution level's checksum.
    struct Level: Codable, Sendable {
        var width: Int
        var height: Int
        var checksum: UInt32
    }

    /// An image set: one series of one study (or the conflicting part of one).
    struct ImageSet: Codable, Sendable {
        var imageSetId: String
        var datastoreId: String
        var version: Int
        var isPrimary: Bool
        var createdAt: Date
        var updatedAt: Date
        var workflowStatus: String
        var studyInstanceUID: String
        var seriesInstanceUID: String
        /// Patient and study attributes that must agree for instances to share the image set.
        var conflictKey: String
        var patient: String
        var study: String
        var series: String
        var instances: [String: Instance]
    }

    private struct State: Codable {
        var datastores: [Datastore] = []
        var jobs: [Job] = []
        var imageSets: [ImageSet] = []
    }

    let root: URL
    private var state: State
    /// Instances added since the state was last written (``commit()`` writes only when some are).
    private var unsaved = 0

    /// Opens (or creates) the state under `dataDirectory`.
    public init(dataDirectory: URL) throws {
        root = dataDirectory.appendingPathComponent("ahi")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("frames"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("instances"), withIntermediateDirectories: true)
        if let data = FileManager.default.contents(atPath: root.appendingPathComponent("state.json").path) {
            let decoder = JSONDecoder()
            decoder.dateDecodingStrategy = .secondsSince1970
            state = try decoder.decode(State.self, from: data)
        } else {
            state = State()
        }
    }

    private func save() {
        unsaved = 0
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .secondsSince1970
        if let data = try? encoder.encode(state) {
            try? data.write(to: root.appendingPathComponent("state.json"), options: .atomic)
        }
    }

    static func newId() -> String { UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }

    // MARK: Data stores

    func createDatastore(name: String, clientToken: String, storageFormat: String?) -> Datastore {
        if let existing = state.datastores.first(where: { $0.clientToken == clientToken && $0.datastoreStatus != "DELETED" }) {
            return existing
        }
        let now = Date()
        let ds = Datastore(datastoreId: Self.newId(), datastoreName: name, datastoreStatus: "ACTIVE", createdAt: now, updatedAt: now,
                           clientToken: clientToken, losslessStorageFormat: storageFormat)
        state.datastores.append(ds)
        save()
        return ds
    }

    func datastore(_ id: String) -> Datastore? { state.datastores.first { $0.datastoreId == id && $0.datastoreStatus != "DELETED" } }
    func datastores() -> [Datastore] { state.datastores.filter { $0.datastoreStatus != "DELETED" } }

    func deleteDatastore(_ id: String) -> Datastore? {
        guard let i = state.datastores.firstIndex(where: { $0.datastoreId == id && $0.datastoreStatus != "DELETED" }) else { return nil }
        state.datastores[i].datastoreStatus = "DELETED"
        state.datastores[i].updatedAt = Date()
        save()
        return state.datastores[i]
    }

    // MARK: Jobs

    /// A new job, or the one already started with this client token (same input): idempotent.
    func startJob(_ job: Job) -> (Job, isNew: Bool) {
        if let existing = state.jobs.first(where: { $0.datastoreId == job.datastoreId && $0.clientToken == job.clientToken }) {
            return (existing, false)
        }
        state.jobs.append(job)
        save()
        return (job, true)
    }

    func job(_ datastoreId: String, _ jobId: String) -> Job? {
        state.jobs.first { $0.datastoreId == datastoreId && $0.jobId == jobId }
    }

    func jobs(_ datastoreId: String) -> [Job] {
        state.jobs.filter { $0.datastoreId == datastoreId }.sorted { $0.submittedAt > $1.submittedAt }
    }

    /// Jobs a restart interrupted.
    func unfinishedJobs() -> [Job] { state.jobs.filter { $0.jobStatus == "SUBMITTED" || $0.jobStatus == "IN_PROGRESS" } }

    func setJob(_ jobId: String, status: String, message: String? = nil) {
        guard let i = state.jobs.firstIndex(where: { $0.jobId == jobId }) else { return }
        state.jobs[i].jobStatus = status
        state.jobs[i].message = message
        if status == "COMPLETED" || status == "FAILED" { state.jobs[i].endedAt = Date() }
        save()
    }

    // MARK: Image sets

    /// Adds (or replaces) an instance: into the primary image set of its series when
    /// its patient/study attributes agree, else into a non-primary one with the same
    /// attributes (made if needed). Returns (image set id, primary?, version).
    func addInstance(datastoreId: String, study: String, series: String, sopInstanceUID: String, conflictKey: String,
                     patient: String, studyAttributes: String, seriesAttributes: String, instance: Instance,
                     jobId: String, touched: inout Set<String>) -> (String, Bool, Int) {
        let now = Date()
        let sameSeries = state.imageSets.indices.filter {
            state.imageSets[$0].datastoreId == datastoreId && state.imageSets[$0].studyInstanceUID == study
                && state.imageSets[$0].seriesInstanceUID == series && state.imageSets[$0].workflowStatus != "DELETED"
        }
        let primary = sameSeries.first { state.imageSets[$0].isPrimary }
        var index: Int
        if let p = primary, state.imageSets[p].conflictKey == conflictKey {
            index = p
        } else if let other = sameSeries.first(where: { !state.imageSets[$0].isPrimary && state.imageSets[$0].conflictKey == conflictKey }) {
            index = other
        } else {
            let set = ImageSet(imageSetId: Self.newId(), datastoreId: datastoreId, version: 1, isPrimary: primary == nil,
                               createdAt: now, updatedAt: now, workflowStatus: "CREATED", studyInstanceUID: study,
                               seriesInstanceUID: series, conflictKey: conflictKey, patient: patient, study: studyAttributes,
                               series: seriesAttributes, instances: [:])
            state.imageSets.append(set)
            index = state.imageSets.count - 1
            touched.insert(set.imageSetId)
        }
        if !touched.contains(state.imageSets[index].imageSetId) {
            state.imageSets[index].version += 1
            state.imageSets[index].workflowStatus = "UPDATED"
            touched.insert(state.imageSets[index].imageSetId)
        }
        var record = instance
        record.importedBy = (state.imageSets[index].instances[sopInstanceUID]?.importedBy ?? []) + [jobId]
        state.imageSets[index].instances[sopInstanceUID] = record
        state.imageSets[index].updatedAt = now
        unsaved += 1
        return (state.imageSets[index].imageSetId, state.imageSets[index].isPrimary, state.imageSets[index].version)
    }

    /// Writes the state after a job's (or a STOW-RS request's) instances were added, unless a
    /// write since then already holds them (requests answered together share one write).
    func commit() {
        if unsaved > 0 { save() }
    }

    func imageSet(_ datastoreId: String, _ id: String) -> ImageSet? {
        state.imageSets.first { $0.datastoreId == datastoreId && $0.imageSetId == id }
    }

    func imageSets(_ datastoreId: String) -> [ImageSet] {
        state.imageSets.filter { $0.datastoreId == datastoreId && $0.workflowStatus != "DELETED" }
    }

    // MARK: Frames

    func frameURL(_ id: String) -> URL { root.appendingPathComponent("frames/\(id)") }

    func storeFrame(_ bytes: [UInt8]) throws -> String {
        let id = Self.newId()
        try Data(bytes).write(to: frameURL(id))
        return id
    }

    func frame(_ id: String) -> [UInt8]? {
        FileManager.default.contents(atPath: frameURL(id).path).map { [UInt8]($0) }
    }

    // MARK: Instance copies (WADO-RS, QIDO-RS)

    func instanceURL(_ id: String, _ ext: String) -> URL { root.appendingPathComponent("instances/\(id).\(ext)") }

    /// Keeps a copy of a Part 10 file and its DICOM JSON; returns their id.
    func keepInstance(copying path: String, json: [UInt8]) throws -> String {
        let id = Self.newId()
        try FileManager.default.copyItem(at: URL(fileURLWithPath: path), to: instanceURL(id, "dcm"))
        try Data(json).write(to: instanceURL(id, "json"))
        return id
    }

    /// Keeps Part 10 bytes and their DICOM JSON; returns their id.
    func keepInstance(bytes: [UInt8], json: [UInt8]) throws -> String {
        let id = Self.newId()
        try Data(bytes).write(to: instanceURL(id, "dcm"))
        try Data(json).write(to: instanceURL(id, "json"))
        return id
    }

    /// The kept Part 10 bytes of an instance.
    func part10(_ id: String) -> [UInt8]? {
        FileManager.default.contents(atPath: instanceURL(id, "dcm").path).map { [UInt8]($0) }
    }

    /// The kept DICOM JSON of an instance (JSON text bytes).
    func instanceJSON(_ id: String) -> [UInt8]? {
        FileManager.default.contents(atPath: instanceURL(id, "json").path).map { [UInt8]($0) }
    }

    /// One stored instance with where it lives.
    struct Located: Sendable {
        var imageSetId: String
        var isPrimary: Bool
        var updatedAt: Date
        var study: String
        var series: String
        var sop: String
        var instance: Instance
    }

    /// The instances of a data store that DICOMweb addresses: those of `imageSetId` when given
    /// (primary or not), else those of the primary image sets only.
    func located(_ datastoreId: String, imageSetId: String?) -> [Located] {
        var out: [Located] = []
        for set in imageSets(datastoreId) where imageSetId.map({ $0 == set.imageSetId }) ?? set.isPrimary {
            for (sop, instance) in set.instances {
                out.append(Located(imageSetId: set.imageSetId, isPrimary: set.isPrimary, updatedAt: set.updatedAt,
                                   study: set.studyInstanceUID, series: set.seriesInstanceUID, sop: sop, instance: instance))
            }
        }
        return out
    }
}
