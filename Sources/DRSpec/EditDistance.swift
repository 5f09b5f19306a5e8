/// Suggests the nearest known word for a misspelt key (`instanceClas` → `instanceClass`).
enum EditDistance {
    static func levenshtein(_ a: String, _ b: String) -> Int {
        let a = Array(a.lowercased()), b = Array(b.lowercased())
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i] + Array(repeating: 0, count: b.count)
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            }
            previous = current
        }
        return previous[b.count]
    }

    /// The closest candidate, if it is close enough to be a likely typo.
    static func nearest(to word: String, in candidates: [String]) -> String? {
        let scored = candidates.map { ($0, levenshtein(word, $0)) }.min { $0.1 < $1.1 }
        guard let (best, distance) = scored else { return nil }
        let limit = max(2, word.count / 3)
        let isCaseOnly = best.lowercased() == word.lowercased()
        return distance <= limit || isCaseOnly ? best : nil
    }
}
