/// The version of podio-mirror (`--version`, `podio_mirror_build_info`). Raise it with each
/// release (CHANGELOG.md).
///
/// The commit is not baked in: SwiftPM has no plain way to stamp a value at build time without
/// a plugin or a generated, uncommitted source file, so `commit` says `unknown`.
public enum PodioMirrorVersion {
    public static let number = "0.9.0"
    public static let commit = "unknown"

    /// `0.9.0`, as `--version` prints it.
    public static var description: String { number }
}
