#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The character sets named by (0008,0005) Specific Character Set, and the
/// decoding of text values with them (PS3.5 6.1, PS3.3 C.12.1.1.2), including
/// ISO 2022 code extensions with escape sequences for Japanese, Korean and Chinese.
///
/// Decoding follows pydicom's rules so that the two read text alike: without
/// an escape the first character set decodes the whole value; with escapes,
/// each escape switches the set, and a delimiter returns a single-byte G1 set to
/// the first one.
public struct SpecificCharacterSet: Sendable, Hashable {
    /// The defined terms as found, e.g. `["ISO 2022 IR 6", "ISO 2022 IR 87"]`.
    public let terms: [String]
    /// The decoder of each term (unknown terms fall back to the default repertoire).
    let encodings: [Encoding]

    /// The default repertoire (ISO-IR 6); bytes above 0x7F read as Latin-1, as pydicom does.
    public static let `default` = SpecificCharacterSet(terms: "")

    /// Parses the value of (0008,0005); an empty first value means the default repertoire.
    public init(terms value: String) {
        let list: [String] = value.utf8.split(separator: 0x5C, omittingEmptySubsequences: false).map { part in
            var p = part[...]
            while let f = p.first, f == 0x20 || f == 0 { p = p.dropFirst() }
            while let l = p.last, l == 0x20 || l == 0 { p = p.dropLast() }
            return String(Substring(p))
        }
        terms = list.isEmpty ? [""] : list
        encodings = terms.map { Encoding(term: $0) ?? Encoding.latin1 }
    }

    /// True when every term is one this library knows.
    public var isKnown: Bool { terms.allSatisfy { Encoding(term: $0) != nil } }

    /// An encoding as iconv names it, plus the few decoded in Swift directly.
    enum Encoding: String, Sendable, Hashable {
        case latin1 = "ISO-8859-1"
        case utf8 = "UTF-8"
        case latin2 = "ISO-8859-2", latin3 = "ISO-8859-3", latin4 = "ISO-8859-4"
        case cyrillic = "ISO-8859-5", arabic = "ISO-8859-6", greek = "ISO-8859-7"
        case hebrew = "ISO-8859-8", latin5 = "ISO-8859-9", thai = "TIS-620"
        case shiftJIS = "SHIFT_JIS", iso2022JP = "ISO-2022-JP", iso2022JP2 = "ISO-2022-JP-2"
        case eucKR = "EUC-KR", gb2312 = "GB2312", gb18030 = "GB18030", gbk = "GBK"

        init?(term: String) {
            switch term {
            case "", "ISO_IR 6", "ISO 2022 IR 6", "ISO_IR 100", "ISO 2022 IR 100": self = .latin1
            case "ISO_IR 192": self = .utf8
            case "ISO_IR 101", "ISO 2022 IR 101": self = .latin2
            case "ISO_IR 109", "ISO 2022 IR 109": self = .latin3
            case "ISO_IR 110", "ISO 2022 IR 110": self = .latin4
            case "ISO_IR 144", "ISO 2022 IR 144": self = .cyrillic
            case "ISO_IR 127", "ISO 2022 IR 127": self = .arabic
            case "ISO_IR 126", "ISO 2022 IR 126": self = .greek
            case "ISO_IR 138", "ISO 2022 IR 138": self = .hebrew
            case "ISO_IR 148", "ISO 2022 IR 148": self = .latin5
            case "ISO_IR 166", "ISO 2022 IR 166": self = .thai
            case "ISO_IR 13", "ISO 2022 IR 13": self = .shiftJIS
            case "ISO 2022 IR 87": self = .iso2022JP
            case "ISO 2022 IR 159": self = .iso2022JP2
            case "ISO 2022 IR 149": self = .eucKR
            case "ISO 2022 IR 58", "ISO 2022 58": self = .gb2312
            case "GB18030": self = .gb18030
            case "GBK", "ISO 2022 GBK": self = .gbk
            default: return nil
            }
        }

        /// Encodings that keep their escape sequence when decoded (iconv's ISO-2022 decoders need it).
        var keepsEscape: Bool { self == .iso2022JP || self == .iso2022JP2 || self == .gb2312 }

        /// The encoding an escape sequence selects (PS3.3 Tables C.12-3 and C.12-4).
        static func forEscape(_ b: UnsafeRawBufferPointer) -> (Encoding, Int)? {
            guard b.count >= 3, b[0] == 0x1B else { return nil }
            switch (b[1], b[2]) {
            case (0x28, 0x42): return (.latin1, 3)      // ESC ( B  ISO-IR 6
            case (0x28, 0x4A): return (.iso2022JP, 3)   // ESC ( J  ISO-IR 14 (JIS X 0201 Romaji)
            case (0x29, 0x49): return (.shiftJIS, 3)    // ESC ) I  ISO-IR 13 (katakana)
            case (0x24, 0x42): return (.iso2022JP, 3)   // ESC $ B  ISO-IR 87
            case (0x2D, 0x41): return (.latin1, 3)
            case (0x2D, 0x42): return (.latin2, 3)
            case (0x2D, 0x43): return (.latin3, 3)
            case (0x2D, 0x44): return (.latin4, 3)
            case (0x2D, 0x46): return (.greek, 3)
            case (0x2D, 0x47): return (.arabic, 3)
            case (0x2D, 0x48): return (.hebrew, 3)
            case (0x2D, 0x4C): return (.cyrillic, 3)
            case (0x2D, 0x4D): return (.latin5, 3)
            case (0x2D, 0x54): return (.thai, 3)
            case (0x24, 0x28), (0x24, 0x29):
                guard b.count >= 4 else { return nil }
                switch (b[2], b[3]) {
                case (0x28, 0x44): return (.iso2022JP2, 4)  // ESC $ ( D  ISO-IR 159
                case (0x29, 0x43): return (.eucKR, 4)       // ESC $ ) C  ISO-IR 149
                case (0x29, 0x41): return (.gb2312, 4)      // ESC $ ) A  ISO-IR 58
                default: return nil
                }
            default: return nil
            }
        }
    }

    /// Decodes the bytes of a text value. `isPersonName` selects the delimiters
    /// that end an escape's scope (`^` and `=` for PN; CR, LF, TAB, FF otherwise).
    public func decode(_ bytes: UnsafeRawBufferPointer, isPersonName: Bool = false) -> String {
        let first = encodings.first ?? .latin1
        guard bytes.contains(0x1B) else { return Self.decode(bytes, with: first) }
        var result = ""
        var start = 0
        let n = bytes.count
        while start < n {
            var end = start + 1
            while end < n && bytes[end] != 0x1B { end += 1 }
            let fragment = UnsafeRawBufferPointer(rebasing: bytes[start..<end])
            result += decodeFragment(fragment, first: first, isPersonName: isPersonName)
            start = end
        }
        return result
    }

    private func decodeFragment(_ f: UnsafeRawBufferPointer, first: Encoding, isPersonName: Bool) -> String {
        guard f.first == 0x1B else { return Self.decode(f, with: first) }
        guard let (enc, escLength) = Encoding.forEscape(f),
              encodings.contains(enc) || (enc == .latin1 && escLength == 3 && f[1] == 0x28) else {
            return Self.decode(f, with: first)
        }
        if enc.keepsEscape { return Self.decode(f, with: enc) }
        let rest = UnsafeRawBufferPointer(rebasing: f[escLength...])
        let delimiters: Set<UInt8> = isPersonName ? [0x5E, 0x3D] : [0x0D, 0x0A, 0x09, 0x0C]
        if let i = rest.firstIndex(where: { delimiters.contains($0) }) {
            return Self.decode(UnsafeRawBufferPointer(rebasing: rest[..<i]), with: enc)
                + Self.decode(UnsafeRawBufferPointer(rebasing: rest[i...]), with: first)
        }
        return Self.decode(rest, with: enc)
    }

    /// Decodes with one encoding; invalid sequences become U+FFFD.
    static func decode(_ b: UnsafeRawBufferPointer, with encoding: Encoding) -> String {
        switch encoding {
        case .utf8:
            return String(decoding: b, as: UTF8.self)
        case .latin1:
            if !b.contains(where: { $0 >= 0x80 }) { return String(decoding: b, as: UTF8.self) }
            // Latin-1 code points are the byte values: write their UTF-8 directly.
            var utf8 = [UInt8]()
            utf8.reserveCapacity(b.count * 2)
            for c in b {
                if c < 0x80 { utf8.append(c) } else { utf8.append(0xC0 | c >> 6); utf8.append(0x80 | c & 0x3F) }
            }
            return String(decoding: utf8, as: UTF8.self)
        default:
            return iconvDecode(b, from: encoding.rawValue) ?? decode(b, with: .latin1)
        }
    }

    /// Decodes through glibc's iconv; nil when the converter is missing.
    static func iconvDecode(_ b: UnsafeRawBufferPointer, from name: String) -> String? {
        if b.isEmpty { return "" }
        let cd = iconv_open("UTF-8", name)
        if cd == iconv_t(bitPattern: -1) { return nil }
        defer { iconv_close(cd) }
        var out = [UInt8](repeating: 0, count: b.count * 4 + 16)
        var inLeft = b.count
        var outLeft = out.count
        var result = [UInt8]()
        result.reserveCapacity(b.count * 2)
        var inPtr: UnsafeMutablePointer<CChar>? = UnsafeMutablePointer(mutating: b.baseAddress?.assumingMemoryBound(to: CChar.self))
        out.withUnsafeMutableBufferPointer { o in
            guard let outBase = o.baseAddress else { return }
            while inLeft > 0 {
                var outPtr: UnsafeMutablePointer<CChar>? = UnsafeMutableRawPointer(outBase).assumingMemoryBound(to: CChar.self)
                outLeft = o.count
                let r = iconv(cd, &inPtr, &inLeft, &outPtr, &outLeft)
                result.append(contentsOf: o[0..<(o.count - outLeft)])
                if r == -1 {
                    if errno == E2BIG { continue }
                    // Invalid or incomplete sequence: emit U+FFFD and skip one byte.
                    result.append(contentsOf: [0xEF, 0xBF, 0xBD])
                    inPtr = inPtr.map { $0 + 1 }
                    inLeft -= 1
                }
            }
        }
        return String(decoding: result, as: UTF8.self)
    }
}
