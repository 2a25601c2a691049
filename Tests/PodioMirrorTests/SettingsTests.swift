import Foundation
import PodioMirror
import Testing

/// PODIO_API_URL: https anywhere, plain http only to this machine's loopback (the token
/// request carries the client secret and the password in its body).
@Suite("API URL scheme")
struct APIURLSchemeTests {
    @Test(arguments: [
        "https://api.podio.com", "https://10.0.0.1:8443/", "http://127.0.0.1:8089", "http://127.1.2.3",
        "http://localhost:8089", "http://LOCALHOST/", "http://[::1]:8089", "http://[0:0:0:0:0:0:0:1]/",
        "http://[::ffff:127.0.0.1]:80",
    ])
    func accepted(_ url: String) throws {
        let settings = try MirrorSettings.fromEnvironment(["PODIO_API_URL": url])
        #expect(settings.apiURL == url)
    }

    @Test(arguments: [
        "http://api.podio.com", "http://10.0.0.1", "http://128.0.0.1", "http://127.0.0.1.nip.io",
        "http://localhost.example.com",
        "http://[::2]", "http://[fe80::1]", "http://0.0.0.0:8089", "http://127.1", "http://[::ffff:10.0.0.1]",
    ])
    func refused(_ url: String) throws {
        do {
            _ = try MirrorSettings.fromEnvironment(["PODIO_API_URL": url])
            Issue.record("\(url) was accepted")
        } catch let error as MirrorError {
            #expect(error.category == .usage)
            #expect(error.category.exitCode == 64)
            #expect(error.description.contains("in clear"), "\(error)")
            #expect(error.description.contains("https://"), "\(error)")
        }
    }
}

/// The webhook settings: defaults, values, and a bad value named.
@Suite("Webhook settings")
struct HookSettingsTests {
    @Test func defaultsAndValues() throws {
        let defaults = try MirrorSettings.fromEnvironment([:])
        #expect(defaults.reconcileInterval == 3600 && defaults.hookDeltaThreshold == 20 && defaults.hookGrace == 30)
        let set = try MirrorSettings.fromEnvironment([
            "PODIO_RECONCILE_EVERY": "30m", "PODIO_HOOK_DELTA_AT": "50", "PODIO_HOOK_GRACE": "0s",
        ])
        #expect(set.reconcileInterval == 1800 && set.hookDeltaThreshold == 50 && set.hookGrace == 0)
    }

    @Test(arguments: [("PODIO_RECONCILE_EVERY", "soon"), ("PODIO_HOOK_DELTA_AT", "0"), ("PODIO_HOOK_GRACE", "-1")])
    func refused(_ variable: String, _ value: String) throws {
        do {
            _ = try MirrorSettings.fromEnvironment([variable: value])
            Issue.record("\(variable)=\(value) was accepted")
        } catch let error as MirrorError {
            #expect(error.category == .usage)
            #expect(error.message.hasPrefix(variable), "\(error)")
        }
    }
}

/// The webhook URL: a base URL checked, the secret added and redacted.
@Suite("Webhook URL")
struct HookURLTests {
    @Test func theSecretIsRandomLongAndRedacted() throws {
        let a = HookURL.generateSecret()
        let b = HookURL.generateSecret()
        #expect(a.count == 64 && a != b && a.allSatisfy(\.isHexDigit))
        let full = HookURL.full(base: "https://mirror.example.com/", secret: a)
        #expect(full == "https://mirror.example.com/hooks/\(a)")
        #expect(
            HookURL.redact("Podio refused \(full)", secret: a)
                == "Podio refused https://mirror.example.com/hooks/<secret>")
    }

    @Test(arguments: [
        "mirror.example.com", "ftp://mirror.example.com", "https://mirror.example.com/?a=1",
        "https://u:p@mirror.example.com",
    ])
    func refusedBaseURLs(_ url: String) {
        #expect(throws: MirrorError.self) { try HookURL.validate(base: url) }
    }
}
