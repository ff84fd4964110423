import Foundation
import Synchronization

/// A helper program a test starts (nginx, HAProxy, Caddy, the OIDC provider, chromedriver):
/// its output goes to a log file in the test's directory, and it is killed when the test is
/// done with it or, at the latest, when the test process exits.
final class ExternalProcess: Sendable {
    let process: Process
    let log: String
    let name: String

    private static let running = Mutex<[ExternalProcess]>([])
    private static let cleanup: Void = {
        // At exit only signals: waiting needs run-loop machinery that is being torn down.
        atexit { for p in ExternalProcess.running.withLock({ $0 }) where p.process.isRunning { killTree(p.process.processIdentifier) } }
    }()

    init(_ executable: String, _ arguments: [String], log: String, environment: [String: String]? = nil, cwd: String? = nil) throws {
        _ = Self.cleanup
        name = (executable as NSString).lastPathComponent
        self.log = log
        process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment { process.environment = environment }
        if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = FileHandle(forWritingAtPath: log)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
        Self.running.withLock { $0.append(self) }
    }

    var isRunning: Bool { process.isRunning }
    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    /// Kills it and everything it started (nginx's workers, chromedriver's browser) at once.
    /// SIGKILL: a child of the test runner inherits its blocked-signal mask, in which SIGTERM
    /// is blocked.
    func stop() {
        guard process.isRunning else { return }
        killTree(process.processIdentifier)
        // Foundation notices the exit on a thread of its own; never block a test on it.
        for _ in 0..<200 where process.isRunning { usleep(10_000) }
    }

    deinit { stop() }
}

/// Waits until `check` holds, polling every 50 ms, for at most `seconds`.
func eventually(_ seconds: Double = 10, _ check: () async throws -> Bool) async throws -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    repeat {
        if try await check() { return true }
        try await Task.sleep(for: .milliseconds(50))
    } while Date() < deadline
    return false
}

/// The repository's root (for deploy/, policies/ and the test virtualenv).
let repositoryRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.path
}()

/// A program of the test virtualenv that `make test-deps` creates (.venv-test, from PyPI).
func requireVenvProgram(_ name: String, package: String) throws -> String {
    let path = repositoryRoot + "/.venv-test/bin/" + name
    guard FileManager.default.isExecutableFile(atPath: path) else {
        throw MissingProgram(message: "\(path) is missing: run `make test-deps` (installs \(package) from PyPI into .venv-test)")
    }
    return path
}

/// Signals a process and all its descendants (found through /proc); SIGKILL unless told.
func killTree(_ root: Int32, signal: Int32 = SIGKILL) {
    var children: [Int32: [Int32]] = [:]
    for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
        guard let pid = Int32(entry), let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { continue }
        // pid (comm) state ppid …
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        if fields.count > 1, let parent = Int32(fields[1]) { children[parent, default: []].append(pid) }
    }
    var pending = [root], all: [Int32] = []
    while let pid = pending.popLast() {
        all.append(pid)
        pending += children[pid] ?? []
    }
    for pid in all { kill(pid, signal) }
}
