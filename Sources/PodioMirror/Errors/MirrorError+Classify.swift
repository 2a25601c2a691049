import LibPQ
import PodioAPI

extension MirrorError {
    /// Any error of any module as a `MirrorError`: the category (exit code, retryable or not)
    /// and the one line for people. The one place where errors are classified, from their kinds
    /// and codes (never from their text); `CommandRunner` prints it, a run stores it.
    public init(classifying error: any Error) {
        switch error {
        case let e as MirrorError:
            self = e
        case let e as PGError where e.isInvalidConnectionString:
            self.init(
                .usage, "DATABASE_URL is not a valid connection string (\(e.message))",
                fix: "use postgresql://user@host:5432/dbname or host=… dbname=… (libpq's syntax)")
        case let e as PGError where e.isConnectionLost:
            // A restarted or crashed server: nothing of the page in flight was committed.
            self.init(
                .database, "lost the connection to PostgreSQL (\(e.message))",
                fix: "check that the server is up: the next run resumes from the last committed page")
        case let e as PGError:
            var text = (e.kind == .connectionFailed ? "" : "database error: ") + e.description
            if e.isQueryCanceled { text += "; a statement ran past statement_timeout" }
            if e.isLockNotAvailable { text += "; a lock was not granted in time (lock_timeout)" }
            self.init(.database, text)
        case let e as PodioError:
            switch e.kind {
            case .credentialsRefused where e.code == PodioError.twoStepVerificationCode:
                // Asking again cannot help: Podio wants a second factor for this user.
                self.init(
                    .credentialsRefused,
                    "Podio asks for two-step verification for PODIO_USERNAME, which an unattended run cannot give",
                    fix:
                        "use app authentication (PODIO_APP_AUTH) or run `podio-mirror login` once and unset PODIO_USERNAME and PODIO_PASSWORD"
                )
            case .credentialsRefused where e.code == PodioError.noStoredTokenCode:
                self.init(
                    .usage, "no Podio user credentials: \(e.detail)",
                    fix: "set PODIO_USERNAME and PODIO_PASSWORD, or PODIO_APP_AUTH, or run `podio-mirror login` once")
            case .credentialsRefused, .auth:
                self.init(
                    .credentialsRefused, "Podio refused the credentials: \(e)",
                    fix: "check PODIO_CLIENT_ID and PODIO_CLIENT_SECRET, and PODIO_USERNAME and PODIO_PASSWORD "
                        + "(or PODIO_APP_AUTH, or run `podio-mirror login` again)")
            case .retryable where e.status == nil:
                // No HTTP answer at all: a wrong URL as likely as an outage.
                self.init(
                    .podioUnavailable, "Podio is unreachable: \(e)",
                    fix: "check PODIO_API_URL and the network; the next run tries again")
            case .retryable:
                self.init(.podioUnavailable, "Podio is unavailable: \(e)", fix: "the next run tries again")
            case .rateLimited:
                self.init(.deferred, "Podio's rate limit was hit: \(e)", fix: "the next run continues")
            case .notFound, .gone, .invalidRequest:
                self.init(.other, "\(e)")
            }
        case let e as TransportError:
            self.init(
                .podioUnavailable, "Podio is unreachable: \(e.message)", fix: "check PODIO_API_URL and the network")
        case let e as AllAppsHeld:
            self.init(.deferred, e.description, fix: "this run stops here; the next scheduled run will sync")
        case let e as AppGoneError:
            self.init(.usage, e.description, fix: "check --app and PODIO_APPS against `podio-mirror apps`")
        case let e as TokenDeferral:
            self.init(.deferred, "deferred: \(e)", fix: "the next run after then continues")
        case let e as any RunDeferral:
            self.init(.deferred, "deferred: \(e)")
        case is CancellationError:
            self.init(.other, "stopped")
        default:
            self.init(.other, "\(error)")
        }
    }
}

extension MirrorError {
    /// Whether an error met on one object of the extras (an item's comments, a file download, an
    /// item's deep history) stops the stage for the run, rather than being recorded against that
    /// object while the stage goes on: a quota deferral, a stop, a lost or failed database
    /// connection, and credentials Podio refuses (401 after a refresh) are not the object's doing.
    /// Anything else (a 5xx, a 403 or another 4xx, an answer that is not JSON, a redirect) is.
    public static func stopsExtras(_ error: any Error) -> Bool {
        switch error {
        case is any RunDeferral, is CancellationError:
            return true
        case let e as PGError:
            return e.isConnectionLost || e.kind == .connectionFailed
        case let e as PodioError:
            switch e.kind {
            case .rateLimited, .credentialsRefused: return true
            case .auth: return e.status != 403
            case .retryable, .notFound, .gone, .invalidRequest: return false
            }
        case let e as MirrorError:
            return [.deferred, .database, .credentialsRefused, .usage].contains(e.category)
        default:
            return false
        }
    }
}

extension MirrorError.Category {
    /// The name stored with a failed run (`sync_runs.error_category`), which `status` reads
    /// to give its hints.
    public var name: String {
        switch self {
        case .usage: "usage"
        case .deferred: "deferred"
        case .credentialsRefused: "credentials"
        case .podioUnavailable: "podio"
        case .database: "database"
        case .other: "other"
        }
    }
}
