import GatehouseDomain
import HTTPTypes
import Hummingbird
import Mustache

/// Server-rendered pages: templates shipped inside the binary (templates/, embedded at build
/// time), every value HTML-escaped by Mustache, one stylesheet, no script.
struct Pages: Sendable {
    let library: MustacheLibrary

    init() {
        var library = MustacheLibrary()
        for (file, text) in embeddedTemplates where file.hasSuffix(".mustache") {
            // The templates are ours and parsed at start-up: a broken one fails every test.
            try! library.register(text, named: String(file.dropLast(".mustache".count)))
        }
        self.library = library
    }

    static let shared = Pages()
    static let stylesheet = embeddedTemplates["gate.css"] ?? ""

    /// No script, nothing from elsewhere, never framed; forms post only to this origin.
    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .cacheControl: "no-store",
        HTTPField.Name("Referrer-Policy")!: "same-origin",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
    ]

    func render(_ template: String, _ values: [String: Any], status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        var fields = Self.securityHeaders
        for field in headers { fields.append(field) }
        return .text(html(template, values), contentType: "text/html; charset=utf-8", status: status, headers: fields)
    }

    /// A page's HTML.
    func html(_ template: String, _ values: [String: Any]) -> String {
        library.render(values, withTemplate: template) ?? "<!doctype html><title>Gatehouse</title><p>page \(template) is missing</p>"
    }

    /// A page with a heading, one sentence and an optional link.
    func message(
        _ heading: String, _ message: String, link: (href: String, text: String)? = nil, status: HTTPResponse.Status,
        headers: HTTPFields = [:]
    )
        -> Response
    {
        var values: [String: Any] = ["heading": heading, "message": message]
        if let link { values["link"] = ["href": link.href, "text": link.text] }
        return render("gate-message", values, status: status, headers: headers)
    }
}

extension Request {
    /// Whether the client reads HTML (a browser), from its Accept header.
    var wantsHTML: Bool { headers[.accept]?.contains("text/html") ?? false }
}
