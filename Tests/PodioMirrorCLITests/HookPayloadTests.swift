import Foundation
import Testing

@testable import PodioMirrorCLI

/// The body encodings a webhook delivery may come in (Podio documents none).
@Suite("Webhook delivery bodies")
struct HookPayloadTests {
    static let expected = ["type": "item.update", "hook_id": "98765", "item_id": "350017179", "external_id": ""]

    @Test func formMultipartAndJSONBodiesGiveTheSameFields() throws {
        let form = try HookPayload.parse(
            contentType: "application/x-www-form-urlencoded; charset=utf-8",
            body: "type=item.update&hook_id=98765&item_id=350017179&external_id=")
        #expect(form == HookPayload(format: "form", fields: Self.expected))
        let boundary = "----x1"
        let multipart =
            ["type": "item.update", "hook_id": "98765", "item_id": "350017179", "external_id": ""]
            .sorted { $0.key < $1.key }
            .map { "--\(boundary)\r\nContent-Disposition: form-data; name=\"\($0.key)\"\r\n\r\n\($0.value)\r\n" }
            .joined() + "--\(boundary)--\r\n"
        let parsed = try HookPayload.parse(
            contentType: "multipart/form-data; boundary=\"\(boundary)\"", body: multipart)
        #expect(parsed == HookPayload(format: "multipart", fields: Self.expected))
        let json = try HookPayload.parse(
            contentType: "application/json",
            body:
                #"{"type":"item.update","hook_id":98765,"item_id":"350017179","external_id":"","extra":{"a":1},"flag":true}"#
        )
        #expect(json == HookPayload(format: "json", fields: Self.expected))
        // No content type: told by the look of the body.
        #expect(try HookPayload.parse(contentType: nil, body: #"{"type":"item.update"}"#).format == "json")
        #expect(try HookPayload.parse(contentType: nil, body: "type=item.update").format == "form")
    }

    @Test func unknownOrMalformedBodiesAreToldApart() {
        #expect(throws: HookPayload.Failure.unsupported("text/plain")) {
            try HookPayload.parse(contentType: "text/plain", body: "type=item.update")
        }
        #expect(throws: HookPayload.Failure.malformed("a JSON body that is not an object")) {
            try HookPayload.parse(contentType: "application/json", body: "[1,2]")
        }
        #expect(throws: HookPayload.Failure.malformed("a multipart body without a boundary")) {
            try HookPayload.parse(contentType: "multipart/form-data", body: "")
        }
        #expect(throws: HookPayload.Failure.malformed("a multipart body that does not parse")) {
            try HookPayload.parse(contentType: "multipart/form-data; boundary=b", body: "--b\r\nno end")
        }
    }

    @Test func aPathWithATrailingSlashStillMatches() {
        let secret = String(repeating: "ab", count: 32)
        #expect(HookReceiver.matches(path: "/hooks/\(secret)/", secret: secret))
        #expect(!HookReceiver.matches(path: "/hooks/\(secret)//", secret: secret))
    }
}
