import Foundation
import PodioSimulator
import Testing

/// A simulator that accepts loopback hooks, a receiver and a user token.
struct HookBench: Sendable {
    let sim: SimHarness
    let receiver: HookReceiver
    let token: String

    var app: Int { sim.projects }

    func create(_ type: String, url: String? = nil, app: Int? = nil) async throws -> Reply {
        try await sim.json(
            "/hook/app/\(app ?? self.app)/", ["url": url ?? receiver.url + "/hook", "type": type], token: token)
    }

    /// A hook verified through its `hook.verify` POST, as a client would do it.
    func activeHook(_ type: String, url: String? = nil, app: Int? = nil) async throws -> Int {
        let reply = try await create(type, url: url, app: app)
        #expect(reply.status == 200, "\(reply.text)")
        let hookID = try #require(reply.object["hook_id"] as? Int)
        let posts = try await receiver.wait {
            $0.contains { $0.type == "hook.verify" && $0.value("hook_id") == String(hookID) }
        }
        let verify = try #require(posts.last { $0.type == "hook.verify" && $0.value("hook_id") == String(hookID) })
        let validated = try await sim.json(
            "/hook/\(hookID)/verify/validate", ["code": verify.value("code") ?? ""], token: token)
        #expect(validated.status == 204, "\(validated.text)")
        return hookID
    }

    /// Waits until the simulator counted `count` delivery outcomes (delivered + failed) in all.
    func settle(_ count: Int, seconds: Double = 5) async throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if outcomes >= count { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("only \(outcomes) of \(count) deliveries settled")
    }

    var outcomes: Int { sim.simulator.hooks().reduce(0) { $0 + $1.delivered + $1.failed } }

    func info(_ hookID: Int) -> PodioSimulator.HookInfo? {
        sim.simulator.hooks().first { $0.hookID == hookID }
    }
}

func withHookBench(
    _ adjust: (inout PodioSimulator.Configuration) -> Void = { _ in },
    _ body: (HookBench) async throws -> Void
) async throws {
    let receiver = try await HookReceiver.start()
    do {
        try await withSimulator({ config in
            config.items = 20
            config.allowLoopbackHooks = true
            adjust(&config)
        }) { sim in
            try await body(HookBench(sim: sim, receiver: receiver, token: try await sim.userToken()))
        }
    } catch {
        await receiver.stop()
        throw error
    }
    await receiver.stop()
}
