import ByteCoding
import DICOMCore
import Foundation
import HTJ2K
import Uploader

/// Proves imported pixels came back intact: each local frame, decoded, against the
/// CRC-32 HealthImaging computed of the frame it stored (the full-resolution checksum in
/// the image set's metadata) and, with `download`, against the stored frame itself
/// (GetImageFrame, decoded). Used by `verify` and `sync --verify`.
public struct FrameVerifier: Sendable {
    public let client: HealthImagingClient
    public let datastoreId: String

    public init(client: HealthImagingClient, datastoreId: String) {
        self.client = client
        self.datastoreId = datastoreId
    }

    /// One instance in the metadata: its image set and its frames (with every level's checksum).
    public struct StoredInstance: Sendable {
        public let imageSetId: String
        public let frames: [ImageSetMetadataDocument.StoredFrame]
    }

    /// One local frame to check against its stored counterpart.
    public struct Item: Sendable {
        public let path: String, sop: String, frame: Int, imageSetId: String, frameId: String
        /// The service's CRC-32 of the full-resolution frame, if the metadata has it.
        public let checksum: UInt32?
    }

    /// Why a file cannot be checked frame by frame.
    public struct Mismatch: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// SOP Instance UID → stored instance, for one image set.
    public func storedInstances(imageSetId: String) async throws -> [String: StoredInstance] {
        let json = try await client.getImageSetMetadata(datastoreId: datastoreId, imageSetId: imageSetId)
        return ImageSetMetadataDocument.instances(json).mapValues { StoredInstance(imageSetId: imageSetId, frames: $0) }
    }

    /// SOP Instance UID → stored instance, for every image set of a study (the first image set wins).
    public func storedInstances(study: String) async throws -> [String: StoredInstance] {
        var all: [String: StoredInstance] = [:]
        for set in try await client.searchImageSets(datastoreId: datastoreId, attribute: "DICOMStudyInstanceUID", equals: study) {
            all.merge(try await storedInstances(imageSetId: set.imageSetId)) { a, _ in a }
        }
        return all
    }

    /// The frames of the local file at `path` paired with the stored ones.
    /// - Throws: the parser's error, or ``Mismatch`` when the frame counts differ.
    public func items(path: String, sop: String, stored: StoredInstance) throws -> [Item] {
        let frames = try DICOMFile.read(path: path).frames()
        guard frames.count == stored.frames.count else {
            throw Mismatch(description: "\(frames.count) local frames, \(stored.frames.count) stored")
        }
        return zip(frames, stored.frames).map { frame, remote in
            Item(path: path, sop: sop, frame: frame.index, imageSetId: stored.imageSetId, frameId: remote.id,
                 checksum: remote.levels.last?.checksum)
        }
    }

    /// Checks the local frames of the file at `path` against the service's checksums: the
    /// frames are decoded on every core (``FrameBatch``; each frame's CRC-32 taken on the worker
    /// that decoded it), at most a few frames in memory at once. `items` are of that file
    /// (from ``items(path:sop:stored:)``). Blocks the calling thread until done. Returns the problems.
    public func checkChecksums(path: String, items: [Item], batch: FrameBatch = FrameBatch()) -> [String] {
        guard let first = items.first else { return [] }
        let label = { (item: Item) in "\(path): SOP Instance \(item.sop) frame \(item.frame + 1)" }
        let file: DICOMFile, frames: [Frame]
        do {
            file = try DICOMFile.read(path: path)
            frames = try file.frames()
        } catch {
            return ["\(label(first)): cannot decode locally: \(error)"]
        }
        var problems: [String] = []
        let wanted = items.filter { $0.frame < frames.count }
        for item in items where item.frame >= frames.count { problems.append("\(label(item)): the local file changed") }
        batch.decode(file, frames: wanted.map { frames[$0.frame] }, color: .healthImaging, transform: { CRC32.of($0.bytes).value }) { i, result in
            let item = wanted[i]
            switch result {
            case .failure(let error):
                problems.append("\(label(item)): cannot decode locally: \(error)")
            case .success(let mine):
                if let problem = Self.checksumProblem(label(item), service: item.checksum, local: mine) { problems.append(problem) }
            }
        }
        return problems
    }

    /// What is wrong when a local frame's CRC-32 is not the service's, or the service has none.
    static func checksumProblem(_ label: String, service: UInt32?, local: UInt32) -> String? {
        guard let service else { return "\(label): the metadata has no checksum" }
        return service == local ? nil : "\(label): checksum mismatch (service \(service), local \(local))"
    }

    /// Decodes the local frame, compares its CRC-32 with the service's, and with `download`
    /// fetches and decodes the stored frame (HTJ2K or JPEG 2000; JPEG baseline, kept as
    /// received, decoded as the local file's frames are) and compares the samples. JPEG
    /// frames in YBR are decoded as stored on both sides (`ColorOutput.healthImaging`).
    /// Returns the problems.
    public func check(_ item: Item, download: Bool) async -> [String] {
        let label = "\(item.path): SOP Instance \(item.sop) frame \(item.frame + 1)"
        let local: PixelBuffer
        let file: DICOMFile
        do {
            file = try DICOMFile.read(path: item.path)
            let frames = try file.frames()
            guard item.frame < frames.count else { return ["\(label): the local file changed"] }
            local = try FrameDecoder.decode(file, frame: frames[item.frame], color: .healthImaging)
        } catch {
            return ["\(label): cannot decode locally: \(error)"]
        }
        var problems: [String] = []
        if let problem = Self.checksumProblem(label, service: item.checksum, local: CRC32.of(local.bytes).value) { problems.append(problem) }
        if download {
            do {
                let (bytes, type) = try await client.getImageFrame(datastoreId: datastoreId, imageSetId: item.imageSetId, imageFrameId: item.frameId)
                let stored: PixelBuffer
                if type == "image/jpeg" || bytes.starts(with: [0xFF, 0xD8]) {
                    stored = try FrameDecoder.decodeJPEG(bytes, of: file, color: .healthImaging)
                } else if type.hasPrefix("image/jph") || type == "image/j2c" || bytes.starts(with: [0xFF, 0x4F]) {
                    // The stored frame has the codestream's precision; the local one Bits Allocated.
                    stored = try J2KDecoder.decode(bytes).widened(toBytesPerSample: local.bytesPerSample, signed: local.isSigned)
                } else {
                    throw CodecError.unsupported("frames of type \(type)")
                }
                if stored.bytes != local.bytes { problems.append("\(label): the downloaded frame differs from the source") }
            } catch {
                problems.append("\(label): cannot fetch/decode the stored frame: \(error)")
            }
        }
        return problems
    }

    /// Checks every frame of an image set against the checksums of every resolution level
    /// in its own metadata (no source needed). Returns the frames checked and the problems.
    public func checkLevels(imageSetId: String) async throws -> (checked: Int, problems: [String]) {
        var checked = 0, problems: [String] = []
        for (sop, stored) in try await storedInstances(imageSetId: imageSetId).sorted(by: { $0.key < $1.key }) {
            for (n, frame) in stored.frames.enumerated() {
                let label = "image set \(imageSetId): SOP Instance \(sop) frame \(n + 1)"
                do {
                    let bytes = try await client.getImageFrame(datastoreId: datastoreId, imageSetId: imageSetId, imageFrameId: frame.id).bytes
                    let header = try J2KHeader.parse(bytes)
                    for (i, level) in frame.levels.enumerated() {
                        let skip = frame.levels.count - 1 - i
                        guard skip <= header.decompositions else { continue }
                        let decoded = try J2KDecoder.decode(bytes, skipLevels: skip)
                        if CRC32.of(decoded.bytes).value != level.checksum || decoded.width != level.width {
                            problems.append("\(label): level \(level.width)×\(level.height) checksum mismatch")
                        }
                    }
                } catch {
                    problems.append("\(label): \(error)")
                }
                checked += 1
            }
        }
        return (checked, problems)
    }
}
