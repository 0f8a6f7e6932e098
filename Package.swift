// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    // Linux only (pidfds, epoll, cgroups): `platforms` lists Apple systems,
    // none of which it runs on. 6.2 for nonisolated(nonsending).
    name: "flowlua",
    products: [
        .executable(name: "flowlua", targets: ["flowlua"]),
        .library(name: "LuaBridge", targets: ["LuaBridge"]),
        .library(name: "FlowModel", targets: ["FlowModel"]),
        .library(name: "FlowEngine", targets: ["FlowEngine"]),
        .library(name: "FlowScript", targets: ["FlowScript"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.6.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // The system Lua 5.4 (Debian's liblua5.4-dev) and its macros as functions.
        .systemLibrary(
            name: "CLua",
            pkgConfig: "lua5.4",
            providers: [.apt(["liblua5.4-dev"])]
        ),
        // The few lines of C that must raise Lua errors after Swift returns.
        .target(name: "CLuaShims", dependencies: ["CLua"]),
        // The DSL's step constructors, the hot path of a script declaring many steps.
        .target(name: "CFlowDSL", dependencies: ["CLua"]),
        // A Swift owner of one lua_State: values, calls, closures, decoding.
        .target(name: "LuaBridge", dependencies: ["CLua", "CLuaShims"]),
        // Plain values: workflows, parameters, steps, workers, states, results.
        .target(
            name: "FlowModel",
            dependencies: [.product(name: "HeapModule", package: "swift-collections")]
        ),
        // The system libedit (Debian's libedit-dev): line editing and history.
        .systemLibrary(
            name: "CEditline",
            pkgConfig: "libedit",
            providers: [.apt(["libedit-dev"])]
        ),
        // libedit's completion callback and a SIGINT that ends a blocking read.
        .target(name: "CLineEditor", dependencies: ["CEditline"]),
        // posix_spawn into a new session, pidfds and epoll: cheap process starts
        // whose whole tree can be stopped (swift-subprocess costs ~0.3 ms a spawn).
        .target(name: "CProcessShims"),
        // Planning, scheduling and executing runs; knows Lua only through a protocol.
        .target(
            name: "FlowEngine",
            dependencies: [
                "FlowModel", "CProcessShims",
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // The run database (SQLite through GRDB): runs, steps, transitions, the cache.
        .target(
            name: "FlowStore",
            dependencies: [
                "FlowModel", "FlowEngine",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        // Evaluates workflow scripts with the embedded stdlib into model values.
        .target(
            name: "FlowScript",
            dependencies: ["LuaBridge", "CFlowDSL", "FlowModel", "FlowEngine"],
            plugins: ["EmbedStdlib"]
        ),
        .executableTarget(
            name: "flowlua",
            dependencies: [
                "FlowScript", "FlowEngine", "FlowModel", "FlowStore", "CEditline", "CLineEditor",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // Build-time tool and plugin that compile stdlib/*.lua into the binary.
        .executableTarget(name: "StdlibEmbedder"),
        .plugin(name: "EmbedStdlib", capability: .buildTool(), dependencies: ["StdlibEmbedder"]),

        .testTarget(name: "LuaBridgeTests", dependencies: ["LuaBridge"]),
        .testTarget(name: "FlowModelTests", dependencies: ["FlowModel"]),
        .testTarget(name: "FlowEngineTests", dependencies: ["FlowEngine", "FlowModel"]),
        .testTarget(name: "FlowStoreTests", dependencies: [
            "FlowStore", "FlowEngine", "FlowModel", .product(name: "GRDB", package: "GRDB.swift"),
        ]),
        .testTarget(name: "FlowScriptTests", dependencies: ["FlowScript", "FlowEngine", "FlowModel", "LuaBridge"]),
        .testTarget(name: "FlowluaTests", dependencies: ["flowlua", "FlowStore"]),
    ]
)

for target in package.targets where target.type != .system && target.type != .plugin {
    var settings = target.swiftSettings ?? []
    settings.append(.swiftLanguageMode(.v6))
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    target.swiftSettings = settings
}
