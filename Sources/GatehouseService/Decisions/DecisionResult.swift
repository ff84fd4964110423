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
    /// The answer as canonical JSON, written into one string of the right size (a chain of
    /// `+` made a string per piece, on every decision).
    public var jsonText: String {
        var text = String()
        text.reserveCapacity(112 + (personID?.utf8.count ?? 0))
        text += allow ? "{\"allow\":true,\"person\":" : "{\"allow\":false,\"person\":"
        if let personID { JSONValue.writeQuoted(personID, into: &text) } else { text += "null" }
        text += ",\"reason\":\""
        text += reason.rawValue
        text += "\",\"role\":\""
        text += role.rawValue
        text += "\",\"seat\":\""
        text += seat.rawValue
        text += "\"}"
        return text
    }

    public var json: JSONValue {
        [
            "allow": .bool(allow), "reason": .string(reason.rawValue), "person": .optional(personID), "seat": .string(seat.rawValue),
            "role": .string(role.rawValue),
        ]
    }
}
