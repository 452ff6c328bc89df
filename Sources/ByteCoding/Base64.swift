/// Standard base64 (RFC 4648 §4): the alphabet `A–Z a–z 0–9 + /`, padded with `=`.
///
/// Used for S3's checksum and `Content-MD5` headers, DICOM JSON's `InlineBinary`
/// and opaque pagination tokens.
public enum Base64 {
    static let alphabet: [UInt8] = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    /// Each ASCII byte's 6-bit value, 0xFF for bytes outside the alphabet.
    static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in alphabet.enumerated() { table[Int(c)] = UInt8(i) }
        return table
    }()

    /// The base64 text of `bytes`: `4 * ceil(n / 3)` characters.
    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out = ""
        let array = Array(bytes)
        array.withUnsafeBytes { encode($0, into: &out) }
        return out
    }

    /// Appends the base64 text of `bytes` to `out` (no copy of the input).
    public static func encode(_ bytes: UnsafeRawBufferPointer, into out: inout String) {
        let n = bytes.count
        var buf = [UInt8]()
        buf.reserveCapacity((n + 2) / 3 * 4)
        var i = 0
        while i + 3 <= n {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2])
            buf.append(alphabet[Int(v >> 18 & 63)]); buf.append(alphabet[Int(v >> 12 & 63)])
            buf.append(alphabet[Int(v >> 6 & 63)]); buf.append(alphabet[Int(v & 63)])
            i += 3
        }
        if n - i == 1 {
            let v = UInt32(bytes[i]) << 16
            buf.append(alphabet[Int(v >> 18 & 63)]); buf.append(alphabet[Int(v >> 12 & 63)])
            buf.append(UInt8(ascii: "=")); buf.append(UInt8(ascii: "="))
        } else if n - i == 2 {
            let v = UInt32(bytes[i]) << 16 | UInt32(bytes[i + 1]) << 8
            buf.append(alphabet[Int(v >> 18 & 63)]); buf.append(alphabet[Int(v >> 12 & 63)])
            buf.append(alphabet[Int(v >> 6 & 63)]); buf.append(UInt8(ascii: "="))
        }
        out += String(decoding: buf, as: UTF8.self)
    }

    /// The bytes of base64 `text`, or nil when it is not base64: a character outside
    /// the alphabet (white space included), a length that is not a multiple of 4,
    /// or padding anywhere but in the last one or two places.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 4 == 0 else { return nil }
        let equals = UInt8(ascii: "=")
        let padding = chars.last != equals ? 0 : chars[chars.count - 2] == equals ? 2 : 1
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 4 * 3)
        var i = 0
        while i < chars.count {
            let last = i + 4 == chars.count
            var v: UInt32 = 0
            for j in 0..<4 {
                let c = chars[i + j]
                if last && j >= 4 - padding {
                    v <<= 6
                    continue
                }
                let d = values[Int(c)]
                guard d != 0xFF else { return nil }
                v = v << 6 | UInt32(d)
            }
            out.append(UInt8(v >> 16 & 0xFF))
            if !last || padding < 2 { out.append(UInt8(v >> 8 & 0xFF)) }
            if !last || padding < 1 { out.append(UInt8(v & 0xFF)) }
            i += 4
        }
        return out
    }
}
