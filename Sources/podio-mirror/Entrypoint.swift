import PodioMirrorCLI

#if canImport(Glibc)
    import Glibc
#endif

@main
struct Entrypoint {
    static func main() async {
        fixMmapThreshold()
        await PodioMirrorCommand.main()
    }

    /// Each page passes through a few buffers of several MB (the body, its text for libpq).
    /// glibc raises its mmap threshold to the largest block freed, so those buffers came to be
    /// carved from the heaps of several threads and stayed there: peak memory grew with the
    /// number of pages (84 MiB at 1,000 items, 184 MiB at 5,000). A fixed threshold gives
    /// blocks of 1 MiB and more back to the system when freed: 84 MiB at both.
    static func fixMmapThreshold() {
        #if canImport(Glibc)
            // mallopt lives in <malloc.h>, which the Glibc module does not export.
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            let mmapThreshold: Int32 = -3  // M_MMAP_THRESHOLD
            if let symbol = dlsym(nil, "mallopt") {
                _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThreshold, 1 << 20)
            }
        #endif
    }
}
