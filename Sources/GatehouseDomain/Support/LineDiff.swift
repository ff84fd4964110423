/// A line diff for people to read (the console's policy upload): every line of both texts in
/// order, marked kept, removed or added. The standard library's `difference(from:)` finds the
/// changes; this only lays them out.
public enum LineDiff {
    public enum Mark: String, Sendable { case kept = " ", removed = "-", added = "+" }

    public static func lines(from old: String, to new: String) -> [(Mark, String)] {
        let before = old.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let after = new.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var removed = Set<Int>(), inserted = Set<Int>()
        for change in after.difference(from: before) {
            switch change {
            case .remove(let offset, _, _): removed.insert(offset)
            case .insert(let offset, _, _): inserted.insert(offset)
            }
        }
        var out: [(Mark, String)] = []
        var i = 0, j = 0
        while i < before.count || j < after.count {
            if i < before.count, removed.contains(i) {
                out.append((.removed, before[i]))
                i += 1
            } else if j < after.count, inserted.contains(j) {
                out.append((.added, after[j]))
                j += 1
            } else {
                if i < before.count { out.append((.kept, before[i])) }
                i += 1
                j += 1
            }
        }
        return out
    }
}
