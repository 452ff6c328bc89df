import DICOMCore

/// The File Meta Information this tool writes in front of a bare data set to make a
/// Part 10 file (PS3.10 §7.1): what a WADO-RS part without its own File Meta, or a data set
/// received over DIMSE, needs to be "ready for a PACS".
///
/// Layout: 128 zero bytes, `DICM`, then group 0002 in Explicit VR Little Endian whatever the
/// data set's transfer syntax (PS3.10 §7.1): (0002,0000) UL group length, (0002,0001) OB `00 01`,
/// (0002,0002) MediaStorageSOPClassUID, (0002,0003) MediaStorageSOPInstanceUID,
/// (0002,0010) TransferSyntaxUID, (0002,0012) ImplementationClassUID,
/// (0002,0013) ImplementationVersionName. UI values are padded to even length with NUL,
/// SH with a space (PS3.5 §6.2). The data set follows unchanged.
public enum FileMeta {
    /// This tool's Implementation Class UID (a `2.25.` UUID-derived root, PS3.5 Annex B.2).
    public static let implementationClassUID = "2.25.257434524439867901604383313901719951313"
    /// This tool's Implementation Version Name (SH, at most 16 characters).
    public static let implementationVersionName = "AHI-UPLOAD-0.1"

    /// Why File Meta cannot be built.
    public struct BuildError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// The preamble, `DICM` and group 0002 for a data set of SOP Class `sopClassUID`, instance
    /// `sopInstanceUID`, encoded in `transferSyntaxUID`: the bytes to write before the data set.
    /// - Throws: ``BuildError`` when a UID is not a valid UID (PS3.5 §9.1).
    public static func prefix(sopClassUID: String, sopInstanceUID: String, transferSyntaxUID: String) throws -> [UInt8] {
        for (name, uid) in [("SOP Class UID", sopClassUID), ("SOP Instance UID", sopInstanceUID), ("Transfer Syntax UID", transferSyntaxUID)] {
            if let problem = Validator.uidProblem(uid) {
                throw BuildError(description: "cannot write File Meta: the \(name) \(uid.debugDescription) is not valid (\(problem))")
            }
        }
        var group: [UInt8] = []
        element(0x0001, vr: "OB", [0x00, 0x01], into: &group)
        element(0x0002, vr: "UI", padded(sopClassUID, with: 0), into: &group)
        element(0x0003, vr: "UI", padded(sopInstanceUID, with: 0), into: &group)
        element(0x0010, vr: "UI", padded(transferSyntaxUID, with: 0), into: &group)
        element(0x0012, vr: "UI", padded(implementationClassUID, with: 0), into: &group)
        element(0x0013, vr: "SH", padded(implementationVersionName, with: 0x20), into: &group)
        var out = [UInt8](repeating: 0, count: 128) + Array("DICM".utf8)
        let length = UInt32(group.count)
        element(0x0000, vr: "UL", [UInt8(length & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length >> 16 & 0xFF), UInt8(length >> 24)],
                into: &out)
        return out + group
    }

    /// True when `head` (at least the first 132 bytes of a file) has the preamble and `DICM`.
    public static func hasPreamble(_ head: some Collection<UInt8>) -> Bool {
        head.count >= 132 && Array(head.dropFirst(128).prefix(4)) == Array("DICM".utf8)
    }

    private static func padded(_ s: String, with pad: UInt8) -> [UInt8] {
        var v = Array(s.utf8)
        if v.count % 2 == 1 { v.append(pad) }
        return v
    }

    /// One group-0002 element in Explicit VR Little Endian.
    private static func element(_ element: UInt16, vr: String, _ value: [UInt8], into out: inout [UInt8]) {
        out += [0x02, 0x00, UInt8(element & 0xFF), UInt8(element >> 8)]
        out += Array(vr.utf8)
        if vr == "OB" {
            let n = UInt32(value.count)
            out += [0, 0, UInt8(n & 0xFF), UInt8(n >> 8 & 0xFF), UInt8(n >> 16 & 0xFF), UInt8(n >> 24)]
        } else {
            out += [UInt8(value.count & 0xFF), UInt8(value.count >> 8 & 0xFF)]
        }
        out += value
    }
}
