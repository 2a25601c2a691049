import Testing
@Test func placeholderPodioMirrorTests() { #expect(Bool(true)) }
