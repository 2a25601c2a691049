import ArgumentParser
import Foundation
import PodioSimulator

/// Serves the Podio simulator on loopback until SIGINT or SIGTERM.
@main
struct SimulatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podio-simulator",
        abstract: "Serve a strict fake of the Podio API on 127.0.0.1 with seeded data.",
        discussion: "Prints one line with the base URL once ready. Control API under /_sim/ (see docs/simulator.md)."
    )

    @Option(help: "TCP port on 127.0.0.1 (0 = any free port).")
    var port: Int = 8089

    @Option(help: "Seed of the generated dataset and tokens.")
    var seed: UInt64 = 1

    @Option(help: "Items in the largest app of the standard dataset.")
    var items: Int = 1000

    @Option(help: "OAuth client_id accepted by the token endpoint.")
    var clientID: String = "podio-mirror-dev"

    @Option(help: "OAuth client_secret accepted by the token endpoint.")
    var clientSecret: String = "sim-client-secret"

    @Option(help: "User name (e-mail) of the password grant.")
    var username: String = "demo@example.com"

    @Option(help: "Password of the password grant.")
    var password: String = "sim-password"

    @Option(help: "Calls per window in the rate-limited tier (0 = unlimited).")
    var rateLimit: Int = 250

    @Option(help: "Calls per window in the general tier (0 = unlimited).")
    var rateLimitGeneral: Int = 1000

    @Option(help: "Length of the rolling rate-limit window in seconds.")
    var rateWindow: Double = 3600

    @Option(help: "Lifetime of access tokens in seconds.")
    var tokenTTL: Int = 28800

    @Option(help: "Apps served by the undocumented GET /app/ at most (default: every active app).")
    var appListLimit: Int?
    @Flag(help: "The user has two-step verification: the password grant answers with a server_nonce and no token.")
    var twoStepVerification = false
    @Flag(help: "Accept webhook URLs on loopback hosts on any port (Podio: public hosts on 80/443 only).")
    var allowLoopbackHooks = false

    func validate() throws {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0…65535") }
        guard items >= 0 else { throw ValidationError("--items must not be negative") }
        guard rateLimit >= 0, rateLimitGeneral >= 0 else { throw ValidationError("rate limits must not be negative") }
        guard rateWindow > 0 else { throw ValidationError("--rate-window must be positive") }
        guard tokenTTL > 0 else { throw ValidationError("--token-ttl must be positive") }
        guard (appListLimit ?? 0) >= 0 else { throw ValidationError("--app-list-limit must not be negative") }
    }

    func run() async throws {
        var configuration = PodioSimulator.Configuration()
        configuration.port = port
        configuration.seed = seed
        configuration.items = items
        configuration.clientID = clientID
        configuration.clientSecret = clientSecret
        configuration.username = username
        configuration.password = password
        configuration.rateLimit = rateLimit
        configuration.rateLimitGeneral = rateLimitGeneral
        configuration.rateWindow = rateWindow
        configuration.tokenTTL = tokenTTL
        configuration.appListLimit = appListLimit
        configuration.twoStepVerification = twoStepVerification
        configuration.allowLoopbackHooks = allowLoopbackHooks

        let stop = StopSignal()
        let simulator = try await PodioSimulator.start(configuration)
        // One line, written unbuffered, so a script reading stdout sees it at once.
        FileHandle.standardOutput.write(Data("podio-simulator listening on \(simulator.baseURL)\n".utf8))
        let signal = await stop.wait()
        FileHandle.standardError.write(Data("podio-simulator: received \(signal), shutting down\n".utf8))
        try await simulator.shutdown()
    }
}
