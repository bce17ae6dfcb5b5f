// swift-tools-version: 6.1
// Benchmarks of the ledger, kept out of the main package (as swift-nio keeps its Benchmarks/).
import PackageDescription

let package = Package(
    name: "LedgerBench",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "LoyaltyLedger", path: "../.."),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        .executableTarget(
            name: "LedgerBench",
            dependencies: [
                .product(name: "LedgerStore", package: "LoyaltyLedger"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
