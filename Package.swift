// swift-tools-version: 6.2
// Gatehouse: admin and licensing control plane for a self-hosted Codecov instance.
//
// Targets are layers (see docs/architecture.md):
//   GatehouseDomain   pure rules and the records they speak of: licenses, proration, audit hashing, tokens,
//                     people, plans. No I/O, no clock.
//   GatehouseStorage  the Store protocol, one SQL implementation over SQLite or PostgreSQL; embedded migrations.
//   GatehouseDirectory  the company directory (LDAP) client, over the CLDAP system library.
//   GatehouseSignIn   the sign-in providers (GitHub, GitLab, OpenID Connect): OAuth code flow, JWKS, memberships.
//   GatehouseNotify   notification delivery: webhooks over AsyncHTTPClient, e-mail over a small SMTP client.
//   GatehouseService  the operations both the CLI and the HTTP API call.
//   GatehouseEgressProxy  the egress proxy (SwiftNIO): CONNECT and absolute-URI HTTP, policy-checked.
//   GatehouseHTTP     the Hummingbird application (routes, auth, errors, metrics, OpenAPI).
//   gatehouse         the executable: argument parsing and wiring only.
import PackageDescription

let strict: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "gatehouse",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "gatehouse", targets: ["gatehouse"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/groue/GRDB.swift", exact: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        // Already built for Hummingbird; named here for the egress proxy's own server.
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        // The PostgreSQL store (several replicas on one database).
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        // Already built for Hummingbird; named for the HTTP parts its channel handlers see
        // (the API port's connection deadlines).
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
        // Already built for postgres-nio; named for TLS to the database server.
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        // The gate's sign-in: outbound HTTPS to the providers (already built for HummingbirdTesting),
        // and ID-token verification against the provider's JWKS.
        .package(url: "https://github.com/swift-server/async-http-client", exact: "1.37.0"),
        .package(url: "https://github.com/vapor/jwt-kit", exact: "5.8.0"),
        // Server-rendered pages (the gate's chooser and refusal pages; the console), escaped by default.
        .package(url: "https://github.com/hummingbird-project/swift-mustache", exact: "2.1.1"),
    ],
    targets: [
        .target(
            name: "GatehouseDomain",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: strict
        ),
        .executableTarget(
            name: "resource-embedder",
            swiftSettings: strict
        ),
        .plugin(
            name: "EmbedResources",
            capability: .buildTool(),
            dependencies: ["resource-embedder"]
        ),
        .target(
            name: "GatehouseStorage",
            dependencies: [
                "GatehouseDomain",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C API (the system library GRDB itself links): a load's rows are read
                // column by column from the statement.
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict,
            plugins: ["EmbedResources"]
        ),
        // OpenLDAP's client library, for the directory client.
        .systemLibrary(
            name: "CLDAP",
            path: "Sources/CLDAP",
            pkgConfig: "ldap",
            providers: [.apt(["libldap2-dev"])]
        ),
        .target(
            name: "GatehouseDirectory",
            dependencies: ["CLDAP", "GatehouseDomain"],
            swiftSettings: strict
        ),
        // Sign-in providers for the gate: OAuth 2.0 authorization code with PKCE, OpenID Connect
        // discovery and ID tokens, memberships read with the person's own token.
        .target(
            name: "GatehouseSignIn",
            dependencies: [
                "GatehouseDomain",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strict
        ),
        // Notification delivery: webhooks (Slack, generic) over AsyncHTTPClient, e-mail over a
        // small SMTP client (STARTTLS, AUTH) on SwiftNIO.
        .target(
            name: "GatehouseNotify",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "GatehouseService",
            dependencies: [
                "GatehouseDomain",
                "GatehouseStorage",
                "GatehouseNotify",
                "GatehouseDirectory",
                "GatehouseSignIn",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            swiftSettings: strict
        ),
        // The egress proxy: CONNECT tunnels and absolute-URI HTTP, judged by the egress policy.
        .target(
            name: "GatehouseEgressProxy",
            dependencies: [
                "GatehouseDomain",
                "GatehouseService",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        .target(
            name: "GatehouseHTTP",
            dependencies: [
                "GatehouseDomain",
                "GatehouseDirectory",
                "GatehouseService",
                "GatehouseSignIn",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict,
            plugins: ["EmbedResources"]
        ),
        .executableTarget(
            name: "gatehouse",
            dependencies: [
                "GatehouseDomain",
                "GatehouseDirectory",
                "GatehouseService",
                "GatehouseHTTP",
                "GatehouseEgressProxy",
                "GatehouseSignIn",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strict
        ),
        // Benchmark baseline only (bench/authz.sh): a bare Hummingbird route. Not part of gatehouse.
        .executableTarget(
            name: "bench-noop",
            dependencies: [.product(name: "Hummingbird", package: "hummingbird")],
            path: "bench/noop",
            swiftSettings: strict
        ),
        // Benchmark seeding only (bench/authz.sh): first logins in bulk through the service. Not part of gatehouse.
        .executableTarget(
            name: "bench-seed-people",
            dependencies: ["GatehouseDomain", "GatehouseService"],
            path: "bench/seed-people",
            swiftSettings: strict
        ),
        .testTarget(
            name: "GatehouseTests",
            dependencies: [
                "GatehouseDomain",
                "GatehouseStorage",
                "GatehouseService",
                "GatehouseDirectory",
                "GatehouseHTTP",
                "GatehouseEgressProxy",
                "GatehouseNotify",
                "gatehouse",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "JWTKit", package: "jwt-kit"),
                "GatehouseSignIn",
            ],
            swiftSettings: strict
        ),
    ],
    swiftLanguageModes: [.v6]
)
