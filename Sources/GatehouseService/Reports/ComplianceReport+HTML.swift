import Foundation
import GatehouseDomain
import GatehouseStorage

extension ComplianceReport {
    /// One self-contained HTML page (no external fetches): inline CSS, an inline SVG chart of
    /// seats in use against seats licensed over the term, and print styles.
    public var html: String {
        let title = "Gatehouse compliance report — \(license.map { $0.licensee } ?? "no license") — \(UTC.formatDay(asOf))"
        var page = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>\(Self.escape(title))</title>
            <style>
            body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:60rem;color:#1b1f24;padding:0 1rem}
            h1{font-size:1.5rem;margin-bottom:.2rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #d0d7de;padding-bottom:.2rem}
            table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #eaeef2;vertical-align:top}
            th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}.muted{color:#57606a}
            .ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}svg{width:100%;height:auto}
            @media print{body{margin:0;max-width:none}h2{break-after:avoid}table,svg{break-inside:avoid}}
            </style></head><body>
            <h1>\(Self.escape(title))</h1>
            <p class="muted">As of \(UTC.format(asOf)); generated \(UTC.format(generatedAt)) by Gatehouse.</p>
            """
        page += "<h2>License</h2><table>"
        if let l = license {
            page += Self.row("License", l.licenseID) + Self.row("Licensee", l.licensee) + Self.row("Seats", String(l.seats))
            page += Self.row("Term", "\(UTC.formatDay(l.termStartsAt)) – \(UTC.formatDay(l.expiresAt))")
        }
        page += Self.row("State", licenseState.rawValue) + "</table>"
        page += "<h2>Seat usage</h2><table>" + Self.row("Active", String(activeSeats)) + Self.row("Peak in term", String(peak)) + "</table>"
        page += chart
        page += "<h2>Seat holders (\(holders.count))</h2><table><tr><th>Person</th><th>Name</th><th>Identities</th><th>Last seen</th></tr>"
        for h in holders {
            page += "<tr><td>\(Self.escape(h.person.id))</td><td>\(Self.escape(h.person.name))</td><td>\(Self.escape(h.identities.joined(separator: ", ")))</td>"
            page += "<td>\(Self.escape(h.person.lastSeenAt.map { UTC.format($0) } ?? "never"))</td></tr>"
        }
        page += "</table><h2>Administrators</h2><table><tr><th>Administrator</th></tr>"
        page += admins.map { "<tr><td>\(Self.escape($0))</td></tr>" }.joined() + "</table>"
        page += "<h2>Policy set in force</h2><table>"
        if let p = policy {
            page += Self.row("SHA-256", p.sha256) + Self.row("Applied", UTC.format(p.appliedAt)) + Self.row("Applied by", p.appliedBy)
        } else {
            page += Self.row("Policy", "built-in defaults (no set applied)")
        }
        page += "</table><h2>Denials by reason</h2><table><tr><th>Kind / reason</th><th>Count</th></tr>"
        page += denials.sorted { $0.key < $1.key }.map { "<tr><td>\(Self.escape($0.key))</td><td class=\"n\">\($0.value)</td></tr>" }.joined()
        page += "</table>"
        if !recentDenials.isEmpty {
            page += "<h2>Latest denials</h2><table><tr><th>At</th><th>Kind</th><th>Reason</th><th>Who</th></tr>"
            page += recentDenials.prefix(20).map {
                "<tr><td>\(UTC.format($0.at))</td><td>\(Self.escape($0.kind))</td><td>\(Self.escape($0.reason))</td><td>\(Self.escape($0.subject))</td></tr>"
            }.joined()
            page += "</table>"
        }
        page += "<h2>Egress refusals by destination</h2>"
        if egressDenials.isEmpty {
            page += "<p class=\"muted\">None recorded.</p>"
        } else {
            page += "<table><tr><th>Destination</th><th>Reason</th><th>Count</th></tr>"
            page += egressDenials.map {
                "<tr><td>\(Self.escape($0.destination))</td><td>\(Self.escape($0.reason))</td><td class=\"n\">\($0.count)</td></tr>"
            }.joined()
            page += "</table>"
        }
        page += "<h2>Audit chain</h2><p class=\"\(audit.ok ? "ok" : "bad")\">\(Self.escape(audit.text))</p></body></html>\n"
        return page
    }

    /// Seats in use (daily peak) against seats licensed. The axis spans the whole term (first
    /// day to last), so how far into the term the report is shows at a glance; the latest day
    /// is marked by a dot, which is all there is to draw on a term's first day.
    public var chart: String { Self.seatChart(license: license, daily: daily, peak: peak, asOf: asOf) }

    /// The chart for any term's daily usage (the report's, the console's overview).
    public static func seatChart(license: StoredLicense?, daily: [DailyUsage], peak: Int64, asOf: Date) -> String {
        let width = 800.0, height = 260.0, left = 50.0, bottom = 30.0, top = 10.0
        let plotWidth = width - left - 10
        let licensed = Double(license?.seats ?? 0)
        let maxY = max(1, licensed, Double(peak)) * 1.1
        let first = license.map { UTC.startOfDay($0.termStartsAt) } ?? daily.first?.day ?? UTC.startOfDay(asOf)
        let last = license.map { UTC.startOfDay($0.expiresAt.addingTimeInterval(-1)) } ?? daily.last?.day ?? first
        let span = Double(max(1, UTC.days(from: first, to: last)))
        func f(_ v: Double) -> String { String(format: "%.1f", v) }
        func x(_ day: Date) -> Double { left + plotWidth * min(1, max(0, Double(UTC.days(from: first, to: day)) / span)) }
        func y(_ v: Double) -> Double { top + (height - top - bottom) * (1 - v / maxY) }
        var svg = "<svg role=\"img\" aria-label=\"Seats in use against seats licensed, \(UTC.formatDay(first)) to \(UTC.formatDay(last))\" "
            + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">"
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(height - top - bottom)\" fill=\"#f6f8fa\"/>"
        for fraction in [0.0, 0.5, 1.0] {
            let v = (maxY / 1.1) * fraction
            svg += "<text x=\"\(left - 6)\" y=\"\(f(y(v) + 4))\" font-size=\"11\" text-anchor=\"end\" fill=\"#57606a\">\(Int(v.rounded()))</text>"
        }
        if licensed > 0 {
            svg += "<line class=\"licensed\" x1=\"\(left)\" x2=\"\(width - 10)\" y1=\"\(f(y(licensed)))\" y2=\"\(f(y(licensed)))\" stroke=\"#cf222e\" stroke-dasharray=\"6 4\"/>"
            svg += "<text x=\"\(width - 14)\" y=\"\(f(y(licensed) - 4))\" font-size=\"11\" text-anchor=\"end\" fill=\"#cf222e\">licensed \(Int(licensed))</text>"
        }
        if let latest = daily.last {
            if daily.count > 1 {
                let points = daily.map { f(x($0.day)) + "," + f(y(Double($0.peak))) }.joined(separator: " ")
                svg += "<polyline class=\"in-use\" points=\"\(points)\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\"/>"
            }
            svg += "<circle class=\"in-use-latest\" cx=\"\(f(x(latest.day)))\" cy=\"\(f(y(Double(latest.peak))))\" r=\"4\" fill=\"#0969da\">"
                + "<title>\(UTC.formatDay(latest.day)): \(latest.peak) in use at the peak</title></circle>"
        }
        svg += "<text x=\"\(left)\" y=\"\(height - 8)\" font-size=\"11\" fill=\"#57606a\">\(UTC.formatDay(first))</text>"
        svg += "<text x=\"\(width - 10)\" y=\"\(height - 8)\" font-size=\"11\" text-anchor=\"end\" fill=\"#57606a\">\(UTC.formatDay(last))</text>"
        // The report's day, labelled where it does not collide with the term's ends.
        let asOfX = x(asOf)
        svg += "<line class=\"as-of\" x1=\"\(f(asOfX))\" x2=\"\(f(asOfX))\" y1=\"\(top)\" y2=\"\(height - bottom)\" stroke=\"#57606a\" stroke-dasharray=\"2 3\"/>"
        if asOfX - left > 90, width - 10 - asOfX > 90 {
            svg += "<text x=\"\(f(asOfX))\" y=\"\(height - 8)\" font-size=\"11\" text-anchor=\"middle\" fill=\"#57606a\">\(UTC.formatDay(asOf))</text>"
        }
        return svg + "</svg>"
    }

    static func row(_ key: String, _ value: String) -> String { "<tr><th>\(escape(key))</th><td>\(escape(value))</td></tr>" }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }
}
