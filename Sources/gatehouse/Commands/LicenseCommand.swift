import ArgumentParser
import Foundation
import GatehouseDomain
import GatehouseService

struct LicenseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "license", abstract: "Create, check and install signed license files.",
        subcommands: [Keygen.self, Sign.self, Verify.self, Install.self, Status.self, ClockReset.self])

    struct Keygen: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Vendor side: create an Ed25519 signing key and print its public key PEM.",
            discussion: "The key is PKCS#8 PEM, the same as `openssl genpkey -algorithm ed25519`. An existing file is never overwritten.")

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Where to write the private key (created with mode 0600).", valueName: "file")) var out: String
        @Option(help: ArgumentHelp("Key id that licenses signed with this key will carry.", valueName: "id")) var kid = "vendor"

        func run() async throws {
            let publicPEM = try LicenseVendor.keygen(path: out)
            if global.json {
                Output.line(JSONValue.object(["kid": .string(kid), "private_key_file": .string(out), "public_key_pem": .string(publicPEM)]).prettyText)
            } else {
                Output.note("wrote the private key to \(out): keep it secret. Customers trust the public key below as kid \"\(kid)\".")
                FileHandle.standardOutput.write(Data(publicPEM.utf8))
            }
        }
    }

    struct Sign: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Vendor side: sign license terms (JSON) into a license file.",
            discussion: "Terms that break the rules (term < 365 days, value < 50,000 USD, seats < 1) are refused with every reason.")

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("The vendor's private key (PKCS#8 PEM).", valueName: "file")) var key: String
        @Option(help: ArgumentHelp("Key id to put in the license.", valueName: "id")) var kid: String
        @Option(help: ArgumentHelp("The license terms as JSON (the payload fields of SPEC section 4).", valueName: "file")) var terms: String
        @Option(help: ArgumentHelp("Where to write the license file.", valueName: "file")) var out: String
        @Flag(help: "Overwrite --out if it exists.") var force = false

        func run() async throws {
            let signed = try LicenseVendor.sign(keyPath: key, kid: kid, termsPath: terms, outPath: out, overwrite: force)
            global.emit(
                ["license_id": .string(signed.licenseID), "file": .string(out), "kid": .string(kid)],
                text: "signed \(signed.licenseID) for \(signed.licensee): \(signed.seats) seats, \(UTC.formatDay(signed.startsAt)) → \(UTC.formatDay(signed.expiresAt)); wrote \(out)")
        }
    }

    struct Verify: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a license file: genuine, within the rules, in its time window.",
            discussion: "Exit status 0 when the license is genuine, meets the rules and has not expired (grace counts as usable); non-zero otherwise, with every reason.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The license file.", valueName: "file")) var file: String
        @Option(name: .customLong("public-key"), help: ArgumentHelp("Trust this public key PEM for the file's kid instead of the configured keys.", valueName: "pem"))
        var publicKey: String?

        func run() async throws {
            let text = try FileOutput.read(file)
            // With an explicit key the configuration is optional (it only adds the instance check).
            let configuration = publicKey == nil ? try global.configuration() : try? global.configuration()
            let key = try publicKey.map { (name: $0, pem: try FileOutput.read($0)) }
            let check = try LicenseVendor.check(text, publicKey: key, configuration: configuration, now: Date())
            if global.json {
                Output.line(check.json.prettyText)
            } else if check.usable {
                Output.line(check.summary)
                for warning in check.warnings { Output.note("warning: \(warning)") }
            } else {
                Output.fail("license \(file) is not valid: " + check.reasons.joined(separator: "; "))
            }
            if !check.usable { throw ExitCode(1) }
        }
    }

    struct Install: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Install a license file (or an amendment adding seats) into the database.")

        @OptionGroup var global: GlobalOptions
        @Argument(help: ArgumentHelp("The license file.", valueName: "file")) var file: String

        func run() async throws {
            let text = try FileOutput.read(file)
            let report = try await global.open().installLicense(text: text, actor: global.actor)
            global.emit(report.json, text: report.text)
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the license in force, its state and seat usage.")

        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let report = try await global.open().licenseStatus()
            global.emit(report.json, text: report.text)
        }
    }

    struct ClockReset: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "clock-reset", abstract: "Clear a false clock alarm once the system clock is right again.",
            discussion: """
                Gatehouse records the latest time it has seen and calls the license clock_tampered when the \
                clock is more than 24 h behind it. If a server once ran with its clock set forward and the clock \
                has since been corrected, check the clock (`date -u`, your NTP source), then run this: the latest \
                time seen becomes now. Audited as clock.reset with the time it replaced and --reason.
                """)

        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Why (kept in the audit log), e.g. \"NTP was wrong on 11-20\".", valueName: "text")) var reason: String?

        func run() async throws {
            let report = try await global.open().resetClock(actor: global.actor, reason: reason)
            global.emit(report.json, text: report.text)
        }
    }
}
