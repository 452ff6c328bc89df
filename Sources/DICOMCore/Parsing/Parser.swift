/// Reading a Part 10 file: the entry points.
extension DICOMFile {
    /// Reads the file at `path`, memory-mapped. Values are not copied or decoded.
    ///
    /// - Throws: `DICOMError` when the file cannot be opened, is not DICOM, or
    ///   (with `options.strict`) on the first problem. In lenient mode a damaged
    ///   file yields what could be read plus `diagnostics`.
    public static func read(path: String, options: ParseOptions = ParseOptions()) throws(DICOMError) -> DICOMFile {
        let storage = try ByteStorage(mappingFileAt: path)
        return try read(storage: storage, path: path, options: options)
    }

    /// Reads a file held in memory (the bytes are copied once into storage).
    public static func read<C: Collection>(bytes: C, options: ParseOptions = ParseOptions()) throws(DICOMError) -> DICOMFile
    where C.Element == UInt8 {
        try read(storage: ByteStorage(copying: bytes), path: nil, options: options)
    }

    /// Reads from storage already in memory.
    public static func read(storage: ByteStorage, path: String?, options: ParseOptions) throws(DICOMError) -> DICOMFile {
        var parser = Parser(storage: storage, path: path, options: options)
        do {
            return try parser.readFile()
        } catch {
            throw path.map { error.at(path: $0) } ?? error
        }
    }
}

/// The one-pass index builder. It walks headers, records (tag, VR, offset,
/// length) and skips values; every length is checked against the bytes that
/// remain before it is used.
struct Parser {
    var storage: ByteStorage
    var base: UnsafeRawPointer
    var count: Int
    let path: String?
    let options: ParseOptions
    var diagnostics: [ParseDiagnostic] = []
    var sawAmbiguousVR = false

    static let undefined: UInt32 = 0xFFFF_FFFF
    /// Stand-in base for empty storage; never dereferenced because count is 0.
    static var emptyBase: UnsafeRawPointer { UnsafeRawPointer(bitPattern: 16).unsafelyUnwrapped }

    init(storage: ByteStorage, path: String?, options: ParseOptions) {
        self.storage = storage
        self.base = storage.base ?? Parser.emptyBase
        self.count = storage.count
        self.path = path
        self.options = options
    }

    // MARK: Reading integers

    @inline(__always) func u16(_ at: Int, _ little: Bool) -> UInt16 {
        let v = base.loadUnaligned(fromByteOffset: at, as: UInt16.self)
        return little ? UInt16(littleEndian: v) : UInt16(bigEndian: v)
    }

    @inline(__always) func u32(_ at: Int, _ little: Bool) -> UInt32 {
        let v = base.loadUnaligned(fromByteOffset: at, as: UInt32.self)
        return little ? UInt32(littleEndian: v) : UInt32(bigEndian: v)
    }

    @inline(__always) func tag(_ at: Int, _ little: Bool) -> Tag {
        Tag(group: u16(at, little), element: u16(at + 2, little))
    }

    @inline(__always) func byte(_ at: Int) -> UInt8 { base.load(fromByteOffset: at, as: UInt8.self) }

    // MARK: Diagnostics

    /// Records a problem, or throws it in strict mode (errors only; `error`
    /// defaults to `.malformed` with the message).
    mutating func report(_ severity: ParseDiagnostic.Severity, _ code: String, at offset: Int,
                         tag: Tag?, _ message: String, error: DICOMError? = nil) throws(DICOMError) {
        if options.strict && severity == .error {
            throw error ?? .malformed(path: path, offset: offset, tag: tag, reason: message)
        }
        diagnostics.append(ParseDiagnostic(severity: severity, code: code, offset: offset, tag: tag, message: message))
    }

    mutating func truncated(at offset: Int, tag: Tag?, needed: Int, limit: Int) throws(DICOMError) {
        let available = max(0, limit - offset)
        try report(.error, "part10.truncated", at: offset, tag: tag,
                   "file ends inside an element: \(needed) bytes needed, \(available) remain",
                   error: .truncated(path: path, offset: offset, tag: tag, needed: needed, available: available))
    }

    // MARK: File

    mutating func readFile() throws(DICOMError) -> DICOMFile {
        guard count > 0 else { throw .notDICOM(path: path, reason: "the file is empty") }
        let fileStorage = storage
        var pos = 0
        var hasPreamble = false
        if count >= 132, byte(128) == 0x44, byte(129) == 0x49, byte(130) == 0x43, byte(131) == 0x4D {
            hasPreamble = true
            pos = 132
        } else if count >= 4, byte(0) == 0x44, byte(1) == 0x49, byte(2) == 0x43, byte(3) == 0x4D {
            pos = 4  // "DICM" without the preamble
            try report(.warning, "part10.missing-preamble", at: 0, tag: nil,
                       "no 128-byte preamble before DICM")
        } else {
            guard looksLikeDataSet(at: 0) else {
                throw .notDICOM(path: path, reason: "no DICM prefix at offset 128 and the first bytes are not a data element")
            }
            try report(.warning, "part10.missing-preamble", at: 0, tag: nil,
                       "no 128-byte preamble and DICM prefix; read as a bare data set")
        }

        // File Meta group: explicit VR little endian by definition; read while group is 0002.
        let metaExplicit = pos + 6 <= count ? VR(code: byte(pos + 4), byte(pos + 5)) != nil : true
        var meta = DataSet(storage: storage, littleEndian: true, explicitVR: metaExplicit,
                           characterSet: .default, offset: pos)
        if !metaExplicit, pos + 4 <= count, u16(pos, true) == 0x0002 {
            try report(.warning, "meta.implicit-vr", at: pos, tag: tag(pos, true),
                       "the File Meta group is encoded with implicit VR")
        }
        pos = try parseElements(into: &meta, from: pos, limit: metaGroupEnd(from: pos, explicit: metaExplicit),
                                undefinedItem: false, depth: 0, onlyGroup: 0x0002)
        if hasPreamble && meta.elements.isEmpty {
            try report(.warning, "meta.missing", at: pos, tag: nil, "no File Meta group after DICM")
        }

        var syntax = TransferSyntax.implicitVRLittleEndian
        if let ts = meta[.transferSyntaxUID] {
            let uid = meta.string(.transferSyntaxUID) ?? ""
            syntax = TransferSyntax.forUID(uid)
            if !syntax.isKnown {
                try report(.warning, "meta.unknown-transfer-syntax", at: ts.offset, tag: ts.tag,
                           "unknown transfer syntax \(uid); encoding detected from the data")
            }
        } else if !meta.elements.isEmpty {
            try report(.warning, "meta.missing-transfer-syntax", at: meta.offset, tag: .transferSyntaxUID,
                       "no Transfer Syntax UID; encoding detected from the data")
        }

        // Deflated: inflate the rest into new storage and parse that.
        var dataStart = pos
        if syntax.isDeflated {
            let inflated = try ByteStorage.inflating(storage.bytes(ByteRange(offset: pos, count: count - pos)),
                                                     cap: options.maxInflatedSize, offset: pos, path: path)
            storage = inflated
            base = inflated.base ?? Parser.emptyBase
            count = inflated.count
            dataStart = 0
        }

        var explicit = syntax.isExplicitVR
        var little = !syntax.isBigEndian
        if dataStart + 6 <= count {
            let looksExplicit = VR(code: byte(dataStart + 4), byte(dataStart + 5)) != nil
            if looksExplicit != explicit {
                try report(.warning, "dataset.vr-encoding-mismatch", at: dataStart, tag: tag(dataStart, little),
                           "transfer syntax says \(explicit ? "explicit" : "implicit") VR but the data set is encoded with \(looksExplicit ? "explicit" : "implicit") VR; reading it as found")
                explicit = looksExplicit
            }
            // No transfer syntax to go by: take the byte order from the first group number.
            if meta[.transferSyntaxUID] == nil || !syntax.isKnown, explicit,
               u16(dataStart, true) > 0x00FF, u16(dataStart, false) <= 0x00FF {
                little = false
                try report(.warning, "dataset.big-endian-detected", at: dataStart, tag: tag(dataStart, false),
                           "no transfer syntax; the data set is Explicit VR Big Endian")
            }
        }
        let readSyntax = explicit == syntax.isExplicitVR && little != syntax.isBigEndian ? syntax
            : (explicit ? (little ? .explicitVRLittleEndian : .explicitVRBigEndian) : .implicitVRLittleEndian)

        var ds = DataSet(storage: storage, littleEndian: little, explicitVR: explicit,
                         characterSet: .default, offset: dataStart)
        let end = try parseElements(into: &ds, from: dataStart, limit: count, undefinedItem: false, depth: 0,
                                    onlyGroup: nil)
        if sawAmbiguousVR { AmbiguousVR.resolve(&ds, ancestors: []) }
        return DICOMFile(path: path, storage: fileStorage, hasPreamble: hasPreamble,
                         meta: meta, dataSet: ds, transferSyntax: readSyntax, diagnostics: diagnostics,
                         endOffset: end)
    }

    /// Where the File Meta group that starts at `from` ends, from headers alone (no diagnostics).
    ///
    /// The group is the run of group-2 elements in the meta's encoding (explicit VR little
    /// endian, unless the meta is implicit) in ascending order. Inside the bytes its group length
    /// (0002,0000) declares, an element out of order or without a VR is still the meta's (a known
    /// writer bug); past them, a group-2 element that does not continue the run (one in an
    /// implicit-VR data set, or a repeated tag) belongs to the data set and is reported there
    /// (`meta.element-in-dataset`), as DCMTK reads it. A group length that ends before elements
    /// that do continue the run is wrong, and the validator says so. One header read per element.
    func metaGroupEnd(from: Int, explicit: Bool) -> Int {
        var p = from
        var declaredEnd: Int?
        var previous: Tag?
        while count - p >= 8, u16(p, true) == 0x0002 {
            let t = tag(p, true)
            // Inside a declared group length, disorder and implicit elements are the meta's own.
            let declared = declaredEnd.map { p < $0 } ?? false
            if let previous, t <= previous, !declared { break }
            var header = 8, length: UInt32
            let vr = explicit ? VR(code: byte(p + 4), byte(p + 5)) : nil
            if explicit && vr == nil && !declared { break }
            if let vr {
                if vr.hasLongLength {
                    guard count - p >= 12 else { break }
                    length = u32(p + 8, true)
                    header = 12
                } else {
                    length = UInt32(u16(p + 6, true))
                }
            } else {
                length = u32(p + 4, true)
            }
            guard length != Parser.undefined, Int(length) <= count - p - header else { break }
            if t == .fileMetaInformationGroupLength, previous == nil, length == 4 {
                declaredEnd = p + 12 + Int(u32(p + 8, true))
            }
            previous = t
            p += header + Int(length)
        }
        return p
    }

    /// A cheap test that bytes at `at` begin a plausible data element (for files with no preamble).
    func looksLikeDataSet(at: Int) -> Bool {
        guard count - at >= 8 else { return false }
        let explicit = VR(code: byte(at + 4), byte(at + 5)) != nil
        if explicit && u16(at, false) <= 0x0010 { return true }  // explicit VR big endian
        let group = u16(at, true)
        guard group <= 0x0010 else { return false }
        if explicit { return true }
        let length = u32(at + 4, true)
        return length == Parser.undefined || Int(length) <= count - at - 8
    }

    // MARK: Data sets

    /// Parses elements from `from` until `limit`, an item delimiter (when
    /// `undefinedItem`), a stop condition, or (for the meta group) the first
    /// element outside `onlyGroup`. Returns the offset after the last byte consumed.
    mutating func parseElements(into ds: inout DataSet, from: Int, limit: Int, undefinedItem: Bool,
                                depth: Int, onlyGroup: UInt16?) throws(DICOMError) -> Int {
        var pos = from
        let little = ds.isLittleEndian
        let explicit = ds.isExplicitVR
        var previous: UInt32 = 0
        while pos < limit {
            guard limit - pos >= 8 else {
                // Trailing padding of fewer than 8 bytes is common after the last element.
                if (pos..<limit).allSatisfy({ byte($0) == 0 }) { return limit }
                if depth == 0 && !undefinedItem && onlyGroup == nil {
                    try report(.warning, "part10.trailing-bytes", at: pos, tag: nil,
                               "\(limit - pos) bytes after the last data element")
                    return limit
                }
                try truncated(at: pos, tag: nil, needed: 8, limit: limit)
                return limit
            }
            let t = tag(pos, little)
            if let g = onlyGroup, t.group != g { return pos }
            if t.group == 0xFFFE {
                let len = u32(pos + 4, little)
                if t == .itemDelimitationItem {
                    if undefinedItem { ds.isUndefinedLength = true; return pos + 8 }
                    try report(.warning, "item.unexpected-delimiter", at: pos, tag: t,
                               "item delimitation item outside an item of undefined length", error: .malformed(path: path, offset: pos, tag: t, reason: "unexpected item delimiter"))
                    pos += 8
                    continue
                }
                if t == .sequenceDelimitationItem {
                    if undefinedItem {
                        try report(.error, "item.missing-delimiter", at: pos, tag: t,
                                   "sequence ended inside an item of undefined length", error: .malformed(path: path, offset: pos, tag: t, reason: "missing item delimiter"))
                        return pos  // let the sequence consume it
                    }
                    try report(.warning, "sequence.unexpected-delimiter", at: pos, tag: t,
                               "sequence delimitation item outside a sequence", error: .malformed(path: path, offset: pos, tag: t, reason: "unexpected sequence delimiter"))
                    pos += 8
                    continue
                }
                try report(.error, "dataset.unexpected-item", at: pos, tag: t,
                           "item tag in a data set", error: .malformed(path: path, offset: pos, tag: t, reason: "item tag in a data set"))
                pos += 8
                if len != Parser.undefined { pos += Int(min(UInt64(len), UInt64(limit - pos))) }
                continue
            }
            if depth == 0 && onlyGroup == nil {
                if let stop = options.stopAtTag, t >= stop { return pos }
                if options.stopBeforePixelData,
                   t == .pixelData || t == .floatPixelData || t == .doubleFloatPixelData { return pos }
            }
            if onlyGroup == nil {
                if let reason = implausibility(at: pos, tag: t, limit: limit, little: little, explicit: explicit),
                   let target = resyncTarget(from: pos + 1, limit: limit, little: little, explicit: explicit, after: previous) {
                    try reportResync(from: pos, tag: t, to: target, little: little, reason)
                    pos = target
                    continue
                }
                if t.group == 0x0002 {
                    try report(.warning, "meta.element-in-dataset", at: pos, tag: t,
                               "File Meta element \(t) in the data set, after the File Meta group ended; kept in the data set, not in the meta (DCMTK: \"Invalid Element found in data set\")")
                }
            }
            let before = previous
            if t.rawValue <= previous { ds.isSorted = false }
            previous = t.rawValue

            // Header.
            var vr: VR
            var length: UInt32
            var headerSize = 8
            var implicitHere = !explicit
            if explicit {
                if let v = VR(code: byte(pos + 4), byte(pos + 5)) {
                    vr = v
                    if v.hasLongLength {
                        guard limit - pos >= 12 else {
                            try truncated(at: pos, tag: t, needed: 12, limit: limit)
                            return limit
                        }
                        length = u32(pos + 8, little)
                        headerSize = 12
                    } else {
                        length = UInt32(u16(pos + 6, little))
                    }
                } else {
                    // Not a VR: this element is encoded implicitly (a known writer bug).
                    try report(.warning, "vr.invalid", at: pos + 4, tag: t,
                               "bytes \(byte(pos + 4)),\(byte(pos + 5)) are not a VR; element read as implicit VR",
                               error: .malformed(path: path, offset: pos + 4, tag: t, reason: "invalid VR"))
                    vr = implicitVR(t)
                    length = u32(pos + 4, little)
                    implicitHere = true
                }
            } else {
                vr = implicitVR(t)
                length = u32(pos + 4, little)
            }
            if implicitHere, let e = StandardDictionary.info(for: t), e.isAmbiguousVR { sawAmbiguousVR = true }
            let valueOffset = pos + headerSize
            var element = Element(tag: t, vr: vr, offset: pos, valueOffset: valueOffset, length: length,
                                  valueLength: 0, items: nil, fragments: nil)

            if length == Parser.undefined {
                if t == .pixelData {
                    if options.headerOnly {
                        element.valueLength = limit - valueOffset
                        ds.elements.append(element)
                        return limit
                    }
                    let (fragments, valueEnd, next) = try parseFragments(from: valueOffset, limit: count, tag: t, little: little)
                    if next > limit { try reportUndercounted(t, at: pos, end: next, limit: limit) }
                    element.fragments = fragments
                    element.valueLength = valueEnd - valueOffset
                    if vr != .OB && vr != .OW && vr != .UN {
                        try report(.warning, "pixel.encapsulated-vr", at: pos, tag: t,
                                   "encapsulated pixel data with VR \(vr.rawValue)")
                    }
                    if !explicit { element.vr = .OB }
                    ds.elements.append(element)
                    pos = next
                    continue
                }
                // An undefined length is allowed for SQ, and for UN holding a sequence
                // in implicit VR little endian (PS3.5 6.2.2).
                let asImplicit = vr == .UN && explicit
                if vr != .SQ && vr != .UN {
                    try report(.warning, "length.undefined-not-allowed", at: pos, tag: t,
                               "undefined length with VR \(vr.rawValue); read as a sequence",
                               error: .invalidLength(path: path, offset: pos, tag: t, length: length, reason: "undefined length not allowed for \(vr.rawValue)"))
                }
                guard depth < options.maxDepth else {
                    throw .depthExceeded(path: path, offset: pos, tag: t, limit: options.maxDepth)
                }
                let (items, valueEnd, next) = try parseItems(
                    from: valueOffset, limit: count, undefined: true, parent: ds, tag: t,
                    forceImplicitLE: asImplicit, depth: depth + 1)
                if next > limit { try reportUndercounted(t, at: pos, end: next, limit: limit) }
                element.items = items
                element.valueLength = valueEnd - valueOffset
                if vr == .UN {
                    element.vr = .SQ
                    element.isImplicitInsideUN = asImplicit
                }
                ds.elements.append(element)
                pos = next
                continue
            }

            let remaining = limit - valueOffset
            var valueLength = Int(length)
            var cut = false
            if valueLength > remaining, valueLength <= count - valueOffset,
               followedByElement(at: valueOffset + valueLength, little: little, explicit: explicit) {
                // The container's length ends inside this element, and a plausible element follows it.
                try reportUndercounted(t, at: pos, end: valueOffset + valueLength, limit: limit)
            } else if valueLength > remaining, limit < count, vr != .SQ,
                      let target = resyncTarget(from: pos + 1, limit: limit, little: little, explicit: explicit, after: before) {
                try reportResync(from: pos, tag: t, to: target, little: little,
                                 "\(t) at offset \(pos) declares \(length) bytes, past the \(max(remaining, 0)) that remain")
                previous = before
                pos = target
                continue
            } else if valueLength > remaining {
                try report(.error, "length.past-end", at: pos, tag: t,
                           "value length \(length) exceeds the \(max(remaining, 0)) bytes that remain",
                           error: .truncated(path: path, offset: pos, tag: t, needed: valueLength, available: max(remaining, 0)))
                valueLength = max(remaining, 0)
                cut = true
            }
            element.valueLength = valueLength

            // Explicit UN of a standard tag: read as the dictionary VR (pydicom's
            // replace_un_with_known_vr; the value was written in implicit VR LE).
            if vr == .UN, explicit, !t.isPrivate, let e = StandardDictionary.info(for: t), e.vr != .UN, e.vr != .none {
                element.vr = e.vr
                element.isImplicitInsideUN = true
                if e.isAmbiguousVR { sawAmbiguousVR = true }
                vr = e.vr
            }

            if vr == .SQ {
                guard depth < options.maxDepth else {
                    throw .depthExceeded(path: path, offset: pos, tag: t, limit: options.maxDepth)
                }
                let (items, _, next) = try parseItems(
                    from: valueOffset, limit: valueOffset + valueLength, undefined: false, parent: ds, tag: t,
                    forceImplicitLE: element.isImplicitInsideUN, depth: depth + 1)
                element.items = items
                if !cut && next != valueOffset + valueLength {
                    // Undercounted (an item read past the end) or overcounted (ended early).
                    element.valueLength = next - valueOffset
                    valueLength = next - valueOffset
                }
            } else if t == .pixelData && options.headerOnly {
                ds.elements.append(element)
                return limit
            }
            if t == .specificCharacterSet && !cut {
                ds.characterSet = SpecificCharacterSet(terms: ds.strings(of: element).joined(separator: "\\"))
            }
            ds.elements.append(element)
            pos = valueOffset + valueLength
            if cut { return limit }
        }
        if undefinedItem {
            try report(.error, "item.missing-delimiter", at: limit, tag: nil,
                       "item of undefined length has no item delimitation item",
                       error: .truncated(path: path, offset: limit, tag: .itemDelimitationItem, needed: 8, available: 0))
        }
        return pos
    }

    /// The VR of an element read without one.
    @inline(__always) func implicitVR(_ t: Tag) -> VR {
        if t.isGroupLength { return .UL }
        if t.isPrivate { return t.isPrivateCreator ? .LO : .UN }
        return StandardDictionary.info(for: t)?.vr ?? .UN
    }

    // MARK: Sequences

    /// Parses the items of a sequence. Returns the items, the end of the value
    /// (before a sequence delimiter) and the offset after the whole element.
    mutating func parseItems(from: Int, limit: Int, undefined: Bool, parent: DataSet, tag: Tag,
                             forceImplicitLE: Bool, depth: Int) throws(DICOMError) -> ([DataSet], Int, Int) {
        var items: [DataSet] = []
        var pos = from
        let little = forceImplicitLE ? true : parent.isLittleEndian
        let explicit = forceImplicitLE ? false : parent.isExplicitVR
        while pos < limit {
            guard limit - pos >= 8 else {
                try truncated(at: pos, tag: tag, needed: 8, limit: limit)
                return (items, limit, limit)
            }
            let t = self.tag(pos, little)
            let len = u32(pos + 4, little)
            if t == .sequenceDelimitationItem {
                if !undefined {
                    try report(.warning, "sequence.unexpected-delimiter", at: pos, tag: t,
                               "sequence delimitation item in a sequence of defined length",
                               error: .malformed(path: path, offset: pos, tag: t, reason: "unexpected sequence delimiter"))
                }
                return (items, pos, pos + 8)
            }
            guard t == .item else {
                if undefined {
                    try report(.error, "sequence.missing-delimiter", at: pos, tag: t,
                               "expected an item or sequence delimiter in \(tag), found \(t)",
                               error: .malformed(path: path, offset: pos, tag: t, reason: "expected an item in sequence \(tag)"))
                    return (items, pos, pos)
                }
                if t > tag, let next = confirmedElement(at: pos, limit: count, little: little, explicit: explicit) {
                    try report(.warning, "length.overcounted", at: pos, tag: next,
                               "sequence \(tag) declares \(limit - from) bytes, but after its last item comes \(next) at offset \(pos), which continues the enclosing data set; the sequence ends there")
                    return (items, pos, pos)
                }
                try report(.error, "sequence.invalid-item", at: pos, tag: t,
                           "expected an item in \(tag), found \(t)",
                           error: .malformed(path: path, offset: pos, tag: t, reason: "expected an item in sequence \(tag)"))
                return (items, limit, limit)
            }
            var item = DataSet(storage: storage, littleEndian: little, explicitVR: explicit,
                               characterSet: parent.characterSet, offset: pos + 8)
            if len == Parser.undefined {
                // Read to its delimiter whatever the sequence's declared length (DCMTK, pydicom).
                pos = try parseElements(into: &item, from: pos + 8, limit: count, undefinedItem: true,
                                        depth: depth, onlyGroup: nil)
                if pos > limit { try reportUndercounted(t, at: item.offset - 8, end: pos, limit: limit) }
            } else {
                var itemEnd = pos + 8 + Int(len)
                if itemEnd > limit, Int(len) <= count - pos - 8,
                   followedByElement(at: itemEnd, little: little, explicit: explicit) {
                    try reportUndercounted(t, at: pos, end: itemEnd, limit: limit)
                } else if itemEnd > limit {
                    try report(.error, "item.length-past-end", at: pos, tag: t,
                               "item length \(len) exceeds the \(limit - pos - 8) bytes that remain in \(tag)",
                               error: .invalidLength(path: path, offset: pos, tag: t, length: len, reason: "item longer than its sequence"))
                    itemEnd = limit
                }
                let end = try parseElements(into: &item, from: pos + 8, limit: itemEnd, undefinedItem: false,
                                            depth: depth, onlyGroup: nil)
                pos = max(itemEnd, end)  // past itemEnd when the item's length was undercounted
            }
            items.append(item)
        }
        if undefined {
            try report(.error, "sequence.missing-delimiter", at: limit, tag: tag,
                       "sequence of undefined length has no sequence delimitation item",
                       error: .truncated(path: path, offset: limit, tag: tag, needed: 8, available: 0))
        }
        return (items, pos, pos)
    }

    /// Walks the items of encapsulated pixel data (PS3.5 A.4).
    mutating func parseFragments(from: Int, limit: Int, tag: Tag, little: Bool) throws(DICOMError) -> ([ByteRange], Int, Int) {
        var fragments: [ByteRange] = []
        var pos = from
        while limit - pos >= 8 {
            let t = self.tag(pos, little)
            let len = u32(pos + 4, little)
            if t == .sequenceDelimitationItem { return (fragments, pos, pos + 8) }
            guard t == .item else {
                try report(.error, "pixel.invalid-fragment", at: pos, tag: t,
                           "expected a fragment item in encapsulated pixel data, found \(t)",
                           error: .malformed(path: path, offset: pos, tag: t, reason: "expected a fragment item"))
                return (fragments, pos, pos)
            }
            guard len != Parser.undefined else {
                try report(.error, "pixel.undefined-fragment-length", at: pos, tag: t,
                           "fragment with undefined length",
                           error: .invalidLength(path: path, offset: pos, tag: t, length: len, reason: "fragment of undefined length"))
                return (fragments, pos, limit)
            }
            var n = Int(len)
            if n > limit - pos - 8 {
                try report(.error, "pixel.fragment-past-end", at: pos, tag: t,
                           "fragment length \(len) exceeds the \(limit - pos - 8) bytes that remain",
                           error: .truncated(path: path, offset: pos, tag: t, needed: n, available: limit - pos - 8))
                n = limit - pos - 8
            }
            fragments.append(ByteRange(offset: pos + 8, count: n))
            pos += 8 + n
        }
        try report(.error, "pixel.missing-delimiter", at: pos, tag: tag,
                   "encapsulated pixel data has no sequence delimitation item",
                   error: .truncated(path: path, offset: pos, tag: tag, needed: 8, available: limit - pos))
        return (fragments, pos, limit)
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
