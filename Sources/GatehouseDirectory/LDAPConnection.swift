import CLDAP
import Foundation

/// One connection to the directory through OpenLDAP's libldap. Every call blocks: use it only
/// from `Blocking.run`, never on an event loop, and from one thread at a time.
final class LDAPConnection {
    private let ld: OpaquePointer
    private let timeout: TimeInterval
    /// Whether answers are read through liblber's read-ahead buffer yet (see `search`).
    private var readingAhead = false

    /// Connects (lazily, at the first operation, as libldap does), applying timeouts and TLS
    /// settings; with `startTLS` the connection is upgraded before anything is sent.
    init(_ config: DirectoryConfiguration) throws(DirectoryError) {
        var handle: OpaquePointer?
        let rc = ldap_initialize(&handle, config.url)
        guard rc == LDAP_SUCCESS, let handle else {
            throw DirectoryError(.unreachable, "cannot use \(config.url): \(Self.text(rc))")
        }
        ld = handle
        timeout = config.timeout
        var version = LDAP_VERSION3
        _ = ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version)
        _ = ldap_set_option(ld, LDAP_OPT_REFERRALS, nil)  // LDAP_OPT_OFF: no chasing to other servers
        var limit = Self.timeval(config.timeout)
        _ = ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &limit)
        _ = ldap_set_option(ld, LDAP_OPT_TIMEOUT, &limit)
        if let caFile = config.caFile {
            _ = caFile.withCString { ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, $0) }
        }
        var demand = cldap_tls_demand()
        _ = ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand)
        var server: Int32 = 0
        _ = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &server)
        if config.startTLS {
            let rc = ldap_start_tls_s(ld, nil, nil)
            guard rc == LDAP_SUCCESS else { throw error(rc, "StartTLS with \(config.url)", tlsContext: true) }
        }
    }

    deinit { ldap_unbind_ext_s(ld, nil, nil) }

    /// Simple bind; nothing to do for anonymous access.
    func bind(dn: String?, password: String?) throws(DirectoryError) {
        guard let dn else { return }
        let secret = Array((password ?? "").utf8CString)
        let rc = secret.withUnsafeBufferPointer { buffer in
            var credentials = berval(bv_len: ber_len_t(buffer.count - 1), bv_val: UnsafeMutablePointer(mutating: buffer.baseAddress))
            return ldap_sasl_bind_s(ld, dn, nil, &credentials, nil, nil, nil)  // nil mechanism: LDAP_SASL_SIMPLE
        }
        guard rc == LDAP_SUCCESS else { throw error(rc, "bind as \(dn)") }
    }

    /// A subtree search, read page by page (RFC 2696) when `pageSize` > 0, so a directory larger
    /// than the server's size limit is read whole. `onPage` gets the entries of each page; the
    /// next page is already requested while it runs, so the server and this client work side
    /// by side rather than in turns.
    func search(
        base: String, filter: String, attributes: [String], pageSize: Int, onPage: ([LDAPEntry]) throws -> Void
    ) throws {
        var cookie = berval(bv_len: 0, bv_val: nil)
        defer { ber_memfree(cookie.bv_val) }
        var messageID = try send(base: base, filter: filter, attributes: attributes, pageSize: pageSize, cookie: nil)
        if !readingAhead {
            // The connection is open now (a request went out) and nothing has been read yet.
            // Reading 16 KiB at a time cut the system calls of a 100,000-person listing by most
            // of them (docs/benchmarks.md); if the layer cannot be added, reads stay as they were.
            readingAhead = cldap_add_readahead(ld) >= 0
        }
        while true {
            let result = try receive(messageID, base: base)
            defer { ldap_msgfree(result) }
            let next = try finish(result, base: base, filter: filter, paged: pageSize > 0)
            var more = false
            if var next, next.bv_len > 0 {
                ber_memfree(cookie.bv_val)
                cookie = next
                next = berval(bv_len: 0, bv_val: nil)
                messageID = try send(base: base, filter: filter, attributes: attributes, pageSize: pageSize, cookie: &cookie)
                more = true
            } else if let next {
                ber_memfree(next.bv_val)
            }
            try onPage(entries(result, attributes: attributes))
            if !more { return }
        }
    }

    /// Sends one search request (one page); returns its message id.
    private func send(base: String, filter: String, attributes: [String], pageSize: Int, cookie: UnsafeMutablePointer<berval>?) throws(DirectoryError) -> Int32 {
        var pageControl: UnsafeMutablePointer<LDAPControl>?
        if pageSize > 0 {
            let rc = ldap_create_page_control(ld, ber_int_t(pageSize), cookie, 1, &pageControl)
            guard rc == LDAP_SUCCESS else { throw error(rc, "paged search of \(base)") }
        }
        defer { if let pageControl { ldap_control_free(pageControl) } }
        var limit = Self.timeval(timeout)
        var controls: [UnsafeMutablePointer<LDAPControl>?] = [pageControl, nil]
        var messageID: Int32 = 0
        let rc = withCStringArray(attributes) { attrs in
            controls.withUnsafeMutableBufferPointer { ctrls in
                ldap_search_ext(
                    ld, base, cldap_scope_subtree(), filter, attrs, 0, pageControl == nil ? nil : ctrls.baseAddress, nil, &limit, LDAP_NO_LIMIT,
                    &messageID)
            }
        }
        guard rc == LDAP_SUCCESS else { throw error(rc, "search of \(base) with \(filter)") }
        return messageID
    }

    /// Waits (at most `timeout`) for every message of one page.
    private func receive(_ messageID: Int32, base: String) throws(DirectoryError) -> OpaquePointer {
        var limit = Self.timeval(timeout)
        var result: OpaquePointer?
        let type = ldap_result(ld, messageID, LDAP_MSG_ALL, &limit, &result)
        if type == 0 {
            if let result { ldap_msgfree(result) }
            _ = ldap_abandon_ext(ld, messageID, nil, nil)
            throw DirectoryError(.timeout, "search of \(base) failed: no answer within \(Int(timeout)) s")
        }
        guard type > 0, let result else {
            var code: Int32 = 0
            _ = ldap_get_option(ld, LDAP_OPT_RESULT_CODE, &code)
            throw error(code == 0 ? LDAP_SERVER_DOWN : code, "search of \(base)")
        }
        return result
    }

    /// Checks a page's result code; returns the paging cookie for the next page, if any.
    private func finish(_ result: OpaquePointer, base: String, filter: String, paged: Bool) throws(DirectoryError) -> berval? {
        var code: Int32 = 0
        var returned: UnsafeMutablePointer<UnsafeMutablePointer<LDAPControl>?>?
        let rc = ldap_parse_result(ld, result, &code, nil, nil, nil, &returned, 0)
        defer { if let returned { ldap_controls_free(returned) } }
        guard rc == LDAP_SUCCESS else { throw error(rc, "reading the answer to a search of \(base)") }
        guard code == LDAP_SUCCESS else {
            if code == LDAP_SIZELIMIT_EXCEEDED {
                throw DirectoryError(
                    .searchFailed,
                    "the directory stopped at its size limit while listing \(base)" + (paged ? "" : "; set ldap.page_size (paged results) to read it whole"))
            }
            throw error(code, "search of \(base) with \(filter)")
        }
        guard paged, let control = ldap_control_find(cldap_control_paged_results(), returned, nil) else { return nil }
        var count: ber_int_t = 0
        var cookie = berval(bv_len: 0, bv_val: nil)
        guard ldap_parse_pageresponse_control(ld, control, &count, &cookie) == LDAP_SUCCESS else {
            throw DirectoryError(.invalidAnswer, "the directory sent a paged-results control that cannot be parsed")
        }
        return cookie
    }

    private func entries(_ result: OpaquePointer, attributes: [String]) throws(DirectoryError) -> [LDAPEntry] {
        var entries: [LDAPEntry] = []
        var next = ldap_first_entry(ld, result)
        while let entry = next {
            guard let dnPointer = ldap_get_dn(ld, entry) else { throw DirectoryError(.invalidAnswer, "an entry without a DN") }
            let dn = String(cString: dnPointer)
            ldap_memfree(dnPointer)
            var values: [String: [String]] = [:]
            var invalid: [String] = []
            for attribute in attributes where attribute != "1.1" {
                guard let list = ldap_get_values_len(ld, entry, attribute) else { continue }
                defer { ldap_value_free_len(list) }
                var i = 0
                var strings: [String] = []
                while let value = list[i] {
                    let bytes = UnsafeRawBufferPointer(start: value.pointee.bv_val, count: Int(value.pointee.bv_len))
                    if let text = String(validating: bytes, as: UTF8.self) { strings.append(text) } else { invalid.append(attribute) }
                    i += 1
                }
                values[attribute.lowercased()] = strings
            }
            entries.append(LDAPEntry(dn: dn, attributes: values, invalidAttributes: invalid))
            next = ldap_next_entry(ld, entry)
        }
        return entries
    }

    private func error(_ rc: Int32, _ doing: String, tlsContext: Bool = false) -> DirectoryError {
        var detail = Self.text(rc)
        var diagnostic: UnsafeMutablePointer<CChar>?
        if ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diagnostic) == LDAP_SUCCESS, let diagnostic {
            let text = String(cString: diagnostic)
            if !text.isEmpty { detail += " (\(text))" }
            ldap_memfree(diagnostic)
        }
        let message = "\(doing) failed: \(detail)"
        switch rc {
        case LDAP_SERVER_DOWN, LDAP_CONNECT_ERROR:
            return DirectoryError(tlsContext ? .tls : .unreachable, message)
        case LDAP_TIMEOUT, LDAP_TIMELIMIT_EXCEEDED: return DirectoryError(.timeout, message)
        case LDAP_INVALID_CREDENTIALS, LDAP_INAPPROPRIATE_AUTH, LDAP_INSUFFICIENT_ACCESS: return DirectoryError(.bindFailed, message)
        default: return DirectoryError(tlsContext ? .tls : .searchFailed, message)
        }
    }

    static func text(_ rc: Int32) -> String {
        String(cString: ldap_err2string(rc)) + " (\(rc))"
    }

    static func timeval(_ seconds: TimeInterval) -> Glibc.timeval {
        Glibc.timeval(tv_sec: Int(seconds), tv_usec: Int((seconds - seconds.rounded(.down)) * 1_000_000))
    }
}

/// An entry as read: its DN and the requested attributes (names lowercased).
struct LDAPEntry: Sendable {
    var dn: String
    var attributes: [String: [String]]
    /// Attributes with a value that is not UTF-8 (skipped).
    var invalidAttributes: [String]

    func first(_ attribute: String) -> String? { attributes[attribute.lowercased()]?.first }
    func all(_ attribute: String) -> [String] { attributes[attribute.lowercased()] ?? [] }
}

/// Calls `body` with a NULL-terminated C array of the strings.
func withCStringArray<R>(_ strings: [String], _ body: (UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) throws -> R) rethrows -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) } + [nil]
    defer { for p in pointers { free(p) } }
    return try pointers.withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
}
