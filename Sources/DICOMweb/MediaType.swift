/// A media type with its parameters (RFC 9110 §8.3.1), as DICOMweb uses them in
/// `Content-Type` and in each `Accept` range (PS3.18 §8.7.3).
///
/// Names are lower-cased; values keep their case, quoted strings are unquoted.
/// Orthanc puts `transfer-syntax` inside the quoted `type` parameter
/// (`type="application/octet-stream; transfer-syntax=…"`); ``transferSyntax``
/// reads it from either place.
public struct MediaType: Sendable, Hashable, CustomStringConvertible {
    /// `type/subtype`, lower-cased (e.g. `multipart/related`).
    public var essence: String
    /// The parameters in order, names lower-cased.
    public var parameters: [Parameter]

    /// One `name=value` parameter.
    public struct Parameter: Sendable, Hashable {
        public var name: String
        public var value: String
        public init(_ name: String, _ value: String) {
            self.name = name.lowercased()
            self.value = value
        }
    }

    /// Creates a media type from its parts.
    public init(_ essence: String, _ parameters: [Parameter] = []) {
        self.essence = essence.lowercased()
        self.parameters = parameters
    }

    /// Parses `type/subtype *(; name=value)`; parameters may be tokens or quoted
    /// strings, in any order, with optional whitespace. Nil without a `/`.
    public init?(parsing text: some StringProtocol) {
        var s = Substring(text)
        let head = s.prefix { $0 != ";" }
        let essence = head.trimmingWhitespace()
        guard essence.contains("/") else { return nil }
        self.essence = essence.lowercased()
        s = s.dropFirst(head.count)
        var parameters: [Parameter] = []
        while s.first == ";" {
            s = s.dropFirst()
            s = s.drop { $0 == " " || $0 == "\t" }
            let name = s.prefix { $0 != "=" && $0 != ";" }
            s = s.dropFirst(name.count)
            guard s.first == "=" else { continue }
            s = s.dropFirst().drop { $0 == " " || $0 == "\t" }
            var value = ""
            if s.first == "\"" {
                s = s.dropFirst()
                while let c = s.first, c != "\"" {
                    if c == "\\", let next = s.dropFirst().first { value.append(next); s = s.dropFirst(2); continue }
                    value.append(c)
                    s = s.dropFirst()
                }
                s = s.dropFirst()  // the closing quote
                s = s.drop { $0 != ";" }
            } else {
                let raw = s.prefix { $0 != ";" }
                value = String(raw.trimmingWhitespace())
                s = s.dropFirst(raw.count)
            }
            let trimmed = name.trimmingWhitespace()
            if !trimmed.isEmpty { parameters.append(Parameter(String(trimmed), value)) }
        }
        self.parameters = parameters
    }

    /// The first value of a parameter (case-insensitive name).
    public func parameter(_ name: String) -> String? {
        let lower = name.lowercased()
        return parameters.first { $0.name == lower }?.value
    }

    /// The `type` parameter's media type (`multipart/related; type="application/dicom"`).
    public var rootType: MediaType? { parameter("type").flatMap { MediaType(parsing: $0) } }

    /// The `transfer-syntax` parameter, here or inside the quoted `type`.
    public var transferSyntax: String? { parameter("transfer-syntax") ?? rootType?.parameter("transfer-syntax") }

    /// True for `multipart/…`.
    public var isMultipart: Bool { essence.hasPrefix("multipart/") }

    /// The header text: parameters that are not tokens are quoted.
    public var description: String {
        var out = essence
        for p in parameters {
            out += "; \(p.name)="
            out += Self.isToken(p.value) ? p.value : "\"" + p.value.replacingOccurrences(of: "\\", with: "\\\\")
                .replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return out
    }

    /// RFC 9110 token characters.
    static func isToken(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || "!#$%&'*+-.^_`|~".utf8.contains(c)
        }
    }

    /// `application/dicom`.
    public static let dicom = "application/dicom"
    /// `application/dicom+json`.
    public static let dicomJSON = "application/dicom+json"

    /// `multipart/related; type="application/dicom"; boundary=…` (STOW-RS requests, WADO-RS answers).
    public static func multipartRelated(type: String, boundary: String, transferSyntax: String? = nil) -> MediaType {
        var parameters = [Parameter("type", type)]
        if let transferSyntax { parameters.append(Parameter("transfer-syntax", transferSyntax)) }
        parameters.append(Parameter("boundary", boundary))
        return MediaType("multipart/related", parameters)
    }

    /// Splits an `Accept` header into its media ranges, with their `q` (1 when absent),
    /// best first (stable for equal `q`).
    public static func acceptRanges(_ header: String) -> [(type: MediaType, q: Double)] {
        var ranges: [(MediaType, Double, Int)] = []
        var current = "", inQuotes = false
        func flush() {
            if let m = MediaType(parsing: current) {
                let q = m.parameter("q").flatMap(Double.init) ?? 1
                ranges.append((MediaType(m.essence, m.parameters.filter { $0.name != "q" }), q, ranges.count))
            }
            current = ""
        }
        for c in header {
            if c == "\"" { inQuotes.toggle() }
            if c == ",", !inQuotes { flush() } else { current.append(c) }
        }
        flush()
        return ranges.sorted { $0.1 != $1.1 ? $0.1 > $1.1 : $0.2 < $1.2 }.map { ($0.0, $0.1) }
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs.
    func trimmingWhitespace() -> Substring {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
