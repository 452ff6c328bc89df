import ArgumentParser
import DICOMCore
import Foundation
import ImportPipeline
import Uploader

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
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

    @OptionGroup var output: OutputOptions

    func validate() throws {
        if paths.isEmpty && imageSet == nil && job == nil { throw ValidationError("give a source FOLDER, --image-set or --job") }
    }

    struct Report: Encodable {
        let framesChecked: Int
        let downloaded: Bool
        let problems: [String]
    }

    func run() async throws {
        try Paths.require(paths)
        let download = self.download, concurrency = self.concurrency
        let (checked, problems) = try await service.connect().use { c -> (Int, [String]) in
            let verifier = FrameVerifier(client: c.healthImaging, datastoreId: c.datastore)
            var problems: [String] = []
            var checked = 0
            if !paths.isEmpty {
                let (files, walkProblems) = FileWalker.files(under: paths)
                problems += walkProblems.map { "\($0.path): \($0.reason)" }
                var byStudy: [String: [String: FrameVerifier.StoredInstance]] = [:]
                var work: [FrameVerifier.Item] = []
                for path in files {
                    let file: DICOMFile
                    do { file = try DICOMFile.read(path: path) } catch { problems.append("\(path): not readable: \(error)"); continue }
                    guard let study = file.dataSet.string(Tag.studyInstanceUID), let sop = file.dataSet.string(Tag.sopInstanceUID) else {
                        problems.append("\(path): no Study/SOP Instance UID")
                        continue
                    }
                    if byStudy[study] == nil { byStudy[study] = try await verifier.storedInstances(study: study) }
                    guard let stored = byStudy[study]?[sop] else { problems.append("\(path): SOP Instance \(sop) is not in the data store"); continue }
                    do { work += try verifier.items(path: path, sop: sop, stored: stored) } catch { problems.append("\(path): \(error)") }
                }
                if download {
                    // Frames are fetched concurrently (GetImageFrame allows 1,000 requests/s; this stays far below).
                    let results = await boundedMap(work, width: concurrency) { await verifier.check($0, download: download) }
                    problems += results.flatMap { $0 }
                } else {
                    // Checksums only: each file's frames decoded on every core, one file at a time.
                    var order: [String] = [], byPath: [String: [FrameVerifier.Item]] = [:]
                    for item in work {
                        if byPath[item.path] == nil { order.append(item.path) }
                        byPath[item.path, default: []].append(item)
                    }
                    for path in order { problems += verifier.checkChecksums(path: path, items: byPath[path] ?? []) }
                }
                checked += work.count
            } else {
                var sets: [String] = imageSet.map { [$0] } ?? []
                if let job {
                    let props = try await c.healthImaging.getDICOMImportJob(datastoreId: c.datastore, jobId: job)
                    let output = ImportManifest.expandedOutput(props.outputS3Uri ?? "", datastoreId: c.datastore, jobId: job)
                    for id in try await ImportManifest.read(output, s3: c.s3, timeout: 0).imageSetIds where !sets.contains(id) { sets.append(id) }
                }
                for setId in sets {
                    let r = try await verifier.checkLevels(imageSetId: setId)
                    checked += r.checked
                    problems += r.problems
                }
            }
            return (checked, problems)
        }
        if output.json {
            try printJSON(Report(framesChecked: checked, downloaded: download, problems: problems))
        } else {
            for p in problems { print(p) }
            print("\(checked) frame\(checked == 1 ? "" : "s") checked\(download ? " (downloaded and compared)" : ""); \(problems.count) problem\(problems.count == 1 ? "" : "s")")
        }
        if !problems.isEmpty { throw ExitCode(1) }
    }
}
