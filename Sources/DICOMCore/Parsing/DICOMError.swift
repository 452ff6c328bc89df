/// Why a file could not be read. Every case that concerns the file's content
/// carries the byte offset and, where known, the tag, so a user can find the
/// broken byte from the message alone.
public enum DICOMError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file could not be opened or mapped.
    case io(path: String, reason: String)
    /// Fewer bytes remain than a header or value needs.
    case truncated(path: String?, offset: Int, tag: Tag?, needed: Int, available: Int)
    /// A length field is impossible (odd where it must be even, or past the end of its parent).
    case invalidLength(path: String?, offset: Int, tag: Tag, length: UInt32, reason: String)
    /// Structure the standard does not allow (e.g. a non-item tag inside a sequence).
    case malformed(path: String?, offset: Int, tag: Tag?, reason: String)
    /// Sequences nested deeper than `ParseOptions.maxDepth`.
    case depthExceeded(path: String?, offset: Int, tag: Tag, limit: Int)
    /// The deflated data set could not be inflated, or inflates past the cap.
    case deflate(path: String?, offset: Int, reason: String)
    /// The data set is empty or does not start like DICOM.
    case notDICOM(path: String?, reason: String)

    /// The file path the error concerns, if known.
    public var path: String? {
        switch self {
        case .io(let p, _): return p
        case .truncated(let p, _, _, _, _), .invalidLength(let p, _, _, _, _),
             .malformed(let p, _, _, _), .depthExceeded(let p, _, _, _), .deflate(let p, _, _),
             .notDICOM(let p, _):
            return p
        }
    }

    /// The byte offset the error concerns, if any.
    public var offset: Int? {
        switch self {
        case .io, .notDICOM: return nil
        case .truncated(_, let o, _, _, _), .invalidLength(_, let o, _, _, _),
             .malformed(_, let o, _, _), .depthExceeded(_, let o, _, _), .deflate(_, let o, _):
            return o
        }
    }

    /// The same error with the path filled in.
    public func at(path newPath: String) -> DICOMError {
        switch self {
        case .io: return self
        case .truncated(_, let o, let t, let n, let a): return .truncated(path: newPath, offset: o, tag: t, needed: n, available: a)
        case .invalidLength(_, let o, let t, let l, let r): return .invalidLength(path: newPath, offset: o, tag: t, length: l, reason: r)
        case .malformed(_, let o, let t, let r): return .malformed(path: newPath, offset: o, tag: t, reason: r)
        case .depthExceeded(_, let o, let t, let l): return .depthExceeded(path: newPath, offset: o, tag: t, limit: l)
        case .deflate(_, let o, let r): return .deflate(path: newPath, offset: o, reason: r)
        case .notDICOM(_, let r): return .notDICOM(path: newPath, reason: r)
        }
    }

    /// One line: `path: offset N, tag (gggg,eeee): reason`.
    public var description: String {
        func loc(_ p: String?, _ o: Int?, _ t: Tag?) -> String {
            var s = p.map { "\($0): " } ?? ""
            if let o { s += "offset \(o)" }
            if let t { s += (o == nil ? "" : ", ") + "tag \(t)" }
            return s.isEmpty ? "" : s + ": "
        }
        switch self {
        case .io(let p, let r): return "\(p): cannot read: \(r)"
        case .truncated(let p, let o, let t, let n, let a):
            return loc(p, o, t) + "file is truncated: \(n) bytes needed, \(a) remain"
        case .invalidLength(let p, let o, let t, let l, let r):
            return loc(p, o, t) + "invalid length \(l): \(r)"
        case .malformed(let p, let o, let t, let r): return loc(p, o, t) + r
        case .depthExceeded(let p, let o, let t, let l):
            return loc(p, o, t) + "sequences nested deeper than \(l) levels"
        case .deflate(let p, let o, let r): return loc(p, o, nil) + "deflated data set: \(r)"
        case .notDICOM(let p, let r): return (p.map { "\($0): " } ?? "") + "not a DICOM file: \(r)"
        }
    }
}

/// A problem found while parsing leniently. The file was still read as far as possible.
public struct ParseDiagnostic: Sendable, Equatable, CustomStringConvertible {
    /// How serious the problem is.
    public enum Severity: String, Sendable, Comparable {
        case info, warning, error
        var rank: Int {
            switch self {
            case .info: return 0
            case .warning: return 1
            case .error: return 2
            }
        }
        public static func < (a: Severity, b: Severity) -> Bool { a.rank < b.rank }
    }
    /// Severity: `error` means data after this point could not be read.
    public var severity: Severity
    /// A stable code, e.g. `part10.missing-preamble`.
    public var code: String
    /// Byte offset in the storage (for deflated files: in the inflated data set).
    public var offset: Int
    /// The tag concerned, if any.
    public var tag: Tag?
    /// What is wrong, in words.
    public var message: String

    /// `severity code at offset N (tag): message`.
    public var description: String {
        "\(severity) \(code) at offset \(offset)" + (tag.map { " \($0)" } ?? "") + ": \(message)"
    }
}
