import Foundation
import PodioSimulator
import Testing

@Suite("Webhooks: delivery faults and the inactive quirk")
struct HookFaultTests {
    /// Item ids whose item.create was delivered when 20 items are made under `faults`.
    private func deliveredCreates(_ faults: PodioSimulator.HookFaults) async throws -> (
        ids: [String], info: PodioSimulator.HookInfo?
    ) {
        var result: ([String], PodioSimulator.HookInfo?) = ([], nil)
        try await withHookBench { bench in
            let hookID = try await bench.activeHook("item.create")
            bench.sim.simulator.setHookFaults(faults)
            for _ in 0..<20 { try bench.sim.simulator.createItem(appID: bench.app) }
            let info = try #require(bench.info(hookID))
            try await bench.settle(20 - info.dropped + info.duplicated)
            result = (bench.receiver.events.compactMap { $0.value("item_id") }, bench.info(hookID))
        }
        return result
    }

    @Test func dropsAreSeededAndCounted() async throws {
        let faults = PodioSimulator.HookFaults(dropRate: 0.5, seed: 7)
        let first = try await deliveredCreates(faults)
        let second = try await deliveredCreates(faults)
        let dropped = try #require(first.info?.dropped)
        #expect(dropped > 0 && dropped < 20)
        #expect(first.ids.count == 20 - dropped)
        #expect(first.info?.delivered == 20 - dropped)
        #expect(Set(first.ids) == Set(second.ids), "the same seed drops the same deliveries")
        let other = try await deliveredCreates(PodioSimulator.HookFaults(dropRate: 0.5, seed: 8))
        #expect(Set(other.ids) != Set(first.ids), "another seed drops others")
    }

    @Test func duplicatesArriveTwice() async throws {
        let run = try await deliveredCreates(PodioSimulator.HookFaults(duplicateRate: 1, seed: 3))
        #expect(run.info?.duplicated == 20)
        #expect(run.ids.count == 40)
        #expect(Dictionary(grouping: run.ids, by: { $0 }).values.allSatisfy { $0.count == 2 })
    }

    @Test func reorderHoldsAWindowAndReleasesItShuffled() async throws {
        try await withHookBench { bench in
            let sim = bench.sim.simulator
            let hookID = try await bench.activeHook("item.create")
            sim.setHookFaults(PodioSimulator.HookFaults(reorderWindow: 8, reorderHoldMilliseconds: 60_000, seed: 5))
            var made: [Int] = []
            for _ in 0..<7 { made.append(try sim.createItem(appID: bench.app)) }
            // Held: nothing goes out until the window fills.
            let held = try await bench.sim.send(.GET, "/_sim/hooks")
            #expect(held.object["held"] as? Int == 7)
            #expect(bench.outcomes == 0)
            made.append(try sim.createItem(appID: bench.app))
            try await bench.settle(8)
            #expect(bench.info(hookID)?.delivered == 8)
            #expect(Set(bench.receiver.events.compactMap { $0.value("item_id").flatMap(Int.init) }) == Set(made))
            // A partial window goes out once its hold time passed.
            sim.setHookFaults(PodioSimulator.HookFaults(reorderWindow: 8, reorderHoldMilliseconds: 30, seed: 5))
            try sim.createItem(appID: bench.app)
            try await bench.settle(9)
        }
    }

    @Test func delayedDeliveriesStillArrive() async throws {
        try await withHookBench { bench in
            let hookID = try await bench.activeHook("item.create")
            #expect(
                try await bench.sim.json("/_sim/hooks", ["delay_min_ms": 20, "delay_max_ms": 80, "seed": 2]).status
                    == 204)
            for _ in 0..<5 { try bench.sim.simulator.createItem(appID: bench.app) }
            #expect(bench.outcomes == 0, "nothing is sent before its delay")
            try await bench.settle(5)
            #expect(bench.info(hookID)?.delivered == 5)
        }
    }

    @Test func failuresAreCountedAndTheQuirkTurnsTheHookInactive() async throws {
        try await withHookBench { bench in
            let sim = bench.sim.simulator
            let hookID = try await bench.activeHook("item.update")
            sim.setQuirks(PodioSimulator.Quirks(hookFailuresToInactive: 3))
            bench.receiver.answer(with: 500)
            let itemID = try sim.createItem(appID: bench.app)
            for _ in 0..<2 { try sim.editItem(itemID: itemID) }
            try await bench.settle(2)
            #expect(bench.info(hookID)?.failed == 2)
            #expect(bench.info(hookID)?.status == "active", "two failures in a row are not enough")
            try sim.editItem(itemID: itemID)
            try await bench.settle(3)
            #expect(bench.info(hookID)?.status == "inactive")
            let listed = try await bench.sim.get("/hook/app/\(bench.app)/", token: bench.token).array
            #expect(listed.first?["status"] as? String == "inactive")
            bench.receiver.answer(with: 200)
            try sim.editItem(itemID: itemID)
            #expect(
                bench.info(hookID)?.failed == 3 && bench.info(hookID)?.delivered == 0, "an inactive hook gets nothing")
        }
    }

    @Test func withoutTheQuirkFailuresKeepTheHookActive() async throws {
        try await withHookBench { bench in
            let sim = bench.sim.simulator
            let hookID = try await bench.activeHook("item.create")
            bench.receiver.answer(with: 503)
            for _ in 0..<4 { try sim.createItem(appID: bench.app) }
            try await bench.settle(4)
            #expect(bench.info(hookID)?.failed == 4)
            #expect(bench.info(hookID)?.status == "active")
        }
    }

    @Test func aRefusedConnectionIsAFailedDelivery() async throws {
        // Nothing listens on port 1 (a privileged port): the connection is refused.
        // The HTTP client retries a refused connection until the delivery's deadline.
        let deadURL = "http://127.0.0.1:1/hook"
        try await withHookBench({ $0.hookTimeout = 0.3 }) { bench in
            let reply = try await bench.create("item.create", url: deadURL)
            let hookID = try #require(reply.object["hook_id"] as? Int)
            try bench.sim.simulator.setHookActive(hookID: hookID, true)
            try bench.sim.simulator.createItem(appID: bench.app)
            try await bench.settle(1)
            #expect(bench.info(hookID)?.failed == 1)
        }
    }

    @Test func markingAHookInactiveStopsItsDeliveries() async throws {
        try await withHookBench { bench in
            let hookID = try await bench.activeHook("item.create")
            #expect(try await bench.sim.json("/_sim/hooks/\(hookID)", ["status": "inactive"]).status == 204)
            try bench.sim.simulator.createItem(appID: bench.app)
            let control = try await bench.sim.send(.GET, "/_sim/hooks")
            let entry = try #require((control.object["hooks"] as? [[String: Any]])?.first)
            #expect(entry["status"] as? String == "inactive")
            #expect(entry["delivered"] as? Int == 0 && entry["dropped"] as? Int == 0)
            #expect(bench.outcomes == 0)
        }
    }

    @Test func verifyCanArriveBeforeTheCreateAnswer() async throws {
        try await withHookBench { bench in
            bench.sim.simulator.setHookFaults(PodioSimulator.HookFaults(verifyBeforeCreateAnswer: true))
            let reply = try await bench.create("item.create")
            let hookID = try #require(reply.object["hook_id"] as? Int)
            // No waiting: the verify POST was answered before the create answer was written.
            let verify = try #require(bench.receiver.posts.first)
            #expect(verify.type == "hook.verify" && verify.value("hook_id") == String(hookID))
        }
    }
}
