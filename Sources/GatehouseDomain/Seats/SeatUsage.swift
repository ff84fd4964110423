/// Warnings about how full the license is.
public enum SeatUsage {
    /// Warns at 90% and at 100% of licensed seats.
    public static func warnings(active: Int64, licensed: Int64) -> [String] {
        guard licensed > 0 else { return [] }
        if active >= licensed {
            return ["all \(licensed) licensed seats are in use (\(active) active): new people cannot be given a seat"]
        }
        if active * 10 >= licensed * 9 {
            return ["\(active) of \(licensed) seats are in use (≥ 90%)"]
        }
        return []
    }
}
