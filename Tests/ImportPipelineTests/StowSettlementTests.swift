import DICOMweb
import ImportPipeline
import Testing

/// What each STOW-RS answer means for a file (PS3.18 Table I.2-1/I.2-2): stored with the
/// warning named, the data's refusals not retried, the service's and unconfirmed ones retried.
@Suite struct StowSettlementTests {
    @Test func failureReasonsAreTheDataOrTheService() {
        let customer: [UInt16] = [0xA900, 0xA9FF, 0xC000, 0xC122, 0x0122]
        let server: [UInt16] = [0xA700, 0xA7FF, 0x0110]
        for code in customer {
            #expect(StowDelivery.settle(.failed(reason: code, detail: "x")).kind == .customer, "\(code)")
        }
        for code in server {
            #expect(StowDelivery.settle(.failed(reason: code, detail: "x")).kind == .server, "\(code)")
        }
        #expect(StowDelivery.settle(.failed(reason: nil, detail: "HTTP 403")).kind == .server)
        let unconfirmed = StowDelivery.settle(.unconfirmed(detail: "connection reset"))
        #expect(!unconfirmed.stored && unconfirmed.kind == .server)
    }

    @Test func warningsAreNamed() {
        let s = StowDelivery.settle(.stored(warningReason: 45329))
        #expect(s.stored && s.kind == nil)
        #expect(s.warnings == ["STOW-RS WarningReason B111 FRAME_NUMBER_MISMATCH"])
        #expect(StowDelivery.settle(.stored(warningReason: nil)).warnings.isEmpty)
    }
}
