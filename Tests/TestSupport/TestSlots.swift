import Foundation
import Synchronization
import Testing

/// Bounds how much of the suite runs at once. Swift Testing starts every test together; on a
/// two-core machine two hundred simulators, databases and binaries starting at once starve each
/// other until timeouts fire and token lifetimes run out. Every harness (`withClient`,
/// `withSimulator`, `EngineHarness`, `CLIHarness`, the ledger's, LibPQ's and the app tables'
/// databases) takes slots here for its test's duration: a scenario that runs the binary takes
/// more, a test that measures real time (a request timeout) takes them all, so no other harness
/// runs beside it (tests of pure functions take none).
///
/// Waiters are served in order of arrival (a test that wants every slot is not starved by
/// small ones), except that tests tagged `.slow` go before the others: started last, one of them
/// would keep the suite running long after everything else is done. Harnesses never nest, so a
/// test never waits for slots it holds itself.
/// `PODIO_MIRROR_TEST_SLOTS` overrides the width (1 runs one harness at a time).
public actor TestSlots {
    public static let shared = TestSlots(
        width: ProcessInfo.processInfo.environment["PODIO_MIRROR_TEST_SLOTS"].flatMap { Int($0) } ?? 6)

    /// A test that runs the real binary against a simulator and a database.
    public static let scenario = 2
    /// A test that must not share the machine with the rest of the suite.
    public static let exclusive = Int.max

    public let width: Int
    private var used = 0
    private var waiting: [(weight: Int, early: Bool, resume: CheckedContinuation<Void, Never>)] = []

    public init(width: Int) {
        self.width = max(1, width)
    }

    private func clamp(_ weight: Int) -> Int { min(max(1, weight), width) }

    /// Waits for `weight` slots; `early` waiters are served before the others.
    public func acquire(_ weight: Int = 1, early: Bool = false) async {
        let weight = clamp(weight)
        if waiting.isEmpty && used + weight <= width {
            used += weight
            return
        }
        await withCheckedContinuation { resume in
            let place = early ? (waiting.firstIndex { !$0.early } ?? waiting.endIndex) : waiting.endIndex
            waiting.insert((weight, early, resume), at: place)
        }
    }

    public func release(_ weight: Int = 1) {
        used -= clamp(weight)
        while let first = waiting.first, used + first.weight <= width {
            waiting.removeFirst()
            used += first.weight
            first.resume.resume()
        }
    }

    /// Runs `body` holding `weight` slots of the shared gate (early when the test is `.slow`).
    public static func with<T>(weight: Int = 1, _ body: () async throws -> T) async throws -> T {
        let early = Test.current?.tags.contains(.slow) == true
        let name = trace == nil ? "" : "\(Test.current?.name ?? "?") #\(serial.add(1, ordering: .relaxed).newValue)"
        trace?("wait \(weight) \(name)")
        await shared.acquire(weight, early: early)
        trace?("start \(weight) \(name)")
        do {
            let value = try await body()
            await shared.release(weight)
            trace?("end \(weight) \(name)")
            return value
        } catch {
            await shared.release(weight)
            trace?("end \(weight) \(name) (threw)")
            throw error
        }
    }

    /// Numbers the traced waits (a parameterized test waits once per case).
    private static let serial = Atomic<Int>(0)

    /// With `PODIO_MIRROR_TEST_TIMING` set, every wait, start and end is printed (`slots <seconds
    /// since the first> wait|start|end <weight> <test> #<n>`), to find where the suite's time goes.
    private static let trace: (@Sendable (String) -> Void)? = {
        guard ProcessInfo.processInfo.environment["PODIO_MIRROR_TEST_TIMING"] != nil else { return nil }
        let origin = Date()
        return { line in
            let seconds = String(format: "%8.2f", Date().timeIntervalSince(origin))
            FileHandle.standardError.write(Data("slots \(seconds) \(line)\n".utf8))
        }
    }()
}

extension Tag {
    /// A test that takes ten seconds or more on its own (quota windows, kills, large loads):
    /// `TestSlots` starts it before the others.
    @Tag public static var slow: Tag
}
