import DICOMCore
import Foundation
import Uploader

/// A QIDO-RS resource (PS3.18 §10.6.1): what a search returns, one object per match.
public enum QueryLevel: String, Sendable, Hashable, CaseIterable, Codable {
    /// `GET {base}/studies`.
    case studies
    /// `GET {base}/studies/{study}/series` (HealthImaging needs the study).
    case series
    /// `GET {base}/studies/{study}/series/{series}/instances` (HealthImaging needs both).
    case instances
}

/// One QIDO-RS search (PS3.18 §8.3.4, §10.6): the level, the study and series it is within,
/// the matching keys and the extra fields to return. Paging (`limit`, `offset`) is given to
/// ``DICOMwebClient/search(_:limit:offset:)`` or done by ``DICOMwebClient/searchAll(_:pageSize:maxResults:offset:)``.
public struct SearchQuery: Sendable, Hashable {
    /// The level searched.
    public var level: QueryLevel
    /// The study searched within (required for `.series` and `.instances`).
    public var study: String?
    /// The series searched within (required for `.instances`).
    public var series: String?
    /// Matching keys, sent as `key=value` in order: the key is a keyword (`PatientID`), a tag
    /// (`00100020`) or a dotted sequence path; the value may use `*` and `?` wildcards,
    /// a `-` range for dates and times, or a `,` list of UIDs (PS3.18 §8.3.4.1).
    public var matches: [Match]
    /// `includefield=` values, one parameter each (keywords, tags, or `all`).
    public var includeFields: [String]
    /// `fuzzymatching=true|false` (person names only), when set.
    public var fuzzyMatching: Bool?

    /// One `key=value` matching key.
    public struct Match: Sendable, Hashable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) {
            self.key = key
            self.value = value
        }
    }

    public init(level: QueryLevel, study: String? = nil, series: String? = nil, matches: [Match] = [],
                includeFields: [String] = [], fuzzyMatching: Bool? = nil) {
        self.level = level
        self.study = study
        self.series = series
        self.matches = matches
        self.includeFields = includeFields
        self.fuzzyMatching = fuzzyMatching
    }

    /// Why `key` cannot name an attribute: every dotted component must be a keyword of the
    /// standard dictionary or 8 hexadecimal digits (servers ignore parameters they do not know,
    /// so a misspelt key would silently match everything). Nil when it is fine.
    public static func keyProblem(_ key: String) -> String? {
        if key.isEmpty { return "an empty attribute name" }
        for part in key.split(separator: ".", omittingEmptySubsequences: false) {
            let s = String(part)
            if s.count == 8, s.allSatisfy(\.isHexDigit) { continue }
            if StandardDictionary.entry(forKeyword: s) != nil { continue }
            return "\(s.debugDescription) is neither a DICOM keyword nor a tag (GGGGEEEE)"
        }
        return nil
    }
}

/// One page of QIDO-RS results.
public struct SearchPage: Sendable {
    /// The matches on this page.
    public var objects: [DICOMJSONObject]
    /// True when the server said more matches remain (`Warning: 299`, PS3.18 §8.3.4.4.1) even
    /// though the page is shorter than asked.
    public var moreAvailable: Bool

    public init(objects: [DICOMJSONObject], moreAvailable: Bool) {
        self.objects = objects
        self.moreAvailable = moreAvailable
    }
}

/// Every page of a search, collected.
public struct SearchResults<Element: Sendable>: Sendable {
    /// The matches, in the server's order.
    public var objects: [Element]
    /// True when collecting stopped at `maxResults`: there may be more matches
    /// (HealthImaging returns at most 10,000 records for any search).
    public var reachedLimit: Bool
    /// The requests made.
    public var pages: Int
}

extension DICOMwebClient {
    /// The most records a HealthImaging QIDO-RS search returns, over all its pages.
    public static let healthImagingMaximumResults = 10_000
    /// The largest `limit` HealthImaging takes for one page.
    public static let healthImagingMaximumPageSize = 1_000

    /// The request path of a search.
    /// - Throws: ``DICOMwebError/invalidArgument(_:)`` when the level needs a study or series that is missing or not a UID.
    public func searchPath(_ query: SearchQuery) throws -> String {
        switch query.level {
        case .studies:
            return path()
        case .series:
            guard let study = query.study else { throw DICOMwebError.invalidArgument("a series search is within a study: give its Study Instance UID") }
            try Self.checkUID(study, "Study Instance UID")
            return path(study: study) + "/series"
        case .instances:
            guard let study = query.study, let series = query.series else {
                throw DICOMwebError.invalidArgument("an instance search is within a series: give its Study and Series Instance UIDs")
            }
            try Self.checkUID(study, "Study Instance UID")
            try Self.checkUID(series, "Series Instance UID")
            return path(study: study, series: series) + "/instances"
        }
    }

    /// One QIDO-RS request (PS3.18 §10.6): `limit` and `offset` as given (nil: the server's default).
    /// Values are percent-encoded, except the wildcard `*`, `?` and the list separator `,`, which
    /// RFC 3986 allows in a query and some servers (Orthanc) match only literally.
    /// A 204 answer and a 200 with `[]` both mean no match.
    /// - Throws: ``DICOMwebError`` (400 for a bad parameter, 413 for a search too broad, …;
    ///   `.invalidAnswer` for a body that is not a DICOM JSON array).
    public func searchPage(_ query: SearchQuery, limit: Int? = nil, offset: Int = 0) async throws -> SearchPage {
        let resource = "\(query.level.rawValue)" + (query.study.map { " of study \($0)" } ?? "")
        var parameters: [(String, String?)] = query.matches.map { ($0.key, $0.value) }
        for field in query.includeFields { parameters.append(("includefield", field)) }
        if let fuzzy = query.fuzzyMatching { parameters.append(("fuzzymatching", fuzzy ? "true" : "false")) }
        if let limit { parameters.append(("limit", String(limit))) }
        if offset > 0 { parameters.append(("offset", String(offset))) }
        var request = AWSRequest(operation: "QIDO-RS search", method: "GET", path: try searchPath(query), query: parameters,
                                 headers: [("Accept", MediaType.dicomJSON)])
        request.literalQueryCharacters = "*?,"
        let response = try await send(request, resource: resource)
        let objects: [DICOMJSONObject]
        do {
            objects = response.status == 204 ? [] : try DICOMJSONObject.decodeArray(response.body)
        } catch {
            throw DICOMwebError.invalidAnswer(operation: request.operation, resource: resource, reason: "not a DICOM JSON array: \(error)")
        }
        let more = response.headers["Warning"].contains { $0.hasPrefix("299") && $0.lowercased().contains("additional results") }
        return SearchPage(objects: objects, moreAvailable: more)
    }

    /// One QIDO-RS request's matches (see ``searchPage(_:limit:offset:)``).
    public func search(_ query: SearchQuery, limit: Int? = nil, offset: Int = 0) async throws -> [DICOMJSONObject] {
        try await searchPage(query, limit: limit, offset: offset).objects
    }

    /// Every match of a search, page by page (``collectPages(pageSize:maxResults:offset:fetch:)``):
    /// pages of `pageSize` (HealthImaging takes at most 1,000), at most `maxResults` in all
    /// (HealthImaging returns at most 10,000; ``SearchResults/reachedLimit`` says when that stopped it).
    public func searchAll(_ query: SearchQuery, pageSize: Int = DICOMwebClient.healthImagingMaximumPageSize,
                          maxResults: Int = DICOMwebClient.healthImagingMaximumResults, offset: Int = 0) async throws
        -> SearchResults<DICOMJSONObject> {
        try await Self.collectPages(pageSize: pageSize, maxResults: maxResults, offset: offset) { offset, limit in
            let page = try await searchPage(query, limit: limit, offset: offset)
            return (page.objects, page.moreAvailable)
        }
    }

    /// Follows `offset` from page to page. Each request asks for `min(pageSize, maxResults - collected)`
    /// records; it stops
    /// - when a page is shorter than asked and the server did not say more remain (the last page),
    /// - when a page is empty,
    /// - when a page is longer than asked (a server that ignores `limit` sent everything at once),
    /// - at `maxResults` records (``SearchResults/reachedLimit`` true: there may be more).
    /// `fetch(offset, limit)` makes one request.
    public static func collectPages<T: Sendable>(pageSize: Int, maxResults: Int, offset: Int = 0,
                                                 fetch: (_ offset: Int, _ limit: Int) async throws -> (objects: [T], moreAvailable: Bool))
        async throws -> SearchResults<T> {
        precondition(pageSize > 0 && maxResults >= 0, "pageSize must be positive and maxResults not negative")
        var collected: [T] = [], pages = 0
        var next = offset
        while collected.count < maxResults {
            let asked = min(pageSize, maxResults - collected.count)
            let page = try await fetch(next, asked)
            pages += 1
            collected += page.objects.prefix(maxResults - collected.count)
            next += page.objects.count
            if page.objects.isEmpty || page.objects.count > asked || (page.objects.count < asked && !page.moreAvailable) {
                return SearchResults(objects: collected, reachedLimit: false, pages: pages)
            }
        }
        return SearchResults(objects: collected, reachedLimit: true, pages: pages)
    }
}
