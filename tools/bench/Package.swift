// swift-tools-version: 6.1
// Benchmarks of the ledger's storage core, kept out of the main package (as swift-nio keeps its
// Benchmarks/): `swift build -c release`, then `.build/release/ledger-bench --help`, or run.sh.
import PackageDescription

let package = Package(
    name: "LedgerBench",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "ledger-bench", targets: ["LedgerBench"]),
    ],
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
                .product(name: "LoyaltyDomain", package: "LoyaltyLedger"),
                .product(name: "Projections", package: "LoyaltyLedger"),
                .product(name: "LedgerProofs", package: "LoyaltyLedger"),
                .product(name: "LoyaltyLedger", package: "LoyaltyLedger"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
