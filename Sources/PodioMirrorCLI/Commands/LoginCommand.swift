import ArgumentParser
import Foundation
import PodioAPI
import PodioMirror

struct LoginCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "login",
        abstract: "OAuth2 authorization-code flow: prints the authorize URL, receives the redirect, stores the tokens.",
        discussion: """
            For API keys that have a redirect URL: register http://127.0.0.1:8765/callback (or your own
            loopback URL, given with --redirect-uri) as the key's redirect domain in Podio. After login,
            `sync` uses the stored tokens when PODIO_USERNAME and PODIO_APP_AUTH are not set.

            """ + SettingCatalog.help(for: SettingCatalog.Command.login))

    @OptionGroup var global: GlobalOptions
    @OptionGroup var podio: PodioOptions

    @Option(name: .long, help: "The redirect URL registered for the API key; must be a loopback address.")
    var redirectURI = "http://127.0.0.1:8765/callback"

    @Option(
        name: .long,
        help: "Where Podio's authorize page is (default: https://podio.com for api.podio.com, else PODIO_API_URL).")
    var authorizeURL: String?

    @Option(name: .long, help: "How long to wait for the redirect (90s, 5m).")
    var timeout = "5m"

    func run() async throws {
        try await CommandRunner.execute {
            let logger = global.logger("podio-mirror.login")
            let settings = try global.settings(podio)
            let apiKey = try settings.requireAPIKey()
            guard let redirect = URLComponents(string: redirectURI), redirect.scheme == "http",
                let host = redirect.host, ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
            else {
                throw MirrorError(
                    .usage, "--redirect-uri must be an http URL on a loopback address (127.0.0.1, localhost or ::1)",
                    fix: "register such a URL as the API key's redirect URL in Podio")
            }
            guard let waitSeconds = DurationParser.seconds(timeout), waitSeconds > 0 else {
                throw MirrorError(.usage, "--timeout must be a duration such as 90s or 5m")
            }
            let port = redirect.port ?? 80
            let path = redirect.path.isEmpty ? "/" : redirect.path
            let mirror = CommandEnvironment.mirror(settings, logger: logger)
            try await mirror.requireCurrentSchema()
            let state = (0..<4).map { _ in String(UInt64.random(in: .min ... .max), radix: 16) }.joined()
            let base = authorizeURL ?? Self.authorizeBase(apiURL: settings.apiURL)
            var authorize = URLComponents(string: base + "/oauth/authorize")
            authorize?.queryItems = [
                URLQueryItem(name: "response_type", value: "code"),
                URLQueryItem(name: "client_id", value: apiKey.clientID),
                URLQueryItem(name: "redirect_uri", value: redirectURI), URLQueryItem(name: "state", value: state),
            ]
            guard let authorizeString = authorize?.string else {
                throw MirrorError(.usage, "cannot build the authorize URL from \(base)")
            }
            let server: LoginCallbackServer
            do {
                server = try await LoginCallbackServer(
                    host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: port, path: path,
                    expectedState: state)
            } catch {
                throw MirrorError(
                    .usage, "cannot listen on \(host):\(port) for the redirect (\(error))",
                    fix: "free the port or pick another --redirect-uri")
            }
            CommandRunner.print("Open this URL in a browser and allow access:")
            CommandRunner.print(authorizeString)
            CommandRunner.print("Waiting for Podio's redirect to \(redirectURI) …")
            let outcome = try await server.waitForOutcome(timeout: waitSeconds)
            await server.close()
            switch outcome {
            case nil:
                throw MirrorError(
                    .other, "no redirect arrived within \(timeout)",
                    fix: "run `podio-mirror login` again and open the URL it prints")
            case .denied(let reason):
                throw MirrorError(.credentialsRefused, "Podio did not grant access: \(reason)")
            case .code(let code):
                let (token, identity) = try await mirror.exchangeLoginCode(
                    code, redirectURI: redirectURI, apiKey: apiKey, transport: CommandEnvironment.transport(settings))
                CommandRunner.print(
                    "logged in\(token.refID.map { " as \(token.refType ?? "user") \($0)" } ?? ""); tokens stored in the database for \(identity)"
                )
            }
        }
    }

    /// Podio's authorize page lives on podio.com, not on the API host; elsewhere (the simulator)
    /// the API URL serves it.
    static func authorizeBase(apiURL: String) -> String {
        guard let host = URLComponents(string: apiURL)?.host else { return apiURL }
        return host == "api.podio.com" ? "https://podio.com" : apiURL
    }
}
