import Testing

@testable import PodioMirrorCLI

/// The words a setting's documented default is written in (`off`, `never`) mean "unset" when
/// given as its value, as docs/configuration.md shows them; before, `PODIO_METRICS_FILE=off`
/// wrote a file named `off` and `PODIO_RESYNC_EVERY=never` was refused.
@Suite("Setting words")
struct SettingWordsTests {
    @Test func offAndNeverUnsetTheSettingsWhoseDefaultTheyAre() throws {
        let global = try GlobalOptions.parse([])
        #expect(try global.value("PODIO_METRICS_FILE", option: "off") == nil)
        #expect(try global.value("PODIO_METRICS_FILE", option: "OFF") == nil)
        #expect(try global.value("PODIO_LISTEN", option: "off") == nil)
        #expect(try global.value("PODIO_RESYNC_EVERY", option: "never") == nil)
        #expect(
            try global.value("PODIO_METRICS_FILE", option: "/var/lib/node/podio.prom") == "/var/lib/node/podio.prom")
        // A setting whose default is another word keeps the value as given.
        #expect(try global.value("PODIO_MAX_WAIT", option: "off") == "off")
    }
}
