import ArgumentParser
import Foundation
import GatehouseDirectory
import GatehouseDomain
import GatehouseService

struct LDAPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ldap", abstract: "The company directory: check the connection, sync people and groups.",
        discussion: "Configured by the `ldap:` section of gatehouse.yml. The bind password comes from bind_password_file or GATEHOUSE_LDAP_BIND_PASSWORD and is never printed.",
        subcommands: [Test.self, Sync.self])

    struct Test: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bind, count people and groups, report timings and how current the last sync is.",
            discussion: "Exits non-zero when the directory cannot be read. Decisions are not affected: they use the last good sync.")
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Also look up this username (matched exactly: * ( ) \\ are escaped).", valueName: "uid")) var user: String?

        func run() async throws {
            let report = try await global.open().testDirectory(uid: user)
            var lines: [String] = []
            if let probe = report.probe {
                lines.append(String(format: "bind: ok (%.0f ms)", probe.bindSeconds * 1000))
                lines.append(String(format: "people: %d (%.0f ms)", probe.people, probe.peopleSeconds * 1000))
                lines.append(String(format: "groups: %d (%.0f ms)", probe.groups, probe.groupsSeconds * 1000))
            }
            if let lookup = report.lookup {
                lines.append("lookup \(user ?? ""): " + (lookup.isEmpty ? "no match" : lookup.map { "\($0.dn)\($0.email.map { " <\($0)>" } ?? "")" }.joined(separator: "; ")))
            }
            if let error = report.error { lines.append("error: \(error.message)") }
            lines.append(report.status.line)
            global.emit(report.json, text: lines.joined(separator: "\n"))
            if report.error != nil { throw ExitCode(1) }
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read the whole directory and apply what changed (people added, updated, left; memberships).",
            discussion: """
                People who are no longer in the directory become left_directory: they lose their seat and cannot log in. \
                A sync that would remove more than max_removal_percent (default 10%) of the directory's people is refused \
                unless --force: that is more often a broken filter than a mass departure. \
                A directory restored or moved into a new server gives everyone a new stable id (entryUUID) under the same uid; \
                the refusal then says so, and --rekey adopts the new ids, keeping people, seats and history (audited as directory.rekey). \
                Try either with --dry-run first.
                """)
        @OptionGroup var global: GlobalOptions
        @Flag(name: .customLong("dry-run"), help: "Print the plan without changing anything.") var dryRun = false
        @Flag(help: "Apply even a plan that removes more than max_removal_percent of the directory's people.") var force = false
        @Flag(help: "Take a uid found under a new stable id (entryUUID) as the same person: after a directory restore or move.")
        var rekey = false

        func run() async throws {
            let gatehouse = try await global.open()
            let quiet = global.json
            let outcome = try await gatehouse.syncDirectory(dryRun: dryRun, force: force, rekey: rekey, actor: global.actor) { progress in
                guard !quiet else { return }
                Output.progress("read \(progress.people) people, \(progress.groups) groups")
            }
            if !quiet { Output.progress(nil) }
            global.emit(outcome.json, text: outcome.lines.joined(separator: "\n"))
        }
    }
}
