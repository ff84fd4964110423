import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseService

/// Options every command accepts (SPEC section 5).
struct GlobalOptions: ParsableArguments {
    @Option(help: ArgumentHelp("Configuration file (default: gatehouse.yml if present).", valueName: "file"))
    var config: String?

    @Option(help: ArgumentHelp("Database: sqlite:PATH (default sqlite:gatehouse.db) or postgres://…", valueName: "url"))
    var database: String?

    @Flag(help: "Print machine-readable JSON on stdout.")
    var json = false

    /// File, environment and command-line settings, layered.
    func configuration() throws -> GatehouseConfiguration {
        var config = try GatehouseConfiguration.load(path: self.config, environment: ProcessInfo.processInfo.environment)
        if let database { config.database = database }
        return config
    }

    /// The service over an existing, migrated database.
    func open() async throws -> Gatehouse {
        try await Gatehouse.open(try configuration())
    }

    /// Prints `json` with --json, else `text`.
    func emit(_ value: JSONValue, text: @autoclosure () -> String) {
        Output.line(json ? value.prettyText : text())
    }

    /// The audit actor for changes made from this shell: `cli:<os user>`.
    var actor: String { Self.osActor }

    static var osActor: String {
        if let pw = getpwuid(geteuid()), let name = pw.pointee.pw_name { return "cli:" + String(cString: name) }
        return "cli:uid\(geteuid())"
    }
}

/// Unbuffered output, so that piped or redirected output appears as it is written.
enum Output {
    static func line(_ text: String) {
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// A note for a person that must not mix with machine output on stdout.
    static func note(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// A document for `--out FILE` (written whole, with `mode`, and `note` on stderr) or, without
    /// it, for stdout.
    static func deliver(_ text: String, to file: String?, mode: Int, note: @autoclosure () -> String) throws {
        guard let file else {
            FileHandle.standardOutput.write(Data(text.utf8))
            return
        }
        try FileOutput.write(text, to: file, overwrite: true, mode: mode)
        Output.note(note())
    }

    /// A progress line rewritten in place on a terminal's stderr (`nil` ends it); nothing when
    /// stderr is a file or a pipe, so logs stay clean.
    static func progress(_ text: String?) {
        guard isatty(STDERR_FILENO) == 1 else { return }
        FileHandle.standardError.write(Data((text.map { "\r\u{1B}[K" + $0 } ?? "\r\u{1B}[K").utf8))
    }

    /// One line on stderr; the caller exits non-zero.
    static func fail(_ message: String) {
        FileHandle.standardError.write(Data(("gatehouse: error: " + message.replacingOccurrences(of: "\n", with: " ") + "\n").utf8))
    }
}

extension UTC {
    /// Parses a command-line date argument (`YYYY-MM-DD`).
    static func argument(_ text: String, option: String) throws -> Date {
        guard let date = parseDay(text) else { throw ValidationError("\(option) must be a date like 2026-11-21, got \"\(text)\"") }
        return date
    }
}
