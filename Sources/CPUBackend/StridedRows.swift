/// A strided iteration space simplified for fast loops: unit extents dropped, mergeable
/// dimensions fused, and the last dimension left as the inner ("row") loop.
///
/// Used by the fast strided copy and broadcasting binary ops: after fusing, most real layouts
/// (concat slices, channel broadcasts, permutes of a few axes) become a few long rows.
struct StridedRows {
    /// Fused extents; the last one is the row length. Never empty.
    let shape: [Int]
    /// One stride vector per operand, matching `shape`.
    let strides: [[Int]]
    /// Offset of the first element per operand: non-zero only for negative strides, whose view
    /// starts at the highest address (the slice addresses the lowest one).
    let bases: [Int]

    init(shape: [Int], strides: [[Int]]) {
        bases = strides.map { s in zip(shape, s).reduce(0) { $0 + ($1.1 < 0 ? ($1.0 - 1) * -$1.1 : 0) } }
        var fusedShape: [Int] = []
        var fusedStrides = [[Int]](repeating: [], count: strides.count)
        for d in shape.indices where shape[d] != 1 {
            if let last = fusedShape.last,
               strides.indices.allSatisfy({ fusedStrides[$0].last! == strides[$0][d] * shape[d] }) {
                // Dimension d continues the previous one in every operand: fuse them.
                fusedShape[fusedShape.count - 1] = last * shape[d]
                for k in strides.indices { fusedStrides[k][fusedStrides[k].count - 1] = strides[k][d] }
            } else {
                fusedShape.append(shape[d])
                for k in strides.indices { fusedStrides[k].append(strides[k][d]) }
            }
        }
        if fusedShape.isEmpty {
            fusedShape = [shape.contains(0) ? 0 : 1]
            fusedStrides = strides.map { _ in [1] }
        }
        self.shape = fusedShape
        self.strides = fusedStrides
    }

    /// Elements per row (the innermost fused extent).
    var rowLength: Int { shape[shape.count - 1] }
    /// Number of rows (product of the outer extents).
    var rowCount: Int { shape.dropLast().reduce(1, *) }
    /// Stride of the row loop for operand `k`.
    func rowStride(_ k: Int) -> Int { strides[k][strides[k].count - 1] }

    /// Calls `body(row, offsets)` for rows `range`, `offsets[k]` being operand k's first element.
    @inline(__always)   // lets the caller's per-element closure inline into the row loop
    func forEachRow(_ range: Range<Int>, _ body: (Int, [Int]) -> Void) {
        guard !range.isEmpty else { return }
        let outer = shape.count - 1
        var index = [Int](repeating: 0, count: max(outer, 0))
        var offsets = bases
        var rest = range.lowerBound
        for d in stride(from: outer - 1, through: 0, by: -1) {
            index[d] = rest % shape[d]
            rest /= shape[d]
            for k in offsets.indices { offsets[k] += index[d] * strides[k][d] }
        }
        for row in range {
            body(row, offsets)
            var d = outer - 1
            while d >= 0 {
                index[d] += 1
                for k in offsets.indices { offsets[k] += strides[k][d] }
                if index[d] < shape[d] { break }
                for k in offsets.indices { offsets[k] -= strides[k][d] * shape[d] }
                index[d] = 0
                d -= 1
            }
        }
    }
}
