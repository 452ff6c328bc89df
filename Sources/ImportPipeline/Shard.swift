import Crypto
import Foundation

/// One of N machines sharing a folder: a deterministic split by StudyInstanceUID, so a
/// study never spans shards and N processes (AWS Batch array jobs, Kubernetes Indexed
/// Jobs) can work one shared mount in parallel, each with its own state directory.
public struct Shard: Sendable, Hashable, CustomStringConvertible {
    /// 0-based index, `0 ..< count`.
    public let index: Int
    /// How many shards there are (≥ 1).
    public let count: Int

    /// The whole folder: one shard of one.
    public static let all = Shard(uncheckedIndex: 0, count: 1)

    private init(uncheckedIndex index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Why a shard specification is not one.
    public struct SpecError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// A shard from its index and count.
    /// - Throws: ``SpecError`` unless `0 ≤ index < count`.
    public init(index: Int, count: Int) throws(SpecError) {
        guard count >= 1, index >= 0, index < count else {
            throw SpecError(description: "shard \(index)/\(count): the index must be 0 to \(max(0, count - 1)) (0-based) and the count at least 1")
        }
        self.init(uncheckedIndex: index, count: count)
    }

    /// Parses `K/N` (0-based K, as AWS Batch and Kubernetes number their indices).
    public init(parsing text: String) throws(SpecError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0].trimmingCharacters(in: .whitespaces)),
              let n = Int(parts[1].trimmingCharacters(in: .whitespaces)) else {
            throw SpecError(description: "--shard \(text): expected K/N, e.g. 0/4")
        }
        try self.init(index: k, count: n)
    }

    /// The shard to work: `--shard K/N`; else the index from `AWS_BATCH_JOB_ARRAY_INDEX`
    /// (AWS Batch array jobs) or `JOB_COMPLETION_INDEX` (Kubernetes Indexed Jobs) with
    /// the count from `--shard-count` or `AHI_SHARD_COUNT`; else the whole folder.
    /// - Throws: ``SpecError`` for a malformed value, or an index from the environment without a count.
    public static func resolve(flag: String?, count: Int?, environment: [String: String]) throws(SpecError) -> Shard {
        if let flag, !flag.isEmpty { return try Shard(parsing: flag) }
        let variables = ["AWS_BATCH_JOB_ARRAY_INDEX", "JOB_COMPLETION_INDEX"]
        guard let name = variables.first(where: { !(environment[$0] ?? "").isEmpty }), let text = environment[name] else {
            if let count, count > 1 {
                throw SpecError(description: "--shard-count \(count) without an index: pass --shard K/\(count), or run as an AWS Batch array job or Kubernetes Indexed Job")
            }
            return .all
        }
        guard let k = Int(text) else { throw SpecError(description: "\(name)=\(text): not a number") }
        let n = count ?? environment["AHI_SHARD_COUNT"].flatMap { Int($0) }
        guard let n else {
            throw SpecError(description: "\(name)=\(k) is set but the shard count is not: pass --shard-count N (or AHI_SHARD_COUNT)")
        }
        return try Shard(index: k, count: n)
    }

    /// The shard a study belongs to: the first 8 bytes of SHA-256 of its UID, modulo `count`.
    public static func index(ofStudy uid: String, count: Int) -> Int {
        guard count > 1 else { return 0 }
        let digest = Array(SHA256.hash(data: Data(uid.utf8)))
        let value = digest.prefix(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        return Int(value % UInt64(count))
    }

    /// Whether this shard works the study.
    public func contains(study uid: String) -> Bool { count == 1 || Self.index(ofStudy: uid, count: count) == index }

    /// `K/N`.
    public var description: String { "\(index)/\(count)" }
}
