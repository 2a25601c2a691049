import PodioMirrorCLI
@main
struct Entrypoint {
    static func main() async {
        await PodioMirrorCommand.main()
    }
}
