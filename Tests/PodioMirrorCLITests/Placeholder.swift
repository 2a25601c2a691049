import Testing
@Test func placeholderPodioMirrorCLITests() { #expect(Bool(true)) }
