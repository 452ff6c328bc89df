import Foundation

/// What a client reads from GetImageSetMetadata's document: every SOP instance of the
/// image set (across its series) and its frames with the checksum of each resolution.
public enum ImageSetMetadataDocument {
    /// One resolution level's checksum (`PixelDataChecksumFromBaseToFullResolution` entry).
    public struct ChecksumLevel: Sendable {
        public let width: Int
        public let height: Int
        public let checksum: UInt32
    }

    /// One entry of `ImageFrames`: the frame id and its checksums, smallest resolution first.
    public struct StoredFrame: Sendable {
        public let id: String
        public let levels: [ChecksumLevel]
    }

    /// SOP Instance UID → frames, for the document `json`; empty when it is not the documented shape.
    public static func instances(_ json: [UInt8]) -> [String: [StoredFrame]] {
        guard let meta = (try? JSONSerialization.jsonObject(with: Data(json))) as? [String: Any],
              let series = (meta["Study"] as? [String: Any])?["Series"] as? [String: Any] else { return [:] }
        var out: [String: [StoredFrame]] = [:]
        for case let s as [String: Any] in series.values {
            for (sop, value) in s["Instances"] as? [String: Any] ?? [:] {
                out[sop] = ((value as? [String: Any])?["ImageFrames"] as? [[String: Any]] ?? []).map { f in
                    StoredFrame(id: f["ID"] as? String ?? "",
                                levels: (f["PixelDataChecksumFromBaseToFullResolution"] as? [[String: Any]] ?? []).map { l in
                                    ChecksumLevel(width: l["Width"] as? Int ?? 0, height: l["Height"] as? Int ?? 0,
                                                  checksum: UInt32(truncatingIfNeeded: (l["Checksum"] as? Int) ?? -1))
                                })
                }
            }
        }
        return out
    }
}
