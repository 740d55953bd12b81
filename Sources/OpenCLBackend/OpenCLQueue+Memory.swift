import Devices

/// Host side of `fill_copy.cl`: fill and strided copy.
extension OpenCLQueue {
    static let memoryFile = "fill_copy.cl"

    func fill(count: Int, value: Float, out: BufferSlice, family: String) throws {
        try dispatch(Self.memoryFile, "fill", family: family, global: [count]) { args in
            try args.tensor(out)
            try args.int(count)
            try args.float(value)
        }
    }

    func stridedCopy(_ copy: StridedCopy, src: BufferSlice, dst: BufferSlice, family: String) throws {
        if copy.count == 0 { return }
        let plan = StridedCopyPlan(copy)
        if let grid = plan.grid3D {
            // Up to three distinct and three stride-0 dimensions: no per-element index arithmetic;
            // rows contiguous in both tensors (and at least a vector long) eight elements per item.
            let rows = plan.innerCount == 1 && grid.shape[2] >= 8 && grid.srcStrides[2] == 1 && grid.dstStrides[2] == 1
            try dispatch(Self.memoryFile, rows ? "copy_rows" : "copy_strided_3d", family: family,
                         global: [rows ? (grid.shape[2] + 7) / 8 : grid.shape[2], grid.shape[1], grid.shape[0]]) { args in
                try args.tensor(src)
                try args.tensor(dst)
                try args.int8(grid.shape)
                try args.int8(grid.srcStrides)
                try args.int8(grid.dstStrides)
                try args.int(copy.accumulate)
            }
            return
        }
        try dispatch(Self.memoryFile, "copy_strided", family: family, global: [plan.outerCount]) { args in
            try args.tensor(src)
            try args.tensor(dst)
            try args.int8(plan.shape)
            try args.int8(plan.srcStrides)
            try args.int8(plan.dstStrides)
            try args.int(plan.outerRank)
            try args.int(plan.outerCount)
            try args.int(plan.innerCount)
            try args.int(copy.accumulate)
        }
    }
}

/// A strided copy rearranged for `copy_strided`: distinct-destination dimensions first, then the
/// dimensions along which the destination has stride 0, each group with mergeable neighbours merged.
///
/// Dimensions of extent 1 are dropped (a copy of one element has no outer dimension at all). Two neighbours `a, b` of one group merge when
/// `stride_a == stride_b · extent_b` in both tensors, which preserves the row-major order of the
/// elements and therefore the order in which `accumulate` adds contributions.
struct StridedCopyPlan: Equatable {
    var shape: [Int]
    var srcStrides: [Int]
    var dstStrides: [Int]
    var outerRank: Int
    var outerCount: Int
    var innerCount: Int

    init(_ copy: StridedCopy) {
        typealias Dim = (extent: Int, src: Int, dst: Int)
        var outer: [Dim] = []
        var inner: [Dim] = []
        for k in copy.shape.indices where copy.shape[k] != 1 {
            let dim = (copy.shape[k], copy.srcStrides[k], copy.dstStrides[k])
            if copy.dstStrides[k] == 0 { inner.append(dim) } else { outer.append(dim) }
        }
        func merged(_ dims: [Dim]) -> [Dim] {
            var result: [Dim] = []
            for dim in dims {
                if let last = result.last, last.src == dim.src * dim.extent, last.dst == dim.dst * dim.extent {
                    result[result.count - 1] = (last.extent * dim.extent, dim.src, dim.dst)
                } else {
                    result.append(dim)
                }
            }
            return result
        }
        outer = merged(outer)
        inner = merged(inner)
        let dims = outer + inner
        shape = dims.map(\.extent) + Array(repeating: 1, count: 6 - dims.count)
        srcStrides = dims.map(\.src) + Array(repeating: 0, count: 6 - dims.count)
        dstStrides = dims.map(\.dst) + Array(repeating: 0, count: 6 - dims.count)
        outerRank = outer.count
        outerCount = outer.reduce(1) { $0 * $1.extent }
        innerCount = inner.reduce(1) { $0 * $1.extent }
        if outer.count <= 3 && inner.count <= 3 {
            let front = 3 - outer.count, back = 3 - inner.count
            let padded = Array(repeating: (1, 0, 0), count: front) + outer + inner + Array(repeating: (1, 0, 0), count: back)
            grid3D = (padded.map(\.0), padded.map(\.1), padded.map(\.2))
        }
    }

    /// The layout of `copy_strided_3d`: three distinct-destination dimensions front-padded with
    /// extent 1 (lanes 0...2), then three stride-0 dimensions back-padded (lanes 3...5); `nil`
    /// when either group has more than three dimensions.
    var grid3D: (shape: [Int], srcStrides: [Int], dstStrides: [Int])?

    static func == (a: StridedCopyPlan, b: StridedCopyPlan) -> Bool {
        a.shape == b.shape && a.srcStrides == b.srcStrides && a.dstStrides == b.dstStrides
            && a.outerRank == b.outerRank && a.outerCount == b.outerCount && a.innerCount == b.innerCount
    }
}
