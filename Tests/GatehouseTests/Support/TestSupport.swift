import Crypto
import Foundation
import GatehouseDirectory
import GatehouseDomain
import GatehouseService
import GatehouseStorage
import Synchronization

/// Directories to remove when the test process exits.
private let temporaryDirectories = Mutex<[String]>([])

/// A fresh temporary directory per test, removed when the test process exits — never
/// earlier: a database in it may still be open (a connection pool opens new connections
/// lazily) after the last reference to this object is gone.
final class TempDir: Sendable {
    let path: String

    private static let cleanup: Void = {
        atexit {
            for path in temporaryDirectories.withLock({ $0 }) { try? FileManager.default.removeItem(atPath: path) }
        }
    }()

    init() throws {
        _ = Self.cleanup
        var template = Array((NSTemporaryDirectory() + "/gatehouse-test-XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else { throw CocoaError(.fileWriteUnknown) }
        path = String(cString: p)
        temporaryDirectories.withLock { $0.append(path) }
    }

    func file(_ name: String) -> String { path + "/" + name }

    func write(_ name: String, _ text: String) throws -> String {
        try text.write(toFile: file(name), atomically: true, encoding: .utf8)
        return file(name)
    }
}

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let current: Mutex<Date>

    init(_ start: Date) { current = Mutex(start) }

    var now: Date { current.withLock { $0 } }
    func set(_ date: Date) { current.withLock { $0 = date } }
    func advance(days: Double) { current.withLock { $0 = $0.addingTimeInterval(days * 86_400) } }
}

func ts(_ text: String) -> Date { UTC.parseTimestamp(text)! }
func day(_ text: String) -> Date { UTC.parseDay(text)! }

/// A vendor key and helpers to issue licenses with it.
struct TestVendor: @unchecked Sendable {  // the key is immutable
    let key = Curve25519.Signing.PrivateKey()
    let kid = "test-vendor"
    static let instanceURL = "https://codecov.acme.internal"

    var trusted: TrustedKeys { TrustedKeys([kid: key.publicKey]) }

    /// Terms like the SPEC example: 200 seats at 250 USD, 2026-11-01 → 2027-11-01.
    static func terms(
        id: String = "lic_acme_2026", seats: Int64 = 200, price: Int64 = 25_000, starts: String = "2026-11-01T00:00:00Z",
        expires: String = "2027-11-01T00:00:00Z", supersedes: String? = nil
    ) -> LicenseTerms {
        LicenseTerms(
            licenseID: id, licensee: "Acme Corp", issuedAt: ts(starts), startsAt: ts(starts), expiresAt: ts(expires), seats: seats,
            seatPriceCents: price, currency: "USD", instanceURL: instanceURL, graceDays: 14, supersedes: supersedes)
    }

    /// The cheapest seat price (at least 250 USD) that keeps `seats` at the 50,000 USD minimum.
    static func price(seats: Int64) -> Int64 { max(25_000, (LicenseRules.minimumValueCents + seats - 1) / seats) }

    /// Signs terms without checking the rules, so tests can build licenses that break them.
    func signUnchecked(_ terms: LicenseTerms) -> String {
        signRaw(Array(terms.json.canonicalText.utf8))
    }

    /// Signs arbitrary payload bytes.
    func signRaw(_ payload: [UInt8], kid: String? = nil) -> String {
        let signature = try! key.signature(for: payload)
        return LicenseFile(kid: kid ?? self.kid, payload: payload, signature: Array(signature)).armored
    }

    /// A service over a fresh migrated database (SQLite in `dir` unless told otherwise).
    func gatehouse(
        in dir: TempDir, engine: Engine = .sqlite, clock: TestClock, name: String = "gatehouse.db",
        directory: DirectoryConfiguration? = nil,
        resolver: any EgressResolver = SystemResolver(), gate: GateConfiguration? = nil, notifications: [NotificationChannel] = [],
        scimRemoval: ScimRemovalGuard? = nil
    ) async throws -> Gatehouse {
        let store = try engine.newStore(in: dir, name: name)
        let gatehouse = Gatehouse(
            store: store, trustedKeys: trusted, instanceHost: "codecov.acme.internal", directory: directory, resolver: resolver, gate: gate,
            notifications: notifications, scimRemoval: scimRemoval, now: { clock.now })
        _ = try await gatehouse.migrate(actor: "test")
        return gatehouse
    }
}

/// Runs a program to completion, capturing its output.
struct ProcessResult: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// A pipe whose descriptors no other program the tests start inherits. Foundation's `Pipe()`
/// is inheritable: a slapd started by a test running in parallel kept a CLI's stderr open, so
/// reading it to its end never finished — and with the two cooperative threads of a 2-core
/// machine each blocked in such a read, the whole run hung. The child the pipe is for still
/// gets it (its standard streams are copies, made without close-on-exec).
func privatePipe() -> Pipe {
    let pipe = Pipe()
    for fd in [pipe.fileHandleForReading.fileDescriptor, pipe.fileHandleForWriting.fileDescriptor] { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
    return pipe
}

/// Runs a program to completion with `posix_spawn` and `waitpid`, not Foundation's `Process`:
/// its `waitUntilExit` spun forever now and then on this machine (a `runuser` child had
/// exited and sat unreaped, a zombie, while the test's thread looped in a run loop — the
/// clean-clone runs that hung), so the one thing a test needs, waiting for its child, is done
/// with the system call.
@discardableResult
func run(_ executable: String, _ arguments: [String], cwd: String? = nil, environment: [String: String]? = nil, stdin: String? = nil) throws
    -> ProcessResult
{
    struct SpawnFailed: Error, CustomStringConvertible {
        let description: String
    }
    /// A pipe whose both ends close on exec: only the child it is for gets a copy (dup2).
    func pipe() throws -> (read: Int32, write: Int32) {
        var fds: [Int32] = [-1, -1]
        guard Glibc.pipe(&fds) == 0 else { throw SpawnFailed(description: "pipe: errno \(errno)") }
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        return (fds[0], fds[1])
    }
    let output = try pipe(), errors = try pipe(), input = try pipe()
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, input.read, 0)
    posix_spawn_file_actions_adddup2(&actions, output.write, 1)
    posix_spawn_file_actions_adddup2(&actions, errors.write, 2)
    if let cwd {
        // glibc's (2.29+); Swift's Glibc module leaves out the _GNU_SOURCE declarations.
        typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
        guard let symbol = dlsym(nil, "posix_spawn_file_actions_addchdir_np") else {
            throw SpawnFailed(description: "this C library has no posix_spawn_file_actions_addchdir_np")
        }
        _ = unsafeBitCast(symbol, to: AddChdir.self)(&actions, cwd)
    }
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = (environment ?? ProcessInfo.processInfo.environment).map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer { for pointer in argv + envp { free(pointer) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
    for fd in [input.read, output.write, errors.write] { close(fd) }
    guard spawned == 0 else {
        for fd in [input.write, output.read, errors.read] { close(fd) }
        throw SpawnFailed(description: "cannot run \(executable): \(String(cString: strerror(spawned)))")
    }
    let stdinHandle = FileHandle(fileDescriptor: input.write, closeOnDealloc: true)
    if let stdin { stdinHandle.write(Data(stdin.utf8)) }
    try stdinHandle.close()
    // Read both pipes fully before waiting, so a chatty child cannot block on a full pipe.
    let group = DispatchGroup()
    nonisolated(unsafe) var outData = Data()
    group.enter()
    DispatchQueue.global().async {
        outData = FileHandle(fileDescriptor: output.read, closeOnDealloc: true).readDataToEndOfFile()
        group.leave()
    }
    let errData = FileHandle(fileDescriptor: errors.read, closeOnDealloc: true).readDataToEndOfFile()
    group.wait()
    var status: Int32 = 0
    while waitpid(pid, &status, 0) == -1, errno == EINTR {}
    // As Process reports it: the exit code, or the signal that ended it.
    let signal = status & 0x7f
    return ProcessResult(
        status: signal == 0 ? (status >> 8) & 0xff : signal, stdout: String(decoding: outData, as: UTF8.self),
        stderr: String(decoding: errData, as: UTF8.self))
}

/// Finds a program on PATH or fails the test with how to install it (never a skip).
func requireProgram(_ name: String, package: String) throws -> String {
    for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
        let candidate = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    throw MissingProgram(message: "\(name) is not installed: run `make test-deps` or `apt-get install \(package)`")
}

struct MissingProgram: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// The `gatehouse` executable built alongside the tests.
var gatehouseBinary: String {
    // The test bundle lives in the build products directory, next to the executable.
    let products =
        Bundle.allBundles.map(\.bundleURL).first { $0.pathExtension == "xctest" }?.deletingLastPathComponent()
        ?? URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    return products.appendingPathComponent("gatehouse").path
}
