import DICOMweb
import Testing

@Suite struct StorePackingTests {
    static func item(_ n: Int, _ size: Int) -> StoreItem { StoreItem(path: "/f\(n)", size: size, sopInstanceUID: "1.2.\(n)") }

    @Test func requestsKeepToTheSizeAndCountLimitsAndALargeInstanceGoesAlone() {
        var limits = StoreLimits()
        limits.maxRequestBytes = 1000
        limits.maxInstancesPerRequest = 3
        let items = [Self.item(1, 400), Self.item(2, 400), Self.item(3, 400), Self.item(4, 5000), Self.item(5, 10),
                     Self.item(6, 10), Self.item(7, 10), Self.item(8, 10)]
        let batches = DICOMwebClient.pack(items, limits: limits)
        // 400+400 fit, a third 400 would pass 1000; the 5000-byte instance alone; then at most 3 per request.
        #expect(batches.map { $0.map(\.path) } == [["/f1", "/f2"], ["/f3"], ["/f4"], ["/f5", "/f6", "/f7"], ["/f8"]])
        #expect(DICOMwebClient.pack([], limits: limits).isEmpty)
    }
}
