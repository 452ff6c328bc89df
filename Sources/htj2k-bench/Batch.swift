// Many frames across cores: one multi-frame file decoded with FrameBatch at 1…N workers,
// each frame's CRC-32 taken on its worker (what `verify` does with a decoded frame).
// The files come from Scripts/bench/make_multiframe.py (512² 16-bit, 64 frames).
import ByteCoding
import DICOMCore
import Foundation
import HTJ2K

/// Prints the scaling table for the multi-frame files in `folder`.
func batchCurve(folder: URL, repeats: Int) {
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("../../Scripts/bench/make_multiframe.py").standardized.path
    guard shell("python3", [script, folder.path]) == 0 else {
        print("make_multiframe.py failed")
        return
    }
    let cores = ProcessInfo.processInfo.activeProcessorCount
    print("")
    print("Many frames across cores: FrameBatch over one multi-frame file, CRC-32 of each decoded frame on its worker, handed over in order;")
    print("median of \(repeats); \(cores) cores; workers are clamped to the cores; frames in flight ≤ window (2 × workers) + workers")
    print("")
    let counts = Array(1...max(2, cores))
    print("| file | " + counts.map { "\($0) worker\($0 == 1 ? "" : "s")" }.joined(separator: " | ") + " | speed-up, \(cores) workers |")
    print("|---|" + counts.map { _ in "---|" }.joined() + "---|")
    for (name, file) in [("512² 16-bit ×64, HTJ2K RPCL", "mf_htj2k.dcm"), ("512² 16-bit ×64, JPEG lossless SV1", "mf_jpegll.dcm"),
                         ("512² 16-bit ×64, native", "mf_native.dcm")] {
        guard let dicom = try? DICOMFile.read(path: folder.appendingPathComponent(file).path), let frames = try? dicom.frames() else {
            print("| \(name) | unreadable |")
            continue
        }
        var rates: [Double] = []
        for w in counts {
            let batch = FrameBatch(workers: w)
            var failed = 0
            let seconds = time(repeats) {
                batch.decode(dicom, frames: frames, transform: { CRC32.of($0.bytes).value }) { _, result in
                    if case .failure = result { failed += 1 }
                }
            }
            rates.append(failed > 0 ? 0 : Double(frames.count) / seconds)
        }
        let cells = rates.map { $0 == 0 ? "failed" : String(format: "%.0f frames/s", $0) }
        print("| \(name) | " + cells.joined(separator: " | ") + String(format: " | %.2f× |", rates[min(cores, rates.count) - 1] / max(rates[0], 1e-9)))
    }
}
