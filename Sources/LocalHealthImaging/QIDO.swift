import DICOMCore
import DICOMweb
import Foundation

/// QIDO-RS matching (PS3.18 §8.3.4, PS3.4 C.2.2.2) on DICOM JSON attributes: single values,
/// `*`/`?` wildcards (case-insensitive for PN, on the Alphabetic group), UID lists
/// (comma-separated), DA/TM/DT ranges with open ends, and universal matching for an empty value.
enum QIDOMatch {
    /// True when `attribute` (nil: absent) matches the query `value` for an attribute of `vr`.
    static func matches(_ attribute: DICOMJSONObject.Attribute?, vr: String, value: String) -> Bool {
        if value.isEmpty || value.allSatisfy({ $0 == "*" }) { return true }
        let values = attribute?.Value?.compactMap(\.text) ?? []
        return values.contains { matches(text: $0, vr: vr, value: value) }
    }

    /// One stored value against the query value.
    static func matches(text: String, vr: String, value: String) -> Bool {
        let stored = text.trimmingCharacters(in: .whitespaces)
        if vr == "UI" && value.contains(",") {
            return value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces) == stored }
        }
        if ["DA", "TM", "DT"].contains(vr), value.contains("-") {
            return inRange(stored, value, vr: vr)
        }
        let caseless = vr == "PN"
        if value.contains("*") || value.contains("?") {
            return wildcard(Array(caseless ? value.lowercased() : value), Array(caseless ? stored.lowercased() : stored))
        }
        return caseless ? stored.lowercased() == value.lowercased() : stored == value
    }

    /// `*` any run (also empty), `?` one character.
    static func wildcard(_ pattern: [Character], _ text: [Character]) -> Bool {
        var p = 0, t = 0, star = -1, mark = 0
        while t < text.count {
            if p < pattern.count, pattern[p] == "?" || pattern[p] == text[t] {
                p += 1; t += 1
            } else if p < pattern.count, pattern[p] == "*" {
                star = p; mark = t; p += 1
            } else if star >= 0 {
                p = star + 1; mark += 1; t = mark
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == "*" { p += 1 }
        return p == pattern.count
    }

    /// `lo-hi`, `lo-` or `-hi`, inclusive. Values compare as digits: the whole part padded to
    /// its full width and the fraction to 6 digits, with `0` for a value and a lower bound and `9`
    /// for an upper bound, so `10` covers 10:00:00 to 10:59:59.999999 and a date bound its whole day.
    static func inRange(_ stored: String, _ range: String, vr: String) -> Bool {
        guard let dash = range.firstIndex(of: "-"), !stored.isEmpty else { return false }
        let lo = String(range[..<dash]), hi = String(range[range.index(after: dash)...])
        let width = vr == "DA" ? 8 : vr == "TM" ? 6 : 14
        func norm(_ s: String, _ fill: Character) -> String {
            let parts = s.replacingOccurrences(of: ":", with: "").split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
            let whole = String(parts.first ?? ""), fraction = parts.count > 1 ? String(parts[1]) : ""
            func pad(_ t: String, _ n: Int) -> String { t.count >= n ? t : t + String(repeating: fill, count: n - t.count) }
            return vr == "DA" ? pad(whole, width) : pad(whole, width) + pad(fraction, 6)
        }
        let v = norm(stored, "0")
        if !lo.isEmpty && v < norm(lo, "0") { return false }
        if !hi.isEmpty && v > norm(hi, "9") { return false }
        return true
    }

    /// The tag of a query key: a keyword or 8 hexadecimal digits; nil otherwise.
    static func tag(_ key: String) -> Tag? {
        if key.count == 8, key.allSatisfy(\.isHexDigit), let t = Tag(parsing: Substring(key)) { return t }
        return StandardDictionary.entry(forKeyword: key)?.tag
    }

    /// The VR of a tag from the dictionary (`UN` when unknown).
    static func vr(_ tag: Tag) -> String { StandardDictionary.entry(for: tag)?.vr.rawValue ?? "UN" }
}

/// A parsed QIDO-RS query.
struct QIDOQuery {
    var filters: [(tag: Tag, value: String)] = []
    var includeAll = false
    var include: [Tag] = []
    var limit = QIDOQuery.maxLimit
    var offset = 0

    /// Default and largest page (HealthImaging's documented ceiling is uncertain; 1,000 here).
    static let maxLimit = 1000
    /// No more than this many matches are ever returned, across all pages (HealthImaging's 10,000).
    static let maxRecords = 10_000

    /// Parses the query parameters; a message for a malformed `limit`, `offset` or `includefield`.
    init(_ parameters: [(String, String)]) throws(QIDOQueryError) {
        for (key, value) in parameters {
            switch key.lowercased() {
            case "limit":
                guard let n = Int(value), n >= 0 else { throw QIDOQueryError("limit must be a number ≥ 0") }
                limit = min(n, Self.maxLimit)
            case "offset":
                guard let n = Int(value), n >= 0 else { throw QIDOQueryError("offset must be a number ≥ 0") }
                offset = n
            case "includefield":
                for field in value.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                    if field == "all" { includeAll = true; continue }
                    guard let tag = QIDOMatch.tag(field) else { throw QIDOQueryError("includefield \(field) is not a keyword or tag") }
                    include.append(tag)
                }
            case "fuzzymatching", "imagesetid", "accept", "emptyvaluematching", "multiplevaluematching": continue
            default:
                // Unknown parameters are ignored (PS3.18 §8.3.4); dotted sequence paths are not matched.
                guard let tag = QIDOMatch.tag(key) else { continue }
                filters.append((tag, value))
            }
        }
    }
}

/// Why a QIDO-RS query is refused (400).
struct QIDOQueryError: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// QIDO-RS over the primary image sets (or the `imageSetId` one): studies by last update
/// (newest first), series by SeriesNumber, instances by InstanceNumber; each record holds
/// its level's required attributes, the matched ones, the `includefield` ones and RetrieveURL.
/// `200 []` when nothing matches; `Warning: 299` when more matches remain after the page.
struct QIDOSearch: Sendable {
    let ahi: HealthImagingStore

    enum Level { case study, series, instance }

    static let studyFields: [Tag] = [.specificCharacterSet, .studyDate, .studyTime, .accessionNumber, .instanceAvailability,
                                     .modalitiesInStudy, .referringPhysicianName, .retrieveURL, .patientName, .patientID,
                                     .patientBirthDate, .patientSex, .studyInstanceUID, .studyID, .numberOfStudyRelatedSeries,
                                     .numberOfStudyRelatedInstances]
    static let seriesFields: [Tag] = [.specificCharacterSet, .modality, .seriesDescription, .retrieveURL, .studyInstanceUID,
                                      .seriesInstanceUID, .seriesNumber, .numberOfSeriesRelatedInstances, .seriesDate, .seriesTime]
    static let instanceFields: [Tag] = [.specificCharacterSet, .sopClassUID, .sopInstanceUID, .instanceAvailability, .retrieveURL,
                                        .studyInstanceUID, .seriesInstanceUID, .instanceNumber, .rows, .columns, .bitsAllocated,
                                        .numberOfFrames]

    /// Instances by InstanceNumber (missing last), then SOP Instance UID.
    static func instanceOrder(_ a: HealthImagingStore.Instance, _ aSOP: String, _ b: HealthImagingStore.Instance, _ bSOP: String) -> Bool {
        let x = number(a.dicom, "InstanceNumber"), y = number(b.dicom, "InstanceNumber")
        if x != y { return (x ?? .max) < (y ?? .max) }
        return aSOP < bSOP
    }

    /// An IS attribute of stored HealthImaging metadata text, as a number.
    static func number(_ json: String, _ keyword: String) -> Int? {
        let o = MedicalImagingAPI.object(json)
        if let n = o[keyword] as? Int { return n }
        return (o[keyword] as? String).flatMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// One result record before filtering: the attributes to match and answer with.
    private struct Record {
        var object: DICOMJSONObject
        /// The instances it stands for, in order; matching and `includefield` take the first that has an attribute.
        var members: [DICOMJSONObject]

        func attribute(_ tag: Tag) -> DICOMJSONObject.Attribute? {
            object[tag] ?? members.lazy.compactMap { $0[tag] }.first
        }
    }

    func search(_ r: HTTPRequest, datastoreId: String, level: Level, study: String?, series: String?) async -> HTTPResponse {
        let query: QIDOQuery
        do { query = try QIDOQuery(r.query) } catch { return DICOMwebAPI.error(400, error.message) }
        let base = DICOMwebAPI.base(r, datastoreId)
        var located = await ahi.located(datastoreId, imageSetId: r.queryValue("imageSetId"))
        if let study { located = located.filter { $0.study == study } }
        if let series { located = located.filter { $0.series == series } }
        var objects: [String: DICOMJSONObject] = [:]
        for l in located { objects[l.sop] = await DICOMwebRetrieve.object(ahi, l) ?? DICOMJSONObject() }
        var records: [Record] = []
        switch level {
        case .study:
            let studies = Dictionary(grouping: located, by: \.study)
            let ordered = studies.sorted { a, b in
                let x = a.value.map(\.updatedAt).max() ?? .distantPast, y = b.value.map(\.updatedAt).max() ?? .distantPast
                return x != y ? x > y : a.key < b.key
            }
            for (uid, members) in ordered {
                let sorted = members.sorted { Self.instanceOrder($0.instance, $0.sop, $1.instance, $1.sop) }
                let rep = objects[sorted[0].sop] ?? DICOMJSONObject()
                var o = Self.pick(Self.studyFields, from: rep)
                let modalities = Set(members.compactMap { objects[$0.sop]?.string(.modality) }).sorted()
                o[.modalitiesInStudy] = .init(vr: "CS", values: modalities.isEmpty ? nil : modalities.map { .string($0) })
                o[.numberOfStudyRelatedSeries] = .init(vr: "IS", values: [.number(Double(Set(members.map(\.series)).count))])
                o[.numberOfStudyRelatedInstances] = .init(vr: "IS", values: [.number(Double(members.count))])
                o.set(.retrieveURL, vr: "UR", ["\(base)/studies/\(uid)"])
                records.append(Record(object: o, members: sorted.compactMap { objects[$0.sop] }))
            }
        case .series:
            let groups = Dictionary(grouping: located) { "\($0.study)/\($0.series)" }
            var rows: [(key: Int?, uid: String, record: Record)] = []
            for (_, members) in groups {
                let sorted = members.sorted { Self.instanceOrder($0.instance, $0.sop, $1.instance, $1.sop) }
                let first = sorted[0]
                let rep = objects[first.sop] ?? DICOMJSONObject()
                var o = Self.pick(Self.seriesFields, from: rep)
                o[.numberOfSeriesRelatedInstances] = .init(vr: "IS", values: [.number(Double(members.count))])
                o.set(.retrieveURL, vr: "UR", ["\(base)/studies/\(first.study)/series/\(first.series)"])
                rows.append((rep.string(.seriesNumber).flatMap { Int($0) }, first.series,
                             Record(object: o, members: sorted.compactMap { objects[$0.sop] })))
            }
            rows.sort { $0.key != $1.key ? ($0.key ?? .max) < ($1.key ?? .max) : $0.uid < $1.uid }
            records = rows.map(\.record)
        case .instance:
            let sorted = located.sorted { a, b in
                a.series != b.series && series == nil ? a.series < b.series : Self.instanceOrder(a.instance, a.sop, b.instance, b.sop)
            }
            for l in sorted {
                let rep = objects[l.sop] ?? DICOMJSONObject()
                var o = Self.pick(Self.instanceFields, from: rep)
                var url = "\(base)/studies/\(l.study)/series/\(l.series)/instances/\(l.sop)"
                if !l.isPrimary { url += "?imageSetId=\(l.imageSetId)" }
                o.set(.retrieveURL, vr: "UR", [url])
                records.append(Record(object: o, members: [rep]))
            }
        }
        let matched = records.filter { record in
            query.filters.allSatisfy { f in
                let attribute = record.attribute(f.tag)
                return QIDOMatch.matches(attribute, vr: attribute?.vr ?? QIDOMatch.vr(f.tag), value: f.value)
            }
        }.prefix(QIDOQuery.maxRecords)
        let page = matched.dropFirst(query.offset).prefix(query.limit)
        let objectsOut = page.map { record -> DICOMJSONObject in
            var o = record.object
            let extra = query.includeAll ? (record.members.first?.attributes.keys.compactMap { Tag(parsing: Substring($0)) } ?? [])
                                         : query.include + query.filters.map(\.tag)
            for tag in extra where o[tag] == nil && tag != .pixelData {
                if let a = record.attribute(tag), a.BulkDataURI == nil, a.InlineBinary == nil { o[tag] = a }
            }
            return o
        }
        var response = DICOMwebRetrieve.jsonArray(Array(objectsOut))
        let remaining = matched.count - query.offset - page.count
        if remaining > 0 {
            response.headers.append(("Warning", "299 ahi-local \"\(remaining) more results: ask with offset=\(query.offset + page.count)\""))
        }
        return response
    }

    /// The listed attributes of `object`, each present (empty with its dictionary VR when the instance has none).
    static func pick(_ tags: [Tag], from object: DICOMJSONObject) -> DICOMJSONObject {
        var o = DICOMJSONObject()
        for tag in tags { o[tag] = object[tag] ?? .init(vr: QIDOMatch.vr(tag), values: nil) }
        if tags.contains(.instanceAvailability) { o.set(.instanceAvailability, vr: "CS", ["ONLINE"]) }
        return o
    }
}
