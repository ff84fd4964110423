import ArgumentParser
import GatehouseDomain
import GatehouseService

struct PolicyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "policy", abstract: "Login, seat and identity policies (policies/*.yml).", subcommands: [Check.self, Apply.self, Show.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Check a policy directory; every problem with file and line.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The directory.", valueName: "dir")) var directory: String

        func run() async throws {
            let result = PolicyLoader.load(directory: directory)
            if global.json {
                Output.line(JSONValue.object([
                    "ok": .bool(result.policy != nil), "problems": .array(result.problems.map(JSONValue.string)),
                    "sha256": .string(result.sha256), "files": .array(result.files.keys.sorted().map(JSONValue.string)),
                    "ignored": .array(result.ignored.map(JSONValue.string)),
                ]).prettyText)
            } else if result.policy != nil {
                Output.line("ok: \(result.files.keys.sorted().joined(separator: ", ")) (sha256 \(result.sha256.prefix(12)))")
                if !result.ignored.isEmpty { Output.note("ignored: \(result.ignored.joined(separator: ", "))") }
            } else {
                for problem in result.problems { Output.note(problem) }
                Output.fail("\(result.problems.count) problem\(result.problems.count == 1 ? "" : "s") in \(directory)")
            }
            if result.policy == nil { throw ExitCode(1) }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Apply a policy directory as one versioned set (audited).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The directory.", valueName: "dir")) var directory: String

        func run() async throws {
            let result = try await global.open().applyPolicies(directory: directory, actor: global.actor)
            global.emit(
                ["sha256": .string(result.sha256), "files": .array(result.files.keys.sorted().map(JSONValue.string))],
                text: "applied \(result.files.keys.sorted().joined(separator: ", ")) (sha256 \(result.sha256.prefix(12)))")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the policy set in force.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let policy = try await global.open().policyInForce()
            global.emit(policy, text: policy.prettyText)
        }
    }
}
