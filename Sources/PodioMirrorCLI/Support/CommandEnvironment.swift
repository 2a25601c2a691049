import Logging
import PodioAPI
import PodioMirror
import Synchronization

/// What a command shares for the whole process: one HTTP client for Podio and the mirror's
/// database (`Mirror`), each made when first needed and closed once, when the command ends
/// (`CommandRunner.execute`).
enum CommandEnvironment {
    private static let state = Mutex<(client: AsyncHTTPClientTransport?, mirrors: [Mirror])>((nil, []))

    /// The process's HTTP client (the first caller's read timeout, `PODIO_REQUEST_TIMEOUT`).
    static func transport(_ settings: MirrorSettings) -> any HTTPTransport {
        state.withLock { state in
            if let client = state.client { return client }
            let client = AsyncHTTPClientTransport(readTimeout: settings.requestTimeout)
            state.client = client
            return client
        }
    }

    /// A command's mirror of the database: one connection, made when first needed.
    static func mirror(_ settings: MirrorSettings, logger: Logger) -> Mirror {
        keep(Mirror(settings: settings, logger: logger))
    }

    /// `run`'s mirror for its short questions (`Mirror.listener`).
    static func listenerMirror(_ settings: MirrorSettings, logger: Logger) -> Mirror {
        keep(Mirror.listener(settings: settings, logger: logger))
    }

    private static func keep(_ mirror: Mirror) -> Mirror {
        state.withLock { $0.mirrors.append(mirror) }
        return mirror
    }

    /// Closes the mirrors' connections and shuts the HTTP client down.
    static func close() async {
        let (client, mirrors) = state.withLock { state in
            defer { state = (nil, []) }
            return state
        }
        for mirror in mirrors { await mirror.close() }
        try? await client?.shutdown()
    }
}
