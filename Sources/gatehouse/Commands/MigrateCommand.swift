import ArgumentParser
import GatehouseDomain
import GatehouseService

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate", abstract: "Create the database or apply pending schema migrations.")

    @OptionGroup var global: GlobalOptions

    func run() async throws {
        let config = try global.configuration()
        let gatehouse = try await Gatehouse.open(config, create: true)
        let applied = try await gatehouse.migrate(actor: global.actor)
        let status = try await gatehouse.schemaStatus()
        global.emit(
            ["applied": .array(applied.map { .integer($0) }), "schema_version": .integer(status.applied.max() ?? 0), "database": .string(gatehouse.databaseLocation)],
            text: applied.isEmpty
                ? "database \(gatehouse.databaseLocation) is up to date (schema version \(status.applied.max() ?? 0))"
                : "applied migration\(applied.count == 1 ? "" : "s") \(applied.map(String.init).joined(separator: ", ")) to \(gatehouse.databaseLocation)")
    }
}
