import ByteCoding

/// Writes a file the way DCMTK's `dcmdump` does: one line per element with
/// tag, VR, value, length, value multiplicity and keyword; items indented.
public enum TextDump {
    /// Longest value text shown before it is cut with "...".
    public static let maxValueWidth = 64

    /// The dump of a whole file: meta header and data set.
    public static func dump(_ file: DICOMFile) -> String {
        String(decoding: dumpUTF8(file), as: UTF8.self)
    }

    /// The same dump as UTF-8 bytes, ready to write (what `ahi-upload dump` writes to standard output).
    public static func dumpUTF8(_ file: DICOMFile) -> [UInt8] {
        var out = Output()
        out.bytes.reserveCapacity(4096 + 96 * (file.meta.elements.count + file.dataSet.elements.count))
        out.append("\n# Dicom-File-Format\n\n# Dicom-Meta-Information-Header\n# Used TransferSyntax: Little Endian Explicit\n")
        write(file.meta, depth: 0, into: &out)
        out.append("\n# Dicom-Data-Set\n# Used TransferSyntax: ")
        out.append(file.transferSyntax.name)
        out.append("\n")
        write(file.dataSet, depth: 0, into: &out)
        return out.bytes
    }

    /// Appends the lines of `ds` at indentation `depth`.
    public static func write(_ ds: DataSet, depth: Int, into text: inout String) {
        var out = Output()
        write(ds, depth: depth, into: &out)
        text += String(decoding: out.bytes, as: UTF8.self)
    }

    /// The dump being written: UTF-8 bytes, appended without intermediate strings.
    struct Output {
        var bytes: [UInt8] = []

        mutating func append(_ s: String) {
            var s = s
            s.withUTF8 { bytes.append(contentsOf: $0) }
        }

        mutating func spaces(_ n: Int) {
            if n > 0 { bytes.append(contentsOf: repeatElement(0x20, count: n)) }
        }

        mutating func decimal(_ v: Int) {
            if v < 0 { bytes.append(UInt8(ascii: "-")) }
            var m = v.magnitude, digits: [UInt8] = []
            repeat { digits.append(UInt8(truncatingIfNeeded: 0x30 + m % 10)); m /= 10 } while m > 0
            bytes.append(contentsOf: digits.reversed())
        }

        mutating func hex4(_ v: UInt16) {
            for shift in stride(from: 12, through: 0, by: -4) { bytes.append(hexDigits[Int(v >> UInt16(shift) & 0xF)]) }
        }

        mutating func tag(_ t: Tag) {
            bytes.append(UInt8(ascii: "("))
            hex4(t.group)
            bytes.append(UInt8(ascii: ","))
            hex4(t.element)
            bytes.append(UInt8(ascii: ")"))
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Length column text: the value length, or "u/l" for undefined, or nothing (an explicit-length item).
    enum Length {
        case value(Int), undefined, none
    }

    static func write(_ ds: DataSet, depth: Int, into out: inout Output) {
        for e in ds.elements {
            let length: Length = e.isUndefinedLength ? .undefined : .value(e.valueLength)
            if let items = e.items {
                let kind = e.isUndefinedLength ? "undefined" : "explicit"
                line(depth, e.tag, e.vr.rawValue, "(Sequence with \(kind) length #=\(items.count))", length, 1, e.keyword, into: &out)
                for item in items {
                    let ik = item.isUndefinedLength ? "undefined" : "explicit"
                    line(depth + 1, .item, "na", "(Item with \(ik) length #=\(item.elements.count))",
                         item.isUndefinedLength ? .undefined : .none, 1, "Item", into: &out)
                    write(item, depth: depth + 2, into: &out)
                    if item.isUndefinedLength {
                        line(depth + 1, .itemDelimitationItem, "na", "(ItemDelimitationItem)", .value(0), 0, "ItemDelimitationItem", into: &out)
                    }
                }
                if e.isUndefinedLength {
                    line(depth, .sequenceDelimitationItem, "na", "(SequenceDelimitationItem)", .value(0), 0, "SequenceDelimitationItem", into: &out)
                }
                continue
            }
            if let fragments = e.fragments {
                line(depth, e.tag, e.vr.rawValue, "(PixelSequence #=\(fragments.count))", length, 1, e.keyword, into: &out)
                for f in fragments {
                    let bytes = ds.storage.bytes(ByteRange(offset: f.offset, count: min(f.count, 16)))
                    var v = bytes.map { Hex.encode(CollectionOfOne($0)) }.joined(separator: "\\")
                    if f.count > 16 { v += "..." }
                    line(depth + 1, .item, "pi", v, .value(f.count), 1, "Item", into: &out)
                }
                line(depth, .sequenceDelimitationItem, "na", "(SequenceDelimitationItem)", .value(0), 0, "SequenceDelimitationItem", into: &out)
                continue
            }
            let (text, vm) = valueText(e, of: ds)
            line(depth, e.tag, e.vr.rawValue, text, length, vm, e.keyword, into: &out)
        }
    }

    /// One line: indentation, tag, VR and value padded to column 52 (+ indentation) in
    /// characters, then "# length, VM keyword", as dcmdump lays it out.
    static func line(_ depth: Int, _ tag: Tag, _ vr: String, _ value: String, _ length: Length, _ vm: Int,
                     _ keyword: String?, into out: inout Output) {
        out.spaces(2 * depth)
        out.tag(tag)
        out.bytes.append(0x20)
        out.append(vr)
        out.bytes.append(0x20)
        let before = out.bytes.count
        out.append(value)
        let valueBytes = out.bytes.count - before
        // Characters, not bytes: a non-ASCII value (decoded from its character set) is counted as it prints.
        let valueWidth = out.bytes[before...].allSatisfy({ $0 < 0x80 }) ? valueBytes : value.count
        out.spaces(depth * 2 + 52 - (2 * depth + 11 + 1 + vr.count + 1 + valueWidth))
        out.append(" # ")
        switch length {
        case .value(let n):
            if n < 10 { out.spaces(2) } else if n < 100 { out.spaces(1) }
            out.decimal(n)
        case .undefined:
            out.append("u/l")
        case .none:
            out.spaces(3)
        }
        out.append(", ")
        out.decimal(vm)
        out.bytes.append(0x20)
        out.append(keyword ?? "Unknown Tag & Data")
        out.bytes.append(0x0A)
    }

    /// The value column and value multiplicity of an element.
    static func valueText(_ e: Element, of ds: DataSet) -> (String, Int) {
        if e.valueLength == 0 { return ("(no value available)", 0) }
        func cut(_ s: String) -> String {
            s.count > maxValueWidth ? String(s.prefix(maxValueWidth)) + "..." : s
        }
        switch ds.value(of: e) {
        case .strings(let v):
            return ("[" + cut(v.joined(separator: "\\")) + "]", v.count)
        case .personNames:
            let v = ds.strings(of: e)
            return ("[" + cut(v.joined(separator: "\\")) + "]", v.count)
        case .integers(let v):
            if e.vr == .IS { let t = ds.strings(of: e); return ("[" + cut(t.joined(separator: "\\")) + "]", t.count) }
            return (cut(v.map(String.init).joined(separator: "\\")), v.count)
        case .unsigned(let v):
            return (cut(v.map(String.init).joined(separator: "\\")), v.count)
        case .doubles(let v):
            if e.vr == .DS { let t = ds.strings(of: e); return ("[" + cut(t.joined(separator: "\\")) + "]", t.count) }
            return (cut(v.map { "\($0)" }.joined(separator: "\\")), v.count)
        case .tags(let v):
            return (cut(v.map(\.description).joined(separator: "\\")), v.count)
        case .bytes(let r):
            let b = ds.storage.bytes(ByteRange(offset: r.offset, count: min(r.count, 32)))
            let word = e.vr == .OW ? 2 : 1
            var hex: [UInt8] = []
            hex.reserveCapacity(b.count * 3)
            var i = 0
            while i + word <= b.count {
                if !hex.isEmpty { hex.append(UInt8(ascii: "\\")) }
                let v = word == 1 ? UInt16(b[i]) : ds.isLittleEndian ? UInt16(b[i]) | UInt16(b[i + 1]) << 8 : UInt16(b[i]) << 8 | UInt16(b[i + 1])
                for shift in stride(from: word * 8 - 4, through: 0, by: -4) { hex.append(hexDigits[Int(v >> UInt16(shift) & 0xF)]) }
                i += word
            }
            var s = String(decoding: hex, as: UTF8.self)
            if r.count > 32 { s += "..." }
            return (s, 1)
        case .items(let items):
            return ("(Sequence #=\(items.count))", 1)
        }
    }
}
