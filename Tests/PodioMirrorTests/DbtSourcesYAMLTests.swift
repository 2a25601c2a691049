import Testing

@testable import PodioMirror

/// The text of `dbt-sources` without a database: quoting, Jinja escaping and thresholds (the
/// real dbt reads it in PodioMirrorCLITests/DbtSourcesTests).
@Suite("dbt sources YAML")
struct DbtSourcesYAMLTests {
    @Test func textsAreDoubleQuotedScalarsWithEscapes() {
        #expect(YAMLWriter.quoted("plain") == #""plain""#)
        #expect(YAMLWriter.quoted("a \"b\": c\\d") == #""a \"b\": c\\d""#)
        #expect(YAMLWriter.quoted("tab\there\u{1}bell\u{7}\n") == #""tab\there\u0001bell\u0007\n""#)
        #expect(YAMLWriter.quoted("\u{85}\u{2028}\u{FEFF}") == #""\u0085\u2028\uFEFF""#)
        #expect(YAMLWriter.quoted("Ünïcödé 名前 🚀") == "\"Ünïcödé 名前 🚀\"")
    }

    @Test func jinjaTagsAreEscapedAndOtherBracesKept() {
        #expect(YAMLWriter.jinjaSafe("a {b} }} c") == "a {b} }} c")
        #expect(YAMLWriter.jinjaSafe("{{ x }}") == "{{ '{' }}{{ '{' }} x }}")
        #expect(YAMLWriter.jinjaSafe("{% if %}") == "{{ '{' }}% if %}")
        #expect(YAMLWriter.jinjaSafe("{# c #}") == "{{ '{' }}# c #}")
    }

    @Test func thresholdsFollowTheSchedule() {
        func thresholds(_ every: Double) -> String {
            let s = DbtSources(tables: [], everySeconds: every)
            return "\(s.warnAfter.count) \(s.warnAfter.period), \(s.errorAfter.count) \(s.errorAfter.period)"
        }
        #expect(thresholds(60) == "30 minute, 120 minute")
        #expect(thresholds(900) == "30 minute, 120 minute")
        #expect(thresholds(3600) == "120 minute, 360 minute")
        #expect(thresholds(86_400) == "2880 minute, 144 hour")
    }

    @Test func tablesAndColumnsAreQuotedWhereSQLNeedsIt() {
        let sources = DbtSources(
            tables: [
                .init(
                    appID: 7, name: "order", description: "Ops \"Q1\" (Podio app 7)",
                    columns: [("item_id", nil), ("with space", "w: \"x\""), ("Order", nil)])
            ], everySeconds: 900)
        let yaml = sources.yaml
        #expect(yaml.contains("      - name: \"order\"\n        description: \"Ops \\\"Q1\\\" (Podio app 7)\"\n"))
        #expect(yaml.contains("          - name: \"with space\"\n            quote: true\n"))
        #expect(yaml.contains("          - name: \"Order\"\n            quote: true\n"))
        #expect(yaml.contains("          - name: \"item_id\"\n            description: \"Podio's item id"))
        #expect(yaml.contains("where app_id = 7\""))
        #expect(yaml.contains("identifier: true"))
    }
}
