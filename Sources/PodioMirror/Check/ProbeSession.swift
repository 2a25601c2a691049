import PodioAPI

/// The Podio side of one run of the check: the gate every call goes through, the ledger, what
/// the probes learned on the way, and whether to stop. Every probe's call goes through `call`.
struct ProbeSession {
    var gate: CheckGate
    var ledger: QuotaLedger?
    /// Set once a call was refused (the announced calls are spent, or the quota is low):
    /// no further call is tried.
    var stopped = false
    /// Item counts of the apps, in the order asked.
    var counts: [(appID: Int, items: Int)] = []
    /// The apps the first load would mirror.
    var apps: [Int] = []
    /// Whether `apps` may lack apps (PODIO_APPS unset, and more spaces than were listed).
    var appsPartial = false
    var firstItem: PodioItem?
    /// The answer of `GET /org/`.
    var organizations: [PodioOrganization]?

    /// One call; a refusal stops the probes (with a line), any other failure becomes a line.
    mutating func call<T>(
        _ what: String, _ add: (CheckReport.Line) -> Void, _ body: () async throws -> T
    ) async -> T? {
        guard !stopped else { return nil }
        do {
            return try await body()
        } catch let refusal as CheckGate.Refusal {
            stopped = true
            add(
                .init(
                    check: "podio", status: .warning, message: "stopped before \(what): \(refusal.description)",
                    fix: "`podio-mirror check` again in an hour shows the rest"))
        } catch let deferral as QuotaDeferral {
            stopped = true
            add(
                .init(
                    check: "quota", status: .fail, message: "the quota ledger has no room for \(what) now: \(deferral)",
                    fix: "run the check again after then", exitCode: 75))
        } catch {
            let classified = MirrorError(classifying: error)
            // Past a limit Podio answers 420 to every call: the next probe would be wasted.
            if let podio = error as? PodioError, podio.kind == .rateLimited { stopped = true }
            add(
                .init(
                    check: "podio", status: .fail, message: "\(what): \(classified.message)",
                    fix: classified.fix ?? "check PODIO_APPS and PODIO_APP_AUTH against `podio-mirror apps`",
                    exitCode: Self.exitCode(of: error, classified)))
        }
        return nil
    }

    /// The exit code of a failed call: a refusal of this app or item (403) is a permission (77),
    /// one Podio does not know (404, 410, 400) a configuration to fix (64).
    static func exitCode(of error: any Error, _ classified: MirrorError) -> Int32 {
        guard classified.category == .other else { return classified.category.exitCode }
        if let error = error as? PodioError, error.status == 403 { return 77 }
        return error is PodioError ? 64 : 69
    }
}
