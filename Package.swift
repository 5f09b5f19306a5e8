// swift-tools-version: 6.2
import PackageDescription

// One library per concern (see docs/architecture.md); the executable stays thin.
// Dependencies are few on purpose: every one adds minutes to a cold CI build.
let package = Package(
    name: "pgdr",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "pgdr", targets: ["pgdr"]),
        .executable(name: "pgdr-lambda", targets: ["pgdr-lambda"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // Already built for postgres-nio: pgdr opens the TLS channel itself, to
        // verify the server its own way and refuse cleartext and MD5 logins.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        // The agent: HTTP API, Prometheus exposition, signal-driven lifecycle.
        // One Hummingbird trait only: with both defaults on it rebuilds at random (SWIFT-NOTES.md).
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: ["FullFoundation"]),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        // HTTP client: etcd's v3 JSON gateway (and the AWS APIs later).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // AWS: HMAC-SHA256 for SigV4 (already built for postgres-nio's SCRAM), XML answers.
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/drmohundro/SWXMLHash", from: "8.1.1"),
        // `pgdr package`: the functions' zip (deflate through the system's zlib).
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.20"),
    ],
    targets: [
        // Pure: pgdr.yaml model, parsing, validation, durations and sizes.
        .target(name: "DRSpec", dependencies: [
            .product(name: "Yams", package: "Yams"),
        ]),
        // Pure: what a probe observed and what it means (lag, health verdicts, rendering).
        .target(name: "DRStatus", dependencies: ["DRSpec"]),
        // Shell: the one way to run a child process (timeout, bounded output, small environment).
        .target(name: "DRProcess", dependencies: [
            .product(name: "Subprocess", package: "swift-subprocess"),
            .product(name: "SystemPackage", package: "swift-system"),
        ]),
        // Shell: the DCS seam and its etcd implementation (v3 JSON gateway over HTTP).
        .target(name: "DRDCS", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Shell: a small AWS client (SigV4, the credential chain, RDS, CloudWatch, Route 53, SNS, Secrets Manager, STS).
        .target(name: "DRAWS", dependencies: [
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SWXMLHash", package: "SWXMLHash"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Shell: the RDS deployment (target: aws) behind the same seams: observer, step actions, SQL sessions.
        .target(name: "DRRDS", dependencies: [
            "DRAWS", "DRSpec", "DRStatus", "DRControl", "DROrchestrator", "DRPostgres",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Seams: NodeControl (a server's processes), NodeSQL (its admin SQL), ClusterObserver, the clock.
        .target(name: "DRControl", dependencies: ["DRSpec", "DRStatus"]),
        // Shell: backups through pgBackRest (its configuration, runs, info).
        .target(name: "DRBackup", dependencies: ["DRSpec", "DRStatus", "DRProcess"]),
        // Shell: postgres-nio connections, probes and SQL actions.
        .target(name: "DRPostgres", dependencies: [
            "DRSpec", "DRStatus", "DRControl",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "NIOTLS", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Shell: NodeControl for data directories (pg_ctl, systemd) and user commands; the lab.
        .target(name: "DRLocal", dependencies: [
            "DRSpec", "DRStatus", "DRPostgres", "DRControl", "DRProcess", "DRBackup", "DRIntegrations",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Pure: metric series, CloudWatch-style alarms and composites, notification policy.
        .target(name: "DRMonitor", dependencies: ["DRSpec", "DRStatus"]),
        // Pure: the CloudFormation model, the region stacks, AWS rules, the deploy plan.
        .target(name: "DRCloud", dependencies: ["DRSpec"]),
        .target(name: "DRDeploy", dependencies: [
            "DRAWS", "DRCloud", "DRSpec",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Pure: configuration for the tools around pgdr (HAProxy).
        .target(name: "DRIntegrations", dependencies: ["DRSpec"]),
        // Pure: failover / switchover / rejoin planning and the step machine.
        .target(name: "DROrchestrator", dependencies: ["DRSpec", "DRStatus"]),
        // Shell: append-only, fsync'd JSON-lines files (the journals).
        .target(name: "DRJournal"),
        // Shell: notification sinks (log, webhook, command), used by the agent and by operations.
        .target(name: "DRNotify", dependencies: [
            "DRSpec", "DRProcess",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
        ]),
        // Shell: the long-running agent (sampling, heartbeat, journal, notifiers, HTTP API).
        .target(name: "DRAgent", dependencies: [
            "DRSpec", "DRStatus", "DRPostgres", "DRMonitor", "DROrchestrator", "DRNotify", "DROperations", "DRJournal", "DRControl", "DRDCS", "DRRDS", "DRBackup", "DRLocal",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Shell: runs failover / switchover / rejoin plans through the seams.
        .target(name: "DROperations", dependencies: [
            "DRSpec", "DRStatus", "DRPostgres", "DRLocal", "DROrchestrator", "DRNotify", "DRJournal", "DRControl", "DRProcess", "DRDCS",
            "DRRDS", "DRAWS",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Shell: drills (the agent's own loop beside a writer, under a fault).
        .target(name: "DRDrill", dependencies: [
            "DRSpec", "DRStatus", "DRPostgres", "DRAgent", "DROrchestrator", "DROperations", "DRControl", "DRBackup", "DRLocal",
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Shell: the two Lambda functions (lag monitor, failover) on Lambda's Runtime API.
        .target(name: "DRLambda", dependencies: [
            "DRAWS", "DRSpec", "DRStatus", "DRPostgres", "DRRDS", "DROperations", "DROrchestrator",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // The Lambda `bootstrap` (provided.al2023).
        .executableTarget(name: "pgdr-lambda", dependencies: ["DRLambda", "CGlibcFloor"]),
        // C: keeps the bootstrap's glibc symbols within Amazon Linux 2023's 2.34 (see floor.c).
        .target(name: "CGlibcFloor"),
        .executableTarget(name: "pgdr", dependencies: [
            "DRSpec", "DRStatus", "DRPostgres", "DRLocal", "DRMonitor", "DRAgent", "DROrchestrator", "DROperations", "DRCloud", "DRDrill", "DRDCS",
            "DRAWS", "DRRDS", "DRBackup", "DRIntegrations", "DRDeploy",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ZIPFoundation", package: "ZIPFoundation"),
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // Shared by the test targets that run the built binary.
        .target(name: "PGDRTestSupport", path: "Tests/PGDRTestSupport"),
        .testTarget(name: "DRSpecTests", dependencies: ["DRSpec", .product(name: "Yams", package: "Yams")]),
        .testTarget(name: "DRStatusTests", dependencies: ["DRStatus", "DRSpec"]),
        .testTarget(name: "DRIntegrationsTests", dependencies: ["DRIntegrations", "DRSpec"]),
        .testTarget(name: "DRPostgresTests", dependencies: [
            "DRPostgres", "DRSpec",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ], exclude: ["impostor.py"]),
        .testTarget(name: "DRProcessTests", dependencies: ["DRProcess"]),
        .testTarget(name: "DRJournalTests", dependencies: ["DRJournal"]),
        .testTarget(name: "DRMonitorTests", dependencies: ["DRMonitor", "DRSpec", "DRStatus"]),
        .testTarget(name: "DROrchestratorTests", dependencies: ["DROrchestrator", "DRSpec", "DRStatus"]),
        // The operation runner against fakes behind its seams (rollback, degraded outcomes, crash and resume).
        .testTarget(name: "DROperationsTests", dependencies: ["DROperations", "DROrchestrator", "DRControl", "DRSpec", "DRStatus", "DRAgent"]),
        // Golden templates are read through #filePath, not bundled.
        .testTarget(name: "DRCloudTests", dependencies: ["DRCloud", "DRSpec", "PGDRTestSupport"], exclude: ["Golden"]),
        // Integration: the agent binary against a lab, with a real webhook receiver.
        .testTarget(name: "DRAgentTests", dependencies: [
            "pgdr", "DRIntegrations", "DRLocal", "DRMonitor", "DRPostgres", "DRSpec", "DRProcess", "PGDRTestSupport",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ], exclude: ["browser.py"]),
        // Integration: real PostgreSQL servers in labs of their own.
        .testTarget(name: "DRLocalTests", dependencies: [
            "DRLocal", "DRPostgres", "DRStatus", "DRSpec", "DRProcess", "DRControl", "PGDRTestSupport",
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ]),
        // The fault suite: pgdr killed at every step of every operation, on real servers.
        .testTarget(name: "FaultSuiteTests", dependencies: [
            "pgdr", "DRLocal", "DRPostgres", "DRDrill", "PGDRTestSupport",
        ]),
        // The AWS client: AWS's SigV4 suite, botocore's signer, moto_server with signature checking.
        .testTarget(name: "DRBackupTests", dependencies: ["DRBackup", "DRSpec", "DRStatus"]),
        .testTarget(name: "DRAWSTests", dependencies: ["DRAWS", "DRLambda", "DRCloud", "DRStatus", "PGDRTestSupport"],
                    exclude: ["botocore_sign.py", "moto_bed.py", "local_endpoints.py", "runtime_api.py", "moto_cfn.py", "deploy_bed.py"]),
        // Quorum mode on real etcd members, in real network namespaces (root), with a libpq writer outside pgdr.
        .testTarget(name: "QuorumTests", dependencies: [
            "pgdr", "DRLocal", "DRPostgres", "DRDCS", "DROperations", "DROrchestrator", "DRSpec", "PGDRTestSupport",
        ]),
        // Runs the built `pgdr` binary for exit codes and messages.
        .testTarget(name: "PGDRCLITests", dependencies: [
            "pgdr", "DRLocal", "DRPostgres", "DRSpec", "DROperations", "DRDrill", "DRBackup", "PGDRTestSupport",
            .product(name: "PostgresNIO", package: "postgres-nio"),
        ], exclude: ["s3_bed.py"]),
    ],
    swiftLanguageModes: [.v6]
)
