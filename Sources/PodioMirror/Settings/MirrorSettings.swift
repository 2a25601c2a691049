import Foundation
import PodioAPI

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Everything a run needs to know, read from the environment (docs/configuration.md, made from `SettingCatalog`).
public struct MirrorSettings: Sendable {
    public var databaseURL: String?
    public var apiURL: String = "https://api.podio.com"
    public var apiKey: PodioAPIKey?
    /// The user identity: the password flow, or tokens stored by `login`.
    public var userCredentials: PodioCredentials?
    /// App authentication: app id → app token.
    public var appTokens: [Int: String] = [:]
    /// Apps to mirror; nil means every app the credentials see.
    public var apps: [Int]?
    public var quota = QuotaPolicy()
    public var requestTimeout: Double = 60
    public var retry = RetryPolicy()
    /// How far before the high-water mark a delta starts reading again (clock skew, ties).
    public var deltaOverlap: Double = 300
    /// How long a gap between Podio's item count and the mirror's that an ID sweep explained
    /// (items the credentials cannot list) goes without another sweep.
    public var sweepInterval: Double = 86_400
    /// Keep the state an item had before a sync writes a newer revision (`podio.item_versions`).
    public var history = true
    /// Mirror the comments of items whose comments moved (`podio.comments`; general-tier calls).
    public var comments = true
    /// Where to download the attached files (`PODIO_FILES`); nil: no downloads.
    public var filesDirectory: String?
    /// Podio's own revisions of items, for these apps (`PODIO_DEEP_HISTORY`; general-tier calls).
    public var deepHistory: DeepHistorySetting = .off
    /// How long the list of apps the credentials see is kept before a run asks Podio again
    /// (`PODIO_APPS_REFRESH`); also how long an app Podio stopped serving is skipped.
    public var appsRefresh: Double = 3600
    /// How often `run` reconciles (a delta) an app with active hooks (`PODIO_RECONCILE_EVERY`,
    /// `run --reconcile-every`); apps without active hooks get a delta every `run --every`.
    public var reconcileInterval: Double = 3600
    /// Pending changed items of one app from which the hook worker may serve them by one delta
    /// listing instead of item reads (`PODIO_HOOK_DELTA_AT`), when that costs less of the quota.
    public var hookDeltaThreshold = 20
    /// An app of at most this many items is read by a listing of every item (one call for up to
    /// 500, deletions found in it) instead of a delta (`PODIO_LISTING_MAX_ITEMS`, 0 to 500; 0:
    /// always deltas).
    public var listingMaxItems = 500
    /// How long after an edit its hook may still be on its way: a reconciliation does not count
    /// a change younger than this as missed by hooks.
    public var hookGrace: Double = 30
    /// The label of the user identity's quota in the metrics (`PODIO_IDENTITY_LABEL`); nil: its
    /// kind and a short hash (`MirrorMetrics.identityLabel`), never the user's name.
    public var identityLabel: String?

    public init() {}

    /// Reads and checks the environment; a bad value is a usage error naming the variable.
    public static func fromEnvironment(_ env: [String: String]) throws -> MirrorSettings {
        try fromEnvironment(lookup: { env[$0] })
    }

    /// Reads and checks the variables `lookup` gives (`SettingCatalog` lists every one it asks for).
    public static func fromEnvironment(lookup: (String) -> String?) throws -> MirrorSettings {
        var s = MirrorSettings()
        func value(_ name: String) -> String? {
            guard let v = lookup(name)?.trimmingCharacters(in: .whitespacesAndNewlines), !v.isEmpty else { return nil }
            return v
        }
        s.databaseURL = value("DATABASE_URL")
        if let url = value("PODIO_API_URL") {
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), let host = URL(string: url)?.host,
                !host.isEmpty
            else {
                throw MirrorError(
                    .usage, "PODIO_API_URL is not an http(s) URL", fix: "set it to https://api.podio.com or unset it")
            }
            // The token request carries the client secret and the password in its body, and
            // every call an access token: over plain HTTP anyone on the way reads them.
            if url.hasPrefix("http://") && !isLoopback(host: host) {
                throw MirrorError(
                    .usage,
                    "PODIO_API_URL is http:// to \(host), which is not loopback: the client secret, the password and the tokens would travel in clear",
                    fix: "use https:// (https://api.podio.com), or http:// only to 127.0.0.1, ::1 or localhost")
            }
            s.apiURL = url
        }
        if let id = value("PODIO_CLIENT_ID") {
            guard let secret = value("PODIO_CLIENT_SECRET") else {
                throw MirrorError(
                    .usage, "PODIO_CLIENT_SECRET is not set",
                    fix: "set the API key's secret from Podio's account settings")
            }
            s.apiKey = PodioAPIKey(clientID: id, clientSecret: secret)
        }
        if let username = value("PODIO_USERNAME") {
            guard let password = value("PODIO_PASSWORD") else {
                throw MirrorError(
                    .usage, "PODIO_USERNAME is set but PODIO_PASSWORD is not", fix: "set both, or neither")
            }
            s.userCredentials = .password(username: username, password: password)
        } else if value("PODIO_PASSWORD") != nil {
            throw MirrorError(.usage, "PODIO_PASSWORD is set but PODIO_USERNAME is not", fix: "set both, or neither")
        }
        if let pairs = value("PODIO_APP_AUTH") {
            for pair in pairs.split(separator: ",") {
                let parts = pair.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let id = Int(parts[0]), id > 0, !parts[1].isEmpty else {
                    throw MirrorError(
                        .usage, "PODIO_APP_AUTH must be app_id:app_token pairs separated by commas",
                        fix: "for example PODIO_APP_AUTH=123:abc,456:def")
                }
                s.appTokens[id] = parts[1]
            }
        }
        if s.userCredentials == nil && s.appTokens.isEmpty { s.userCredentials = .stored }
        if let apps = value("PODIO_APPS") { s.apps = try parseApps(apps, name: "PODIO_APPS") }
        if let v = value("PODIO_RATE_LIMIT") { s.quota.rateLimited = try positive(v, "PODIO_RATE_LIMIT") }
        if let v = value("PODIO_RATE_LIMIT_GENERAL") { s.quota.general = try positive(v, "PODIO_RATE_LIMIT_GENERAL") }
        if let v = value("PODIO_RATE_WINDOW") {
            s.quota.window = try duration(v, "PODIO_RATE_WINDOW", examples: "90s, 15m, 1h")
            s.quota.coolDown = min(s.quota.window, 300)
        }
        if let v = value("PODIO_REQUEST_TIMEOUT") {
            s.requestTimeout = try duration(v, "PODIO_REQUEST_TIMEOUT", examples: "90s, 2m")
        }
        if let v = value("PODIO_SWEEP_INTERVAL") {
            s.sweepInterval = try duration(v, "PODIO_SWEEP_INTERVAL", examples: "6h, 24h")
        }
        if let v = value("PODIO_HISTORY") { s.history = try flag(v, "PODIO_HISTORY") }
        if let v = value("PODIO_COMMENTS") { s.comments = try flag(v, "PODIO_COMMENTS") }
        if let v = value("PODIO_DEEP_HISTORY") { s.deepHistory = try DeepHistorySetting.parse(v) }
        if let v = value("PODIO_FILES"), !["off", "false", "no", "0"].contains(v.lowercased()) {
            guard v.hasPrefix("/") || v.hasPrefix(".") || !["on", "true", "yes", "1"].contains(v.lowercased()) else {
                throw MirrorError(
                    .usage, "PODIO_FILES must name a directory to download the files into",
                    fix: "for example PODIO_FILES=/var/lib/podio-files, or off")
            }
            s.filesDirectory = v
        }
        if let v = value("PODIO_APPS_REFRESH") {
            s.appsRefresh = try duration(v, "PODIO_APPS_REFRESH", examples: "30m, 1h, 6h")
        }
        if let v = value("PODIO_RECONCILE_EVERY") {
            s.reconcileInterval = try duration(v, "PODIO_RECONCILE_EVERY", examples: "30m, 1h, 6h")
        }
        if let v = value("PODIO_HOOK_GRACE") {
            guard let seconds = DurationParser.seconds(v), seconds >= 0 else {
                throw MirrorError(.usage, "PODIO_HOOK_GRACE is not a duration", fix: "use 0s, 30s, 2m or plain seconds")
            }
            s.hookGrace = seconds
        }
        if let v = value("PODIO_HOOK_DELTA_AT") { s.hookDeltaThreshold = try positive(v, "PODIO_HOOK_DELTA_AT") }
        if let v = value("PODIO_LISTING_MAX_ITEMS") {
            guard let n = Int(v), (0...500).contains(n) else {
                throw MirrorError(
                    .usage, "PODIO_LISTING_MAX_ITEMS must be a whole number from 0 to 500 (got \"\(v)\")",
                    fix: "500 (the default: one page of Podio's listing), or 0 for deltas only")
            }
            s.listingMaxItems = n
        }
        if let v = value("PODIO_RATE_RESERVE") {
            guard let r = Double(v.replacingOccurrences(of: "%", with: "")), r >= 0, r < 100 else {
                throw MirrorError(
                    .usage, "PODIO_RATE_RESERVE is not a percentage", fix: "use a number from 0 to 99, e.g. 5")
            }
            s.quota.reserve = r / 100
        }
        if let v = value("PODIO_IDENTITY_LABEL") {
            guard v.count <= 64, v.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
            else {
                throw MirrorError(
                    .usage, "PODIO_IDENTITY_LABEL must be up to 64 letters, digits, '-', '_' or '.'",
                    fix: "for example PODIO_IDENTITY_LABEL=service-account")
            }
            s.identityLabel = v
        }
        return s
    }

    /// True for the names of this machine's loopback interface: `localhost`, 127.0.0.0/8 and
    /// `::1` (also IPv4-mapped, `::ffff:127.x.x.x`). Only literal addresses count: another name
    /// could resolve anywhere, and shorthand such as `127.1` is refused rather than guessed.
    public static func isLoopback(host rawHost: String) -> Bool {
        var host = rawHost.lowercased()
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" || host == "localhost." { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            return UInt32(bigEndian: v4.s_addr) >> 24 == 127
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, host, &v6) == 1 else { return false }
        let bytes = withUnsafeBytes(of: &v6) { Array($0) }
        if bytes[0..<15].allSatisfy({ $0 == 0 }) && bytes[15] == 1 { return true }  // ::1
        // ::ffff:a.b.c.d, an IPv4 address in IPv6 form.
        return bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF && bytes[12] == 127
    }

    /// Requires an API key: every Podio call needs one.
    public func requireAPIKey() throws -> PodioAPIKey {
        guard let apiKey else {
            throw MirrorError(
                .usage, "PODIO_CLIENT_ID and PODIO_CLIENT_SECRET are not set",
                fix: "create an API key in Podio (account settings, API keys) and set both")
        }
        return apiKey
    }

    static func parseApps(_ text: String, name: String) throws -> [Int] {
        var ids: [Int] = []
        for part in text.split(separator: ",") {
            guard let id = Int(part.trimmingCharacters(in: .whitespaces)), id > 0 else {
                throw MirrorError(
                    .usage, "\(name) must be app ids separated by commas", fix: "for example \(name)=123,456")
            }
            if !ids.contains(id) { ids.append(id) }
        }
        return ids
    }

    /// A switch: on/off, true/false, yes/no, 1/0.
    static func flag(_ text: String, _ name: String) throws -> Bool {
        switch text.lowercased() {
        case "on", "true", "yes", "1": return true
        case "off", "false", "no", "0": return false
        default: throw MirrorError(.usage, "\(name) must be on or off (got \"\(text)\")", fix: "use on or off")
        }
    }

    /// A duration above zero: `90s`, `15m`, `1h`, `1d` or plain seconds.
    static func duration(_ text: String, _ name: String, examples: String) throws -> Double {
        guard let seconds = DurationParser.seconds(text), seconds > 0 else {
            throw MirrorError(.usage, "\(name) is not a duration", fix: "use \(examples) or plain seconds")
        }
        return seconds
    }

    static func positive(_ text: String, _ name: String) throws -> Int {
        guard let n = Int(text), n > 0 else {
            throw MirrorError(
                .usage, "\(name) must be a whole number above zero (got \"\(text)\")",
                fix: "Podio's quotas are 250 and 1000 an hour")
        }
        return n
    }
}
