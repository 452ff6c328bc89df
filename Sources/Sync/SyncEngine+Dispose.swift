#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import DICOMCore
import Foundation
import ImportPipeline

extension SyncEngine {
    /// `--verify` for one imported file: every frame's full-resolution checksum in the
    /// image set's metadata against the CRC-32 of the locally decoded frame. Nil when they
    /// match, else why not.
    func verify(_ f: LedgerFile) async -> String? {
        guard let sop = f.sopInstanceUID else { return "no SOP Instance UID recorded" }
        var imageSet = f.imageSetId
        if imageSet == nil, let study = f.studyInstanceUID {
            // Stored by STOW-RS: its answer names no image set; the data store's index does.
            imageSet = try? await pipeline.existingInstances(studies: [study])[sop]
        }
        guard let setId = imageSet else { return "no image set holds SOP Instance \(sop)" }
        let verifier = FrameVerifier(client: pipeline.healthImaging, datastoreId: destination.datastoreId)
        do {
            let stored = try await verifier.storedInstances(imageSetId: setId)[sop]
            guard let stored else { return "SOP Instance \(sop) is not in image set \(setId)" }
            let items = try verifier.items(path: f.path, sop: sop, stored: stored)
            for item in items {
                if let p = await verifier.check(item, download: false).first { return p }
            }
            return nil
        } catch {
            return "\(error)"
        }
    }


    /// Carries out `--on-success` on imported files (after `--verify` passed), once.
    func dispose(_ s: inout SyncSummary) async throws {
        guard settings.onSuccess != .keep || settings.verify else { return }
        for var f in try ledger.read({ try $0.files(in: [.imported]) }) where !f.disposed {
            guard !stop.isSet else { return }
            guard let st = Self.fileStat(f.path) else {
                // Already moved or deleted (a killed run did it before recording it).
                f.disposed = true
                try ledger.transaction { try $0.save(f) }
                continue
            }
            // Changed since it was sent: the next scan imports the new bytes; leave it.
            guard st.size == f.size, st.mtimeNs == f.mtimeNs else { continue }
            if settings.verify {
                if let mismatch = await verify(f) {
                    LedgerJournal.fail(&f, "verify: \(mismatch)", retryBase: settings.retryBase)
                    s.failed += 1
                    s.problems.append("\(f.path): verify: \(mismatch)")
                    try ledger.transaction { try $0.save(f) }
                    continue
                }
            }
            switch settings.onSuccess {
            case .keep:
                f.disposed = true
            case .delete:
                if unlink(f.path) == 0 || errno == ENOENT { f.disposed = true }
            case .move(let dir):
                let target = (dir as NSString).appendingPathComponent(f.relativePath)
                if Self.move(f.path, to: target) { f.disposed = true }
            }
            if f.disposed {
                try ledger.transaction { try $0.save(f) }
                if settings.onSuccess != .keep { s.disposed += 1 }
            } else {
                s.problems.append("\(f.path): --on-success \(settings.onSuccess): \(String(cString: strerror(errno)))")
            }
        }
    }

    /// rename(2), or copy + fsync + unlink across file systems.
    static func move(_ from: String, to target: String) -> Bool {
        try? FileManager.default.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if rename(from, target) == 0 { return true }
        guard errno == EXDEV else { return false }
        let tmp = target + ".ahi-partial"
        do {
            try? FileManager.default.removeItem(atPath: tmp)
            try FileManager.default.copyItem(atPath: from, toPath: tmp)
            let fd = open(tmp, O_RDONLY)
            if fd >= 0 { fsync(fd); close(fd) }
            guard rename(tmp, target) == 0 else { return false }
            return unlink(from) == 0
        } catch {
            return false
        }
    }
}
