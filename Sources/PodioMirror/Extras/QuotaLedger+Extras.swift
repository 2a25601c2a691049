import PodioAPI

extension QuotaLedger {
    /// The tier, if any, whose free calls are down to what the next run's item syncs need: the
    /// extras (comments, files, deep history) stop there. Every tier counts: a call of a tier not
    /// learned yet, and a file download always, is booked on both (docs/quota.md), and Podio may
    /// count comments or revisions in the rate-limited tier, which the deltas need.
    func tierKeptForSyncs(identity: String, headroom: Int) async throws -> QuotaTier? {
        try await usage(identity: identity).first { $0.allowed - $0.used <= headroom }?.tier
    }
}
