import Dispatch
import Foundation

/// SIGINT / SIGTERM turned into an async wait (dispatch sources, so the default handlers
/// do not kill the process). Installed before the server starts, so no signal is missed.
struct StopSignal {
    private let stream: AsyncStream<String>
    private let sources: [any DispatchSourceSignal]

    init() {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        var sources: [any DispatchSourceSignal] = []
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(name) }
            source.resume()
            sources.append(source)
        }
        self.stream = stream
        self.sources = sources
    }

    /// Returns the name of the first signal received.
    func wait() async -> String {
        defer { sources.forEach { $0.cancel() } }
        for await name in stream {
            return name
        }
        return "end of signals"
    }
}
