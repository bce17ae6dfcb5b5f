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
        .library(name: "Projections", targets: ["Projections"]),
        .library(name: "LedgerProofs", targets: ["LedgerProofs"]),
        .library(name: "LoyaltyAudit", targets: ["LoyaltyAudit"]),
        .library(name: "LoyaltyServer", targets: ["LoyaltyServer"]),
        .library(name: "LedgerTailClient", targets: ["LedgerTailClient"]),
        .library(name: "WebhookSink", targets: ["WebhookSink"]),
        .library(name: "LedgerReplica", targets: ["LedgerReplica"]),
        .library(name: "PostgresSink", targets: ["PostgresSink"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        // The HTTP service (`loyalty serve`); swift-configuration support is not used.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // `loyalty sink postgres`: the PostgreSQL wire protocol.
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        // The C library, through Debian's liblmdb-dev. Only the LMDB wrapper files import it.
        .systemLibrary(
            name: "CLMDB",
            pkgConfig: "lmdb",
            providers: [.apt(["liblmdb-dev"])]
        ),
        // The one byte codec: fixed-width integers, varints, bounds-checked reads that throw.
        // No dependencies.
        .target(
            name: "ByteCodec",
            dependencies: [],
            swiftSettings: strictSettings
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
                "ByteCodec",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // Tamper evidence: RFC 6962 Merkle tree over the log, signed checkpoints, proofs. No domain.
        .target(
            name: "LedgerProofs",
            dependencies: [
                "LedgerStore",
                "LedgerJSON",
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: strictSettings
        ),
        // Pure domain: events, commands, program rules, decide/evolve. No I/O.
        .target(
            name: "LoyaltyDomain",
            dependencies: ["LedgerJSON", "ByteCodec"],
            swiftSettings: strictSettings
        ),
        // Read models: checkpointed folds of the log in their own LMDB environment.
        .target(
            name: "Projections",
            dependencies: [
                "LedgerStore", "LedgerJSON", "LoyaltyDomain", "ByteCodec",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Disputes and reconciliation: member history, as-of views, an independent fold of the log.
        .target(
            name: "LoyaltyAudit",
            dependencies: ["LoyaltyDomain", "LedgerStore", "LedgerJSON"],
            swiftSettings: strictSettings
        ),
        // The application the CLI and the server share: decisions on the log, queries of the
        // projections, audit reports, imports, proofs.
        .target(
            name: "LoyaltyLedger",
            dependencies: ["LedgerStore", "LedgerJSON", "LoyaltyDomain", "Projections", "LoyaltyAudit", "LedgerProofs", "ByteCodec",
                           .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        // The HTTP service: routes that parse a request, call LoyaltyLedger and write the answer;
        // API keys, the event stream, metrics.
        .target(
            name: "LoyaltyServer",
            dependencies: [
                "LoyaltyLedger", "Projections", "LoyaltyAudit", "LedgerStore", "LedgerJSON", "LoyaltyDomain", "LedgerProofs",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Following a remote ledger over HTTP (the event stream, the long poll), with resume.
        .target(
            name: "LedgerTailClient",
            dependencies: ["LedgerJSON", .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: strictSettings
        ),
        // `loyalty`: parses arguments, calls LoyaltyLedger (or serves it), prints.
        .executableTarget(
            name: "LoyaltyCLI",
            dependencies: [
                "LoyaltyLedger",
                "LoyaltyServer",
                "LedgerTailClient",
                "LedgerReplica",
                "PostgresSink",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                "Projections",
                "LoyaltyAudit",
                "LedgerStore",
                "LedgerJSON",
                "LoyaltyDomain",
                "LedgerProofs",
                "WebhookSink",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSettings
        ),
        // Appends forever, printing acknowledgements: the child process of the crash tests.
        .executableTarget(
            name: "LedgerTorture",
            dependencies: ["LedgerStore"],
            swiftSettings: strictSettings
        ),
        // Helpers the test targets share (temporary directories, running the built executables,
        // opening logs).
        .target(
            name: "LedgerTestSupport",
            dependencies: ["LedgerStore"],
            path: "Tests/LedgerTestSupport",
            swiftSettings: strictSettings
        ),
        // Checks over the projections shared by the tests that build them.
        .target(
            name: "ProjectionTestSupport",
            dependencies: ["Projections", "LedgerTestSupport"],
            path: "Tests/ProjectionTestSupport",
            swiftSettings: strictSettings
        ),
        // One test target per library, depending on what it tests (and the shared helpers).
        // The domain's test helpers (a reference ledger, deciding and applying like the writer),
        // shared by the domain's and the application's tests.
        .target(
            name: "DomainTestSupport",
            dependencies: ["LoyaltyDomain", "LedgerJSON", .product(name: "PropertyBased", package: "swift-property-based")],
            path: "Tests/DomainTestSupport",
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ByteCodecTests",
            dependencies: ["ByteCodec"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LedgerStoreTests",
            dependencies: ["LedgerStore", "LedgerTorture", "LedgerTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LedgerProofsTests",
            dependencies: ["LedgerProofs", "LedgerStore", "LedgerTestSupport", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LoyaltyDomainTests",
            dependencies: [
                "LoyaltyDomain",
                "LedgerJSON",
                "DomainTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProjectionsTests",
            dependencies: ["Projections", "LoyaltyDomain", "LedgerStore", "LedgerJSON", "LedgerTestSupport", "ProjectionTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "LoyaltyAuditTests",
            dependencies: ["LoyaltyAudit", "LoyaltyDomain", "LedgerStore", "LedgerJSON"],
            swiftSettings: strictSettings
        ),
        // The application layer through its Swift API: decisions, queries, reports, imports.
        .testTarget(
            name: "LoyaltyLedgerTests",
            dependencies: [
                "LoyaltyLedger", "Projections", "LoyaltyAudit", "LoyaltyDomain", "LedgerStore", "LedgerJSON", "LedgerTestSupport",
                "DomainTestSupport", "ProjectionTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // The HTTP service through a real socket: every route, its errors, keys and roles, the stream.
        .testTarget(
            name: "LoyaltyServerTests",
            dependencies: [
                "LoyaltyServer", "LoyaltyLedger", "LoyaltyDomain", "LedgerStore", "LedgerJSON", "LedgerTestSupport", "LedgerTailClient",
                "LedgerReplica",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        // Everything that runs the `loyalty` binary (and the write path's property test, which
        // feeds it raw bytes), with whatever each test reads back directly.
        .testTarget(
            name: "LoyaltyCLITests",
            dependencies: ["LoyaltyCLI", "LoyaltyLedger", "LoyaltyDomain", "LedgerStore", "LedgerJSON", "Projections", "LoyaltyAudit",
                           "LedgerProofs", "LedgerTestSupport", "ProjectionTestSupport", .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: strictSettings
        ),
        // Signed webhooks: follows the log (locally or over `loyalty serve`) and posts event
        // batches, with retries, a checkpoint and dead letters. Its own target: it speaks HTTP,
        // which LoyaltyLedger does not.
        .target(
            name: "WebhookSink",
            dependencies: [
                "LoyaltyLedger", "LedgerStore", "LedgerJSON", "LedgerProofs", "LedgerTailClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The webhook sink against a local receiver (receiver.py) that fails at random, in process and
        // through the built `loyalty` (killed and restarted).
        .testTarget(
            name: "WebhookSinkTests",
            dependencies: [
                "WebhookSink", "LoyaltyCLI", "LoyaltyLedger", "LedgerStore", "LedgerJSON", "LedgerTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["receiver.py"],
            swiftSettings: strictSettings
        ),
        // Read replicas: a verified copy of a served ledger's log (`loyalty replicate`).
        .target(
            name: "LedgerReplica",
            dependencies: ["LedgerStore", "LedgerTailClient", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
        // Following the log into PostgreSQL: events, member views, balances and the checkpoint in
        // one transaction per batch.
        .target(
            name: "PostgresSink",
            dependencies: [
                "LoyaltyLedger", "LoyaltyDomain", "LedgerJSON", "LedgerTailClient", "LedgerStore", "Projections",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The sink against a real PostgreSQL (installed and started by the tests) and the real
        // `loyalty` binary, killed and restarted.
        .testTarget(
            name: "PostgresSinkTests",
            dependencies: ["PostgresSink", "LoyaltyCLI", "LoyaltyLedger", "LoyaltyDomain", "LedgerJSON", "LedgerTestSupport",
                           .product(name: "PostgresNIO", package: "postgres-nio"),
                           .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
