import ByteCoding

/// A DICOM attribute tag: a (group, element) pair, as in PS3.5 section 7.1.
///
/// Stored as one 32-bit number (`group << 16 | element`) so that comparing and
/// hashing tags costs one integer operation.
public struct Tag: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// `group << 16 | element`.
    public let rawValue: UInt32

    /// Creates a tag from its 32-bit form, `0xGGGGEEEE`.
    @inlinable public init(_ rawValue: UInt32) { self.rawValue = rawValue }

    /// Creates a tag from its group and element numbers.
    @inlinable public init(group: UInt16, element: UInt16) {
        rawValue = UInt32(group) << 16 | UInt32(element)
    }

    /// The group number.
    @inlinable public var group: UInt16 { UInt16(truncatingIfNeeded: rawValue >> 16) }
    /// The element number.
    @inlinable public var element: UInt16 { UInt16(truncatingIfNeeded: rawValue) }

    /// True for tags in odd groups other than 1, 3, 5, 7 and FFFF (PS3.5 7.8.1).
    @inlinable public var isPrivate: Bool {
        group & 1 == 1 && group > 0x0007 && group != 0xFFFF
    }

    /// True for a private creator element, (gggg,0010)–(gggg,00FF) in an odd group.
    @inlinable public var isPrivateCreator: Bool {
        isPrivate && element >= 0x0010 && element <= 0x00FF
    }

    /// True for group length elements, (gggg,0000).
    @inlinable public var isGroupLength: Bool { element == 0 }

    /// The private creator tag that reserves this private element's block, if any.
    public var privateCreatorTag: Tag? {
        guard isPrivate, element >= 0x1000 else { return nil }
        return Tag(group: group, element: element >> 8)
    }

    @inlinable public static func < (lhs: Tag, rhs: Tag) -> Bool { lhs.rawValue < rhs.rawValue }

    /// `(gggg,eeee)` in lower-case hexadecimal, as dcmdump prints it.
    public var description: String { "(\(hex4(group)),\(hex4(element)))" }

    /// `GGGGEEEE`, the key of the DICOM JSON Model (PS3.18 F.2.1.1).
    public var jsonKey: String { (hex4(group) + hex4(element)).uppercased() }

    /// Parses `GGGGEEEE`, `(gggg,eeee)` or `gggg,eeee`; nil when the text is not a tag.
    public init?(parsing text: Substring) {
        var digits = text.filter { $0 != "(" && $0 != ")" && $0 != "," }
        if digits.count != 8 { return nil }
        digits = digits.lowercased()
        guard let value = UInt32(digits, radix: 16) else { return nil }
        self.init(value)
    }

    // Tags the parser itself needs.
    /// (FFFE,E000) Item.
    public static let item = Tag(0xFFFE_E000)
    /// (FFFE,E00D) Item Delimitation Item.
    public static let itemDelimitationItem = Tag(0xFFFE_E00D)
    /// (FFFE,E0DD) Sequence Delimitation Item.
    public static let sequenceDelimitationItem = Tag(0xFFFE_E0DD)
    /// (0002,0000) File Meta Information Group Length.
    public static let fileMetaInformationGroupLength = Tag(0x0002_0000)
    /// (0002,0010) Transfer Syntax UID.
    public static let transferSyntaxUID = Tag(0x0002_0010)
    /// (0008,0005) Specific Character Set.
    public static let specificCharacterSet = Tag(0x0008_0005)
    /// (0028,0002) Samples per Pixel.
    public static let samplesPerPixel = Tag(0x0028_0002)
    /// (0028,0008) Number of Frames.
    public static let numberOfFrames = Tag(0x0028_0008)
    /// (0028,0010) Rows.
    public static let rows = Tag(0x0028_0010)
    /// (0028,0011) Columns.
    public static let columns = Tag(0x0028_0011)
    /// (0028,0100) Bits Allocated.
    public static let bitsAllocated = Tag(0x0028_0100)
    /// (0028,0103) Pixel Representation.
    public static let pixelRepresentation = Tag(0x0028_0103)
    /// (5400,1004) Waveform Bits Allocated.
    public static let waveformBitsAllocated = Tag(0x5400_1004)
    /// (0028,3002) LUT Descriptor.
    public static let lutDescriptor = Tag(0x0028_3002)
    /// (0028,3006) LUT Data.
    public static let lutData = Tag(0x0028_3006)
    /// (7FE0,0001) Extended Offset Table.
    public static let extendedOffsetTable = Tag(0x7FE0_0001)
    /// (7FE0,0002) Extended Offset Table Lengths.
    public static let extendedOffsetTableLengths = Tag(0x7FE0_0002)
    /// (7FE0,0008) Float Pixel Data.
    public static let floatPixelData = Tag(0x7FE0_0008)
    /// (7FE0,0009) Double Float Pixel Data.
    public static let doubleFloatPixelData = Tag(0x7FE0_0009)
    /// (7FE0,0010) Pixel Data.
    public static let pixelData = Tag(0x7FE0_0010)
}

/// Four lower-case hexadecimal digits.
func hex4(_ v: UInt16) -> String { Hex.encode([UInt8(v >> 8), UInt8(v & 0xFF)]) }
