import Foundation
import LibPQ
import PodioAPI
import PodioMirror
import PodioSimulator
import Synchronization
import TestSupport
import Testing

/// Re-verification of inactive hooks backs off per hook (1 min doubling up to 1 h, kept in
/// `podio.hooks` so `hooks install` and the worker share it, reset when the hook verifies), and
/// Podio is asked nothing while the receiver does not answer its self-check. The simulator's
/// `verifications` counter is the oracle: one per `hook.verify` Podio sent.
@Suite("Webhook re-verification backs off")
struct HookBackoffTests {
    static let apps = [PodioSimulator.AppSpec(name: "Deals", urlLabel: "deals", itemCount: 10, fields: .simple)]

    /// Whether the stub receiver answers its self-check.
    final class Receiver: Sendable {
        let answers = Mutex(true)
        func check(_ url: String) async -> Bool { answers.withLock { $0 } }
    }

    static func verifications(_ h: EngineHarness) -> [Int: Int] {
        Dictionary(
            uniqueKeysWithValues: h.simulator.hooks().filter { !$0.deleted }.map { ($0.hookID, $0.verifications) })
    }

    @Test func inactiveHooksAreAskedToVerifyAgainWithADoublingBackOffAndNotWhileTheReceiverIsDeaf() async throws {
        try await EngineHarness.with(apps: Self.apps, configure: { $0.allowLoopbackHooks = true }) { h in
            try await h.sync()
            let clock = TestClock()
            let receiver = Receiver()
            let manager = HookManager(
                settings: h.settings, transport: h.transport, clock: clock,
                receiverCheck: { await receiver.check($0) }, logger: EngineHarness.logger)
            // Nobody listens at this port: every hook stays inactive.
            let installed = try await manager.install(url: "http://127.0.0.1:9", wait: 0)
            let hookIDs = installed.compactMap(\.hookID)
            #expect(hookIDs.count == manager.eventTypes.count)
            #expect(Set(Self.verifications(h).values) == [1])  // Podio's own, at creation

            // Right after the creation, within the first minute: no request.
            clock.advance(30)
            let early = try await manager.check()
            #expect(early.lines.allSatisfy { $0.action == .backingOff }, "\(early.lines.map(\.action))")
            #expect(Set(Self.verifications(h).values) == [1])
            // A pending-only round asks Podio nothing before a back-off ends.
            h.simulator.resetStats()
            _ = try await manager.check(onlyDue: true)
            #expect(h.simulator.stats().callsByEndpoint.values.reduce(0, +) == 0)

            // The back-off ends after 1 min, then 2, then 4: one request per hook each time.
            var expected = 1
            var elapsed = 30.0
            for wait in [60.0, 120, 240] {
                clock.advance(wait - 1 - elapsed)
                elapsed = 0
                _ = try await manager.check()
                #expect(Set(Self.verifications(h).values) == [expected], "before \(wait) s")
                clock.advance(1)
                let due = try await manager.check(onlyDue: true)
                expected += 1
                #expect(Set(Self.verifications(h).values) == [expected], "after \(wait) s")
                #expect(due.lines.filter { $0.action == .verificationRequested }.count == hookIDs.count)
            }
            // Shared through the database: an install now (another process) backs off as well.
            let again = try await manager.install(url: "http://127.0.0.1:9", wait: 0)
            #expect(again.allSatisfy { $0.action == .backingOff }, "\(again.map(\.action))")
            #expect(Set(Self.verifications(h).values) == [expected])
            let stored = try await h.db.run { try MirrorStore(db: $0).hooks.hooks() }
            #expect(stored.allSatisfy { $0.verifyAttempts == 4 })
            #expect(stored.allSatisfy { $0.nextVerifyAt == clock.now().addingTimeInterval(480) })

            // The receiver stops answering its self-check: however long it waits, Podio is not
            // asked (neither a verification nor, in a pending-only round, the hook list).
            receiver.answers.withLock { $0 = false }
            clock.advance(7200)
            h.simulator.resetStats()
            let deaf = try await manager.check(onlyDue: true)
            #expect(deaf.receiverAnswered == false && deaf.lines.isEmpty)
            #expect(h.simulator.stats().callsByEndpoint.values.reduce(0, +) == 0)
            let full = try await manager.check()
            #expect(full.lines.allSatisfy { $0.action == .receiverNotAnswering })
            #expect(Set(Self.verifications(h).values) == [expected])

            // It answers again: the request is made at once, and the back-off caps at an hour.
            receiver.answers.withLock { $0 = true }
            _ = try await manager.check()
            expected += 1
            #expect(Set(Self.verifications(h).values) == [expected])
            #expect(HookManager.verifyBackoff(attempts: 20) == 3600)

            // A hook that verifies starts over: its next inactivity is asked about at once.
            let first = try #require(hookIDs.first)
            try await h.db.run { try MirrorStore(db: $0).hooks.markHookVerified(hookID: first) }
            let reset = try #require(
                try await h.db.run { try MirrorStore(db: $0).hooks.hooks() }.first { $0.hookID == first })
            #expect(reset.verifyAttempts == 0 && reset.nextVerifyAt == nil)
            _ = try await manager.check()
            #expect(Self.verifications(h)[first] == expected + 1)
        }
    }
}
