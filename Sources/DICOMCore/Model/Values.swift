/// A person name (PN) value: up to three component groups, each of up to
/// five components separated by `^` (PS3.5 6.2.1).
public struct PersonName: Sendable, Hashable {
    /// Alphabetic, ideographic and phonetic groups, as written ("" when absent).
    public var alphabetic: String
    /// The ideographic group.
    public var ideographic: String
    /// The phonetic group.
    public var phonetic: String
    /// Number of groups present in the value (1 to 3), trailing empty ones included.
    public var groupCount: Int

    /// Splits a decoded PN value at `=`.
    public init(_ text: String) {
        let groups = text.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
        alphabetic = groups.first ?? ""
        ideographic = groups.count > 1 ? groups[1] : ""
        phonetic = groups.count > 2 ? groups[2] : ""
        groupCount = max(1, min(groups.count, 3))
    }

    /// The components of a group: family, given, middle, prefix, suffix.
    public static func components(of group: String) -> [String] {
        group.split(separator: "^", omittingEmptySubsequences: false).map(String.init)
    }
}

/// A decoded value, as `DataSet.value(of:)` returns it.
public enum DICOMValue: Sendable {
    /// Text values (one per backslash-separated value), trailing padding removed.
    case strings([String])
    /// Person names.
    case personNames([PersonName])
    /// Signed integers (SS, SL, SV, IS).
    case integers([Int64])
    /// Unsigned integers (US, UL, UV).
    case unsigned([UInt64])
    /// Floating-point numbers (FL, FD, DS).
    case doubles([Double])
    /// Attribute tags (AT).
    case tags([Tag])
    /// Binary data (OB, OD, OF, OL, OV, OW, UN), as a range of the storage.
    case bytes(ByteRange)
    /// Sequence items.
    case items([DataSet])
}

extension DataSet {
    /// Decodes `element`'s value according to its VR. Costs one pass over the
    /// value bytes; binary values are returned as a range, not copied.
    public func value(of element: Element) -> DICOMValue {
        if let items = element.items { return .items(items) }
        switch element.vr {
        case .PN: return .personNames(strings(of: element).map(PersonName.init))
        case .US: return .unsigned(uint16Values(of: element).map(UInt64.init))
        case .UL: return .unsigned(fixed(element, UInt32.self).map(UInt64.init))
        case .UV: return .unsigned(fixed(element, UInt64.self))
        case .SS: return .integers(fixed(element, UInt16.self).map { Int64(Int16(bitPattern: $0)) })
        case .SL: return .integers(fixed(element, UInt32.self).map { Int64(Int32(bitPattern: $0)) })
        case .SV: return .integers(fixed(element, UInt64.self).map { Int64(bitPattern: $0) })
        case .FL: return .doubles(fixed(element, UInt32.self).map { Double(Float(bitPattern: $0)) })
        case .FD: return .doubles(fixed(element, UInt64.self).map { Double(bitPattern: $0) })
        case .AT:
            let raw = fixed(element, UInt16.self)
            return .tags(stride(from: 0, to: raw.count - 1, by: 2).map { Tag(group: raw[$0], element: raw[$0 + 1]) })
        case .IS: return .integers(strings(of: element).compactMap { parseIS($0) })
        case .DS: return .doubles(strings(of: element).compactMap { parseDS($0) })
        case .OB, .OD, .OF, .OL, .OV, .OW, .UN, .SQ, .none: return .bytes(element.valueRange)
        default: return .strings(strings(of: element))
        }
    }

    /// Text values of a string element, decoded with the character set, split at
    /// backslashes (except LT, ST, UT, UR) and stripped of trailing spaces and
    /// NULs (leading spaces too for AE, DS, IS, and for TM/DA/DT as pydicom does not).
    public func strings(of element: Element) -> [String] {
        let b = bytes(of: element)
        if b.isEmpty { return [] }
        let vr = element.vr
        let text: String
        if vr.usesSpecificCharacterSet {
            text = characterSet.decode(b, isPersonName: vr == .PN)
        } else {
            text = SpecificCharacterSet.decode(b, with: .latin1)
        }
        // Split and trim on the UTF-8 bytes of the decoded text: a decoded
        // backslash is always the delimiter, and byte work avoids grapheme breaking.
        let trimLeading = vr == .AE || vr == .DS || vr == .IS
        var utf8 = text.utf8[...]
        if vr.isText {
            return [trimmed(&utf8, leading: false)]
        }
        return text.utf8.split(separator: 0x5C, omittingEmptySubsequences: false).map { part in
            var p = part
            return trimmed(&p, leading: trimLeading)
        }
    }

    /// The text of `bytes` without trailing spaces and NULs (and leading spaces when asked).
    private func trimmed(_ bytes: inout Substring.UTF8View, leading: Bool) -> String {
        while let l = bytes.last, l == 0x20 || l == 0 { bytes = bytes.dropLast() }
        if leading { while let f = bytes.first, f == 0x20 { bytes = bytes.dropFirst() } }
        return String(Substring(bytes))
    }

    /// The first text value of the element with `tag`, or nil.
    public func string(_ tag: Tag) -> String? {
        guard let e = self[tag] else { return nil }
        return strings(of: e).first
    }

    /// The first integer value of `tag` (US, UL, SS, SL, SV, UV, IS), or nil.
    public func int(_ tag: Tag) -> Int? {
        guard let e = self[tag] else { return nil }
        // Fast paths for the common header integers: no array, no String.
        switch e.vr {
        case .US: return fixedFirst(e, UInt16.self).map { Int($0) }
        case .SS: return fixedFirst(e, UInt16.self).map { Int(Int16(bitPattern: $0)) }
        case .UL: return fixedFirst(e, UInt32.self).map { Int($0) }
        case .SL: return fixedFirst(e, UInt32.self).map { Int(Int32(bitPattern: $0)) }
        default: break
        }
        switch value(of: e) {
        case .unsigned(let v): return v.first.flatMap { Int(exactly: $0) }
        case .integers(let v): return v.first.flatMap { Int(exactly: $0) }
        case .doubles(let v): return v.first.flatMap { Int(exactly: $0) }
        case .strings(let v): return v.first.flatMap { parseIS($0) }.flatMap { Int(exactly: $0) }
        default: return nil
        }
    }

    /// All numeric values of `tag` as doubles (any numeric VR, DS, IS), or [].
    public func doubles(_ tag: Tag) -> [Double] {
        guard let e = self[tag] else { return [] }
        switch value(of: e) {
        case .unsigned(let v): return v.map(Double.init)
        case .integers(let v): return v.map(Double.init)
        case .doubles(let v): return v
        default: return []
        }
    }

    /// US values (also used for the ambiguous "US or SS" before resolution).
    func uint16Values(of element: Element) -> [UInt16] { fixed(element, UInt16.self) }

    /// The first fixed-size value, or nil when the value is shorter than one.
    func fixedFirst<T: FixedWidthInteger>(_ element: Element, _: T.Type) -> T? {
        let b = bytes(of: element)
        guard b.count >= MemoryLayout<T>.size, let base = b.baseAddress else { return nil }
        let v = base.loadUnaligned(as: T.self)
        return isLittleEndian || element.isImplicitInsideUN ? T(littleEndian: v) : T(bigEndian: v)
    }

    /// The value bytes of `tag` with trailing spaces and NULs removed, or nil
    /// when absent. For comparing UIDs and codes without decoding them.
    public func trimmedBytes(_ tag: Tag) -> UnsafeRawBufferPointer? {
        guard let e = self[tag] else { return nil }
        let b = bytes(of: e)
        var end = b.count
        while end > 0 && (b[end - 1] == 0x20 || b[end - 1] == 0) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: b[0..<end])
    }

    /// Loads fixed-size values in this data set's byte order; a trailing
    /// partial value is ignored.
    func fixed<T: FixedWidthInteger>(_ element: Element, _: T.Type) -> [T] {
        let b = bytes(of: element)
        let size = MemoryLayout<T>.size
        let n = b.count / size
        guard n > 0, let base = b.baseAddress else { return [] }
        let little = isLittleEndian || element.isImplicitInsideUN  // UN content is always little endian
        return (0..<n).map { i in
            let v = base.loadUnaligned(fromByteOffset: i * size, as: T.self)
            return little ? T(littleEndian: v) : T(bigEndian: v)
        }
    }
}

/// Parses an IS value (a decimal integer with optional sign and spaces).
public func parseIS(_ s: String) -> Int64? {
    let t = s.trimmingCharacters(in: " ")
    if t.isEmpty { return nil }
    if let v = Int64(t) { return v }
    if t.hasPrefix("+"), let v = Int64(t.dropFirst()) { return v }
    // Some writers put "1.0" in IS; accept integral decimals as pydicom does.
    if let d = Double(t), d.rounded() == d, abs(d) < 9.2e18 { return Int64(d) }
    return nil
}

/// Parses a DS value (a decimal string, PS3.5 Table 6.2-1).
public func parseDS(_ s: String) -> Double? {
    let t = s.trimmingCharacters(in: " ")
    if t.isEmpty { return nil }
    return Double(t) ?? (t.hasPrefix("+") ? Double(t.dropFirst()) : nil)
}
