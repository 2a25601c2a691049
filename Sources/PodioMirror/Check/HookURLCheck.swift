import Foundation
import PodioAPI

/// `check --hook-url`: whether the public base URL reaches the receiver of `run --listen` (one
/// POST of a nonce that only that receiver answers), and whether Podio could call it.
struct HookURLCheck: Sendable {
    let transport: any HTTPTransport

    /// One POST to the probe path under `text`: whether it reaches the receiver of `run --listen`.
    func run(_ text: String) async -> CheckReport.Line {
        let base: String
        do {
            base = try HookURL.validate(base: text)
        } catch {
            let classified = MirrorError(classifying: error)
            return .init(
                check: "hook url", status: .fail,
                message: classified.message.replacingOccurrences(of: "--url", with: "--hook-url"),
                fix: classified.fix, exitCode: 64)
        }
        var url = base
        while url.hasSuffix("/") { url.removeLast() }
        url += HookProbe.path
        let nonce = HookProbe.makeNonce()
        let request = TransportRequest(
            method: "POST", url: url,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("User-Agent", "podio-mirror check")],
            body: Data(HookProbe.body(nonce: nonce).utf8), timeout: 10)
        var notes: [String] = []
        if let parsed = URL(string: base) {
            let port = parsed.port ?? (parsed.scheme?.lowercased() == "https" ? 443 : 80)
            if ![80, 443].contains(port) { notes.append("Podio calls only ports 80 and 443, this URL uses \(port)") }
            if let host = parsed.host, MirrorSettings.isLoopback(host: host) {
                notes.append("\(host) is this machine: Podio cannot reach it")
            }
        }
        do {
            let response = try await transport.send(request)
            let body = String(decoding: response.body.prefix(512), as: UTF8.self)
                .trimmingCharacters(in: .whitespacesAndNewlines)
            guard response.status == 200, body == HookProbe.answer(nonce: nonce) else {
                return .init(
                    check: "hook url", status: .fail,
                    message:
                        "\(base) answered HTTP \(response.status), not as the receiver of `podio-mirror run --listen`",
                    fix:
                        "point the proxy or tunnel behind the URL at the address of `run --listen` (and forward POSTs to \(HookURL.prefix)…)",
                    exitCode: 69)
            }
            let extra = notes.isEmpty ? "" : " (note: " + notes.joined(separator: "; ") + ")"
            return .init(
                check: "hook url", status: notes.isEmpty ? .ok : .warning,
                message: "a POST to \(base)\(HookURL.prefix)… reaches the receiver of `run --listen`\(extra)")
        } catch {
            let reason = (error as? TransportError)?.message ?? "\(error)"
            return .init(
                check: "hook url", status: .fail, message: "no answer from \(base): \(reason)",
                fix:
                    "start `podio-mirror run --listen HOST:PORT` and make the URL reach it (a reverse proxy or a tunnel)",
                exitCode: 69)
        }
    }
}
