import Foundation
import GatehouseDomain
import GatehouseService
import HTTPTypes
import Hummingbird

/// The admin console (SPEC section 11): server-rendered pages on the API port, signed in
/// through the gate's sessions. Every change is a form POST that carries the session's CSRF
/// token, is refused from another site (`Sec-Fetch-Site`) or by a read-only admin, asks for
/// confirmation when it takes access away, and calls the same service operation as the CLI
/// and the API, audited with the admin (`console:<provider:username>`) as actor.
struct ConsoleRoutes {
    let gatehouse: Gatehouse
    let pages = Pages.shared

    func register(_ api: Registrar) {
        api.add(.get, "/") { request, _ in
            guard request.wantsHTML else { throw GatehouseError(.invalidPath, "no such route: see /openapi.json") }
            return Response(status: .found, headers: [.location: "/console", .cacheControl: "no-store"])
        }
        api.add(.get, "/console/static/console.css") { _, _ in
            .text(Self.stylesheet, contentType: "text/css; charset=utf-8", headers: [.cacheControl: "public, max-age=3600"])
        }
        api.add(.get, "/console/link") { request, _ in
            let token = request.uri.queryParameters["token"].map(String.init) ?? ""
            // A GET only shows the button: link previewers and prefetchers must not use the link up.
            return pages.render("console-link", ["token": token], headers: [HTTPField.Name("X-Robots-Tag")!: "noindex"])
        }
        api.add(.post, "/console/link") { request, context in try await redeem(request, context) }
        api.add(.get, "/console") { request, _ in try await page(request) { viewer in try await overview(viewer) } }
        api.add(.get, "/console/people") { request, _ in try await page(request) { viewer in try await people(request, viewer) } }
        api.add(.get, "/console/people/{user}") { request, context in
            let user = try context.parameter("user")
            return try await page(request) { viewer in
                try await person(user, viewer, notice: request.uri.queryParameters["done"].map(String.init))
            }
        }
        api.add(.post, "/console/people/{user}/seat") { request, context in
            let user = try context.parameter("user")
            return try await change(request, context, back: "/console/people/\(Self.pathSafe(user))") { viewer, form in
                switch form["do"] {
                case "activate":
                    _ = try await gatehouse.activateSeat(user: user, actor: viewer.actor)
                    return .done("seat-given")
                case "deactivate":
                    guard form["confirm"] == "yes" else {
                        return .confirm(
                            heading: "Take the seat away?",
                            message: "\(try await who(user)) loses their Codecov seat now; their sessions end.",
                            label: "Take the seat away", value: "deactivate")
                    }
                    _ = try await gatehouse.deactivateSeat(user: user, actor: viewer.actor)
                    return .done("seat-taken")
                default: throw GatehouseError(.invalidRequest, "choose activate or deactivate")
                }
            }
        }
        api.add(.post, "/console/people/{user}/block") { request, context in
            let user = try context.parameter("user")
            return try await change(request, context, back: "/console/people/\(Self.pathSafe(user))") { viewer, form in
                switch form["do"] {
                case "block":
                    guard form["confirm"] == "yes" else {
                        return .confirm(
                            heading: "Block this person?",
                            message: "\(try await who(user)) cannot sign in any more; their seat is released and their sessions end.",
                            label: "Block", value: "block")
                    }
                    _ = try await gatehouse.setBlocked(user, blocked: true, actor: viewer.actor)
                    return .done("blocked")
                case "unblock":
                    _ = try await gatehouse.setBlocked(user, blocked: false, actor: viewer.actor)
                    return .done("unblocked")
                default: throw GatehouseError(.invalidRequest, "choose block or unblock")
                }
            }
        }
        api.add(.post, "/console/people/{user}/identities") { request, context in
            let user = try context.parameter("user")
            return try await change(request, context, back: "/console/people/\(Self.pathSafe(user))") { viewer, form in
                let identity = String((form["identity"] ?? "").prefix(300)).trimmingCharacters(in: .whitespaces)
                switch form["do"] {
                case "link":
                    _ = try await gatehouse.link(user: user, identity: identity, actor: viewer.actor)
                    return .done("linked")
                case "unlink":
                    guard form["confirm"] == "yes" else {
                        return .confirm(
                            heading: "Unlink \(identity)?",
                            message: "\(identity) stops being \(try await who(user)); it signs in as a person of its own.",
                            label: "Unlink", value: "unlink", extra: ["identity": identity])
                    }
                    try await gatehouse.unlink(identity: identity, actor: viewer.actor)
                    return .done("unlinked")
                default: throw GatehouseError(.invalidRequest, "choose link or unlink")
                }
            }
        }
        api.add(.post, "/console/people/{user}/sessions") { request, context in
            let user = try context.parameter("user")
            return try await change(request, context, back: "/console/people/\(Self.pathSafe(user))") { viewer, form in
                let session = form["session"] ?? ""
                guard form["confirm"] == "yes" else {
                    return .confirm(
                        heading: "End this session?",
                        message: "\(try await who(user)) is signed out of session \(session) at once, on every replica.",
                        label: "End the session", value: "end", extra: ["session": session])
                }
                // Only this person's session: an id from another person's page ends nothing here.
                let person = try await gatehouse.user(user).person.id
                guard try await gatehouse.listSessions(user: person).contains(where: { $0.id == session }) else {
                    throw GatehouseError(.sessionNotFound, "no live session \(session.prefix(40)) of this person")
                }
                _ = try await gatehouse.revokeSessions(id: session, user: nil, actor: viewer.actor)
                return .done("session-ended")
            }
        }
        api.add(.get, "/console/seats") { request, _ in try await page(request) { viewer in try await seats(request, viewer) } }
        api.add(.get, "/console/seat-requests") { request, _ in try await page(request) { viewer in try await requests(viewer) } }
        api.add(.get, "/console/license") { request, _ in
            try await page(request) { viewer in
                try await license(viewer, notice: request.uri.queryParameters["done"].map(String.init))
            }
        }
        api.add(.post, "/console/license") { request, context in
            try await change(request, context, back: "/console/license") { viewer, form in
                let text = form["license"] ?? ""
                // Every reason at once, before anything is tried; then the same install as the CLI's.
                let problems = try await gatehouse.licenseProblems(text: text)
                if !problems.isEmpty {
                    return .page(try await license(viewer, problems: problems, pasted: text), status: .unprocessableContent)
                }
                _ = try await gatehouse.installLicense(text: text, actor: viewer.actor)
                return .done("license-installed")
            }
        }
        api.add(.get, "/console/audit") { request, _ in try await page(request) { viewer in try await audit(request, viewer) } }
        api.add(.get, "/console/policies") { request, _ in
            try await page(request) { viewer in
                try await policies(viewer, notice: request.uri.queryParameters["done"].map(String.init))
            }
        }
        api.add(.post, "/console/policies") { request, context in
            try await change(request, context, back: "/console/policies") { viewer, form in
                // Textareas send CRLF; the set's files (and hash) are what the same files on disk would give.
                var files: [String: String] = [:]
                for name in Self.policyFiles {
                    let text = (form[name] ?? "").replacingOccurrences(of: "\r\n", with: "\n")
                    if !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { files[name] = text }
                }
                let checked = PolicyLoader.parse(files: files)
                if form["do"] == "apply", checked.problems.isEmpty {
                    _ = try await gatehouse.applyPolicies(files: files, actor: viewer.actor)
                    return .done("policy-applied")
                }
                return .page(
                    try await policies(viewer, submitted: files, problems: checked.problems),
                    status: checked.problems.isEmpty ? .ok : .unprocessableContent)
            }
        }
        api.add(.get, "/console/reports") { request, _ in
            try await page(request) { viewer in
                var values = common(viewer, nav: "navReports")
                values["today"] = UTC.formatDay(gatehouse.now())
                return pages.render("console-reports", values)
            }
        }
        api.add(.get, "/console/reports/compliance") { request, _ in try await page(request) { _ in try await compliance(request) } }
        api.add(.get, "/console/reports/usage") { request, _ in
            try await page(request) { _ in
                let report = try await gatehouse.usageReport(instanceURL: nil)
                return .text(
                    report.json.canonicalText + "\n", contentType: "application/json",
                    headers: [.contentDisposition: "attachment; filename=\"usage.json\"", .cacheControl: "no-store"])
            }
        }
        api.add(.get, "/console/egress") { request, _ in try await page(request) { viewer in try await egress(viewer) } }
        api.add(.post, "/console/egress") { request, context in
            // A check changes nothing but the refusal counters: read-only administrators may ask too.
            try await change(request, context, back: "/console/egress", readOnlyMay: true) { viewer, form in
                let url = String((form["url"] ?? "").prefix(2000))
                let check = try await gatehouse.checkEgress(url: url)
                return .page(try await egress(viewer, url: url, check: check), status: .ok)
            }
        }
        api.add(.get, "/console/directory") { request, _ in try await page(request) { viewer in try await directory(viewer) } }
        api.add(.post, "/console/directory") { request, context in
            try await change(request, context, back: "/console/directory") { viewer, form in
                let dryRun = form["do"] != "sync"
                let outcome = try await gatehouse.syncDirectory(dryRun: dryRun, actor: viewer.actor)
                return .page(try await directory(viewer, outcome: outcome), status: .ok)
            }
        }
        api.add(.get, "/console/audit/export") { request, _ in try await page(request) { _ in try await auditExport(request) } }
        for verb in ["approve", "reject"] {
            api.add(.post, "/console/seat-requests/{user}/\(verb)") { request, context in
                let user = try context.parameter("user")
                return try await change(request, context, back: "/console/seat-requests") { viewer, _ in
                    if verb == "approve" {
                        _ = try await gatehouse.approveSeatRequest(user: user, actor: viewer.actor)
                        return .done("approved")
                    }
                    try await gatehouse.rejectSeatRequest(user: user, actor: viewer.actor)
                    return .done("rejected")
                }
            }
        }
    }

    static let stylesheet = embeddedTemplates["console.css"] ?? ""

    /// Fixed notices after a change, by code (a query parameter chooses one; it prints nothing
    /// of its own).
    static let notices: [String: String] = [
        "seat-given": "The seat was given.", "seat-taken": "The seat was taken away.", "blocked": "Blocked: the seat is released.",
        "unblocked": "Unblocked.", "approved": "The request was approved: a seat was given.", "rejected": "The request was rejected.",
        "license-installed": "The license was installed and is in force.",
        "policy-applied": "The policy set was applied; every replica follows within a second.",
        "linked": "The account was linked.", "unlinked": "The account was unlinked.", "session-ended": "The session was ended.",
    ]

    // MARK: reading pages

    /// A page for someone signed in with console access; everyone else is sent to sign in or told no.
    func page(_ request: Request, _ body: (ConsoleViewer) async throws -> Response) async throws -> Response {
        guard gatehouse.gate != nil else {
            return pages.message(
                "The console needs sign-in", "Configure gate: in gatehouse.yml (SPEC section 10) to sign in to the console.",
                status: .notFound)
        }
        guard let viewer = try await gatehouse.consoleViewer(cookieHeader: request.headers[.cookie] ?? "") else {
            let target =
                "/gate/sign-in?rd="
                + (request.uri.path.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["/", "-"])) ?? "/console")
            return Response(status: .found, headers: [.location: target, .cacheControl: "no-store"])
        }
        guard viewer.access != .none else {
            return pages.message(
                "Not an administrator",
                "\(viewer.identity) is signed in but is not a Gatehouse administrator. Ask \(await gatehouse.gateHelp()) to add you to login.admins or a console group.",
                status: .forbidden)
        }
        do {
            return try await body(viewer)
        } catch {
            return failure(error, viewer: viewer, back: "/console")
        }
    }

    func common(_ viewer: ConsoleViewer, nav: String) -> [String: Any] {
        ["viewer": viewer.identity, "readOnly": viewer.access == .readOnly, nav: true]
    }

    func overview(_ viewer: ConsoleViewer) async throws -> Response {
        let status = try await gatehouse.licenseStatus()
        let seats = try await gatehouse.seatStatus()
        var values = common(viewer, nav: "navOverview")
        if let license = status.license {
            values["license"] = [
                "state": status.state.rawValue, "stateText": status.state.rawValue.replacingOccurrences(of: "_", with: " ").capitalized,
                "licensee": license.licensee, "id": license.licenseID,
                "term": "\(UTC.formatDay(license.termStartsAt)) to \(UTC.formatDay(license.expiresAt)) · \(license.seats) seats",
                "daysLeft": status.daysLeft.map { $0 >= 0 ? "\($0) day\($0 == 1 ? "" : "s") left" : "expired \(-$0) days ago" } ?? "",
            ]
            let daily = try await gatehouse.termDailyUsage()
            values["chart"] = ComplianceReport.seatChart(
                license: license, daily: daily, peak: daily.map(\.peak).max() ?? seats.active, asOf: gatehouse.now()
            ).replacingOccurrences(of: "<svg ", with: "<svg class=\"chart\" ")
        }
        values["active"] = seats.active
        values["licensed"] = seats.licensed
        values["available"] = max(0, seats.licensed - seats.active)
        values["peak"] = seats.peak
        let pending = try await gatehouse.seatRequests().count
        if pending > 0 { values["pending"] = pending }
        let warnings = Array(Set(status.warnings + seats.warnings)).sorted()
        values["warnings"] = warnings
        values["hasWarnings"] = !warnings.isEmpty
        values["directory"] = try await gatehouse.directoryStatus().line
        let head = try await gatehouse.auditEntries(AuditQuery(limit: 1)).last
        values["audit"] =
            head.map { "\($0.seq) entries; last change \($0.at) (\($0.action)). Verify with gatehouse audit verify." } ?? "empty"
        let channels = gatehouse.notificationChannels
        values["notifications"] =
            channels.isEmpty ? "none configured" : channels.map { "\($0.name) (\($0.kind.name))" }.joined(separator: ", ")
        return pages.render("console-overview", values)
    }

    func people(_ request: Request, _ viewer: ConsoleViewer) async throws -> Response {
        let query = request.uri.queryParameters
        let q = query["q"].map { String($0.prefix(200)) } ?? ""
        let seat = query["seat"].flatMap { SeatState(rawValue: String($0)) }
        let pageNumber = query["page"].flatMap { Int($0) } ?? 1
        let result = try await gatehouse.peoplePage(search: q, seat: seat, page: pageNumber)
        var values = common(viewer, nav: "navPeople")
        values["q"] = q
        values["seatAny"] = seat == nil
        values["seatActive"] = seat == .active
        values["seatNone"] = seat == SeatState.none
        values["total"] = result.total
        values["totalNoun"] = result.total == 1 ? "person" : "people"
        values["page"] = result.page
        values["pages"] = result.pages
        values["hasPages"] = result.pages > 1
        values["people"] = result.people.map { entry -> [String: Any] in
            var row: [String: Any] = [
                "id": entry.person.id, "name": entry.person.name, "identities": entry.identities.joined(separator: ", "),
                "seat": entry.person.seat.rawValue, "status": entry.person.status.rawValue.replacingOccurrences(of: "_", with: " "),
                "lastSeen": entry.person.lastSeenAt.map { UTC.format($0) } ?? "never",
            ]
            // Mustache reads an empty string as a value: leave absent what is absent.
            if let email = entry.person.email, !email.isEmpty { row["email"] = email }
            return row
        }
        func link(_ page: Int) -> String {
            var items = [URLQueryItem(name: "page", value: String(page))]
            if !q.isEmpty { items.append(URLQueryItem(name: "q", value: q)) }
            if let seat { items.append(URLQueryItem(name: "seat", value: seat.rawValue)) }
            var components = URLComponents()
            components.path = "/console/people"
            components.queryItems = items
            return components.string ?? "/console/people"
        }
        if result.page > 1 { values["previous"] = link(result.page - 1) }
        if result.page < result.pages { values["next"] = link(result.page + 1) }
        return pages.render("console-people", values)
    }

    func person(_ user: String, _ viewer: ConsoleViewer, notice: String?) async throws -> Response {
        let report = try await gatehouse.user(user)
        let p = report.person
        var values = common(viewer, nav: "navPeople")
        if let text = notice.flatMap({ Self.notices[$0] }) { values["notice"] = text }
        values["id"] = p.id
        values["name"] = p.name
        values["email"] = p.email ?? "none"
        values["seat"] = p.seat.rawValue
        values["status"] = p.status.rawValue.replacingOccurrences(of: "_", with: " ")
        values["role"] = p.role.rawValue
        values["lastSeen"] = p.lastSeenAt.map { UTC.format($0) } ?? "never"
        values["identities"] = report.identities.map(\.ref.description)
        values["memberships"] = report.memberships.map { ["kind": $0.kind.rawValue, "name": $0.name, "source": $0.source.rawValue] }
        values["mayChange"] = viewer.mayChange
        let base = "/console/people/\(Self.pathSafe(p.id))"
        var forms: [[String: Any]] = []
        if p.seat == .active {
            forms.append(["action": base + "/seat", "value": "deactivate", "label": "Take the seat away", "danger": true])
        } else if p.status == .active {
            forms.append(["action": base + "/seat", "value": "activate", "label": "Give a seat", "danger": false])
        }
        if p.status == .blocked {
            forms.append(["action": base + "/block", "value": "unblock", "label": "Unblock", "danger": false])
        } else {
            forms.append(["action": base + "/block", "value": "block", "label": "Block", "danger": true])
        }
        values["forms"] = forms.map { $0.merging(["csrf": viewer.csrfToken]) { a, _ in a } }
        values["csrf"] = viewer.csrfToken
        values["base"] = base
        values["hasManyIdentities"] = report.identities.count > 1
        let history = try await gatehouse.seatHistory(user: p.id)
        values["hasHistory"] = !history.isEmpty
        values["history"] = history.map {
            ["at": UTC.format($0.at), "what": $0.activated ? "seat given" : "seat taken", "actor": $0.actor, "reason": $0.reason]
        }
        let sessions = try await gatehouse.listSessions(user: p.id)
        values["hasSessions"] = !sessions.isEmpty
        values["sessions"] = sessions.map {
            [
                "id": $0.id, "created": UTC.format($0.createdAt), "signin": $0.signIn, "seen": UTC.format($0.lastSeenAt),
                "address": $0.address.isEmpty ? "—" : $0.address, "csrf": viewer.csrfToken, "base": base,
            ]
        }
        return pages.render("console-person", values)
    }

    func seats(_ request: Request, _ viewer: ConsoleViewer) async throws -> Response {
        let status = try await gatehouse.seatStatus()
        var values = common(viewer, nav: "navSeats")
        values["licensed"] = status.licensed
        if status.limit != status.licensed { values["limit"] = status.limit }
        values["active"] = status.active
        values["available"] = max(0, status.licensed - status.active)
        values["peak"] = status.term.historicalMax
        if let at = status.term.historicalMaxAt { values["peakAt"] = UTC.formatDay(at) }
        values["overage"] = status.term.overage
        if let since = status.term.overageSince { values["overageSince"] = UTC.formatDay(since) }
        values["warnings"] = status.warnings
        values["hasWarnings"] = !status.warnings.isEmpty
        let license = try await gatehouse.licenseStatus().license
        if let license {
            let daily = try await gatehouse.termDailyUsage()
            values["chart"] = ComplianceReport.seatChart(
                license: license, daily: daily, peak: daily.map(\.peak).max() ?? status.active, asOf: gatehouse.now()
            ).replacingOccurrences(of: "<svg ", with: "<svg class=\"chart\" ")
            values["trueUp"] = try await gatehouse.trueUp().text.replacingOccurrences(of: "\n", with: " ")
        } else {
            values["trueUp"] = "No license is installed."
        }
        let query = request.uri.queryParameters
        let add = query["add"].map(String.init) ?? ""
        let on = query["on"].map(String.init) ?? ""
        values["add"] = add.isEmpty ? "10" : add
        values["on"] = on.isEmpty ? UTC.formatDay(gatehouse.now()) : on
        if !add.isEmpty {
            do {
                guard let seats = Int64(add), seats >= 1, seats <= 1_000_000 else {
                    throw GatehouseError(.invalidQuery, "seats to add must be a whole number from 1 to 1,000,000")
                }
                var day: Date?
                if !on.isEmpty {
                    guard let parsed = UTC.parseDay(on) else { throw GatehouseError(.invalidQuery, "the day must be YYYY-MM-DD") }
                    day = parsed
                }
                values["quote"] = try await gatehouse.quote(add: seats, on: day).text
            } catch {
                values["quoteProblem"] = GatehouseError.from(error)?.message ?? "the quote could not be made"
            }
        }
        return pages.render("console-seats", values)
    }

    func requests(_ viewer: ConsoleViewer) async throws -> Response {
        let pending = try await gatehouse.seatRequests()
        var values = common(viewer, nav: "navRequests")
        values["summary"] =
            pending.isEmpty
            ? "Nobody is waiting for a seat." : "\(pending.count) waiting, oldest first. Approving gives a seat now, if one is free."
        values["hasRequests"] = !pending.isEmpty
        values["mayChange"] = viewer.mayChange
        values["requests"] = pending.map {
            [
                "requestedAt": UTC.format($0.requestedAt), "personID": $0.personID, "identity": $0.identity, "kind": $0.kind.rawValue,
                "csrf": viewer.csrfToken,
            ]
        }
        return pages.render("console-requests", values)
    }

    func license(_ viewer: ConsoleViewer, notice: String? = nil, problems: [String] = [], pasted: String? = nil) async throws -> Response {
        let status = try await gatehouse.licenseStatus()
        var values = common(viewer, nav: "navLicense")
        if let text = notice.flatMap({ Self.notices[$0] }) { values["notice"] = text }
        if let l = status.license {
            values["license"] = [
                "state": status.state.rawValue, "stateText": status.state.rawValue.replacingOccurrences(of: "_", with: " ").capitalized,
                "id": l.licenseID, "licensee": l.licensee, "seats": l.seats, "active": status.seatsActive,
                "term": "\(UTC.formatDay(l.termStartsAt)) to \(UTC.formatDay(l.expiresAt)) (this file from \(UTC.formatDay(l.startsAt)))",
                "installed": "\(UTC.format(l.installedAt)) by \(l.installedBy)",
                "daysLeft": status.daysLeft.map { $0 >= 0 ? "\($0) day\($0 == 1 ? "" : "s") left" : "expired \(-$0) days ago" } ?? "",
            ]
        }
        values["warnings"] = status.warnings
        values["hasWarnings"] = !status.warnings.isEmpty
        let ledger = try await gatehouse.prorationLedger()
        values["hasLedger"] = !ledger.isEmpty
        values["ledger"] = ledger.map { r -> [String: Any] in
            let p = r.proration
            return [
                "recorded": UTC.format(r.recordedAt), "license": r.licenseID, "supersedes": r.supersedes, "added": p.addedSeats,
                "effective": UTC.formatDay(p.effectiveDate), "amount": Money.format(cents: p.amountCents, currency: p.currency),
                "working":
                    "\(p.addedSeats) × \(Money.format(cents: p.seatPriceCents, currency: p.currency)) × \(p.remainingDays)/\(p.termDays) days",
            ]
        }
        values["mayChange"] = viewer.mayChange
        values["csrf"] = viewer.csrfToken
        values["hasProblems"] = !problems.isEmpty
        values["problems"] = problems
        values["problemCount"] = problems.count == 1 ? "one reason" : "\(problems.count) reasons"
        if let pasted { values["pasted"] = pasted }
        return pages.render("console-license", values)
    }

    static let policyFiles = ["login.yml", "seats.yml", "identity.yml", "egress.yml", "gate.yml"]

    func policies(_ viewer: ConsoleViewer, notice: String? = nil, submitted: [String: String]? = nil, problems: [String] = [])
        async throws -> Response
    {
        let inForce = try await gatehouse.policySetInForce()
        var values = common(viewer, nav: "navPolicies")
        if let text = notice.flatMap({ Self.notices[$0] }) { values["notice"] = text }
        if let inForce {
            values["inForce"] = [
                "hash": String(inForce.sha256.prefix(12)), "appliedAt": UTC.format(inForce.appliedAt), "appliedBy": inForce.appliedBy,
                "files": inForce.files.keys.sorted().joined(separator: ", "),
            ]
        }
        let current = inForce?.files ?? [:]
        let shown = submitted ?? current
        let names = (Self.policyFiles + shown.keys.sorted()).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
        values["editors"] = names.map { name -> [String: Any] in
            let text = shown[name] ?? ""
            return ["name": name, "text": text, "rows": min(30, max(4, text.split(separator: "\n").count + 2))]
        }
        values["mayChange"] = viewer.mayChange
        values["csrf"] = viewer.csrfToken
        values["hasProblems"] = !problems.isEmpty
        values["problems"] = problems
        values["problemCount"] = problems.count == 1 ? "a problem" : "\(problems.count) problems"
        if let submitted {
            if problems.isEmpty {
                values["checked"] = true
                values["unchanged"] = PolicyLoader.hash(submitted) == inForce?.sha256
            }
            let diff = names.compactMap { name -> [String: Any]? in
                let old = current[name] ?? "", new = submitted[name] ?? ""
                guard old != new else { return nil }
                let lines = LineDiff.lines(from: old, to: new).map { mark, text -> [String: Any] in
                    [
                        "mark": mark == .added ? "added" : mark == .removed ? "removed" : "kept", "sign": mark.rawValue,
                        "text": text,
                    ]
                }
                return ["file": name, "lines": lines]
            }
            values["hasDiff"] = !diff.isEmpty
            values["diff"] = diff
        }
        return pages.render("console-policies", values)
    }

    func compliance(_ request: Request) async throws -> Response {
        let query = request.uri.queryParameters
        let format = query["format"].map(String.init) ?? "html"
        guard ["json", "csv", "html"].contains(format) else { throw GatehouseError(.invalidQuery, "format must be html, csv or json") }
        var asOf: Date?
        if let text = query["as_of"], !text.isEmpty {
            guard let day = UTC.parseDay(String(text)) else { throw GatehouseError(.invalidQuery, "as_of must be a day, YYYY-MM-DD") }
            asOf = day
        }
        let report = try await gatehouse.complianceReport(asOf: asOf)
        switch format {
        case "csv":
            return .text(
                report.csv, contentType: "text/csv; charset=utf-8",
                headers: [.contentDisposition: "attachment; filename=\"compliance.csv\"", .cacheControl: "no-store"])
        case "json":
            return .text(
                report.json.canonicalText + "\n", contentType: "application/json",
                headers: [.contentDisposition: "attachment; filename=\"compliance.json\"", .cacheControl: "no-store"])
        default:
            // The report is one self-contained page with its own style element: no script, no framing.
            return .text(
                report.html, contentType: "text/html; charset=utf-8",
                headers: [
                    .contentSecurityPolicy:
                        "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; base-uri 'none'",
                    .cacheControl: "no-store", HTTPField.Name("Referrer-Policy")!: "same-origin",
                ])
        }
    }

    func egress(_ viewer: ConsoleViewer, url: String = "", check: EgressCheck? = nil) async throws -> Response {
        let policy = try await gatehouse.egressPolicyInForce()
        var values = common(viewer, nav: "navEgress")
        values["mode"] = policy.mode.rawValue
        values["privateNetworks"] =
            policy.denyPrivateNetworks
            ? "refused unless in allow_cidrs (\(policy.allowCIDRs.isEmpty ? "none" : policy.allowCIDRs.map(\.description).joined(separator: ", ")))"
            : "allowed"
        values["csrf"] = viewer.csrfToken
        values["url"] = url
        if let check {
            let destination = check.target?.description ?? "the URL"
            var verdict =
                check.allow
                ? "Allowed: \(destination)\(check.verdict.rule.map { " by rule \($0)" } ?? "")"
                : "Refused: \(destination) (\(check.verdict.reason.rawValue))"
            if !check.verdict.detail.isEmpty { verdict += ": \(check.verdict.detail)" }
            if check.allow, !check.verdict.allow { verdict += " — \(check.mode.rawValue) mode lets it through; enforce would refuse it" }
            if !check.addresses.isEmpty { verdict += ". Addresses: \(check.addresses.map(\.description).joined(separator: ", "))" }
            values["verdict"] = verdict
            values["verdictClass"] = check.allow ? "ok" : "broken"
        }
        let refusals = try await gatehouse.egressRefusals(days: 30)
        values["hasDenials"] = !refusals.isEmpty
        values["denials"] = refusals.prefix(200).map { ["destination": $0.destination, "reason": $0.reason, "count": $0.count] }
        return pages.render("console-egress", values)
    }

    func directory(_ viewer: ConsoleViewer, outcome: DirectorySyncOutcome? = nil) async throws -> Response {
        let status = try await gatehouse.directoryStatus()
        var values = common(viewer, nav: "navDirectory")
        values["status"] =
            status.state == .notConfigured ? "No directory is configured: add an ldap: section to gatehouse.yml." : status.line
        values["configured"] = status.state != .notConfigured
        values["mayChange"] = viewer.mayChange
        values["csrf"] = viewer.csrfToken
        if let outcome {
            values["hasPlan"] = true
            values["planHeading"] = outcome.dryRun ? "The plan (dry run: nothing changed)" : "Synced"
            values["plan"] = outcome.lines
        }
        return pages.render("console-directory", values)
    }

    func auditFilter(_ request: Request) throws -> (AuditQuery, action: String, since: String) {
        let query = request.uri.queryParameters
        let action = query["action"].map { String($0.prefix(100)).trimmingCharacters(in: .whitespaces) } ?? ""
        let since = query["since"].map(String.init) ?? ""
        var filter = AuditQuery()
        if !action.isEmpty { filter.action = action }
        if !since.isEmpty {
            guard let day = UTC.parseDay(since) else { throw GatehouseError(.invalidQuery, "since must be a day, YYYY-MM-DD") }
            filter.since = day
        }
        return (filter, action, since)
    }

    func audit(_ request: Request, _ viewer: ConsoleViewer) async throws -> Response {
        var (filter, action, since) = try auditFilter(request)
        var values = common(viewer, nav: "navAudit")
        if request.uri.queryParameters["verify"] == "1" {
            let report = try await gatehouse.verifyAudit()
            values["verified"] =
                report.ok
                ? "The chain is intact: \(report.entries) entries verified."
                : "The chain is broken at entry \(report.firstBroken.map(String.init) ?? "?"): \(report.problem ?? "it does not verify"). The log was changed outside Gatehouse."
            values["verdictClass"] = report.ok ? "ok" : "broken"
        }
        filter.limit = 200
        let entries = try await gatehouse.auditEntries(filter).reversed()
        values["action"] = action
        values["since"] = since
        var exportQuery = ""
        if !action.isEmpty {
            exportQuery += "&action=" + (action.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union([".", "_", "-"])) ?? "")
        }
        if !since.isEmpty, UTC.parseDay(since) != nil { exportQuery += "&since=" + since }
        if !exportQuery.isEmpty { values["exportQuery"] = exportQuery }
        values["summary"] =
            entries.count == 200
            ? "The latest 200 entries, newest first; narrow them with the filter." : "\(entries.count) entries, newest first."
        values["entries"] = entries.map { e -> [String: Any] in
            ["seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject, "details": e.details]
        }
        return pages.render("console-audit", values)
    }

    func auditExport(_ request: Request) async throws -> Response {
        let (filter, _, _) = try auditFilter(request)
        let entries = try await gatehouse.auditEntries(filter)
        let csv = request.uri.queryParameters["format"] != "json"
        return .text(
            AuditEntry.export(entries, json: !csv), contentType: csv ? "text/csv; charset=utf-8" : "application/json",
            headers: [
                .contentDisposition: "attachment; filename=\"gatehouse-audit.\(csv ? "csv" : "json")\"", .cacheControl: "no-store",
            ])
    }

    // MARK: changes

    /// A person as a confirmation names them: name and identities.
    func who(_ user: String) async throws -> String {
        let report = try await gatehouse.user(user)
        let identities = report.identities.map(\.ref.description).sorted().joined(separator: ", ")
        return identities.isEmpty ? report.person.name : "\(report.person.name) (\(identities))"
    }

    enum Outcome {
        case done(String)
        /// A page instead (a refusal shown in full).
        case page(Response, status: HTTPResponse.Status)
        case confirm(heading: String, message: String, label: String, value: String, extra: [String: String] = [:])
    }

    /// A form POST: same-origin, a live admin session, the session's CSRF token; then the change.
    func change(
        _ request: Request, _ context: GatehouseContext, back: String,
        readOnlyMay: Bool = false, _ body: (ConsoleViewer, [String: String]) async throws -> Outcome
    ) async throws -> Response {
        // Browsers say where a request comes from; another site's form is refused before anything
        // is read (a browser too old to say is held to the token alone).
        if let site = request.headers[HTTPField.Name("Sec-Fetch-Site")!], site != "same-origin", site != "none" {
            return pages.message("Refused", "This form was sent from another site; nothing was changed.", status: .forbidden)
        }
        guard let viewer = try await gatehouse.consoleViewer(cookieHeader: request.headers[.cookie] ?? "") else {
            return pages.message("Signed out", "Your session has ended; sign in again. Nothing was changed.", status: .unauthorized)
        }
        guard viewer.mayChange || (readOnlyMay && viewer.access == .readOnly) else {
            return pages.message(
                "Read-only", "\(viewer.identity) may look but not change anything here; nothing was changed.", status: .forbidden)
        }
        let form = try await Self.form(request, context)
        guard let token = form["csrf"], APIToken.constantTimeEquals(token, viewer.csrfToken) else {
            return pages.message(
                "Refused", "This form is out of date or was not sent from this console; nothing was changed.", status: .forbidden)
        }
        do {
            switch try await body(viewer, form) {
            case .done(let code):
                let separator = back.contains("?") ? "&" : "?"
                return Response(status: .seeOther, headers: [.location: back + separator + "done=" + code, .cacheControl: "no-store"])
            case .page(var response, let status):
                response.status = status
                return response
            case .confirm(let heading, let message, let label, let value, let extra):
                var values = common(viewer, nav: "navPeople")
                values.merge([
                    "heading": heading, "message": message, "label": label, "value": value, "csrf": viewer.csrfToken,
                    "action": request.uri.path, "back": back,
                    "extra": extra.sorted { $0.key < $1.key }.map { ["name": $0.key, "value": $0.value] },
                ]) { _, new in new }
                return pages.render("console-confirm", values)
            }
        } catch {
            return failure(error, viewer: viewer, back: back)
        }
    }

    func failure(_ error: any Error, viewer: ConsoleViewer, back: String) -> Response {
        guard let known = GatehouseError.from(error) else {
            return pages.message("Something went wrong", "The server log says what; nothing was changed.", status: .internalServerError)
        }
        return pages.message(
            "Not done", known.message, link: (href: back, text: "Back"), status: known.kind.status)
    }

    /// `application/x-www-form-urlencoded`, at most 64 KiB; the first value of each name.
    static func form(_ request: Request, _ context: GatehouseContext) async throws -> [String: String] {
        let buffer = try await request.body.collect(upTo: 64 << 10)
        var fields: [String: String] = [:]
        for pair in String(buffer: buffer).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            guard let name = parts.first, !name.isEmpty, fields[name] == nil else { continue }
            fields[name] = parts.count > 1 ? parts[1] : ""
        }
        return fields
    }

    /// A user as one path segment.
    static func pathSafe(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(["-", "_", ".", ":", "@"])) ?? ""
    }

    // MARK: the sign-in link

    func redeem(_ request: Request, _ context: GatehouseContext) async throws -> Response {
        let form = try await Self.form(request, context)
        do {
            let (cookie, _) = try await gatehouse.redeemConsoleLink(
                token: form["token"] ?? "", userAgent: request.headers[.userAgent] ?? "", address: context.remoteAddress?.ipAddress ?? "")
            return Response(status: .seeOther, headers: [.location: "/console", .setCookie: cookie, .cacheControl: "no-store"])
        } catch {
            let known = GatehouseError.from(error)
            return pages.message(
                "Sign-in link refused", known?.message ?? "Something went wrong; the server log says what.",
                status: known?.kind.status ?? .internalServerError)
        }
    }
}

extension ConsoleViewer {
    /// The audit actor of a change made in the console.
    var actor: String { "console:\(identity)" }
}
