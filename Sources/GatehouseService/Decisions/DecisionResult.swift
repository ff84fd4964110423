import GatehouseDomain

/// The answer to the Codecov instance (SPEC section 6).
public struct DecisionResult: Sendable, Equatable {
    public var allow: Bool
    public var reason: DecisionReason
    public var personID: String?
    public var seat: SeatState
    public var role: Role

    public init(allow: Bool, reason: DecisionReason, personID: String?, seat: SeatState, role: Role) {
        self.allow = allow
        self.reason = reason
        self.personID = personID
        self.seat = seat
        self.role = role
    }

    /// The canonical JSON text of `json`, written directly: this is every decision's answer.
    public var jsonText: String {
        "{\"allow\":" + (allow ? "true" : "false") + ",\"person\":" + (personID.map(JSONValue.quoted) ?? "null") + ",\"reason\":\""
            + reason.rawValue + "\",\"role\":\"" + role.rawValue + "\",\"seat\":\"" + seat.rawValue + "\"}"
    }

    public var json: JSONValue {
        ["allow": .bool(allow), "reason": .string(reason.rawValue), "person": .optional(personID), "seat": .string(seat.rawValue), "role": .string(role.rawValue)]
    }
}
