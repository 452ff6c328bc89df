// dicom-bench: DICOMCore parse speed beside pydicom and DCMTK, in one run.
//
//   swift run -c release dicom-bench [DATA_DIR] [PASSES]
//
// Generates the data on first use (Scripts/bench/make_data.py: 300 CT slices
// 512x512 16-bit and a 1,000-frame file), compiles the DCMTK loop
// (Scripts/bench/dcmtk_load.cc) with g++, and prints one table with ratios.
import DICOMCore
import Foundation

let args = CommandLine.arguments
let dataDir = args.count > 1 ? args[1] : NSTemporaryDirectory() + "ahi-bench"
let passes = args.count > 2 ? Int(args[2]) ?? 5 : 5
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

@discardableResult
func shell(_ command: String) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-c", command]
    let pipe = Pipe()
    p.standardOutput = pipe
    do { try p.run() } catch { return "" }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    if p.terminationStatus != 0 { FileHandle.standardError.write(Data("failed: \(command)\n".utf8)) }
    return String(decoding: data, as: UTF8.self)
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
}

print("generating data in \(dataDir) (first run only) ...")
shell("python3 '\(root.path)/Scripts/bench/make_data.py' '\(dataDir)'")
let study = (try FileManager.default.contentsOfDirectory(atPath: dataDir + "/study"))
    .filter { $0.hasSuffix(".dcm") }.sorted().map { dataDir + "/study/" + $0 }
let multiframe = dataDir + "/multiframe_1000.dcm"
func size(_ p: String) -> Double { Double(((try? FileManager.default.attributesOfItem(atPath: p))?[.size] as? Int) ?? 0) }
let studyBytes = study.reduce(0) { $0 + size($1) }
let mfBytes = size(multiframe)

// Warm the page cache.
for f in study + [multiframe] { _ = try? Data(contentsOf: URL(fileURLWithPath: f), options: .alwaysMapped) }

var headerFPS = 0.0, validateFPS = 0.0, fullStudyMBs = 0.0, fullMFMBs = 0.0, frameCount = 0
for _ in 0..<passes {
    let t = try seconds {
        for f in study { _ = try DICOMFile.read(path: f, options: ParseOptions(headerOnly: true)) }
    }
    headerFPS = max(headerFPS, Double(study.count) / t)
    var summaries: [InstanceSummary] = []
    let tv = try seconds {
        for f in study {
            let file = try DICOMFile.read(path: f)
            _ = Validator.validate(file)
            summaries.append(InstanceSummary(path: f, file: file))
        }
        _ = CrossFileCheck.check(summaries)
    }
    validateFPS = max(validateFPS, Double(study.count) / tv)
    let t2 = try seconds {
        for f in study { frameCount = try DICOMFile.read(path: f).frames().count }
    }
    fullStudyMBs = max(fullStudyMBs, studyBytes / 1e6 / t2)
    let t3 = try seconds { frameCount = try DICOMFile.read(path: multiframe).frames().count }
    fullMFMBs = max(fullMFMBs, mfBytes / 1e6 / t3)
}
precondition(frameCount == 1000, "multi-frame file should have 1000 frames")

print("timing pydicom and DCMTK ...")
let py = shell("python3 '\(root.path)/Scripts/bench/pydicom_load.py' '\(dataDir)' \(passes)")
    .split(separator: "\n").reduce(into: [String: Double]()) { d, line in
        let f = line.split(separator: " ")
        if f.count == 2 { d[String(f[0])] = Double(f[1]) }
    }
let tool = dataDir + "/dcmtk_load"
shell("g++ -O2 -o '\(tool)' '\(root.path)/Scripts/bench/dcmtk_load.cc' -ldcmdata -loflog -lofstd")
let fileList = study.map { "'\($0)'" }.joined(separator: " ")
let dcmHeader = shell("'\(tool)' \(passes) 4096 \(fileList)").split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
let dcmFullStudy = shell("'\(tool)' \(passes) 0 \(fileList)").split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
let dcmFullMF = shell("'\(tool)' 1 0 '\(multiframe)'").split(separator: " ").compactMap { Double($0.trimmingCharacters(in: .whitespacesAndNewlines)) }

func cell(_ v: Double?, _ unit: String) -> String { v.map { String(format: "%10.1f %@", $0, unit) } ?? "       n/a" }
func ratio(_ a: Double, _ b: Double?) -> String { b.map { String(format: "%6.1fx", a / $0) } ?? "   n/a" }

print("""

| measurement (best of \(passes), one core, warm cache) | DICOMCore | pydicom 3 | DCMTK | vs pydicom | vs DCMTK |
|---|---:|---:|---:|---:|---:|
| header-only, 300 CT files (files/s) | \(cell(headerFPS, "")) | \(cell(py["header"], "")) | \(cell(dcmHeader.first, "")) | \(ratio(headerFPS, py["header"])) | \(ratio(headerFPS, dcmHeader.first)) |
| validate (all checks + cross-file), 300 CT (files/s) | \(cell(validateFPS, "")) | n/a | n/a | n/a | n/a |
| full parse + frame index, 300 CT (MB/s) | \(cell(fullStudyMBs, "")) | n/a | \(cell(dcmFullStudy.last, "")) | n/a | \(ratio(fullStudyMBs, dcmFullStudy.last)) |
| full parse + frame index, 1000 frames (MB/s) | \(cell(fullMFMBs, "")) | \(cell(py["full"], "")) | \(cell(dcmFullMF.last, "")) | \(ratio(fullMFMBs, py["full"])) | \(ratio(fullMFMBs, dcmFullMF.last)) |

Validation runs at \(String(format: "%.2f", headerFPS / validateFPS))x the time of header-only parsing (goal: within 1.5x).
pydicom header-only is dcmread(stop_before_pixels=True); its full parse is dcmread + PixelData.
DCMTK header-only is loadFile with maxReadLength 4096 (dcmdump's default); its full parse loads every value.
DICOMCore's full parse indexes every element and frame but copies no value: pixel bytes stay in the mapped file.
""")
