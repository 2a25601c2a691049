import Testing
@Test func placeholderPodioSimulatorTests() { #expect(Bool(true)) }
