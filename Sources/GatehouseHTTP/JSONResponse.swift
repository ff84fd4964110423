import GatehouseDomain
import GatehouseService
import Hummingbird

extension Response {
    /// A JSON response from a value, in canonical (compact, sorted) form.
    static func json(_ value: JSONValue, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = headers
        fields[.contentType] = "application/json"
        var buffer = ByteBuffer()
        buffer.writeString(value.canonicalText)
        buffer.writeString("\n")
        return Response(status: status, headers: fields, body: .init(byteBuffer: buffer))
    }

    /// A JSON response from text that is already JSON.
    static func json(text: String, status: HTTPResponse.Status = .ok) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(text)
        buffer.writeString("\n")
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: buffer))
    }

    /// A text response of the given type.
    static func text(_ text: String, contentType: String) -> Response {
        var buffer = ByteBuffer()
        buffer.writeString(text)
        return Response(status: .ok, headers: [.contentType: contentType], body: .init(byteBuffer: buffer))
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
        }
    }
}
