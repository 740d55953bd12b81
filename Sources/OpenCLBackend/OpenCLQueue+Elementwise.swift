import Devices

/// Host side of `elementwise.cl`: unary, unary backward and broadcasting binary kernels.
extension OpenCLQueue {
    static let elementwiseFile = "elementwise.cl"

    func unary(_ op: UnaryOp, count: Int, x: BufferSlice, y: BufferSlice, family: String) throws {
        let (code, p0, p1) = op.kernelCode
        try dispatch(Self.elementwiseFile, "unary", family: family, global: [count]) { args in
            try args.tensor(x)
            try args.tensor(y)
            try args.int(count)
            try args.int(code)
            try args.float(p0)
            try args.float(p1)
        }
    }

    func unaryBackward(_ op: UnaryOp, count: Int, x: BufferSlice, dy: BufferSlice, dx: BufferSlice,
                       family: String) throws {
        let (code, p0, p1) = op.kernelCode
        try dispatch(Self.elementwiseFile, "unary_backward", family: family, global: [count]) { args in
            try args.tensor(x)
            try args.tensor(dy)
            try args.tensor(dx)
            try args.int(count)
            try args.int(code)
            try args.float(p0)
            try args.float(p1)
        }
    }

    func binary(_ op: BinaryOp, _ broadcast: Broadcast, a: BufferSlice, b: BufferSlice, out: BufferSlice,
                family: String) throws {
        let count = broadcast.count
        if count == 0 { return }
        let plan = BroadcastPlan(broadcast)
        if plan.isDense {
            try dispatch(Self.elementwiseFile, "binary_dense", family: family, global: [count]) { args in
                try args.tensor(a)
                try args.tensor(b)
                try args.tensor(out)
                try args.int(count)
                try args.int(op.kernelCode)
            }
            return
        }
        try dispatch(Self.elementwiseFile, "binary_strided", family: family, global: [count]) { args in
            try args.tensor(a)
            try args.tensor(b)
            try args.tensor(out)
            try args.int8(plan.shape)
            try args.int8(plan.aStrides)
            try args.int8(plan.bStrides)
            try args.int(plan.shape.count)
            try args.int(count)
            try args.int(op.kernelCode)
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

    var isDense: Bool { shape.count == 1 && aStrides == [1] && bStrides == [1] }
}

extension UnaryOp {
    /// The op code of `elementwise.cl` and its two float parameters.
    var kernelCode: (Int, Float, Float) {
        switch self {
        case .identity: return (0, 0, 0)
        case .neg: return (1, 0, 0)
        case .abs: return (2, 0, 0)
        case .relu: return (3, 0, 0)
        case .silu: return (4, 0, 0)
        case .sigmoid: return (5, 0, 0)
        case .tanh: return (6, 0, 0)
        case .gelu: return (7, 0, 0)
        case .exp: return (8, 0, 0)
        case .log: return (9, 0, 0)
        case .sqrt: return (10, 0, 0)
        case .rsqrt: return (11, 0, 0)
        case .sin: return (12, 0, 0)
        case .cos: return (13, 0, 0)
        case .square: return (14, 0, 0)
        case .reciprocal: return (15, 0, 0)
        case let .affine(scale, shift): return (16, scale, shift)
        case let .clamp(low, high): return (17, low, high)
        }
    }
}

extension BinaryOp {
    /// The op code of `elementwise.cl`.
    var kernelCode: Int {
        switch self {
        case .add: return 0
        case .sub: return 1
        case .mul: return 2
        case .div: return 3
        case .maximum: return 4
        case .minimum: return 5
        }
    }
}
