import ArgumentParser
import PodioSimulator
@main
struct SimulatorCommand: AsyncParsableCommand {
    func run() async throws {}
}
