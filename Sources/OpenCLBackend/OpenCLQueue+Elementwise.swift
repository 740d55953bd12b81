import Devices

/// Host side of `elementwise.cl`: one kernel per unary op (and its derivative) and per binary op.
extension OpenCLQueue {
    static let elementwiseFile = "elementwise.cl"

    func unary(_ op: UnaryOp, count: Int, x: BufferSlice, y: BufferSlice, family: String) throws {
        let (p0, p1) = op.kernelParameters
        try dispatch(Self.elementwiseFile, "unary_\(op.name)", family: family, global: [(count + 7) / 8]) { args in
            try args.tensor(x)
            try args.tensor(y)
            try args.int(count)
            try args.float(p0)
            try args.float(p1)
        }
    }

    func unaryBackward(_ op: UnaryOp, count: Int, x: BufferSlice, dy: BufferSlice, dx: BufferSlice,
                       family: String) throws {
        let (p0, p1) = op.kernelParameters
        try dispatch(Self.elementwiseFile, "unary_backward_\(op.name)", family: family,
                     global: [(count + 7) / 8]) { args in
            try args.tensor(x)
            try args.tensor(dy)
            try args.tensor(dx)
            try args.int(count)
            try args.float(p0)
            try args.float(p1)
        }
    }

    func binary(_ op: BinaryOp, _ broadcast: Broadcast, a: BufferSlice, b: BufferSlice, out: BufferSlice,
                family: String) throws {
        let count = broadcast.count
        if count == 0 { return }
        let plan = BroadcastPlan(broadcast)
        if plan.shape.count <= 3 {
            // Up to three dimensions map onto the ND-range itself: no per-element index arithmetic.
            let padding = 3 - plan.shape.count
            let shape = Array(repeating: 1, count: padding) + plan.shape
            let aStrides = Array(repeating: 0, count: padding) + plan.aStrides
            let bStrides = Array(repeating: 0, count: padding) + plan.bStrides
            // A contiguous or broadcast innermost dimension in both operands (dense operands
            // included): eight elements per work item along it.
            let rows = [0, 1].contains(aStrides[2]) && [0, 1].contains(bStrides[2])
            try dispatch(Self.elementwiseFile, "binary_\(op.rawValue)_\(rows ? "rows" : "3d")", family: family,
                         global: [rows ? (shape[2] + 7) / 8 : shape[2], shape[1], shape[0]]) { args in
                try args.tensor(a)
                try args.tensor(b)
                try args.tensor(out)
                try args.int8(shape)
                try args.int8(aStrides)
                try args.int8(bStrides)
            }
            return
        }
        try dispatch(Self.elementwiseFile, "binary_\(op.rawValue)_strided", family: family, global: [count]) { args in
            try args.tensor(a)
            try args.tensor(b)
            try args.tensor(out)
            try args.int8(plan.shape)
            try args.int8(plan.aStrides)
            try args.int8(plan.bStrides)
            try args.int(plan.shape.count)
            try args.int(count)
        }
    }
}

/// A broadcast iteration space with extent-1 dimensions dropped and contiguous neighbours merged.
///
/// `out` is dense, so two neighbours `p, q` merge when `stride_p == stride_q · extent_q` in both
/// `a` and `b`; a same-shape dense operation collapses to one dimension with unit strides.
struct BroadcastPlan: Equatable {
    var shape: [Int] = []
    var aStrides: [Int] = []
    var bStrides: [Int] = []

    init(_ broadcast: Broadcast) {
        for k in broadcast.shape.indices where broadcast.shape[k] != 1 {
            let (extent, sa, sb) = (broadcast.shape[k], broadcast.aStrides[k], broadcast.bStrides[k])
            if let last = shape.indices.last, aStrides[last] == sa * extent, bStrides[last] == sb * extent {
                shape[last] *= extent
                aStrides[last] = sa
                bStrides[last] = sb
            } else {
                shape.append(extent)
                aStrides.append(sa)
                bStrides.append(sb)
            }
        }
        if shape.isEmpty {
            shape = [1]
            aStrides = [1]
            bStrides = [1]
        }
    }
}

extension UnaryOp {
    /// The two float parameters of the op's `elementwise.cl` kernels (`p0`, `p1`; zero when unused).
    var kernelParameters: (Float, Float) {
        switch self {
        case let .affine(scale, shift): return (scale, shift)
        case let .clamp(low, high): return (low, high)
        default: return (0, 0)
        }
    }
}
