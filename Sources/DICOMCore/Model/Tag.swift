import ByteCoding

/// A DICOM attribute tag: a (group, element) pair, as in PS3.5 section 7.1.
///
/// Stored as one 32-bit number (`group << 16 | element`) so that comparing and
/// hashing tags costs one integer operation.
///
/// Every element of PS3.6 with a fixed tag has a named constant, the keyword in
/// lowerCamelCase (`Tag.studyInstanceUID`, `Tag.sopInstanceUID`, `Tag.item`),
/// generated with the dictionary into `Dictionary/Tag+Keywords.swift`.
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
}

/// Four lower-case hexadecimal digits.
func hex4(_ v: UInt16) -> String { Hex.encode([UInt8(v >> 8), UInt8(v & 0xFF)]) }
