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
            Diagnostic($0.severity, $0.code, path: $0.tag.map { "\($0)" } ?? "", offset: $0.offset, $0.message)
        }
        checkPart10(file, into: &out)
        checkHealthImaging(file, options: options, into: &out)
        checkEncoding(file.dataSet, prefix: "", explicit: file.dataSet.isExplicitVR, options: options, into: &out)
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
                out.append(Diagnostic(.error, "meta.group-length", path: "\(gl.tag)", offset: gl.offset,
                                      "File Meta Information Group Length is \(declared); the group holds \(actual) bytes"))
            }
        } else {
            out.append(Diagnostic(.warning, "meta.missing-group-length", path: "(0002,0000)",
                                  "no File Meta Information Group Length"))
        }
        for (raw, name) in [(0x0002_0001, "FileMetaInformationVersion"), (0x0002_0002, "MediaStorageSOPClassUID"),
                            (0x0002_0003, "MediaStorageSOPInstanceUID")] as [(UInt32, String)]
        where meta[Tag(raw)] == nil {
            out.append(Diagnostic(.error, "meta.missing-element", path: "\(Tag(raw))", "no \(name) in the File Meta group"))
        }
        if meta[.transferSyntaxUID] == nil, !out.contains(where: { $0.code == "meta.missing-transfer-syntax" }) {
            out.append(Diagnostic(.error, "meta.missing-transfer-syntax", path: "(0002,0010)", "no Transfer Syntax UID"))
        }
        if let i = out.firstIndex(where: { $0.code == "meta.missing-transfer-syntax" || $0.code == "meta.unknown-transfer-syntax" }) {
            out[i].severity = .error
        }
        for (metaTag, dataTag) in [(0x0002_0002, 0x0008_0016), (0x0002_0003, 0x0008_0018)] as [(UInt32, UInt32)] {
            if let a = meta.string(Tag(metaTag)), let b = file.dataSet.string(Tag(dataTag)), a != b {
                out.append(Diagnostic(.error, "meta.sop-mismatch", path: "\(Tag(metaTag))",
                                      "\(Tag(metaTag)) is \(a) but \(Tag(dataTag)) is \(b)"))
            }
        }
    }

    // MARK: HealthImaging

    static func checkHealthImaging(_ file: DICOMFile, options: ValidationOptions, into out: inout [Diagnostic]) {
        let ds = file.dataSet
        if let uid = file.meta.string(.transferSyntaxUID), !HealthImagingRules.supportedTransferSyntaxes.contains(uid) {
            out.append(Diagnostic(.error, "ahi.unsupported-transfer-syntax", path: "(0002,0010)",
                                  "HealthImaging does not import transfer syntax \(uid) (\(TransferSyntax.forUID(uid).name))"))
        }
        for tag in HealthImagingRules.requiredTags where ds.string(tag)?.isEmpty ?? true {
            out.append(Diagnostic(.error, "ahi.missing-required", path: "\(tag)",
                                  "\(StandardDictionary.keyword(for: tag) ?? "\(tag)") is missing or empty; HealthImaging cannot import the instance"))
        }
        for (tag, limit) in HealthImagingRules.maxLengths.sorted(by: { $0.key < $1.key }) {
            guard let e = ds[tag] else { continue }
            let text = ds.strings(of: e).joined(separator: "\\")
            if text.unicodeScalars.count > limit {
                out.append(Diagnostic(.error, "ahi.length-limit", path: "\(tag)", offset: e.offset,
                                      "\(StandardDictionary.keyword(for: tag) ?? "") is \(text.unicodeScalars.count) characters; HealthImaging accepts at most \(limit)"))
            }
        }
        if file.storage.count > options.maxFileSize {
            out.append(Diagnostic(.error, "ahi.file-too-large",
                                  "the file is \(file.storage.count) bytes; HealthImaging accepts at most \(options.maxFileSize)"))
        }
    }

    // MARK: Encoding

    static func checkEncoding(_ ds: DataSet, prefix: String, explicit: Bool, options: ValidationOptions,
                              into out: inout [Diagnostic]) {
        var previous: Tag?
        for e in ds.elements {
            let path = prefix + "\(e.tag)"
            if let p = previous {
                if e.tag == p {
                    out.append(Diagnostic(.warning, "encoding.duplicate-tag", path: path, offset: e.offset, "element appears twice"))
                } else if e.tag < p {
                    out.append(Diagnostic(.warning, "encoding.tag-order", path: path, offset: e.offset,
                                          "element follows \(p); tags must ascend"))
                }
            }
            previous = e.tag
            if let items = e.items {
                for (i, item) in items.enumerated() {
                    checkEncoding(item, prefix: path + "[\(i + 1)].", explicit: explicit, options: options, into: &out)
                }
                continue
            }
            if e.fragments != nil { continue }
            if !e.isUndefinedLength && e.valueLength % 2 == 1 {
                out.append(Diagnostic(.warning, "vr.odd-length", path: path, offset: e.offset,
                                      "value length \(e.valueLength) is odd"))
            }
            guard let entry = StandardDictionary.entry(for: e.tag) else { continue }
            if explicit, !entry.isAmbiguousVR, entry.vr != .none, e.vr != .UN, e.vr != entry.vr, !e.isImplicitInsideUN {
                out.append(Diagnostic(.warning, "vr.mismatch", path: path, offset: e.offset,
                                      "VR is \(e.vr.rawValue); the dictionary says \(entry.vrText)"))
            }
            guard e.vr.isString else { continue }
            let values = ds.strings(of: e)
            let shown = { (v: String) -> String in
                options.showPHI || !HealthImagingRules.patientIdentifying.contains(e.tag) ? "\"\(v)\"" : "(value hidden)"
            }
            checkVM(values.count, entry: entry, path: path, offset: e.offset, into: &out)
            for v in values {
                if let max = maxLength(e.vr), v.unicodeScalars.count > max {
                    out.append(Diagnostic(.warning, "vr.length-exceeded", path: path, offset: e.offset,
                                          "\(e.vr.rawValue) value of \(v.unicodeScalars.count) characters exceeds \(max): \(shown(v))"))
                }
                if v.isEmpty { continue }
                if let problem = formatProblem(v, vr: e.vr) {
                    let code = e.vr == .UI ? "uid.invalid" : "value.invalid-\(e.vr.rawValue.lowercased())"
                    out.append(Diagnostic(.warning, code, path: path, offset: e.offset, "\(problem): \(shown(v))"))
                }
            }
        }
    }

    static func checkVM(_ n: Int, entry: DictionaryEntry, path: String, offset: Int, into out: inout [Diagnostic]) {
        guard n > 0 else { return }
        let r = entry.vmRange
        let ok = n >= r.min && (r.max.map { n <= $0 } ?? true) && (r.step <= 1 || n % r.step == 0)
        if !ok {
            out.append(Diagnostic(.warning, "vm.mismatch", path: path, offset: offset,
                                  "\(n) values; the dictionary allows \(entry.vm)"))
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

    /// What is wrong with the format of a value, or nil (PS3.5 6.2).
    static func formatProblem(_ v: String, vr: VR) -> String? {
        let u = Array(v.utf8)
        func all(_ ok: (UInt8) -> Bool) -> Bool { u.allSatisfy(ok) }
        let digit = { (c: UInt8) in c >= 0x30 && c <= 0x39 }
        switch vr {
        case .CS:
            return all { ($0 >= 0x41 && $0 <= 0x5A) || digit($0) || $0 == 0x20 || $0 == 0x5F }
                ? nil : "code string has characters other than A-Z, 0-9, space and _"
        case .DA:
            guard u.count == 8, all(digit), let m = Int(v.dropFirst(4).prefix(2)), let d = Int(v.suffix(2)),
                  (1...12).contains(m), (1...31).contains(d) else { return "not a date YYYYMMDD" }
            return nil
        case .TM:
            let main = v.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            guard let hhmmss = main.first, [2, 4, 6].contains(hhmmss.count), hhmmss.utf8.allSatisfy(digit),
                  main.count == 1 || (main[1].count <= 6 && main[1].utf8.allSatisfy(digit) && hhmmss.count == 6),
                  let hh = Int(hhmmss.prefix(2)), hh < 24 else { return "not a time HHMMSS.FFFFFF" }
            return nil
        case .DT:
            return all { digit($0) || $0 == 0x2E || $0 == 0x2B || $0 == 0x2D } && u.count >= 4 ? nil : "not a date-time"
        case .AS:
            guard u.count == 4, u[0...2].allSatisfy(digit), [0x44, 0x57, 0x4D, 0x59].contains(u[3]) else {
                return "not an age nnnD/W/M/Y"
            }
            return nil
        case .DS:
            return all { digit($0) || $0 == 0x2B || $0 == 0x2D || $0 == 0x2E || $0 == 0x45 || $0 == 0x65 || $0 == 0x20 }
                && parseDS(v) != nil ? nil : "not a decimal string"
        case .IS:
            guard all({ digit($0) || $0 == 0x2B || $0 == 0x2D || $0 == 0x20 }), let n = parseIS(v),
                  n >= -2_147_483_648, n <= 2_147_483_647 else { return "not an integer string" }
            return nil
        case .UI:
            return uidProblem(v)
        default:
            return nil
        }
    }

    /// Why `uid` is not a valid UID (PS3.5 9.1), or nil.
    public static func uidProblem(_ uid: String) -> String? {
        if uid.utf8.count > 64 { return "UID longer than 64 characters" }
        let parts = uid.split(separator: ".", omittingEmptySubsequences: false)
        for p in parts {
            if p.isEmpty { return "UID has an empty component" }
            if !p.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return "UID has characters other than digits and dots" }
            if p.count > 1 && p.first == "0" { return "UID component has a leading zero" }
        }
        return nil
    }

    // MARK: Pixel data

    static func checkPixelData(_ file: DICOMFile, into out: inout [Diagnostic]) {
        let ds = file.dataSet
        if let stored = ds.int(Tag(0x0028_0101)), let allocated = ds.int(.bitsAllocated), stored > allocated {
            out.append(Diagnostic(.warning, "pixel.bits-stored", path: "(0028,0101)",
                                  "Bits Stored \(stored) exceeds Bits Allocated \(allocated)"))
        }
        if let stored = ds.int(Tag(0x0028_0101)), let high = ds.int(Tag(0x0028_0102)), high != stored - 1 {
            out.append(Diagnostic(.warning, "pixel.high-bit", path: "(0028,0102)",
                                  "High Bit \(high) should be Bits Stored \(stored) − 1"))
        }
        if let pi = ds.string(Tag(0x0028_0004)), let spp = ds.int(.samplesPerPixel) {
            let expected: Int? = ["MONOCHROME1": 1, "MONOCHROME2": 1, "PALETTE COLOR": 1, "RGB": 3, "YBR_FULL": 3,
                                  "YBR_FULL_422": 3, "YBR_ICT": 3, "YBR_RCT": 3, "YBR_PARTIAL_420": 3, "HSV": 3][pi]
            if let expected, expected != spp {
                out.append(Diagnostic(.warning, "pixel.photometric-samples", path: "(0028,0004)",
                                      "Photometric Interpretation \(pi) needs \(expected) samples per pixel; (0028,0002) is \(spp)"))
            }
        }
        guard let pixel = ds[.pixelData] else { return }
        if pixel.isUndefinedLength {
            if let fragments = pixel.fragments, fragments.count < 2 {
                out.append(Diagnostic(.error, "pixel.no-fragments", path: "(7fe0,0010)", offset: pixel.offset,
                                      "encapsulated pixel data has no fragment after the offset table"))
                return
            }
        } else if file.transferSyntax.isEncapsulated {
            out.append(Diagnostic(.error, "pixel.not-encapsulated", path: "(7fe0,0010)", offset: pixel.offset,
                                  "\(file.transferSyntax.name) needs encapsulated pixel data"))
            return
        }
        do {
            _ = try file.frames()
        } catch let error {
            switch error {
            case .nativeDataTooShort:
                out.append(Diagnostic(.error, "pixel.native-length", path: "(7fe0,0010)", offset: pixel.offset, "\(error)"))
            case .missingImageAttribute:
                out.append(Diagnostic(.error, "pixel.missing-attribute", path: "(7fe0,0010)", offset: pixel.offset, "\(error)"))
            default:
                out.append(Diagnostic(.error, "pixel.offset-table", path: "(7fe0,0010)", offset: pixel.offset, "\(error)"))
            }
            return
        }
        if !pixel.isUndefinedLength, let rows = ds.int(.rows), let cols = ds.int(.columns), let bits = ds.int(.bitsAllocated) {
            let spp = ds.int(.samplesPerPixel) ?? 1
            let bitsTotal = rows * cols * spp * bits * file.numberOfFrames
            let expected = (bitsTotal + 7) / 8
            if pixel.valueLength != expected + expected % 2 && pixel.valueLength != expected {
                out.append(Diagnostic(.warning, "pixel.native-length", path: "(7fe0,0010)", offset: pixel.offset,
                                      "Pixel Data holds \(pixel.valueLength) bytes; Rows×Columns×Samples×Bits×Frames gives \(expected)"))
            }
        }
    }
}
