/// How much of a file to read, and how to treat damage.
public struct ParseOptions: Sendable {
    /// Stop before (7FE0,0010), (7FE0,0008) or (7FE0,0009) at the top level,
    /// like pydicom's `stop_before_pixels`: the element is not in the data set.
    public var stopBeforePixelData = false
    /// Stop before the first top-level element whose tag is ≥ this tag.
    public var stopAtTag: Tag? = nil
    /// Index the pixel data element's header but never read its value: no
    /// fragment walk, no page of pixel bytes touched. Parsing stops there.
    public var headerOnly = false
    /// Throw on the first problem instead of recording a diagnostic and
    /// returning what could be read.
    public var strict = false
    /// The deepest nesting of sequences accepted.
    public var maxDepth = 64
    /// Upper bound on the inflated size of a deflated data set.
    public var maxInflatedSize = 4 << 30

    /// Lenient, full parse.
    public init() {}

    /// Options with the given fields set.
    public init(stopBeforePixelData: Bool = false, stopAtTag: Tag? = nil, headerOnly: Bool = false,
                strict: Bool = false, maxDepth: Int = 64, maxInflatedSize: Int = 4 << 30) {
        self.stopBeforePixelData = stopBeforePixelData
        self.stopAtTag = stopAtTag
        self.headerOnly = headerOnly
        self.strict = strict
        self.maxDepth = maxDepth
        self.maxInflatedSize = maxInflatedSize
    }
}
