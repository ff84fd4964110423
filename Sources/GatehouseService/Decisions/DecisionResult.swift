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

    public var json: JSONValue {
        ["allow": .bool(allow), "reason": .string(reason.rawValue), "person": .optional(personID), "seat": .string(seat.rawValue), "role": .string(role.rawValue)]
    }
}
