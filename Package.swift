// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "RNNKit",
    products: [
        // MARK: Public API
        .library(name: "RNNKit", targets: ["RNNKit"]),
        // The release benchmark driver behind scripts/perf (docs/benchmarking.md).
        .executable(name: "rnnkit-bench", targets: ["rnnkit-bench"]),
        // The C API: librnnkit.so, declared by Modules/CRNNKit/include/rnnkit.h.
        .library(name: "rnnkit", type: .dynamic, targets: ["RNNKitC"]),
        // The command line (docs/cli.md). SwiftPM names binaries after products and "rnnkit" is the
        // C library's product (librnnkit.so), so this one is built as rnnkit-cli and installed as rnnkit.
        .executable(name: "rnnkit-cli", targets: ["rnnkit-cli"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: System libraries (module maps only; no Swift code, no stable Swift API)
        .systemLibrary(
            name: "COpenBLAS",
            path: "Modules/COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CLAPACKE",
            path: "Modules/CLAPACKE",
            pkgConfig: "lapacke",
            providers: [.apt(["liblapacke-dev"])]
        ),

        // MARK: Implementation
        .target(
            name: "RNNKit",
            dependencies: ["COpenBLAS", "CLAPACKE", "CRNNKitKernels"]
        ),
        // Vectorised float32 cell kernels (internal; no stable API), held equal to the
        // generic Swift reference kernels in Sources/RNNKit/Cells by the tests.
        .target(name: "CRNNKitKernels"),
        // The C entry points (@_cdecl), exactly the symbols of Modules/CRNNKit/include/rnnkit.h.
        .target(
            name: "RNNKitC",
            dependencies: ["RNNKit"]
        ),

        // MARK: Tools
        // Times RNNKit (or the bare sgemm roofline) on one shape; prints one JSON line.
        .executableTarget(
            name: "rnnkit-bench",
            dependencies: ["RNNKit", "COpenBLAS", "CBenchProbe"]
        ),
        // The benchmark's host check: register-only FMA throughput per thread (not in any library).
        .target(name: "CBenchProbe"),

        // MARK: Command line
        // The commands of `rnnkit` as a library, so that tests run them in-process.
        .target(
            name: "RNNKitCLI",
            dependencies: [
                "RNNKit", "CLAPACKE",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The `rnnkit` executable: a one-line entry point into RNNKitCLI.
        .executableTarget(
            name: "rnnkit-cli",
            dependencies: ["RNNKitCLI"],
            path: "Sources/rnnkit"
        ),

        // MARK: Tests
        .testTarget(
            name: "RNNKitTests",
            dependencies: ["RNNKit"],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "RNNKitCLITests",
            dependencies: ["RNNKitCLI", "RNNKit"]
        ),
    ]
)
