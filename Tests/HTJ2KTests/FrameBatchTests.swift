import ByteCoding
import DICOMCore
import Foundation
import HTJ2K
import TestSupport
import Testing

// FrameBatch: the frames of one file decoded on several threads, handed over in order.

private func pydicomFile(_ name: String) throws -> String {
    let r = try run("python3", [packageRoot.appendingPathComponent("Tests/Oracle/jpeg_oracle.py").path, "testdata", name])
    try #require(r.status == 0, "\(r.err)")
    return r.out.trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Every frame arrives once, in order, equal to decoding it alone — for 120 JPEG baseline
/// frames and a native multi-frame file, with 2 workers and the smallest window.
@Test(.timeLimit(.minutes(2))) func batchHandsOverEveryFrameInOrder() throws {
    for path in [try pydicomFile("color3d_jpeg_baseline.dcm"), fixture("multiframe_8frames.dcm")] {
        let file = try DICOMFile.read(path: path)
        let frames = try file.frames()
        #expect(frames.count > 1)
        for batch in [FrameBatch(workers: 2, window: 1), FrameBatch(workers: 2), FrameBatch(workers: 1)] {
            var seen: [Int] = [], same = 0
            batch.decode(file, frames: frames) { i, result in
                seen.append(i)
                if let decoded = try? result.get(), let alone = try? FrameDecoder.decode(file, frame: frames[i]), decoded == alone { same += 1 }
            }
            #expect(seen == Array(frames.indices))
            #expect(same == frames.count, "\(path): \(same) of \(frames.count) frames as decoded alone")
        }
        // The per-frame transform runs on the workers; its results arrive in order too.
        var crcs: [UInt32] = []
        FrameBatch(workers: 2).decode(file, frames: frames, transform: { CRC32.of($0.bytes).value }) { _, r in
            if case .success(let c) = r { crcs.append(c) }
        }
        #expect(crcs == (try frames.map { CRC32.of(try FrameDecoder.decode(file, frame: $0).bytes).value }))
    }
}

private struct Stop: Error {}

/// A consumer that throws stops the batch: no frame is handed over after it, and the error
/// comes back to the caller.
@Test(.timeLimit(.minutes(2))) func batchStopsOnTheConsumersError() throws {
    let file = try DICOMFile.read(path: try pydicomFile("color3d_jpeg_baseline.dcm"))
    let frames = try file.frames()
    var handed = 0
    #expect(throws: Stop.self) {
        try FrameBatch(workers: 2, window: 2).decode(file, frames: frames) { i, _ in
            handed += 1
            if i == 4 { throw Stop() }
        }
    }
    #expect(handed == 5)
}

/// Memory stays bounded by the frames in flight: however slow the consumer, no more than
/// window + workers frames are decoded ahead of it.
@Test(.timeLimit(.minutes(2))) func batchDecodesNoFurtherAheadThanItsWindow() throws {
    let file = try DICOMFile.read(path: try pydicomFile("color3d_jpeg_baseline.dcm"))
    let frames = try file.frames()
    final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var decoded = 0
        func add() { lock.lock(); decoded += 1; lock.unlock() }
        var value: Int { lock.lock(); defer { lock.unlock() }; return decoded }
    }
    let counter = Counter()
    let batch = FrameBatch(workers: 2, window: 3)
    var furthest = 0
    batch.decode(file, frames: Array(frames.prefix(40)), transform: { _ in counter.add() }) { i, _ in
        Thread.sleep(forTimeInterval: 0.002)  // a slow consumer
        furthest = max(furthest, counter.value - (i + 1))
    }
    #expect(counter.value == 40)
    #expect(furthest <= batch.window + batch.workers, "\(furthest) frames decoded ahead of the consumer")
    #expect(furthest >= 1, "the workers never got ahead: no concurrency")
}
