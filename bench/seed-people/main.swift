// Seeds people for the benchmarks quickly and honestly: first logins of github users
// u{FIRST}..u{END-1} (external id i, org acme, team acme/eng — as bench/seed.py sends them
// through the API), answered by the service's own rules and written by the store's bulk
// activation: the same people, identities, seats, claims and audit chain as one login at a
// time, one transaction per batch. Never part of gatehouse.
// Usage: bench-seed-people CONFIG DATABASE_URL FIRST END [BATCH]
import Foundation
import GatehouseDomain
import GatehouseService

let arguments = CommandLine.arguments
guard arguments.count >= 5, let first = Int(arguments[3]), let end = Int(arguments[4]), first <= end else {
    FileHandle.standardError.write(Data("usage: bench-seed-people CONFIG DATABASE_URL FIRST END [BATCH]\n".utf8))
    exit(2)
}
let batchSize = arguments.count > 5 ? Int(arguments[5]) ?? 5000 : 5000
var config = try GatehouseConfiguration.load(path: arguments[1], environment: ProcessInfo.processInfo.environment)
config.database = arguments[2]
let gatehouse = try await Gatehouse.open(config)
let started = Date()
var done = 0
for start in stride(from: first, to: end, by: batchSize) {
    let requests = (start..<min(start + batchSize, end)).map { i in
        LoginRequest(
            identity: IdentityRef(provider: .github, username: "u\(i)"), externalID: String(i), orgs: ["acme"], teams: ["acme/eng"])
    }
    let answers = try await gatehouse.authorizeLogins(requests, actor: "token:bench-seed")
    if let refused = answers.firstIndex(where: { !$0.allow }) {
        FileHandle.standardError.write(Data("u\(start + refused) was refused: \(answers[refused].reason.rawValue)\n".utf8))
        exit(1)
    }
    done += requests.count
    let rate = Double(done) / Date().timeIntervalSince(started)
    FileHandle.standardError.write(Data("\r  \(done) of \(end - first) people (\(Int(rate))/s)".utf8))
}
FileHandle.standardError.write(Data("\n".utf8))
print(Int(Double(done) / max(Date().timeIntervalSince(started), 0.001)))
