import ArgumentParser

/// `podio-bench [main] …` (`make bench`) and `podio-bench freshness …` (`make bench-freshness`).
@main
struct PodioBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "podio-bench",
        abstract: "Benchmarks of podio-mirror: throughput (main, the default) and freshness under Podio's quotas.",
        subcommands: [Bench.self, Freshness.self],
        defaultSubcommand: Bench.self)
}
