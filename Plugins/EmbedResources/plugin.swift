import Foundation
import PackagePlugin

/// Embeds repository files into a target as Swift source, so the files stay the source of
/// truth and the binary carries them wherever it is installed:
/// `migrations/**/*.sql` into GatehouseStorage, `api/openapi.json` and `templates/*` into GatehouseHTTP.
@main
struct EmbedResources: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: any Target) throws -> [Command] {
        let tool = try context.tool(named: "resource-embedder").url
        let root = context.package.directoryURL
        switch target.name {
        case "GatehouseStorage":
            let migrations = root.appending(path: "migrations")
            let fm = FileManager.default
            var inputs: [URL] = []
            for engine in (try? fm.contentsOfDirectory(atPath: migrations.path)) ?? [] {
                let dir = migrations.appending(path: engine)
                for file in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] where file.hasSuffix(".sql") {
                    inputs.append(dir.appending(path: file))
                }
            }
            let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
            return [
                .buildCommand(
                    displayName: "Embedding \(inputs.count) SQL migrations", executable: tool,
                    arguments: ["migrations", migrations.path, output.path], inputFiles: inputs.sorted { $0.path < $1.path },
                    outputFiles: [output])
            ]
        case "GatehouseHTTP":
            let document = root.appending(path: "api/openapi.json")
            let output = context.pluginWorkDirectoryURL.appending(path: "OpenAPIDocument.swift")
            let templates = root.appending(path: "templates")
            let pages = ((try? FileManager.default.contentsOfDirectory(atPath: templates.path)) ?? [])
                .filter { $0.hasSuffix(".mustache") || $0.hasSuffix(".css") }.sorted().map { templates.appending(path: $0) }
            let pagesOutput = context.pluginWorkDirectoryURL.appending(path: "EmbeddedTemplates.swift")
            return [
                .buildCommand(
                    displayName: "Embedding the OpenAPI document", executable: tool, arguments: ["openapi", document.path, output.path],
                    inputFiles: [document], outputFiles: [output]),
                .buildCommand(
                    displayName: "Embedding \(pages.count) page templates", executable: tool,
                    arguments: ["templates", templates.path, pagesOutput.path], inputFiles: pages, outputFiles: [pagesOutput]),
            ]
        default:
            return []
        }
    }
}
