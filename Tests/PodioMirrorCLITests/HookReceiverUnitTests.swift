import Foundation
import Testing

@testable import PodioMirrorCLI

/// The receiver's small parts, without a server.
@Suite("Webhook receiver parts")
struct HookReceiverUnitTests {
    @Test func formBodiesAreDecodedAsPodioSendsThem() {
        let form = HookReceiver.parseForm(
            "type=item.update&hook_id=98765&item_id=350017179&external_id=&note=a+b%26c&type=ignored")
        #expect(form["type"] == "item.update")
        #expect(form["hook_id"] == "98765")
        #expect(form["external_id"] == "")
        #expect(form["note"] == "a b&c")
        #expect(HookReceiver.parseForm("") == [:])
        #expect(HookReceiver.parseForm("novalue")["novalue"] == "")
    }

    @Test func thePathMustEndInTheSecret() {
        let secret = String(repeating: "0f", count: 32)
        #expect(HookReceiver.matches(path: "/hooks/\(secret)", secret: secret))
        #expect(HookReceiver.matches(path: "/podio/hooks/\(secret)", secret: secret))  // a proxy's prefix
        #expect(!HookReceiver.matches(path: "/hooks/\(secret.dropLast())", secret: secret))
        #expect(!HookReceiver.matches(path: "/hooks/\(secret)x", secret: secret))
        #expect(!HookReceiver.matches(path: "/hooks/", secret: secret))
        #expect(!HookReceiver.matches(path: "/\(secret)", secret: secret))
    }

    @Test func theRateIsBounded() {
        let bucket = TokenBucket(rate: 0.001, burst: 5)
        let taken = (0..<20).filter { _ in bucket.take() }.count
        #expect(taken == 5)
    }
}
