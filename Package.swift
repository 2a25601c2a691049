// swift-tools-version:6.0
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny")
]

let package = Package(
    name: "podio-mirror",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "podio-mirror", targets: ["podio-mirror"]),
        .executable(name: "podio-simulator", targets: ["podio-simulator"]),
        .library(name: "PodioSimulator", targets: ["PodioSimulator"]),
    ],
    // Each direct dependency pinned exactly; the versions the build resolves (these and their own
    // dependencies) are recorded in dependencies.lock.json and checked by scripts/check-versions.py.
    dependencies: [
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
    ],
    targets: [
        // libpq, as Debian's libpq-dev ships it.
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        // Swift wrapper over libpq; knows nothing of Podio.
        .target(
            name: "LibPQ",
            dependencies: [
                "CLibPQ",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        // The Podio REST client.
        .target(
            name: "PodioAPI",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // The engine: sync, quota ledger, store, views.
        .target(
            name: "PodioMirror",
            dependencies: [
                "LibPQ", "PodioAPI",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            resources: [.embedInCode("Resources/schema.sql")],
            swiftSettings: strict
        ),
        // The commands, as a library so tests can drive them.
        .target(
            name: "PodioMirrorCLI",
            dependencies: [
                "PodioMirror", "PodioAPI", "LibPQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(name: "podio-mirror", dependencies: ["PodioMirrorCLI"], swiftSettings: strict),
        // A strict fake of the Podio API; depends on nothing of the engine.
        .target(
            name: "PodioSimulator",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "podio-simulator",
            dependencies: [
                "PodioSimulator",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // `make bench`: the real binary against the in-process simulator and a COPY baseline.
        .executableTarget(
            name: "podio-bench",
            dependencies: [
                "PodioMirror", "PodioAPI", "PodioSimulator", "LibPQ",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Helpers shared by test targets: the test database, process runner, test clock.
        .target(
            name: "TestSupport",
            dependencies: ["LibPQ", "PodioAPI", .product(name: "Logging", package: "swift-log")],
            path: "Tests/TestSupport",
            swiftSettings: strict
        ),
        .testTarget(name: "LibPQTests", dependencies: ["LibPQ", "TestSupport"], swiftSettings: strict),
        .testTarget(
            name: "PodioSimulatorTests",
            dependencies: [
                "PodioSimulator", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PodioAPITests",
            dependencies: [
                "PodioAPI", "PodioSimulator", "TestSupport", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PodioMirrorTests",
            dependencies: [
                "PodioMirror", "PodioAPI", "PodioSimulator", "LibPQ", "TestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ],
            // The first version's schema, read by the upgrade test through #filePath.
            exclude: ["Fixtures"],
            swiftSettings: strict
        ),
        .testTarget(
            name: "PodioMirrorCLITests",
            dependencies: [
                "PodioMirrorCLI", "PodioMirror", "PodioAPI", "PodioSimulator", "LibPQ", "TestSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
    ]
)
