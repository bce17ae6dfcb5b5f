// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "LoyaltyLedger",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "loyalty", targets: ["LoyaltyCLI"]),
        .executable(name: "ledger-torture", targets: ["LedgerTorture"]),
        .library(name: "LedgerStore", targets: ["LedgerStore"]),
        .library(name: "LoyaltyDomain", targets: ["LoyaltyDomain"]),
        .library(name: "LedgerJSON", targets: ["LedgerJSON"]),
        .library(name: "LoyaltyLedger", targets: ["LoyaltyLedger"]),
        .library(name: "LoyaltyAudit", targets: ["LoyaltyAudit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
    ],
    targets: [
        // The C library, through Debian's liblmdb-dev. Only the LMDB wrapper files import it.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // Exact JSON values (integer literals kept as text) and canonical encoding. No dependencies.
        .target(
            name: "LedgerJSON",
            dependencies: [],
            swiftSettings: strictSettings
        ),
        // Storage core: LMDB wrapper + append-only log. No HTTP, no loyalty domain.
        .target(
            name: "LedgerStore",
            dependencies: [
                "CLMDB",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Pure domain: events, commands, program rules, decide/evolve. No I/O.
        .target(
            name: "LoyaltyDomain",
            dependencies: ["LedgerJSON"],
            swiftSettings: strictSettings
        ),
        // The facade the CLI and the server share: the log plus the domain.
        .target(
            name: "LoyaltyLedger",
            dependencies: ["LedgerStore", "LedgerJSON", "LoyaltyDomain"],
            swiftSettings: strictSettings
        ),
        // Disputes and reconciliation: member history, as-of views, an independent fold of the log.
        .target(
            name: "LoyaltyAudit",
            dependencies: ["LoyaltyDomain", "LoyaltyLedger", "LedgerStore", "LedgerJSON"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "LoyaltyCLI",
            dependencies: [
                "LoyaltyAudit",
                "LedgerStore",
                "LedgerJSON",
                "LoyaltyDomain",
                "LoyaltyLedger",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Appends forever, printing acknowledgements: the child process of the crash tests.
        .executableTarget(
            name: "LedgerTorture",
            dependencies: ["LedgerStore"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LedgerStoreTests",
            dependencies: ["LedgerStore", "LedgerJSON", "LoyaltyCLI", "LedgerTorture"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LoyaltyDomainTests",
            dependencies: [
                "LoyaltyDomain",
                "LoyaltyLedger",
                "LedgerStore",
                "LedgerJSON",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            resources: [],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LoyaltyAuditTests",
            dependencies: ["LoyaltyAudit", "LoyaltyDomain", "LoyaltyLedger", "LedgerStore", "LedgerJSON"],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
