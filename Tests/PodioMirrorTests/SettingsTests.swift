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
        "http://api.podio.com", "http://10.0.0.1", "http://128.0.0.1", "http://127.0.0.1.nip.io", "http://localhost.example.com",
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
