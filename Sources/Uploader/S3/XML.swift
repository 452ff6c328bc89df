/// Just enough XML for S3's answers: the text of elements by name, and the
/// blocks of repeated elements. S3's documents are flat and small; a full
/// parser is not needed to read them.
public enum XML {
    /// The text of every `<tag>…</tag>` in `xml`, entities decoded.
    public static func values(_ tag: String, in xml: Substring) -> [String] {
        blocks(tag, in: xml).map { unescape($0) }
    }

    /// The first value of `tag`, or nil.
    public static func value(_ tag: String, in xml: Substring) -> String? { values(tag, in: xml).first }

    /// The raw inner text of every `<tag>…</tag>` (or `<tag attr…>…</tag>`).
    public static func blocks(_ tag: String, in xml: Substring) -> [Substring] {
        var out: [Substring] = []
        var rest = xml
        let close = "</\(tag)>"
        while let open = rest.range(of: "<\(tag)") {
            let after = rest[open.upperBound...]
            guard let first = after.first, first == ">" || first == " " else { rest = after; continue }
            guard let gt = after.firstIndex(of: ">") else { break }
            if after[..<gt].hasSuffix("/") { out.append(""); rest = after[after.index(after: gt)...]; continue }
            let content = after[after.index(after: gt)...]
            guard let end = content.range(of: close) else { break }
            out.append(content[..<end.lowerBound])
            rest = content[end.upperBound...]
        }
        return out
    }

    /// Decodes the five predefined entities and numeric character references.
    public static func unescape(_ s: Substring) -> String {
        guard s.contains("&") else { return String(s) }
        var out = ""
        var i = s.startIndex
        while i < s.endIndex {
            if s[i] == "&", let semi = s[i...].firstIndex(of: ";") {
                let entity = s[s.index(after: i)..<semi]
                var replacement: String?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x"), let v = UInt32(entity.dropFirst(2), radix: 16), let u = Unicode.Scalar(v) {
                        replacement = String(Character(u))
                    } else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()), let u = Unicode.Scalar(v) {
                        replacement = String(Character(u))
                    }
                }
                if let replacement {
                    out += replacement
                    i = s.index(after: semi)
                    continue
                }
            }
            out.append(s[i])
            i = s.index(after: i)
        }
        return out
    }

    /// Escapes text for an element's content.
    public static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(c)
            }
        }
        return out
    }
}
