// The PDU framer and decoder and the DIMSE command-set parser under libFuzzer.
//
// Built by Scripts/fuzz.sh with `-sanitize=fuzzer,address -D FUZZING`, it hands
// control to libFuzzer's driver (LLVMFuzzerRunDriver). In a normal build it is a
// replayer: `dimse-fuzz FILE...` runs the same code on each file.
import DIMSE

/// Splits `bytes` into PDUs (small and large limits), re-encodes each and decodes it again,
/// parses command sets from every command PDV and from the raw bytes.
func exercise(_ bytes: [UInt8]) {
    for framer in [PDUFramer(advertisedMaxPDULength: 16384, maxOtherPDULength: 65536),
                   PDUFramer(advertisedMaxPDULength: 1 << 20)] {
        guard let (pdus, _) = try? framer.split(bytes) else { continue }
        for pdu in pdus {
            let again = pdu.encoded()
            // Encoding what was decoded must decode to the same PDU (AE titles and UIDs are
            // already trimmed, so they round-trip).
            if let back = try? PDU.decode(type: again[0], body: Array(again.dropFirst(6))), back != pdu,
               case .pData = pdu {
                fatalError("P-DATA-TF does not round-trip")
            }
            if case .pData(let pdvs) = pdu {
                for pdv in pdvs where pdv.isCommand {
                    if let set = try? CommandSet(decoding: pdv.data) {
                        _ = CommandSet.response(to: set, status: .success).encoded()
                    }
                }
            }
        }
    }
    if let set = try? CommandSet(decoding: bytes) {
        let encoded = set.encoded()
        guard let back = try? CommandSet(decoding: encoded) else { fatalError("an encoded command set does not decode") }
        _ = back.hasDataSet
    }
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
    exercise(Array(UnsafeBufferPointer(start: data, count: size)))
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
    exercise([UInt8](data))
    print("\(path): ok")
}
#endif
