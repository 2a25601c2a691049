import Testing
@Test func placeholderPodioAPITests() { #expect(Bool(true)) }
