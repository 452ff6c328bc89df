/// Options of the validator.
public struct ValidationOptions: Sendable {
    /// Show values of patient-identifying attributes in messages.
    public var showPHI = false
    /// Largest file accepted, in bytes (HealthImaging's per-file quota).
    public var maxFileSize = HealthImagingRules.maxFileSize
    /// Creates options.
    public init(showPHI: Bool = false, maxFileSize: Int = HealthImagingRules.maxFileSize) {
        self.showPHI = showPHI
        self.maxFileSize = maxFileSize
    }
}

/// Checks a file against Part 10, the encoding rules of PS3.5 and HealthImaging's
/// import rules, and returns every finding. Never throws: an unreadable file
/// is an `error` diagnostic.
public enum Validator {
    /// Reads and validates the file at `path`.
    public static func validate(path: String, options: ValidationOptions = ValidationOptions()) -> [Diagnostic] {
        do {
            return validate(try DICOMFile.read(path: path), options: options)
        } catch {
            return [diagnostic(for: error)]
        }
    }

    /// Reads and validates a file held in memory.
    public static func validate<C: Collection>(bytes: C, options: ValidationOptions = ValidationOptions()) -> [Diagnostic]
    where C.Element == UInt8 {
        do {
            return validate(try DICOMFile.read(bytes: bytes), options: options)
        } catch {
            return [diagnostic(for: error)]
        }
    }

    /// The diagnostic for a file that could not be read at all.
    public static func diagnostic(for error: DICOMError) -> Diagnostic {
        let code: String
        switch error {
        case .io: code = "io.unreadable"
        case .notDICOM: code = "part10.not-dicom"
        case .deflate: code = "deflate.invalid"
        case .truncated: code = "part10.truncated"
        default: code = "part10.malformed"
        }
        return Diagnostic(.error, code, offset: error.offset, "\(error)")
    }

    /// Validates a file already read.
    public static func validate(_ file: DICOMFile, options: ValidationOptions = ValidationOptions()) -> [Diagnostic] {
        var out: [Diagnostic] = file.diagnostics.map {
            Diagnostic($0.severity, $0.code, path: $0.tag.map(ElementPath.init) ?? .file, offset: $0.offset, $0.message)
        }
        checkPart10(file, into: &out)
        checkHealthImaging(file, options: options, into: &out)
        checkEncoding(file.dataSet, place: { ElementPath($0) }, explicit: file.dataSet.isExplicitVR, options: options, into: &out)
        checkPixelData(file, into: &out)
        if file.endOffset < file.dataSet.storage.count {
            out.append(Diagnostic(.warning, "part10.trailing-bytes", offset: file.endOffset,
                                  "\(file.dataSet.storage.count - file.endOffset) bytes after the end of the data set"))
        }
        return out
    }

    // MARK: Part 10 and File Meta

    static func checkPart10(_ file: DICOMFile, into out: inout [Diagnostic]) {
        let meta = file.meta
        if !file.hasPreamble && !out.contains(where: { $0.code == "part10.missing-preamble" }) {
            out.append(Diagnostic(.error, "part10.missing-preamble", offset: 0, "no 128-byte preamble and DICM prefix"))
        }
        if file.hasPreamble, let first = out.firstIndex(where: { $0.code == "part10.missing-preamble" }) {
            out.remove(at: first)
        }
        if let i = out.firstIndex(where: { $0.code == "part10.missing-preamble" }) { out[i].severity = .error }
        guard !meta.elements.isEmpty else {
            out.append(Diagnostic(.error, "meta.missing", "no File Meta Information group (0002,xxxx)"))
            return
        }
        if let gl = meta[.fileMetaInformationGroupLength] {
            let declared = meta.fixed(gl, UInt32.self).first.map(Int.init) ?? -1
            let end = meta.elements.last.map { $0.valueOffset + $0.valueLength } ?? gl.valueOffset
            let actual = end - (gl.valueOffset + gl.valueLength)
            if declared != actual {
                out.append(Diagnostic(.warning, "meta.group-length", path: ElementPath(gl.tag), offset: gl.offset,
                                      "File Meta Information Group Length is \(declared); the group holds \(actual) bytes (read as it is; what HealthImaging does with it is not documented)"))
            }
        } else {
            out.append(Diagnostic(.warning, "meta.missing-group-length", path: ElementPath(Tag.fileMetaInformationGroupLength),
                                  "no File Meta Information Group Length"))
        }
        for tag in [Tag.fileMetaInformationVersion, .mediaStorageSOPClassUID, .mediaStorageSOPInstanceUID]
        where meta[tag] == nil {
            out.append(Diagnostic(.warning, "meta.missing-element", path: ElementPath(tag),
                                  "no \(StandardDictionary.keyword(for: tag) ?? "\(tag)") in the File Meta group (what HealthImaging does without it is not documented)"))
        }
        if meta[.transferSyntaxUID] == nil, !out.contains(where: { $0.code == "meta.missing-transfer-syntax" }) {
            out.append(Diagnostic(.error, "meta.missing-transfer-syntax", path: ElementPath(Tag.transferSyntaxUID), "no Transfer Syntax UID"))
        }
        if let i = out.firstIndex(where: { $0.code == "meta.missing-transfer-syntax" || $0.code == "meta.unknown-transfer-syntax" }) {
            out[i].severity = .error
        }
        for (metaTag, dataTag) in [(Tag.mediaStorageSOPClassUID, Tag.sopClassUID), (.mediaStorageSOPInstanceUID, .sopInstanceUID)] {
            if let a = meta.trimmedBytes(metaTag), let b = file.dataSet.trimmedBytes(dataTag), !a.elementsEqual(b) {
                out.append(Diagnostic(.warning, "meta.sop-mismatch", path: ElementPath(metaTag),
                                      "\(StandardDictionary.keyword(for: metaTag) ?? "\(metaTag)") is \(meta.string(metaTag) ?? "") but \(StandardDictionary.keyword(for: dataTag) ?? "\(dataTag)") is \(file.dataSet.string(dataTag) ?? ""); HealthImaging groups instances by the data set's values (what it does with the mismatch is not documented)"))
            }
        }
    }

    // MARK: HealthImaging

    static func checkHealthImaging(_ file: DICOMFile, options: ValidationOptions, into out: inout [Diagnostic]) {
        let ds = file.dataSet
        if let uid = file.meta.string(.transferSyntaxUID), case let syntax = TransferSyntax.forUID(uid),
           syntax.healthImagingImport == nil {
            out.append(Diagnostic(.warning, "ahi.unsupported-transfer-syntax", path: ElementPath(Tag.transferSyntaxUID),
                                  "transfer syntax \(uid) (\(syntax.name)) is not one HealthImaging decodes; "
                                      + HealthImagingWarning.unsupportedTransferSyntax.consequence, ahiWarning: .unsupportedTransferSyntax))
        }
        for tag in HealthImagingRules.requiredTags
        where ds[tag].map({ wholeValue(ds.bytes(of: $0)).isEmpty }) ?? true {
            out.append(Diagnostic(.error, "ahi.missing-required", path: ElementPath(tag),
                                  "\(StandardDictionary.keyword(for: tag) ?? "\(tag)") is missing or empty; HealthImaging cannot import the instance"))
        }
        for (tag, limit) in HealthImagingRules.maxLengthsInTagOrder {
            guard let e = ds[tag] else { continue }
            // The whole value, backslashes included, as HealthImaging stores it.
            let n = characterCount(wholeValue(ds.bytes(of: e)), vr: e.vr, characterSet: ds.characterSet)
            if n > limit {
                out.append(Diagnostic(.error, "ahi.length-limit", path: ElementPath(tag), offset: e.offset,
                                      "\(StandardDictionary.keyword(for: tag) ?? "") is \(n) characters; HealthImaging accepts at most \(limit)"))
            }
        }
        if file.storage.count > options.maxFileSize {
            out.append(Diagnostic(.error, "ahi.file-too-large",
                                  "the file is \(file.storage.count) bytes; HealthImaging accepts at most \(options.maxFileSize)"))
        }
    }

    // MARK: Encoding

    /// Encoding checks over every element, recursively. Works on the raw value
    /// bytes: nothing is decoded or allocated unless a problem is found.
    /// `place` gives an element's path from its tag (top level, or inside an item).
    static func checkEncoding(_ ds: DataSet, place: (Tag) -> ElementPath, explicit: Bool, options: ValidationOptions,
                              into out: inout [Diagnostic]) {
        var previous: Tag?
        var dictionary = StandardDictionary.Cursor()
        let characterSet = ds.characterSet
        let counting = CharacterCounting(characterSet)
        for e in ds.elements {
            func report(_ severity: Diagnostic.Severity, _ code: String, _ message: String, ahi: HealthImagingWarning? = nil) {
                out.append(Diagnostic(severity, code, path: place(e.tag), offset: e.offset,
                                      message + (ahi.map { "; " + $0.consequence } ?? ""), ahiWarning: ahi))
            }
            if let p = previous {
                if e.tag == p {
                    report(.warning, "encoding.duplicate-tag", "element appears twice")
                } else if e.tag < p {
                    report(.warning, "encoding.tag-order", "element follows \(p); tags must ascend")
                }
            }
            previous = e.tag
            if let creator = e.tag.privateCreatorTag, ds[creator] == nil {
                report(.warning, "private.missing-creator",
                       "private element without its Private Creator \(creator) (PS3.5 7.8.1): its meaning cannot be known; HealthImaging keeps private elements")
            }
            if let items = e.items {
                for (i, item) in items.enumerated() {
                    let sequence = place(e.tag)
                    checkEncoding(item, place: { sequence.child($0, inItem: i + 1) }, explicit: explicit, options: options, into: &out)
                }
                continue
            }
            if e.fragments != nil { continue }
            if !e.isUndefinedLength && e.valueLength % 2 == 1 {
                report(.warning, "vr.odd-length", "value length \(e.valueLength) is odd")
            }
            guard let info = dictionary.info(for: e.tag) else { continue }
            if explicit, !info.isAmbiguousVR, info.vr != .none, e.vr != .UN, e.vr != info.vr, !e.isImplicitInsideUN {
                report(.warning, "vr.mismatch",
                       "VR is \(e.vr.rawValue); the dictionary says \(StandardDictionary.entry(for: e.tag)?.vrText ?? "")")
            }
            guard e.vr.isString else { continue }
            let bytes = ds.bytes(of: e)
            func shown(_ value: UnsafeRawBufferPointer) -> String {
                guard options.showPHI || !HealthImagingRules.patientIdentifying.contains(e.tag) else { return "(value hidden)" }
                return "\"" + (e.vr.usesSpecificCharacterSet ? ds.characterSet.decode(value, isPersonName: e.vr == .PN)
                    : SpecificCharacterSet.decode(value, with: .latin1)) + "\""
            }
            let maxChars = maxLength(e.vr)
            let count = forEachComponent(bytes, split: !e.vr.isText) { v in
                if let max = maxChars {
                    let n = counting.count(v, vr: e.vr, characterSet: characterSet)
                    if n > max {
                        report(.warning, "vr.length-exceeded", "\(e.vr.rawValue) value of \(n) characters exceeds \(max): \(shown(v))", ahi: .invalidDICOMValueLength)
                    }
                }
                if !v.isEmpty, let problem = formatProblem(v, vr: e.vr) {
                    report(.warning, e.vr == .UI ? "uid.invalid" : "value.invalid-\(e.vr.rawValue.lowercased())",
                           "\(problem): \(shown(v))", ahi: e.vr == .UI ? .invalidUIDFormat : nil)
                }
            }
            if !info.allows(valueCount: count) {
                report(.warning, "vm.mismatch",
                       "\(count) values; the dictionary allows \(StandardDictionary.entry(for: e.tag)?.vm ?? "")")
            }
        }
    }

    /// Calls `body` with each value of a string element: split at backslashes
    /// (unless `split` is false), trailing spaces and NULs removed. Returns the
    /// number of values (0 for an empty element). Allocates nothing.
    @discardableResult
    static func forEachComponent(_ b: UnsafeRawBufferPointer, split: Bool,
                                 _ body: (UnsafeRawBufferPointer) -> Void) -> Int {
        var end = b.count
        while end > 0 && (b[end - 1] == 0x20 || b[end - 1] == 0) { end -= 1 }
        if end == 0 { return 0 }
        func emit(_ s: Int, _ e: Int) {
            var e = e
            while e > s && (b[e - 1] == 0x20 || b[e - 1] == 0) { e -= 1 }
            body(UnsafeRawBufferPointer(rebasing: b[s..<e]))
        }
        guard split else { emit(0, end); return 1 }
        var count = 0, start = 0
        for i in 0..<end where b[i] == 0x5C {
            emit(start, i)
            count += 1
            start = i + 1
        }
        emit(start, end)
        return count + 1
    }

    /// The whole value with trailing spaces and NULs removed (backslashes kept).
    static func wholeValue(_ b: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var end = b.count
        while end > 0 && (b[end - 1] == 0x20 || b[end - 1] == 0) { end -= 1 }
        return UnsafeRawBufferPointer(rebasing: b[0..<end])
    }

    /// How to count the characters of values in one character set, decided once per data set.
    enum CharacterCounting {
        case bytes, utf8, decode

        init(_ cs: SpecificCharacterSet) {
            switch cs.encodings.first ?? .latin1 {
            case .utf8: self = .utf8
            case .latin1, .latin2, .latin3, .latin4, .cyrillic, .arabic, .greek, .hebrew, .latin5, .thai:
                self = cs.encodings.count == 1 ? .bytes : .decode
            default: self = .decode
            }
        }

        /// Characters in `v`: bytes for single-byte sets, code points for UTF-8, decoded scalars otherwise.
        func count(_ v: UnsafeRawBufferPointer, vr: VR, characterSet: SpecificCharacterSet) -> Int {
            guard vr.usesSpecificCharacterSet else { return v.count }
            switch self {
            case .bytes: return v.count
            case .utf8: return v.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
            case .decode: return Validator.characterCount(v, vr: vr, characterSet: characterSet)
            }
        }
    }

    /// Characters in a value: bytes for single-byte sets, code points for UTF-8,
    /// decoded scalars for the multi-byte sets.
    static func characterCount(_ v: UnsafeRawBufferPointer, vr: VR, characterSet: SpecificCharacterSet) -> Int {
        guard vr.usesSpecificCharacterSet else { return v.count }
        switch characterSet.encodings.first ?? .latin1 {
        case .utf8: return v.reduce(0) { $0 + ($1 & 0xC0 == 0x80 ? 0 : 1) }
        case .latin1, .latin2, .latin3, .latin4, .cyrillic, .arabic, .greek, .hebrew, .latin5, .thai:
            if characterSet.encodings.count == 1 || !v.contains(0x1B) { return v.count }
            return characterSet.decode(v, isPersonName: vr == .PN).unicodeScalars.count
        default:
            return characterSet.decode(v, isPersonName: vr == .PN).unicodeScalars.count
        }
    }

    /// Maximum characters per value (PS3.5 Table 6.2-1).
    static func maxLength(_ vr: VR) -> Int? {
        switch vr {
        case .AE, .CS, .SH: return 16
        case .AS: return 4
        case .DA: return 8
        case .DS: return 16
        case .DT: return 26
        case .IS: return 12
        case .LO: return 64
        case .ST: return 1024
        case .TM: return 14
        case .UI: return 64
        case .LT: return 10240
        default: return nil
        }
    }

    /// What is wrong with the format of a value's bytes, or nil (PS3.5 6.2).
    static func formatProblem(_ u: UnsafeRawBufferPointer, vr: VR) -> String? {
        func all(_ ok: (UInt8) -> Bool) -> Bool { u.allSatisfy(ok) }
        @inline(__always) func digit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }
        func number(_ r: Range<Int>) -> Int { r.reduce(0) { $0 * 10 + Int(u[$1]) - 0x30 } }
        switch vr {
        case .CS:
            return all { ($0 >= 0x41 && $0 <= 0x5A) || digit($0) || $0 == 0x20 || $0 == 0x5F }
                ? nil : "code string has characters other than A-Z, 0-9, space and _"
        case .DA:
            guard u.count == 8, all(digit), (1...12).contains(number(4..<6)), (1...31).contains(number(6..<8)) else {
                return "not a date YYYYMMDD"
            }
            return nil
        case .TM:
            let dot = u.firstIndex(of: 0x2E) ?? u.count
            guard [2, 4, 6].contains(dot), u[0..<dot].allSatisfy(digit), number(0..<2) < 24,
                  dot == u.count || (dot == 6 && u.count - dot - 1 <= 6 && u[(dot + 1)...].allSatisfy(digit)) else {
                return "not a time HHMMSS.FFFFFF"
            }
            return nil
        case .DT:
            return u.count >= 4 && all { digit($0) || $0 == 0x2E || $0 == 0x2B || $0 == 0x2D } ? nil : "not a date-time"
        case .AS:
            guard u.count == 4, u[0...2].allSatisfy(digit), [0x44, 0x57, 0x4D, 0x59].contains(u[3]) else {
                return "not an age nnnD/W/M/Y"
            }
            return nil
        case .DS:
            return isDecimalString(u) ? nil : "not a decimal string"
        case .IS:
            return isIntegerString(u) ? nil : "not an integer string"
        case .UI:
            return uidProblem(u)
        default:
            return nil
        }
    }

    /// Leading and trailing spaces removed.
    static func spaceTrimmed(_ u: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var s = 0, e = u.count
        while s < e && u[s] == 0x20 { s += 1 }
        while e > s && u[e - 1] == 0x20 { e -= 1 }
        return UnsafeRawBufferPointer(rebasing: u[s..<e])
    }

    /// DS: [+-] digits [. digits] [(E|e) [+-] digits], with at least one digit before the exponent.
    static func isDecimalString(_ raw: UnsafeRawBufferPointer) -> Bool {
        let u = spaceTrimmed(raw)
        var i = 0
        func digits() -> Int { let s = i; while i < u.count && u[i] >= 0x30 && u[i] <= 0x39 { i += 1 }; return i - s }
        if i < u.count && (u[i] == 0x2B || u[i] == 0x2D) { i += 1 }
        var mantissa = digits()
        if i < u.count && u[i] == 0x2E { i += 1; mantissa += digits() }
        guard mantissa > 0 else { return false }
        if i < u.count && (u[i] == 0x45 || u[i] == 0x65) {
            i += 1
            if i < u.count && (u[i] == 0x2B || u[i] == 0x2D) { i += 1 }
            guard digits() > 0 else { return false }
        }
        return i == u.count
    }

    /// IS: [+-] digits, within −2³¹ … 2³¹−1.
    static func isIntegerString(_ raw: UnsafeRawBufferPointer) -> Bool {
        let u = spaceTrimmed(raw)
        var i = 0
        var negative = false
        if i < u.count && (u[i] == 0x2B || u[i] == 0x2D) { negative = u[i] == 0x2D; i += 1 }
        guard i < u.count, u.count - i <= 10 else { return false }
        var value: Int64 = 0
        while i < u.count {
            guard u[i] >= 0x30 && u[i] <= 0x39 else { return false }
            value = value * 10 + Int64(u[i] - 0x30)
            i += 1
        }
        return negative ? value <= 2_147_483_648 : value <= 2_147_483_647
    }

    /// Why `uid` is not a valid UID (PS3.5 9.1), or nil.
    public static func uidProblem(_ uid: String) -> String? {
        var copy = uid
        return copy.withUTF8 { uidProblem(UnsafeRawBufferPointer($0)) }
    }

    static func uidProblem(_ u: UnsafeRawBufferPointer) -> String? {
        if u.count > 64 { return "UID longer than 64 characters" }
        var componentStart = 0
        for i in 0...u.count {
            if i == u.count || u[i] == 0x2E {
                let length = i - componentStart
                if length == 0 { return "UID has an empty component" }
                if length > 1 && u[componentStart] == 0x30 { return "UID component has a leading zero" }
                componentStart = i + 1
            } else if u[i] < 0x30 || u[i] > 0x39 {
                return "UID has characters other than digits and dots"
            }
        }
        return nil
    }

    // MARK: Pixel data

    /// Samples per pixel each Photometric Interpretation needs (PS3.3 C.7.6.3.1.2).
    static let samplesForPhotometric: [String: Int] = [
        "MONOCHROME1": 1, "MONOCHROME2": 1, "PALETTE COLOR": 1, "RGB": 3, "YBR_FULL": 3, "YBR_FULL_422": 3,
        "YBR_ICT": 3, "YBR_RCT": 3, "YBR_PARTIAL_420": 3, "HSV": 3,
    ]

    static func checkPixelData(_ file: DICOMFile, into out: inout [Diagnostic]) {
        let ds = file.dataSet
        if let stored = ds.int(.bitsStored), let allocated = ds.int(.bitsAllocated), stored > allocated {
            out.append(Diagnostic(.warning, "pixel.bits-stored", path: ElementPath(Tag.bitsStored),
                                  "Bits Stored \(stored) exceeds Bits Allocated \(allocated)"))
        }
        if let stored = ds.int(.bitsStored), let high = ds.int(.highBit), high != stored - 1 {
            out.append(Diagnostic(.warning, "pixel.high-bit", path: ElementPath(Tag.highBit),
                                  "High Bit \(high) should be Bits Stored \(stored) − 1"))
        }
        if let pi = ds.string(.photometricInterpretation), let spp = ds.int(.samplesPerPixel) {
            if let expected = samplesForPhotometric[pi], expected != spp {
                out.append(Diagnostic(.warning, "pixel.photometric-samples", path: ElementPath(Tag.photometricInterpretation),
                                      "Photometric Interpretation \(pi) needs \(expected) samples per pixel; (0028,0002) is \(spp)"))
            }
        }
        guard let pixel = ds[.pixelData] else { return }
        func warn(_ code: String, _ message: String, _ ahi: HealthImagingWarning) {
            out.append(Diagnostic(.warning, code, path: ElementPath(Tag.pixelData), offset: pixel.offset, message + "; " + ahi.consequence,
                                  ahiWarning: ahi))
        }
        if pixel.isUndefinedLength {
            if let fragments = pixel.fragments, fragments.count < 2 {
                return warn("pixel.no-fragments", "encapsulated pixel data has no fragment after the offset table", .framesExtractionFailure)
            }
        } else if file.transferSyntax.isEncapsulated {
            return warn("pixel.not-encapsulated", "\(file.transferSyntax.name) needs encapsulated pixel data", .framesExtractionFailure)
        }
        if pixel.isUndefinedLength {
            // Encapsulated: the frames must be found.
            do {
                let found = try file.frames().count, declared = file.numberOfFrames
                if found < declared {
                    warn("pixel.frame-count", "Number of Frames is \(declared) but the encapsulated pixel data holds \(found) frame\(found == 1 ? "" : "s")",
                         .frameNumberMismatch)
                }
            } catch .notIndexed {
                warn("pixel.not-indexed", "\(FrameError.notIndexed)", .framesExtractionFailure)
            } catch let error {
                warn("pixel.offset-table", "\(error)", .invalidOffsetTable)
            }
            return
        }
        let layout: NativePixelLayout
        do { layout = try NativePixelLayout(ds) } catch {
            return warn("pixel.missing-attribute", "\(error)", .transcodingException)
        }
        let declared = file.numberOfFrames
        let needed = layout.byteCount(frames: declared), length = pixel.valueLength
        let each = "\(layout.byteCount(frames: 1)) bytes each: \(layout.summary)"
        func frames(_ n: Int) -> String { "\(n) frame\(n == 1 ? "" : "s")" }
        if length < needed {
            let whole = layout.wholeFrames(inLength: length)
            if whole >= 1, length <= layout.paddedLength(frames: whole) {
                // Whole frames, just fewer than declared: those are readable.
                warn("pixel.frame-count", "Number of Frames is \(declared) but Pixel Data holds \(frames(whole)) (\(each))", .frameNumberMismatch)
            } else {
                warn("pixel.native-length", "Pixel Data holds \(length) bytes; \(frames(declared)) (\(each)) need \(needed)", .transcodingException)
            }
        } else if length > layout.paddedLength(frames: declared) {
            out.append(Diagnostic(.warning, "pixel.native-length", path: ElementPath(Tag.pixelData), offset: pixel.offset,
                                  "Pixel Data holds \(length) bytes, \(length - needed) more than \(frames(declared)) (\(each)) need; HealthImaging's handling of the excess is not documented"))
        }  // An odd length is vr.odd-length's finding.
    }
}
