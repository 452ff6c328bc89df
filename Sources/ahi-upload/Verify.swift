import ArgumentParser
import ByteCoding
import DICOMCore
import Foundation
import HTJ2K
import Uploader

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Prove imported pixels came back intact: compare HealthImaging's checksums (and, with --download, its frames) with the source.",
        discussion: """
            With a source FOLDER: for every file, find its instance in the data store (by Study \
            and SOP Instance UID), decode each local frame and compare the CRC-32 of its pixels \
            with the service's full-resolution checksum; with --download also fetch each frame \
            (GetImageFrame), decode it and compare it sample for sample with the local frame.

            With --image-set ID or --job JOB_ID (no source): fetch every frame, decode it and \
            check it against the checksums of every resolution level in the metadata.

            Every mismatch is printed with the file, SOP Instance UID and frame number. Exit \
            status: 0 when everything matches, 1 on any mismatch or frame that cannot be checked.
            """)

    @Argument(help: "The source folder (or files) that were imported.")
    var paths: [String] = []

    @OptionGroup var service: ServiceOptions

    @Option(name: .customLong("image-set"), help: "Check one image set against its own metadata.")
    var imageSet: String?

    @Option(help: "Check every image set an import job wrote (from its success manifest).")
    var job: String?

    @Flag(help: "Also fetch every frame and compare it sample for sample.")
    var download = false

    @Option(help: "Frames fetched at once.")
    var concurrency = 16

    func validate() throws {
        if paths.isEmpty && imageSet == nil && job == nil { throw ValidationError("give a source FOLDER, --image-set or --job") }
    }

    /// One instance in the metadata: its image set and frames.
    struct StoredInstance: Sendable {
        let imageSetId: String
        let frames: [ImageSetMetadataDocument.StoredFrame]
    }

    static func instances(inMetadata json: [UInt8], imageSetId: String) -> [String: StoredInstance] {
        ImageSetMetadataDocument.instances(json).mapValues { StoredInstance(imageSetId: imageSetId, frames: $0) }
    }

    /// One local frame to check against its stored counterpart.
    struct Item: Sendable {
        let path: String, sop: String, frame: Int, imageSetId: String, frameId: String
        let checksum: UInt32?
    }

    /// Decodes the local frame, compares its CRC-32 with the service's, and with `download`
    /// fetches and decodes the stored frame and compares the samples. Returns the problems.
    static func check(_ item: Item, download: Bool, datastore: String, client: HealthImagingClient) async -> [String] {
        let label = "\(item.path): SOP Instance \(item.sop) frame \(item.frame + 1)"
        let local: PixelBuffer
        do {
            let file = try DICOMFile.read(path: item.path)
            let frames = try file.frames()
            guard item.frame < frames.count else { return ["\(label): the local file changed"] }
            local = try FrameDecoder.decode(file, frame: frames[item.frame])
        } catch {
            return ["\(label): cannot decode locally: \(error)"]
        }
        var problems: [String] = []
        if let checksum = item.checksum {
            let mine = CRC32.of(local.bytes).value
            if mine != checksum { problems.append("\(label): checksum mismatch (service \(checksum), local \(mine))") }
        } else {
            problems.append("\(label): the metadata has no checksum")
        }
        if download {
            do {
                let (bytes, type) = try await client.getImageFrame(datastoreId: datastore, imageSetId: item.imageSetId, imageFrameId: item.frameId)
                guard type.hasPrefix("image/jph") || type == "image/j2c" || bytes.starts(with: [0xFF, 0x4F]) else {
                    throw CodecError.unsupported("frames of type \(type)")
                }
                if try J2KDecoder.decode(bytes).bytes != local.bytes { problems.append("\(label): the downloaded frame differs from the source") }
            } catch {
                problems.append("\(label): cannot fetch/decode the stored frame: \(error)")
            }
        }
        return problems
    }

    func run() async throws {
        let (datastore, client, s3) = try await service.connect()
        var problems: [String] = []
        var checked = 0
        if !paths.isEmpty {
            let (files, walkProblems) = FileWalker.files(under: paths)
            problems += walkProblems.map { "\($0.path): \($0.reason)" }
            var byStudy: [String: [String: StoredInstance]] = [:]
            var work: [Item] = []
            for path in files {
                let file: DICOMFile
                do { file = try DICOMFile.read(path: path) } catch { problems.append("\(path): not readable: \(error)"); continue }
                guard let study = file.dataSet.string(Tag(0x0020_000D)), let sop = file.dataSet.string(Tag(0x0008_0018)) else {
                    problems.append("\(path): no Study/SOP Instance UID")
                    continue
                }
                if byStudy[study] == nil {
                    var all: [String: StoredInstance] = [:]
                    for set in try await client.searchImageSets(datastoreId: datastore, attribute: "DICOMStudyInstanceUID", equals: study) {
                        let json = try await client.getImageSetMetadata(datastoreId: datastore, imageSetId: set.imageSetId)
                        all.merge(Self.instances(inMetadata: json, imageSetId: set.imageSetId)) { a, _ in a }
                    }
                    byStudy[study] = all
                }
                guard let stored = byStudy[study]?[sop] else { problems.append("\(path): SOP Instance \(sop) is not in the data store"); continue }
                let frames = (try? file.frames()) ?? []
                guard frames.count == stored.frames.count else {
                    problems.append("\(path): \(frames.count) local frames, \(stored.frames.count) stored")
                    continue
                }
                for (frame, remote) in zip(frames, stored.frames) {
                    work.append(Item(path: path, sop: sop, frame: frame.index, imageSetId: stored.imageSetId, frameId: remote.id,
                                     checksum: remote.levels.last?.checksum))
                }
            }
            // Frames are checked concurrently (GetImageFrame allows 1,000 requests/s; this stays far below).
            let results = await withTaskGroup(of: (Int, [String]).self) { group in
                var next = 0, out = [[String]](repeating: [], count: work.count)
                func add(_ group: inout TaskGroup<(Int, [String])>) {
                    let i = next, item = work[i], download = self.download
                    next += 1
                    group.addTask { (i, await Self.check(item, download: download, datastore: datastore, client: client)) }
                }
                while next < min(max(1, concurrency), work.count) { add(&group) }
                while let (i, r) = await group.next() {
                    out[i] = r
                    if next < work.count { add(&group) }
                }
                return out
            }
            problems += results.flatMap { $0 }
            checked += work.count
        } else {
            var sets: [String] = imageSet.map { [$0] } ?? []
            if let job {
                let props = try await client.getDICOMImportJob(datastoreId: datastore, jobId: job)
                guard let given = props.outputS3Uri else {
                    throw AWSError.invalidResponse(operation: "GetDICOMImportJob", reason: "job \(job) has no outputS3Uri")
                }
                let output = Importer.expandedOutput(given, datastoreId: datastore, jobId: job)
                let success = try S3URI(parsing: output).appending("SUCCESS/success.ndjson")
                let text = String(decoding: try await s3.getObject(bucket: success.bucket, key: success.key), as: UTF8.self)
                for line in text.split(separator: "\n") {
                    if let o = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                       let id = (o["importResponse"] as? [String: Any])?["imageSetId"] as? String, !sets.contains(id) {
                        sets.append(id)
                    }
                }
            }
            for setId in sets {
                let json = try await client.getImageSetMetadata(datastoreId: datastore, imageSetId: setId)
                for (sop, stored) in Self.instances(inMetadata: json, imageSetId: setId).sorted(by: { $0.key < $1.key }) {
                    for (n, frame) in stored.frames.enumerated() {
                        let label = "image set \(setId): SOP Instance \(sop) frame \(n + 1)"
                        do {
                            let bytes = try await client.getImageFrame(datastoreId: datastore, imageSetId: setId, imageFrameId: frame.id).bytes
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
            }
        }
        for p in problems { print(p) }
        print("\(checked) frame\(checked == 1 ? "" : "s") checked\(download ? " (downloaded and compared)" : ""); \(problems.count) problem\(problems.count == 1 ? "" : "s")")
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
