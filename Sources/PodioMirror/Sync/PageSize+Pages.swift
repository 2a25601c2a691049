import PodioAPI

extension PageSize {
    /// The pages of this size that `count` items fill: what listing them costs in calls.
    func pages(for count: Int) -> Int { (count + value - 1) / value }
}
