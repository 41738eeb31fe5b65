// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "RNNKit",
    products: [
        // MARK: Public API
        .library(name: "RNNKit", targets: ["RNNKit"]),
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
            dependencies: ["COpenBLAS", "CLAPACKE"]
        ),

        // MARK: Tests
        .testTarget(
            name: "RNNKitTests",
            dependencies: ["RNNKit"],
            resources: [.copy("Fixtures")]
        ),
    ]
)
