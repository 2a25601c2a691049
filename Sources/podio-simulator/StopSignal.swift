import Dispatch
import Foundation

/// Waiting for SIGINT or SIGTERM (dispatch sources, so the default handlers do not kill us).
enum StopSignal {
    /// Returns the name of the first of SIGINT / SIGTERM received.
    static func wait() async -> String {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        var sources: [any DispatchSourceSignal] = []
        for (number, name) in [(SIGINT, "SIGINT"), (SIGTERM, "SIGTERM")] {
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { continuation.yield(name) }
            source.resume()
            sources.append(source)
        }
        defer { sources.forEach { $0.cancel() } }
        for await name in stream {
            return name
        }
        return "end of signals"
    }
}
