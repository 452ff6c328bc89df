/// An S3 location, `s3://bucket/key`, as the AWS CLI and HealthImaging's
/// `inputS3Uri`/`outputS3Uri` write it. The key may be empty (the whole bucket)
/// or end in `/` (a folder prefix); it is kept exactly as written after the
/// slash that ends the bucket name, so `s3://b//x` has the key `/x`, as in S3.
public struct S3URI: Sendable, Hashable, CustomStringConvertible, LosslessStringConvertible {
    /// The bucket name: 3–63 characters of `a-z 0-9 . -`, beginning and ending with a letter or digit.
    public let bucket: String
    /// The object key or key prefix (UTF-8, not percent-encoded; may be empty).
    public let key: String

    /// Why text is not an S3 URI.
    public struct ParseError: Error, Sendable, Hashable, CustomStringConvertible {
        /// What is wrong.
        public enum Problem: Sendable, Hashable, CustomStringConvertible {
            /// The text does not begin with `s3://`.
            case notS3
            /// The bucket name has `count` characters, not 3–63.
            case bucketLength(Int)
            /// The bucket name holds a character other than `a-z 0-9 . -`.
            case bucketCharacter(Character)
            /// The bucket name begins or ends with `.` or `-`.
            case bucketEdge

            /// For the user: `bucket names have 3 to 63 characters (this one has 2)`.
            public var description: String {
                switch self {
                case .notS3: return "expected s3://bucket[/key]"
                case .bucketLength(let n): return "bucket names have 3 to 63 characters (this one has \(n))"
                case .bucketCharacter(let c):
                    return "bucket names use only lower-case letters, digits, '.' and '-' (not \"\(c)\")"
                case .bucketEdge: return "bucket names begin and end with a lower-case letter or digit"
                }
            }
        }

        /// The text that was parsed (or the bucket name given).
        public let text: String
        /// What is wrong with it.
        public let problem: Problem

        /// `text: problem`, e.g. `s3://ab/x: bucket names have 3 to 63 characters (this one has 2)`.
        public var description: String { "\(text): \(problem)" }
    }

    /// A location in `bucket`.
    ///
    /// - Throws: `ParseError` when `bucket` breaks the naming rule (checked lightly:
    ///   length, characters, first and last character; not the IP-address or `xn--` rules).
    public init(bucket: String, key: String = "") throws(ParseError) {
        if let problem = Self.bucketNameProblem(bucket) { throw ParseError(text: bucket, problem: problem) }
        self.bucket = bucket
        self.key = key
    }

    /// Parses `s3://bucket`, `s3://bucket/` or `s3://bucket/key`.
    ///
    /// - Throws: `ParseError` saying what is wrong: no `s3://`, or a bucket name
    ///   that breaks the naming rule.
    public init(parsing text: some StringProtocol) throws(ParseError) {
        guard text.hasPrefix("s3://") else { throw ParseError(text: String(text), problem: .notS3) }
        let rest = text.dropFirst(5)
        let bucket = rest.prefix { $0 != "/" }
        if let problem = Self.bucketNameProblem(bucket) { throw ParseError(text: String(text), problem: problem) }
        self.bucket = String(bucket)
        key = String(rest.dropFirst(bucket.count + 1))
    }

    /// Parses `description`; nil when it is not an S3 URI (``init(parsing:)`` says why).
    public init?(_ description: String) {
        guard let parsed = try? S3URI(parsing: description) else { return nil }
        self = parsed
    }

    /// `s3://bucket/key` (`s3://bucket/` for an empty key): parses back to this value.
    public var description: String { "s3://\(bucket)/\(key)" }

    /// This location with `suffix` added to the key: `s3://b/out/` + `SUCCESS/` → `s3://b/out/SUCCESS/`.
    /// No slash is inserted; use ``folder`` first to append below a prefix.
    public func appending(_ suffix: String) -> S3URI { S3URI(checkedBucket: bucket, key: key + suffix) }

    /// This location as a folder: the key with a trailing `/`, unless it is empty or has one
    /// (`s3://b/study` → `s3://b/study/`).
    public var folder: S3URI {
        key.isEmpty || key.hasSuffix("/") ? self : S3URI(checkedBucket: bucket, key: key + "/")
    }

    /// What is wrong with `name` as a bucket name, or nil when it follows the rule
    /// (3–63 characters of `a-z 0-9 . -`, beginning and ending with a letter or digit).
    public static func bucketNameProblem(_ name: some StringProtocol) -> ParseError.Problem? {
        guard (3...63).contains(name.count) else { return .bucketLength(name.count) }
        if let bad = name.first(where: { !($0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "." || $0 == "-")) }) {
            return .bucketCharacter(bad)
        }
        guard let first = name.first, let last = name.last, first != ".", first != "-", last != ".", last != "-" else {
            return .bucketEdge
        }
        return nil
    }

    private init(checkedBucket: String, key: String) {
        bucket = checkedBucket
        self.key = key
    }
}
