/// One data element as found in the file: its header and where its value lies.
/// The value itself is not decoded until asked for (see `DataSet`'s accessors).
public struct Element: Sendable {
    /// The element's tag.
    public let tag: Tag
    /// The VR: as encoded (explicit VR), from the dictionary (implicit VR), or
    /// resolved from context for the dictionary's choices ("US or SS", "OB or OW").
    public internal(set) var vr: VR
    /// Offset of the element's header in its data set's storage.
    public let offset: Int
    /// Offset of the first value byte.
    public let valueOffset: Int
    /// The value length field as encoded; `0xFFFFFFFF` means undefined length.
    public let length: UInt32
    /// Number of value bytes actually present: the encoded length, or for
    /// undefined length the bytes up to (not including) the delimiter, or
    /// fewer when the file ends early.
    public internal(set) var valueLength: Int
    /// The items of a sequence (SQ, or UN of undefined length that holds one).
    public internal(set) var items: [DataSet]?
    /// For encapsulated pixel data: every item's value, the first being the
    /// Basic Offset Table (possibly empty). Nil otherwise or in header-only mode.
    public internal(set) var fragments: [ByteRange]?
    /// True when the value was read as implicit VR Little Endian inside an
    /// explicit data set (UN replaced by the dictionary VR, PS3.5 6.2.2).
    public internal(set) var isImplicitInsideUN: Bool = false

    /// True when the length field is `0xFFFFFFFF`.
    @inlinable public var isUndefinedLength: Bool { length == 0xFFFF_FFFF }
    /// Where the value lies.
    @inlinable public var valueRange: ByteRange { ByteRange(offset: valueOffset, count: valueLength) }
    /// The dictionary keyword, if the tag is in the standard.
    public var keyword: String? { StandardDictionary.keyword(for: tag) }
}

/// A parsed data set: the top level of a file, the File Meta group, or one
/// sequence item. It holds an index of its elements over shared storage;
/// copying a `DataSet` copies the index, never the bytes.
public struct DataSet: Sendable {
    /// The bytes that every element's offsets refer to.
    public let storage: ByteStorage
    /// Elements in the order they appear in the file.
    public internal(set) var elements: [Element]
    /// Byte order of the binary values of this data set.
    public let isLittleEndian: Bool
    /// True when headers carried their VR.
    public let isExplicitVR: Bool
    /// The character set for text values: this data set's (0008,0005), or
    /// the one inherited from the enclosing data set.
    public internal(set) var characterSet: SpecificCharacterSet
    /// Offset of the first byte of this data set in `storage`.
    public let offset: Int
    /// True when the item or data set had an undefined length.
    public internal(set) var isUndefinedLength: Bool = false
    var isSorted = true

    init(storage: ByteStorage, littleEndian: Bool, explicitVR: Bool,
         characterSet: SpecificCharacterSet, offset: Int) {
        self.storage = storage
        self.elements = []
        self.elements.reserveCapacity(32)
        self.isLittleEndian = littleEndian
        self.isExplicitVR = explicitVR
        self.characterSet = characterSet
        self.offset = offset
    }

    /// The element with `tag`, or nil. A binary search when the elements are
    /// in ascending order (as the standard requires), a linear scan otherwise.
    public subscript(tag: Tag) -> Element? {
        guard let i = index(of: tag) else { return nil }
        return elements[i]
    }

    /// The position of `tag` in `elements`.
    public func index(of tag: Tag) -> Int? {
        if isSorted {
            var lo = 0, hi = elements.count
            while lo < hi {
                let mid = (lo + hi) >> 1
                if elements[mid].tag < tag { lo = mid + 1 } else { hi = mid }
            }
            return lo < elements.count && elements[lo].tag == tag ? lo : nil
        }
        return elements.firstIndex { $0.tag == tag }
    }

    /// The element whose standard keyword is `keyword` (e.g. "Rows"), or nil.
    public subscript(keyword keyword: String) -> Element? {
        guard let e = StandardDictionary.entry(forKeyword: keyword) else { return nil }
        return self[e.tag]
    }

    /// True when the data set has an element with `tag`.
    public func contains(_ tag: Tag) -> Bool { index(of: tag) != nil }

    /// The raw value bytes of `element` (no copy; valid while the data set lives).
    public func bytes(of element: Element) -> UnsafeRawBufferPointer {
        storage.bytes(element.valueRange)
    }
}

/// A DICOM Part 10 file: preamble, File Meta group and data set.
public struct DICOMFile: Sendable {
    /// The path the file was read from, if any.
    public let path: String?
    /// The file's bytes (memory-mapped when read from a path).
    public let storage: ByteStorage
    /// True when the file had the 128-byte preamble and `DICM`.
    public let hasPreamble: Bool
    /// The File Meta Information group (0002,xxxx); empty when the file has none.
    public let meta: DataSet
    /// The data set after the meta group. For a deflated file its storage is
    /// the inflated stream, and offsets are offsets in that stream.
    public let dataSet: DataSet
    /// The transfer syntax the data set was read with (after detection).
    public let transferSyntax: TransferSyntax
    /// Problems found while reading leniently.
    public let diagnostics: [ParseDiagnostic]
    /// Offset in the data set's storage where parsing stopped; equal to its
    /// count when the whole data set was read.
    public let endOffset: Int
}
