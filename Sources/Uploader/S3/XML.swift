/// Just enough XML for S3's documents: the text of elements by name, the blocks of
/// repeated elements, and escaping. S3's documents are flat and small; a full parser
/// is not needed to read them. Everything works on Unicode scalars, never on
/// `Character`s: a key may start with a combining mark, and `>` followed by U+0301
/// is one `Character` but still the end of a tag.
public enum XML {
    /// The text of every `<tag>…</tag>` in `xml`, entities decoded.
    public static func values(_ tag: String, in xml: Substring) -> [String] {
        blocks(tag, in: xml).map { unescape($0) }
    }

    /// The first value of `tag`, or nil.
    public static func value(_ tag: String, in xml: Substring) -> String? { values(tag, in: xml).first }

    /// The raw inner text of every `<tag>…</tag>` (or `<tag attr…>…</tag>`; `<tag/>` gives "").
    public static func blocks(_ tag: String, in xml: Substring) -> [Substring] {
        let open = Array("<\(tag)".unicodeScalars), close = Array("</\(tag)>".unicodeScalars)
        var out: [Substring] = []
        var rest = xml.unicodeScalars[...]
        while let start = find(open, in: rest) {
            let after = rest[start.upperBound...]
            guard let first = after.first, first == ">" || first == " " else { rest = after; continue }
            guard let gt = after.firstIndex(of: ">") else { break }
            let next = after.index(after: gt)
            if gt > after.startIndex && after[after.index(before: gt)] == "/" {
                out.append("")
                rest = after[next...]
                continue
            }
            let content = after[next...]
            guard let end = find(close, in: content) else { break }
            out.append(Substring(content[..<end.lowerBound]))
            rest = content[end.upperBound...]
        }
        return out
    }

    /// The first occurrence of `needle` in `hay` (documents are small: a plain scan).
    private static func find(_ needle: [Unicode.Scalar], in hay: Substring.UnicodeScalarView) -> Range<String.Index>? {
        guard let head = needle.first else { return nil }
        var i = hay.startIndex
        while let candidate = hay[i...].firstIndex(of: head) {
            var h = candidate, n = 0
            while n < needle.count, h < hay.endIndex, hay[h] == needle[n] {
                h = hay.index(after: h)
                n += 1
            }
            if n == needle.count { return candidate..<h }
            i = hay.index(after: candidate)
        }
        return nil
    }

    /// Decodes the five predefined entities and numeric character references
    /// (a reference to any scalar, NUL included, so that nothing a server escaped is lost).
    public static func unescape(_ s: Substring) -> String {
        guard s.unicodeScalars.contains("&") else { return String(s) }
        var out = String.UnicodeScalarView()
        let scalars = s.unicodeScalars
        var i = scalars.startIndex
        while i < scalars.endIndex {
            if scalars[i] == "&", let semi = scalars[i...].prefix(12).firstIndex(of: ";") {
                let entity = String(String.UnicodeScalarView(scalars[scalars.index(after: i)..<semi]))
                var replacement: Unicode.Scalar?
                switch entity {
                case "amp": replacement = "&"
                case "lt": replacement = "<"
                case "gt": replacement = ">"
                case "quot": replacement = "\""
                case "apos": replacement = "'"
                default:
                    if entity.hasPrefix("#x"), let v = UInt32(entity.dropFirst(2), radix: 16) {
                        replacement = Unicode.Scalar(v)
                    } else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()) {
                        replacement = Unicode.Scalar(v)
                    }
                }
                if let replacement {
                    out.append(replacement)
                    i = scalars.index(after: semi)
                    continue
                }
            }
            out.append(scalars[i])
            i = scalars.index(after: i)
        }
        return String(out)
    }

    /// What `escape` writes for a character XML 1.0 cannot hold at all: NUL, the C0
    /// controls other than tab, LF and CR, U+FFFE and U+FFFF (XML 1.0 §2.2 `Char`).
    public enum Unrepresentable: Sendable {
        /// A numeric character reference (`&#0;`). Nothing is lost and lenient readers
        /// (this type's `unescape`) get the character back, but strict parsers (expat,
        /// libxml2) refuse the document. S3 documents that an XML 1.0 parser cannot read
        /// such keys in a listing unless `encoding-type=url` is asked for.
        case characterReference
        /// U+FFFD: the document stays well-formed; the character is lost.
        case replacementCharacter
    }

    /// Escapes text for an element's content: `& < > " '` as entities, CR as `&#13;`
    /// (a raw CR would reach the reader as LF, XML 1.0 §2.11, as S3's key guidelines
    /// warn), and characters XML cannot hold as `unrepresentable` says.
    public static func escape(_ s: String, unrepresentable: Unrepresentable = .characterReference) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\r": out += "&#13;"
            case "\t", "\n": out.unicodeScalars.append(c)
            case _ where c.value < 0x20 || c.value == 0xFFFE || c.value == 0xFFFF:
                switch unrepresentable {
                case .characterReference: out += "&#\(c.value);"
                case .replacementCharacter: out += "\u{FFFD}"
                }
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The text of an XML document as an XML processor sees it (XML 1.0 §2.11): UTF-8
    /// decoded, CR LF and lone CR turned into LF. A CR meant to stay must come as `&#13;`.
    public static func document(_ bytes: [UInt8]) -> String {
        guard bytes.contains(0x0D) else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        for (i, b) in bytes.enumerated() {
            if b == 0x0D {
                if i + 1 < bytes.count && bytes[i + 1] == 0x0A { continue }
                out.append(0x0A)
            } else {
                out.append(b)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
