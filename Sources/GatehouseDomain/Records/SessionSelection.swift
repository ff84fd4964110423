import Foundation

/// Which sessions to end.
public enum SessionSelection: Sendable, Equatable {
    case ids([String])
    case person(String)
    /// Every live session (signing everyone out).
    case all
    /// Past their absolute end at `at`, or not seen since `idleBefore`.
    case expired(at: Date, idleBefore: Date)
}
