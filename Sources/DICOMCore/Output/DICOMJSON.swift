import ByteCoding

/// Writes a data set in the DICOM JSON Model (PS3.18 Annex F).
///
/// - Keys are `GGGGEEEE`; each attribute has `vr` and, when not empty,
///   `Value` (an array), `InlineBinary` (base64 of the value bytes as stored)
///   for OB/OD/OF/OL/OV/OW/UN, PN as `Alphabetic`/`Ideographic`/`Phonetic`,
///   AT as `GGGGEEEE` strings, IS/DS and binary numbers as JSON numbers.
/// - An empty value inside a multi-valued string is `null` (PS3.18 F.2.5).
/// - The File Meta group is not part of a data set's JSON; call it on
///   `DICOMFile.meta` to get that group.
public enum DICOMJSON {
    /// The JSON text of `ds`, on one line.
    public static func encode(_ ds: DataSet) -> String {
        var out = ""
        out.reserveCapacity(4096)
        write(ds, into: &out)
        return out
    }

    /// The JSON text of `ds` with the top-level elements in `withoutValue` written with
    /// their VR only (their value served elsewhere, e.g. PixelData through a BulkDataURI).
    public static func encode(_ ds: DataSet, withoutValue: Set<Tag>) -> String {
        var out = ""
        out.reserveCapacity(4096)
        write(ds, into: &out, withoutValue: withoutValue)
        return out
    }

    static func write(_ ds: DataSet, into out: inout String, withoutValue: Set<Tag> = []) {
        out += "{"
        var first = true
        for e in ds.elements {
            if !first { out += "," }
            first = false
            out += "\"\(e.tag.jsonKey)\":{\"vr\":\"\(e.vr.rawValue)\""
            if !withoutValue.contains(e.tag) { writeValue(e, of: ds, into: &out) }
            out += "}"
        }
        out += "}"
    }

    static func writeValue(_ e: Element, of ds: DataSet, into out: inout String) {
        if let items = e.items {
            out += ",\"Value\":["
            for (i, item) in items.enumerated() {
                if i > 0 { out += "," }
                write(item, into: &out)
            }
            out += "]"
            return
        }
        if e.vr.isBinary || e.vr == .none {
            if e.valueLength > 0 {
                out += ",\"InlineBinary\":\""
                Base64.encode(ds.bytes(of: e), into: &out)
                out += "\""
            }
            return
        }
        switch ds.value(of: e) {
        case .personNames(let names):
            guard !names.isEmpty else { return }
            out += ",\"Value\":["
            for (i, n) in names.enumerated() {
                if i > 0 { out += "," }
                out += "{\"Alphabetic\":"
                writeString(n.alphabetic, into: &out)
                if n.groupCount > 1 { out += ",\"Ideographic\":"; writeString(n.ideographic, into: &out) }
                if n.groupCount > 2 { out += ",\"Phonetic\":"; writeString(n.phonetic, into: &out) }
                out += "}"
            }
            out += "]"
        case .strings(let values):
            guard !values.isEmpty, values.count > 1 || !values[0].isEmpty else { return }
            out += ",\"Value\":["
            for (i, v) in values.enumerated() {
                if i > 0 { out += "," }
                if v.isEmpty { out += "null" } else { writeString(v, into: &out) }
            }
            out += "]"
        case .integers, .doubles, .unsigned:
            // IS and DS are written from their text so that no value is lost or
            // invented; an empty or unparsable component is null.
            if e.vr == .IS || e.vr == .DS {
                let texts = ds.strings(of: e)
                guard !texts.isEmpty, texts.count > 1 || !texts[0].isEmpty else { return }
                out += ",\"Value\":["
                for (i, t) in texts.enumerated() {
                    if i > 0 { out += "," }
                    if e.vr == .IS, let v = parseIS(t) { out += String(v) }
                    else if e.vr == .DS, let v = parseDS(t), v.isFinite { out += jsonNumber(v) }
                    else { out += "null" }
                }
                out += "]"
                return
            }
            let numbers: [String]
            switch ds.value(of: e) {
            case .integers(let v): numbers = v.map { String($0) }
            case .unsigned(let v): numbers = v.map { String($0) }
            case .doubles(let v): numbers = v.map { $0.isFinite ? jsonNumber($0) : "null" }
            default: numbers = []
            }
            guard !numbers.isEmpty else { return }
            out += ",\"Value\":[" + numbers.joined(separator: ",") + "]"
        case .tags(let tags):
            guard !tags.isEmpty else { return }
            out += ",\"Value\":[" + tags.map { "\"\($0.jsonKey)\"" }.joined(separator: ",") + "]"
        case .bytes, .items:
            return
        }
    }

    /// A double as a JSON number: integral values without a fraction, others in
    /// Swift's shortest round-trip form.
    static func jsonNumber(_ v: Double) -> String {
        if v == v.rounded(), abs(v) < 1e15 { return String(Int64(v)) }
        return "\(v)"
    }

    /// Writes `s` as a JSON string literal.
    public static func writeString(_ s: String, into out: inout String) {
        out += "\""
        if !s.utf8.contains(where: { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C }) {
            out += s
            out += "\""
            return
        }
        for u in s.unicodeScalars {
            switch u {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where u.value < 0x20:
                let h = String(u.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(u)
            }
        }
        out += "\""
    }
}
