/// One finding of the validator: what is wrong, where, and how much it matters.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    /// `error`: unreadable, or HealthImaging would reject the file; `warning`:
    /// breaks the standard but imports; `info`: worth knowing.
    public typealias Severity = ParseDiagnostic.Severity

    /// Severity.
    public var severity: Severity
    /// A stable code, e.g. `uid.invalid`, `ahi.length-limit`.
    public var code: String
    /// Where: `(0040,0275)[1].(0040,0009)`; empty for file-level findings.
    public var path: ElementPath
    /// Byte offset of the element's header (in the inflated stream for deflated files), if known.
    public var offset: Int?
    /// What is wrong. Never holds a patient-identifying value unless the
    /// validator was asked to show them.
    public var message: String
    /// The import warning HealthImaging is expected to give the instance, when its
    /// documentation says (nil for errors, and where its behaviour is unknown).
    public var ahiWarning: HealthImagingWarning?

    /// Creates a diagnostic.
    public init(_ severity: Severity, _ code: String, path: ElementPath = .file, offset: Int? = nil, _ message: String,
                ahiWarning: HealthImagingWarning? = nil) {
        self.severity = severity
        self.code = code
        self.path = path
        self.offset = offset
        self.message = message
        self.ahiWarning = ahiWarning
    }

    /// `severity code path (offset N): message`.
    public var description: String {
        var s = "\(severity) \(code)"
        if !path.isEmpty { s += " \(path)" }
        if let offset { s += " (offset \(offset))" }
        return s + ": " + message
    }
}
