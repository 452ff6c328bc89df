import ByteCoding

/// Writes a file the way DCMTK's `dcmdump` does: one line per element with
/// tag, VR, value, length, value multiplicity and keyword; items indented.
public enum TextDump {
    /// Longest value text shown before it is cut with "...".
    public static let maxValueWidth = 64

    /// The dump of a whole file: meta header and data set.
    public static func dump(_ file: DICOMFile) -> String {
        var out = "\n# Dicom-File-Format\n\n# Dicom-Meta-Information-Header\n# Used TransferSyntax: Little Endian Explicit\n"
        write(file.meta, depth: 0, into: &out)
        out += "\n# Dicom-Data-Set\n# Used TransferSyntax: \(file.transferSyntax.name)\n"
        write(file.dataSet, depth: 0, into: &out)
        return out
    }

    /// Appends the lines of `ds` at indentation `depth`.
    public static func write(_ ds: DataSet, depth: Int, into out: inout String) {
        for e in ds.elements {
            let length = e.isUndefinedLength ? "u/l" : String(e.valueLength)
            if let items = e.items {
                let kind = e.isUndefinedLength ? "undefined" : "explicit"
                line(depth, e.tag, e.vr.rawValue, "(Sequence with \(kind) length #=\(items.count))", length, 1, e.keyword, into: &out)
                for item in items {
                    let ik = item.isUndefinedLength ? "undefined" : "explicit"
                    line(depth + 1, .item, "na", "(Item with \(ik) length #=\(item.elements.count))",
                         item.isUndefinedLength ? "u/l" : "", 1, "Item", into: &out)
                    write(item, depth: depth + 2, into: &out)
                    if item.isUndefinedLength {
                        line(depth + 1, .itemDelimitationItem, "na", "(ItemDelimitationItem)", "0", 0, "ItemDelimitationItem", into: &out)
                    }
                }
                if e.isUndefinedLength {
                    line(depth, .sequenceDelimitationItem, "na", "(SequenceDelimitationItem)", "0", 0, "SequenceDelimitationItem", into: &out)
                }
                continue
            }
            if let fragments = e.fragments {
                line(depth, e.tag, e.vr.rawValue, "(PixelSequence #=\(fragments.count))", length, 1, e.keyword, into: &out)
                for f in fragments {
                    let bytes = ds.storage.bytes(ByteRange(offset: f.offset, count: min(f.count, 16)))
                    var v = bytes.map { Hex.encode(CollectionOfOne($0)) }.joined(separator: "\\")
                    if f.count > 16 { v += "..." }
                    line(depth + 1, .item, "pi", v, String(f.count), 1, "Item", into: &out)
                }
                line(depth, .sequenceDelimitationItem, "na", "(SequenceDelimitationItem)", "0", 0, "SequenceDelimitationItem", into: &out)
                continue
            }
            let (text, vm) = valueText(e, of: ds)
            line(depth, e.tag, e.vr.rawValue, text, length, vm, e.keyword, into: &out)
        }
    }

    static func line(_ depth: Int, _ tag: Tag, _ vr: String, _ value: String, _ length: String, _ vm: Int,
                     _ keyword: String?, into out: inout String) {
        var s = String(repeating: "  ", count: depth) + "\(tag) \(vr) \(value)"
        let column = depth * 2 + 52
        if s.count < column { s += String(repeating: " ", count: column - s.count) }
        let len = length.count < 3 ? String(repeating: " ", count: 3 - length.count) + length : length
        out += s + " # " + len + ", \(vm) " + (keyword ?? "Unknown Tag & Data") + "\n"
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
            var parts: [String] = []
            var i = 0
            while i + word <= b.count {
                if word == 2 {
                    let v = ds.isLittleEndian ? UInt16(b[i]) | UInt16(b[i + 1]) << 8 : UInt16(b[i]) << 8 | UInt16(b[i + 1])
                    parts.append(hex4(v))
                } else {
                    parts.append(Hex.encode(CollectionOfOne(b[i])))
                }
                i += word
            }
            var s = parts.joined(separator: "\\")
            if r.count > 32 { s += "..." }
            return (s, 1)
        case .items(let items):
            return ("(Sequence #=\(items.count))", 1)
        }
    }
}
