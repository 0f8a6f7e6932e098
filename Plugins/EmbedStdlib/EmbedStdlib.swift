import Foundation
import PackagePlugin

/// Compiles the Lua modules under the package's `stdlib/` folder into a Swift
/// source file, so the `flowlua` binary carries its standard library and runs
/// from any folder.
@main
struct EmbedStdlib: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let stdlib = context.package.directoryURL.appending(path: "stdlib")
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedStdlib.swift")
        var inputs: [URL] = []
        if let walker = FileManager.default.enumerator(at: stdlib, includingPropertiesForKeys: nil) {
            for case let url as URL in walker where url.pathExtension == "lua" {
                inputs.append(url)
            }
        }
        return [
            .buildCommand(
                displayName: "Embedding stdlib (\(inputs.count) Lua modules)",
                executable: try context.tool(named: "StdlibEmbedder").url,
                arguments: [stdlib.path, output.path],
                inputFiles: inputs.sorted { $0.path < $1.path },
                outputFiles: [output]
            )
        ]
    }
}
