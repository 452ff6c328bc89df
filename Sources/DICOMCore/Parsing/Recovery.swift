/// Reading on after a length that cannot be right: resynchronising on the next plausible
/// element, as DCMTK reads such files, without ever inventing an element.
///
/// Three situations, each reported as a warning with the offset and tag:
/// - `length.undercounted`: an item's or sequence's declared length ends inside an element.
///   An element of undefined length is read to its delimiter whatever the length of its
///   container (DCMTK and pydicom do the same); an element of defined length that crosses
///   the container's end is read whole when a confirmed element, item or delimiter follows it.
///   The container then ends where its last element does.
/// - `length.overcounted`: a defined-length sequence finds, where its next item should be, an
///   element that plausibly continues the enclosing data set. The sequence ends there.
/// - `dataset.resync`: a header that cannot start an element (bytes that are not a VR and do not
///   read as an implicit element; inside an item or sequence of defined length, a length past its
///   end). The parser searches forward for the first confirmed element whose tag ascends and
///   continues there. A length past the end of the file is not resynchronised: the file is
///   truncated, and what follows the header is the element's own (partial) value.
///
/// Cost: a plausibility test is O(1) (one dictionary lookup, at most two headers read). A
/// search looks at each offset once, inside the enclosing container and at most
/// `resyncWindow` bytes, and the skipped bytes are never read again: parsing stays linear.
extension Parser {
    /// How far a resynchronising search looks: at most this many bytes of a value the parser
    /// would otherwise skip are read.
    static let resyncWindow = 1 << 20

    /// Groups that no data element may use (PS3.5 7.1: 0001, 0003, 0005, 0007 and FFFF).
    @inline(__always) static func isIllegalGroup(_ group: UInt16) -> Bool {
        group == 0x0001 || group == 0x0003 || group == 0x0005 || group == 0x0007 || group == 0xFFFF
    }

    /// A data element that plausibly starts at `p`: its tag and the offset after its value (nil
    /// for an undefined length). Plausible means a standard tag (or, in explicit VR, a private
    /// creator with VR LO); in explicit VR a VR that agrees with the dictionary (or UN); an
    /// undefined length only where a sequence or encapsulated pixel data can have one; a value
    /// that fits before `limit`.
    func plausibleElement(at p: Int, limit: Int, little: Bool, explicit: Bool) -> (tag: Tag, end: Int?)? {
        guard p >= 0, limit - p >= 8 else { return nil }
        let t = tag(p, little)
        guard !Parser.isIllegalGroup(t.group), t.group != 0xFFFE else { return nil }
        let known = StandardDictionary.info(for: t)
        var header = 8
        let length: UInt32
        let vr: VR
        if explicit {
            guard let v = VR(code: byte(p + 4), byte(p + 5)) else { return nil }
            if let known {
                guard v == known.vr || v == .UN || known.isAmbiguousVR else { return nil }
            } else {
                guard t.isPrivateCreator, v == .LO else { return nil }
            }
            vr = v
            if v.hasLongLength {
                guard limit - p >= 12 else { return nil }
                length = u32(p + 8, little)
                header = 12
            } else {
                length = UInt32(u16(p + 6, little))
            }
        } else {
            guard known != nil else { return nil }
            vr = implicitVR(t)
            length = u32(p + 4, little)
        }
        if length == Parser.undefined {
            return vr == .SQ || vr == .UN || t == .pixelData ? (t, nil) : nil
        }
        guard Int(length) <= limit - p - header else { return nil }
        return (t, p + header + Int(length))
    }

    /// A plausible element at `p` whose successor is plausible too: the container's end, an
    /// item or delimiter, or another plausible element with a higher tag; for an undefined
    /// length, an item or sequence delimiter first in its value. Random bytes pass both tests
    /// about once in 10¹² offsets.
    func confirmedElement(at p: Int, limit: Int, little: Bool, explicit: Bool) -> Tag? {
        guard let (t, end) = plausibleElement(at: p, limit: limit, little: little, explicit: explicit) else { return nil }
        guard let end else {
            let valueStart = p + (explicit ? 12 : 8)
            guard limit - valueStart >= 8 else { return nil }
            let first = tag(valueStart, little)
            return first == .item || first == .sequenceDelimitationItem ? t : nil
        }
        return continues(at: end, limit: limit, little: little, explicit: explicit, after: t) ? t : nil
    }

    /// Whether what starts at `p` can follow an element with tag `after`: the end of `limit`,
    /// an item or delimiter, or a plausible element with a higher tag.
    func continues(at p: Int, limit: Int, little: Bool, explicit: Bool, after: Tag?) -> Bool {
        if p == limit { return true }
        guard limit - p >= 8 else { return false }
        if isItemOrDelimiter(tag(p, little)) { return true }
        guard let (t, _) = plausibleElement(at: p, limit: limit, little: little, explicit: explicit) else { return false }
        return after.map { t > $0 } ?? true
    }

    /// (FFFE,E000), (FFFE,E00D) or (FFFE,E0DD).
    @inline(__always) func isItemOrDelimiter(_ t: Tag) -> Bool {
        t == .item || t == .itemDelimitationItem || t == .sequenceDelimitationItem
    }

    /// Whether the bytes at `p` can follow an element that runs past its container's declared
    /// end: the end of the file, an item or delimiter, or a confirmed element.
    func followedByElement(at p: Int, little: Bool, explicit: Bool) -> Bool {
        if p == count { return true }
        guard count - p >= 8 else { return false }
        if isItemOrDelimiter(tag(p, little)) { return true }
        return confirmedElement(at: p, limit: count, little: little, explicit: explicit) != nil
    }

    /// The first offset in `from ..< limit` (and within `resyncWindow`) where a confirmed
    /// element with a tag above `previous` starts. One pass, O(1) per offset.
    func resyncTarget(from: Int, limit: Int, little: Bool, explicit: Bool, after previous: UInt32) -> Int? {
        let last = min(limit, from + Parser.resyncWindow) - 8
        var p = from
        while p <= last {
            if let t = confirmedElement(at: p, limit: limit, little: little, explicit: explicit), t.rawValue > previous {
                return p
            }
            p += 1
        }
        return nil
    }

    /// Why the header at `pos` (tag `t`) cannot start an element before `limit`, or nil when it can:
    /// bytes that are not a VR in an explicit-VR data set, whose implicit reading does not fit
    /// either. (An illegal group alone is read: pydicom's corpus has (0001,0001) elements.
    /// Lengths past the end are judged where the value is read.)
    func implausibility(at pos: Int, tag t: Tag, limit: Int, little: Bool, explicit: Bool) -> String? {
        guard explicit, VR(code: byte(pos + 4), byte(pos + 5)) == nil else { return nil }
        let length = u32(pos + 4, little)
        guard length != Parser.undefined && Int(length) > limit - pos - 8 else { return nil }
        let group = Parser.isIllegalGroup(t.group) ? " in a group no element may use" : ""
        return "\(t) at offset \(pos)\(group) has no VR, and its implicit length \(length) runs past the end"
    }

    /// Reports a skip to `target` after the implausible header at `pos`.
    mutating func reportResync(from pos: Int, tag t: Tag, to target: Int, little: Bool, _ reason: String) throws(DICOMError) {
        try report(.warning, "dataset.resync", at: pos, tag: t,
                   "\(reason); skipped \(target - pos) bytes to the next plausible element, \(tag(target, little)) at offset \(target)")
    }

    /// Reports an element of `t` at `pos` ending at `end`, past `limit`, the end its container declares.
    mutating func reportUndercounted(_ t: Tag, at pos: Int, end: Int, limit: Int) throws(DICOMError) {
        try report(.warning, "length.undercounted", at: pos, tag: t,
                   "the enclosing item's or sequence's length ends at offset \(limit), inside \(t) (offset \(pos) to \(end)); the element is read whole and the enclosing length taken as \(end - limit) bytes too small")
    }
}
