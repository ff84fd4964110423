/// Money is integer cents, never a floating-point number.
public enum Money {
    /// `1234567` → `"12,345.67 USD"`.
    public static func format(cents: Int64, currency: String) -> String {
        let negative = cents < 0
        let magnitude = cents.magnitude
        var whole = String(magnitude / 100)
        var grouped = ""
        while whole.count > 3 {
            grouped = "," + whole.suffix(3) + grouped
            whole.removeLast(3)
        }
        let fraction = magnitude % 100
        return (negative ? "-" : "") + whole + grouped + "." + (fraction < 10 ? "0" : "") + String(fraction) + " " + currency
    }
}
