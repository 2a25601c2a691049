import Foundation
import Hummingbird
import NIOCore
import PodioMirror

/// The answer to `podio-mirror check --hook-url` (`HookProbe`): 200 and the nonce echoed, with no
/// database access, no event queued and no secret needed, so that the check learns the public
/// URL reaches this receiver before any hook is installed. Anything else at the probe's path is
/// answered as any unknown path is (404, `not found`).
extension HookReceiver {
    func answerProbe(_ request: Request) async -> Response {
        let contentType = request.headers[.contentType]?.lowercased() ?? ""
        guard contentType.hasPrefix("application/x-www-form-urlencoded"),
            let body = try? await request.body.collect(upTo: 1024)
        else {
            return Self.probeAnswer(.notFound, "not found")
        }
        let form = Self.parseForm(String(buffer: body))
        guard form["type"] == HookProbe.type, let nonce = form["nonce"], HookProbe.isValidNonce(nonce) else {
            return Self.probeAnswer(.notFound, "not found")
        }
        logger.info("answered a reachability check (podio-mirror check --hook-url)")
        return Self.probeAnswer(.ok, HookProbe.answer(nonce: nonce))
    }

    private static func probeAnswer(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(
            status: status, headers: [.contentType: "text/plain; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}
