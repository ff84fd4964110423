import GatehouseDirectory
import GatehouseDomain
import GatehouseService
import GatehouseSignIn
import GatehouseStorage
import Testing

/// Error codes are a closed set, and one table gives each its kind (its HTTP status).
@Suite("Error codes")
struct ErrorCodeTests {
    @Test func ownCodesAreSnakeCase() {
        let names = GatehouseError.Code.Name.allCases.map(\.rawValue)
        for name in names { #expect(name.allSatisfy { $0.isLowercase || $0 == "_" }, "\(name)") }
        #expect(names.count > 50)
    }

    @Test func theTableDecidesTheKind() {
        let expected: [(GatehouseError.Code, GatehouseError.Kind)] = [
            (.own(.invalidQuery), .badRequest), (.own(.malformedJson), .badRequest), (.own(.unsupportedMediaType), .unsupportedMediaType),
            (.own(.userNotFound), .notFound), (.own(.licenseMissing), .notFound), (.own(.tokenExists), .conflict),
            (.own(.noSeatAvailable), .conflict), (.own(.invalidPayload), .unprocessable), (.own(.licenseExpired), .unprocessable),
            (.own(.noSigninProvider), .unavailable), (.decision(.licenseMissing), .conflict), (.decision(.deniedByPolicy), .conflict),
            (.license(.badSignature), .unprocessable), (.store(.corrupt), .unavailable), (.store(.notFound), .notFound),
            (.directory(.notConfigured), .conflict), (.directory(.timeout), .unavailable), (.webhook(.badSignature), .unauthorized),
            (.signIn(.providerUnavailable), .unavailable), (.signIn(.tokenRefused), .forbidden),
        ]
        for (code, kind) in expected { #expect(GatehouseError(code, "x").kind == kind, "\(code)") }
        // The wire code is the family's own: a client reads the same strings as before.
        #expect(GatehouseError(.decision(.userBlocked), "x").code == "user_blocked")
        #expect(GatehouseError(.license(.termTooShort), "x").code == "term_too_short")
        #expect(GatehouseError(.store(.corrupt), "x").code == "database_corrupt")
        #expect(GatehouseError(.directory(.bindFailed), "x").code == "directory_bind_failed")
        #expect(GatehouseError.from(StoreError(.conflict, "taken")) == GatehouseError(.store(.conflict), "taken"))
    }
}
