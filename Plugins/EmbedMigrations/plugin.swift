import Foundation
import PackagePlugin

/// Embeds `migrations/**/*.sql` into the target as Swift source, so the SQL files stay the
/// source of truth and the binary carries them wherever it is installed.
@main
struct EmbedMigrations: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let root = context.package.directoryURL.appending(path: "migrations")
        let fm = FileManager.default
        var inputs: [URL] = []
        for engine in (try? fm.contentsOfDirectory(atPath: root.path)) ?? [] {
            let dir = root.appending(path: engine)
            for file in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] where file.hasSuffix(".sql") {
                inputs.append(dir.appending(path: file))
            }
        }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(inputs.count) SQL migrations",
                executable: try context.tool(named: "migration-embedder").url,
                arguments: [root.path, output.path],
                inputFiles: inputs.sorted { $0.path < $1.path },
                outputFiles: [output]
            )
        ]
    }
}
