import GatehouseDomain
import GatehouseService
import Hummingbird

extension Response {
    /// A JSON response from a value, in canonical (compact, sorted) form.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        .json(text: value.canonicalText, status: status, headers: headers)
    }

    /// A JSON response from text that is already JSON.
    static func json(text: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        .text(text, contentType: "application/json", status: status, headers: headers, newline: true)
    }

    /// A response with a body of the given type (and a final newline, for JSON).
    static func text(
        _ text: String, contentType: String, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:], newline: Bool = false
    ) -> Response {
        var fields = headers
        fields[.contentType] = contentType
        return Response(status: status, headers: fields, body: .init(byteBuffer: body(text, newline: newline)))
    }

    /// A body's bytes: the text, and for JSON a final newline (the decision fast path writes
    /// its answers with this too).
    static func body(_ text: String, newline: Bool, allocator: ByteBufferAllocator = ByteBufferAllocator()) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: text.utf8.count + 1)
        buffer.writeString(text)
        if newline { buffer.writeInteger(UInt8(ascii: "\n")) }
        return buffer
    }

    /// The error body of SPEC section 6: `{"error":{"code","message"}}`.
    static func error(_ status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:]) -> Response {
        .json(["error": ["code": .string(code), "message": .string(message)]], status: status, headers: headers)
    }
}

extension GatehouseError.Kind {
    var status: HTTPResponse.Status {
        switch self {
        case .badRequest: .badRequest
        case .unprocessable: .unprocessableContent
        case .unauthorized: .unauthorized
        case .forbidden: .forbidden
        case .notFound: .notFound
        case .conflict: .conflict
        case .unavailable: .serviceUnavailable
        case .unsupportedMediaType: .unsupportedMediaType
        }
    }
}
