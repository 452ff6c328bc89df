/// Hexadecimal text of bytes: two digits per byte, most significant first
/// (digests and ETags in lower case, percent-escapes in upper case).
public enum Hex {
    @usableFromInline static let lower: [UInt8] = Array("0123456789abcdef".utf8)
    @usableFromInline static let upper: [UInt8] = Array("0123456789ABCDEF".utf8)

    /// The hex text of `bytes`: `2 * n` characters, lower case unless `uppercase`.
    public static func encode(_ bytes: some Sequence<UInt8>, uppercase: Bool = false) -> String {
        var out = [UInt8]()
        out.reserveCapacity(bytes.underestimatedCount * 2)
        for b in bytes { append(b, uppercase: uppercase, to: &out) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends the two ASCII hex digits of `byte` to `out`.
    @inlinable public static func append(_ byte: UInt8, uppercase: Bool = false, to out: inout [UInt8]) {
        let digits = uppercase ? upper : lower
        out.append(digits[Int(byte >> 4)])
        out.append(digits[Int(byte & 0xF)])
    }

    /// The value (0–15) of one ASCII hex digit, either case; nil for any other byte.
    @inlinable public static func value(ofDigit c: UInt8) -> UInt8? {
        switch c {
        case 0x30...0x39: return c - 0x30
        case 0x41...0x46: return c - 0x37
        case 0x61...0x66: return c - 0x57
        default: return nil
        }
    }

    /// The bytes of hex `text` (either case), or nil when it has an odd number of
    /// characters or a character that is not a hex digit.
    public static func decode(_ text: some StringProtocol) -> [UInt8]? {
        let chars = Array(text.utf8)
        guard chars.count % 2 == 0 else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(chars.count / 2)
        var i = 0
        while i < chars.count {
            guard let h = value(ofDigit: chars[i]), let l = value(ofDigit: chars[i + 1]) else { return nil }
            out.append(h << 4 | l)
            i += 2
        }
        return out
    }
}
