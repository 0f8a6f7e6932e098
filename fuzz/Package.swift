// swift-tools-version: 6.1
// The fuzz target over flowlua's script loader, kept out of the main package:
// it links only with libFuzzer (scripts/fuzz.sh builds and runs it).
import PackageDescription

let package = Package(
    name: "flowlua-fuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "flowlua", path: "..")],
    targets: [
        .executableTarget(
            name: "FuzzCheck",
            dependencies: [
                .product(name: "FlowScript", package: "flowlua"),
                .product(name: "FlowEngine", package: "flowlua"),
                .product(name: "FlowModel", package: "flowlua"),
            ],
            swiftSettings: [.swiftLanguageMode(.v6)]
        ),
    ]
)
