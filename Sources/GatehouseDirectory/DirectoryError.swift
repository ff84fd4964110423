/// Why the directory could not be read, with a stable code.
public struct DirectoryError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The server cannot be contacted (down, wrong port, refused).
        case unreachable = "directory_unreachable"
        /// A connect or an operation took longer than `timeout`.
        case timeout = "directory_timeout"
        /// TLS or StartTLS failed (certificate, CA, protocol).
        case tls = "directory_tls_failed"
        /// The bind DN or password was refused.
        case bindFailed = "directory_bind_failed"
        /// The server refused or failed a search (bad base, filter, size limit).
        case searchFailed = "directory_search_failed"
        /// The answer could not be understood.
        case invalidAnswer = "directory_invalid_answer"
        case notConfigured = "directory_not_configured"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}
