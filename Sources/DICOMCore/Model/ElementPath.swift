/// Where an element sits in a data set: the tags from the top level down, with the
/// 1-based item number of each sequence passed through. Written as diagnostics and
/// dcmdump users read it: `(0040,0275)[1].(0040,0009)`; the empty path is the file itself.
public struct ElementPath: Sendable, Hashable, CustomStringConvertible {
    /// One level: a tag, and for a sequence on the way down, the item (from 1) entered.
    public struct Step: Sendable, Hashable {
        public let tag: Tag
        public let item: Int?
    }

    /// The levels, outermost first.
    public private(set) var steps: [Step]

    /// The file as a whole (no element).
    public static let file = ElementPath(steps: [])

    private init(steps: [Step]) { self.steps = steps }

    /// A top-level element.
    public init(_ tag: Tag) { steps = [Step(tag: tag, item: nil)] }

    /// True for the file as a whole.
    public var isEmpty: Bool { steps.isEmpty }

    /// The element's own tag (the last level), if any.
    public var tag: Tag? { steps.last?.tag }

    /// The element `tag` inside item `item` (from 1) of the sequence this path names.
    public func child(_ tag: Tag, inItem item: Int) -> ElementPath {
        guard let last = steps.last else { return ElementPath(tag) }
        return ElementPath(steps: steps.dropLast() + [Step(tag: last.tag, item: item), Step(tag: tag, item: nil)])
    }

    /// `(gggg,eeee)[n].(gggg,eeee)`; "" for the file.
    public var description: String {
        steps.map { s in s.item.map { "\(s.tag)[\($0)]" } ?? "\(s.tag)" }.joined(separator: ".")
    }
}
