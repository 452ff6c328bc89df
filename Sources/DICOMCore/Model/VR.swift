/// A value representation (PS3.5 section 6.2), named by its two-letter code.
public enum VR: String, Sendable, Hashable, CaseIterable {
    case AE, AS, AT, CS, DA, DS, DT, FD, FL, IS, LO, LT, OB, OD, OF, OL, OV, OW,
         PN, SH, SL, SQ, SS, ST, SV, TM, UC, UI, UL, UN, UR, US, UT, UV
    /// The pseudo-VR of item and delimitation tags, which carry no VR (dcmdump's `na`).
    case none = "na"

    /// Looks a VR up by its two code bytes as they appear in an explicit-VR header.
    @inlinable public init?(code a: UInt8, _ b: UInt8) {
        switch (a, b) {
        case (0x41, 0x45): self = .AE
        case (0x41, 0x53): self = .AS
        case (0x41, 0x54): self = .AT
        case (0x43, 0x53): self = .CS
        case (0x44, 0x41): self = .DA
        case (0x44, 0x53): self = .DS
        case (0x44, 0x54): self = .DT
        case (0x46, 0x44): self = .FD
        case (0x46, 0x4C): self = .FL
        case (0x49, 0x53): self = .IS
        case (0x4C, 0x4F): self = .LO
        case (0x4C, 0x54): self = .LT
        case (0x4F, 0x42): self = .OB
        case (0x4F, 0x44): self = .OD
        case (0x4F, 0x46): self = .OF
        case (0x4F, 0x4C): self = .OL
        case (0x4F, 0x56): self = .OV
        case (0x4F, 0x57): self = .OW
        case (0x50, 0x4E): self = .PN
        case (0x53, 0x48): self = .SH
        case (0x53, 0x4C): self = .SL
        case (0x53, 0x51): self = .SQ
        case (0x53, 0x53): self = .SS
        case (0x53, 0x54): self = .ST
        case (0x53, 0x56): self = .SV
        case (0x54, 0x4D): self = .TM
        case (0x55, 0x43): self = .UC
        case (0x55, 0x49): self = .UI
        case (0x55, 0x4C): self = .UL
        case (0x55, 0x4E): self = .UN
        case (0x55, 0x52): self = .UR
        case (0x55, 0x53): self = .US
        case (0x55, 0x54): self = .UT
        case (0x55, 0x56): self = .UV
        default: return nil
        }
    }

    /// True when an explicit-VR header for this VR has two reserved bytes and a
    /// 32-bit length (PS3.5 Table 7.1-1): OB OD OF OL OV OW SQ UC UN UR UT SV UV.
    @inlinable public var hasLongLength: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .SQ, .UC, .UN, .UR, .UT, .SV, .UV: return true
        default: return false
        }
    }

    /// True for the character-string VRs, whose values are text.
    public var isString: Bool {
        switch self {
        case .AE, .AS, .CS, .DA, .DS, .DT, .IS, .LO, .LT, .PN, .SH, .ST, .TM, .UC, .UI, .UR, .UT:
            return true
        default: return false
        }
    }

    /// True for string VRs decoded with the Specific Character Set (the others are
    /// restricted to the default repertoire, PS3.5 6.1.2.3).
    public var usesSpecificCharacterSet: Bool {
        switch self {
        case .LO, .LT, .PN, .SH, .ST, .UC, .UT: return true
        default: return false
        }
    }

    /// True for single-valued text VRs, in which a backslash is an ordinary character.
    public var isText: Bool { self == .LT || self == .ST || self == .UT || self == .UR }

    /// True for OB/OD/OF/OL/OV/OW/UN: values shown as bytes, not as numbers or text.
    public var isBinary: Bool {
        switch self {
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN: return true
        default: return false
        }
    }

    /// Size in bytes of one value of a fixed-size binary VR (AT counts 4); nil otherwise.
    public var fixedValueSize: Int? {
        switch self {
        case .US, .SS, .OW: return 2
        case .UL, .SL, .FL, .AT, .OF, .OL: return 4
        case .FD, .SV, .UV, .OD, .OV: return 8
        default: return nil
        }
    }
}
