// The parser, the validator and the JPEG decoders under libFuzzer.
//
// Built by Scripts/fuzz.sh with `-sanitize=fuzzer,address -D FUZZING`, it hands
// control to libFuzzer's driver (LLVMFuzzerRunDriver). In a normal build
// it is a replayer: `dicom-fuzz FILE...` runs the same code on each file, so a
// crash input can be reproduced without the sanitizer toolchain.
import DICOMCore
import HTJ2K

/// The JPEG transfer syntaxes whose frames are decoded: baseline, extended, lossless, lossless SV1.
let jpegSyntaxes: Set<String> = ["1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57",
                                 "1.2.840.10008.1.2.4.70"]

/// Parses `bytes` leniently (then validates, writes JSON and text, indexes
/// frames, and decodes the first two frames of a JPEG file: one in RGB, one as stored),
/// strictly, and header-only.
func exercise(_ bytes: UnsafeRawBufferPointer) {
    if let file = try? DICOMFile.read(bytes: bytes) {
        _ = Validator.validate(file)
        _ = DICOMJSON.encode(file.dataSet)
        _ = TextDump.dump(file)
        let frames = try? file.frames()
        if jpegSyntaxes.contains(file.transferSyntax.uid), let frames {
            for (frame, color) in zip(frames.prefix(2), [ColorOutput.rgb, .stored]) {
                _ = try? FrameDecoder.decode(file, frame: frame, color: color)
            }
        }
    }
    _ = try? DICOMFile.read(bytes: bytes, options: ParseOptions(strict: true))
    _ = try? DICOMFile.read(bytes: bytes, options: ParseOptions(headerOnly: true)).frames()
}

#if FUZZING
import Glibc

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(_ argc: UnsafeMutablePointer<CInt>,
               _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
               _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The entry libFuzzer's runtime expects (its own main is replaced by SwiftPM's).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    exercise(UnsafeRawBufferPointer(start: data, count: size))
    return 0
}

var argc = CommandLine.argc
var argv = CommandLine.unsafeArgv
let status = runDriver(&argc, &argv) { data, size in fuzzTestOneInput(data, size) }
exit(status)
#else
import Foundation

for path in CommandLine.arguments.dropFirst() {
    guard let data = FileManager.default.contents(atPath: path) else {
        print("\(path): cannot read")
        continue
    }
    data.withUnsafeBytes { exercise($0) }
    print("\(path): ok")
}
#endif
