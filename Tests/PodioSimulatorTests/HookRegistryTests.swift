import Testing

@testable import PodioSimulator

@Suite("Webhooks: the seeded reorder window")
struct HookRegistryTests {
    /// The item ids in the order the registry hands them to the dispatcher.
    private func sendOrder(seed: UInt64) throws -> [String] {
        var registry = HookRegistry(seed: 1)
        let url = try HookURL.parse("http://127.0.0.1:9/h", allowLoopback: true)
        let hookID = registry.create(appID: 1, type: "item.create", url: url.target, parsed: url, now: 0)
        registry.setActive(hookID, true)
        registry.outbox.removeAll()  // the verify
        registry.setFaults(PodioSimulator.HookFaults(reorderWindow: 8, seed: seed))
        for item in 1...8 { registry.fire(appID: 1, type: "item.create", [("item_id", String(item))]) }
        return registry.outbox.compactMap { delivery in delivery.fields.first { $0.0 == "item_id" }?.1 }
    }

    @Test func aFullWindowIsReleasedInASeededOrder() throws {
        let order = try sendOrder(seed: 11)
        #expect(order.sorted() == (1...8).map(String.init).sorted())
        #expect(order != (1...8).map(String.init), "the window leaves out of order")
        #expect(try sendOrder(seed: 11) == order, "the same seed, the same order")
        #expect(try sendOrder(seed: 12) != order)
    }
}
