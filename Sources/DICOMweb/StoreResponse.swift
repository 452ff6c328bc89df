import DICOMCore
import Foundation

/// The answer to a STOW-RS request (PS3.18 §10.5.3, Annex I): which instances were
/// stored (ReferencedSOPSequence, with an optional WarningReason) and which failed
/// (FailedSOPSequence with FailureReason).
public struct StoreResponse: Sendable, Hashable {
    /// The study's RetrieveURL (0008,1190), if given.
    public var retrieveURL: String?
    /// The instances stored.
    public var stored: [Stored]
    /// The instances not stored.
    public var failed: [Failed]

    /// One item of ReferencedSOPSequence (0008,1199).
    public struct Stored: Sendable, Hashable, Codable {
        public var sopClassUID: String?
        public var sopInstanceUID: String
        public var retrieveURL: String?
        /// WarningReason (0008,1196): B000 coercion, B006 elements discarded, B007 data set does not
        /// match SOP Class; HealthImaging also answers its own warning codes here (0xB1xx, 0xB2xx).
        public var warningReason: UInt16?
        public init(sopClassUID: String?, sopInstanceUID: String, retrieveURL: String? = nil, warningReason: UInt16? = nil) {
            self.sopClassUID = sopClassUID
            self.sopInstanceUID = sopInstanceUID
            self.retrieveURL = retrieveURL
            self.warningReason = warningReason
        }
    }

    /// One item of FailedSOPSequence (0008,1198).
    public struct Failed: Sendable, Hashable, Codable {
        public var sopClassUID: String?
        public var sopInstanceUID: String
        /// FailureReason (0008,1197), PS3.18 Table I.2-2; nil when the server gave none.
        public var failureReason: UInt16?
        public init(sopClassUID: String?, sopInstanceUID: String, failureReason: UInt16?) {
            self.sopClassUID = sopClassUID
            self.sopInstanceUID = sopInstanceUID
            self.failureReason = failureReason
        }
    }

    public init(retrieveURL: String? = nil, stored: [Stored] = [], failed: [Failed] = []) {
        self.retrieveURL = retrieveURL
        self.stored = stored
        self.failed = failed
    }

    /// Reads a STOW-RS answer body (one DICOM JSON object). In a failed item the instance
    /// is ReferencedSOPInstanceUID (0008,1155); SOPInstanceUID (0008,0018) is accepted too,
    /// as the AWS DIMSE proxy sample reads it.
    /// - Throws: `DecodingError` when the body is not a DICOM JSON object.
    public static func parse(_ body: some Collection<UInt8>) throws -> StoreResponse {
        let o = try DICOMJSONObject.decodeObject(body)
        var r = StoreResponse(retrieveURL: o.string(.retrieveURL))
        for item in o.items(.referencedSOPSequence) {
            guard let uid = item.string(.referencedSOPInstanceUID) ?? item.string(.sopInstanceUID) else { continue }
            r.stored.append(Stored(sopClassUID: item.string(.referencedSOPClassUID), sopInstanceUID: uid,
                                   retrieveURL: item.string(.retrieveURL), warningReason: item.uint16(.warningReason)))
        }
        for item in o.items(.failedSOPSequence) {
            guard let uid = item.string(.referencedSOPInstanceUID) ?? item.string(.sopInstanceUID) else { continue }
            r.failed.append(Failed(sopClassUID: item.string(.referencedSOPClassUID), sopInstanceUID: uid,
                                   failureReason: item.uint16(.failureReason)))
        }
        return r
    }

    /// The DICOM JSON object (what a server answers); US values as decimal numbers.
    public var object: DICOMJSONObject {
        var o = DICOMJSONObject()
        if let retrieveURL { o.set(.retrieveURL, vr: "UR", [retrieveURL]) }
        o[.referencedSOPSequence] = .init(vr: "SQ", values: stored.isEmpty ? nil : stored.map { s in
            var item = DICOMJSONObject()
            if let c = s.sopClassUID { item.set(.referencedSOPClassUID, vr: "UI", [c]) }
            item.set(.referencedSOPInstanceUID, vr: "UI", [s.sopInstanceUID])
            if let u = s.retrieveURL { item.set(.retrieveURL, vr: "UR", [u]) }
            if let w = s.warningReason { item[.warningReason] = .init(vr: "US", values: [.number(Double(w))]) }
            return .item(item)
        })
        o[.failedSOPSequence] = .init(vr: "SQ", values: failed.isEmpty ? nil : failed.map { f in
            var item = DICOMJSONObject()
            if let c = f.sopClassUID { item.set(.referencedSOPClassUID, vr: "UI", [c]) }
            item.set(.referencedSOPInstanceUID, vr: "UI", [f.sopInstanceUID])
            if let r = f.failureReason { item[.failureReason] = .init(vr: "US", values: [.number(Double(r))]) }
            return .item(item)
        })
        return o
    }

    /// What a FailureReason means (PS3.18 Table I.2-2), e.g. `C122 transfer syntax not supported`.
    public static func describe(failureReason code: UInt16) -> String {
        let hex = String(format: "%04X", code)
        switch code {
        case 0x0110: return "\(hex) processing failure"
        case 0x0122: return "\(hex) SOP Class not supported"
        case 0x0124: return "\(hex) not authorized"
        case 0xC122: return "\(hex) transfer syntax not supported"
        case 0xA700...0xA7FF: return "\(hex) out of resources"
        case 0xA900...0xA9FF: return "\(hex) data set does not match SOP Class"
        case 0xC000...0xCFFF: return "\(hex) cannot understand"
        default: return "\(hex)"
        }
    }

    /// What a WarningReason means (PS3.18 Table I.2-1 and HealthImaging's warning codes),
    /// e.g. `B111 FRAME_NUMBER_MISMATCH`.
    public static func describe(warningReason code: UInt16) -> String {
        let hex = String(format: "%04X", code)
        if let w = HealthImagingWarning.allCases.first(where: { $0.code == Int(code) }) { return "\(hex) \(w.rawValue)" }
        return hex
    }
}
