/// A set of byte ranges `[lower, upper)` of one buffer, kept sorted and disjoint.
///
/// The fallback queue records with it where each device's copy of a buffer is stale.
struct ByteRanges: Equatable {
    private(set) var ranges: [Range<Int>] = []

    var isEmpty: Bool { ranges.isEmpty }

    /// Adds `range`, merging with neighbours it overlaps or touches.
    mutating func insert(_ range: Range<Int>) {
        guard !range.isEmpty else { return }
        var lower = range.lowerBound, upper = range.upperBound
        var kept: [Range<Int>] = []
        kept.reserveCapacity(ranges.count + 1)
        var placed = false
        for r in ranges {
            if r.upperBound < lower {
                kept.append(r)
            } else if r.lowerBound > upper {
                if !placed { kept.append(lower..<upper); placed = true }
                kept.append(r)
            } else {
                lower = min(lower, r.lowerBound)
                upper = max(upper, r.upperBound)
            }
        }
        if !placed { kept.append(lower..<upper) }
        ranges = kept
    }

    /// Removes `range`.
    mutating func remove(_ range: Range<Int>) {
        guard !range.isEmpty, !ranges.isEmpty else { return }
        var kept: [Range<Int>] = []
        kept.reserveCapacity(ranges.count + 1)
        for r in ranges {
            if r.upperBound <= range.lowerBound || r.lowerBound >= range.upperBound {
                kept.append(r)
                continue
            }
            if r.lowerBound < range.lowerBound { kept.append(r.lowerBound..<range.lowerBound) }
            if r.upperBound > range.upperBound { kept.append(range.upperBound..<r.upperBound) }
        }
        ranges = kept
    }

    /// The parts of `range` in the set.
    func intersection(_ range: Range<Int>) -> [Range<Int>] {
        ranges.compactMap { r in
            let lower = max(r.lowerBound, range.lowerBound), upper = min(r.upperBound, range.upperBound)
            return lower < upper ? lower..<upper : nil
        }
    }
}
