import DICOMCore
import Foundation

/// One data set read from the DICOM JSON Model (PS3.18 Annex F): what STOW-RS
/// answers, QIDO-RS results and WADO-RS metadata hold. Keys are `GGGGEEEE`
/// (upper-case, as the standard writes them; lower-case keys are accepted).
/// Every field is optional: servers differ in what they send.
public struct DICOMJSONObject: Codable, Sendable, Hashable {
    /// The attributes by `GGGGEEEE` key.
    public var attributes: [String: Attribute]

    /// One attribute: its VR and its `Value`, `BulkDataURI` or `InlineBinary`.
    public struct Attribute: Codable, Sendable, Hashable {
        public var vr: String?
        public var Value: [Value]?
        public var BulkDataURI: String?
        public var InlineBinary: String?
        public init(vr: String?, values: [Value]?) {
            self.vr = vr
            self.Value = values
        }
    }

    /// One value: a string, a number, a person name, a sequence item, or null.
    public enum Value: Codable, Sendable, Hashable {
        case string(String)
        case number(Double)
        case personName(alphabetic: String?, ideographic: String?, phonetic: String?)
        case item(DICOMJSONObject)
        case null

        public init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null; return }
            if let n = try? c.decode(Double.self) { self = .number(n); return }
            if let s = try? c.decode(String.self) { self = .string(s); return }
            if let pn = try? c.decode([String: String].self), pn.keys.allSatisfy({ ["Alphabetic", "Ideographic", "Phonetic"].contains($0) }),
               !pn.isEmpty {
                self = .personName(alphabetic: pn["Alphabetic"], ideographic: pn["Ideographic"], phonetic: pn["Phonetic"])
                return
            }
            self = .item(try c.decode(DICOMJSONObject.self))
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.singleValueContainer()
            switch self {
            case .string(let s): try c.encode(s)
            case .number(let n):
                if n.rounded() == n, abs(n) < 1e15 { try c.encode(Int64(n)) } else { try c.encode(n) }
            case .personName(let a, let i, let p):
                var pn: [String: String] = [:]
                pn["Alphabetic"] = a
                pn["Ideographic"] = i
                pn["Phonetic"] = p
                try c.encode(pn)
            case .item(let o): try c.encode(o)
            case .null: try c.encodeNil()
            }
        }

        /// The value as text: strings as they are, numbers without a needless `.0`, person names' alphabetic group.
        public var text: String? {
            switch self {
            case .string(let s): return s
            case .number(let n): return n.rounded() == n && abs(n) < 1e15 ? String(Int64(n)) : String(n)
            case .personName(let a, let i, let p): return a ?? i ?? p
            case .item, .null: return nil
            }
        }
    }

    /// An empty data set.
    public init(_ attributes: [String: Attribute] = [:]) { self.attributes = attributes }

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode([String: Attribute].self)
        var attributes: [String: Attribute] = [:]
        for (key, value) in raw { attributes[key.uppercased()] = value }
        self.attributes = attributes
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(attributes)
    }

    /// The attribute of `tag`.
    public subscript(_ tag: Tag) -> Attribute? {
        get { attributes[tag.jsonKey] }
        set { attributes[tag.jsonKey] = newValue }
    }

    /// The values of `tag` as text (nil entries dropped).
    public func strings(_ tag: Tag) -> [String] { self[tag]?.Value?.compactMap(\.text) ?? [] }
    /// The first value of `tag` as text.
    public func string(_ tag: Tag) -> String? { strings(tag).first }
    /// The first value of `tag` as an unsigned 16-bit number (US, e.g. FailureReason); decimal as PS3.18 F.2.3 writes it.
    public func uint16(_ tag: Tag) -> UInt16? {
        guard let v = self[tag]?.Value?.first else { return nil }
        switch v {
        case .number(let n): return n >= 0 && n <= 65535 && n.rounded() == n ? UInt16(n) : nil
        case .string(let s): return UInt16(s.trimmingCharacters(in: .whitespaces))
        default: return nil
        }
    }
    /// The items of a sequence (an empty sequence has no `Value`).
    public func items(_ tag: Tag) -> [DICOMJSONObject] {
        self[tag]?.Value?.compactMap { if case .item(let o) = $0 { return o } else { return nil } } ?? []
    }

    /// Sets `tag` to string values with `vr`.
    public mutating func set(_ tag: Tag, vr: String, _ values: [String]) {
        self[tag] = Attribute(vr: vr, values: values.isEmpty ? nil : values.map { .string($0) })
    }

    /// Decodes one object (a STOW-RS answer).
    public static func decodeObject(_ bytes: some Collection<UInt8>) throws -> DICOMJSONObject {
        try JSONDecoder().decode(DICOMJSONObject.self, from: Data(bytes))
    }

    /// Decodes an array of objects (QIDO-RS results, WADO-RS metadata); an empty body is an empty array.
    public static func decodeArray(_ bytes: some Collection<UInt8>) throws -> [DICOMJSONObject] {
        let data = Data(bytes)
        if data.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) { return [] }
        return try JSONDecoder().decode([DICOMJSONObject].self, from: data)
    }

    /// The JSON text, keys sorted.
    public func encoded() -> [UInt8] {
        let e = JSONEncoder()
        e.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? Array(e.encode(self))) ?? Array("{}".utf8)
    }
}
