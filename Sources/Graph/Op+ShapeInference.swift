import Devices

/// A shape or dtype inconsistency found by inference; the builder adds the node's label and inputs.
struct ShapeProblem: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

extension Op {
    /// The result types of this op applied to inputs of `types`, or a ``ShapeProblem`` saying what is wrong.
    func inferResults(_ types: [TensorType]) throws -> [TensorType] {
        func arity(_ n: Int) throws {
            guard types.count == n else { throw ShapeProblem("expects \(n) inputs, got \(types.count)") }
        }
        func float(_ i: Int, _ role: String) throws {
            guard types[i].dtype == .float32 else { throw ShapeProblem("\(role) must be f32, is \(types[i].dtype)") }
        }
        func axisIn(_ axis: Int, rank: Int) throws {
            guard axis >= 0 && axis < rank else { throw ShapeProblem("axis \(axis) is out of range for rank \(rank)") }
        }
        switch self {
        case .input, .parameter, .constant, .random:
            throw ShapeProblem("leaf nodes are made by the builder, not inferred")

        case .unary:
            try arity(1); try float(0, "x")
            return [types[0]]
        case .unaryBackward:
            try arity(2); try float(0, "x"); try float(1, "dy")
            guard types[0].shape == types[1].shape else { throw ShapeProblem("x and dy shapes differ") }
            return [types[0]]
        case .binary:
            try arity(2); try float(0, "a"); try float(1, "b")
            return [TensorType(try broadcastShape(types[0].shape, types[1].shape))]

        case let .reshape(shape):
            try arity(1)
            guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == types[0].count else {
                throw ShapeProblem("cannot reshape \(types[0].count) elements to \(shape)")
            }
            return [TensorType(shape, types[0].dtype)]
        case let .permute(perm):
            try arity(1)
            guard perm.sorted() == Array(0..<types[0].rank) else {
                throw ShapeProblem("\(perm) is not a permutation of the \(types[0].rank) axes")
            }
            return [TensorType(perm.map { types[0].shape[$0] }, types[0].dtype)]
        case let .slice(axis, start, length):
            try arity(1); try axisIn(axis, rank: types[0].rank)
            let extent = types[0].shape[axis]
            guard start >= 0, length > 0, start + length <= extent else {
                throw ShapeProblem("slice \(start)..<\(start + length) is outside 0..<\(extent) of axis \(axis)")
            }
            var shape = types[0].shape
            shape[axis] = length
            return [TensorType(shape, types[0].dtype)]
        case let .pad(axis, before, after):
            try arity(1); try axisIn(axis, rank: types[0].rank)
            guard before >= 0, after >= 0 else { throw ShapeProblem("padding \(before), \(after) is negative") }
            var shape = types[0].shape
            shape[axis] += before + after
            return [TensorType(shape, types[0].dtype)]
        case let .concat(axis):
            guard let first = types.first else { throw ShapeProblem("needs at least one input") }
            try axisIn(axis, rank: first.rank)
            var total = 0
            for (i, t) in types.enumerated() {
                guard t.rank == first.rank, t.dtype == first.dtype else {
                    throw ShapeProblem("input \(i) is \(t), unlike input 0 \(first)")
                }
                for d in 0..<t.rank where d != axis && t.shape[d] != first.shape[d] {
                    throw ShapeProblem("input \(i) has extent \(t.shape[d]) on axis \(d), input 0 has \(first.shape[d])")
                }
                total += t.shape[axis]
            }
            var shape = first.shape
            shape[axis] = total
            return [TensorType(shape, first.dtype)]
        case let .expand(shape):
            try arity(1)
            let result = try broadcastShape(types[0].shape, shape)
            guard result == shape else { throw ShapeProblem("cannot broadcast \(types[0].shape) to \(shape)") }
            return [TensorType(shape, types[0].dtype)]
        case .copy, .stopGradient:
            try arity(1)
            return [types[0]]

        case let .reduce(_, first, count):
            try arity(1); try float(0, "x")
            guard count >= 1, first >= 0, first + count <= types[0].rank else {
                throw ShapeProblem("axes \(first)..<\(first + count) are not within rank \(types[0].rank)")
            }
            var shape = types[0].shape
            shape.removeSubrange(first..<(first + count))
            return [TensorType(shape)]
        case let .softmax(axis):
            try arity(1); try float(0, "x"); try axisIn(axis, rank: types[0].rank)
            return [types[0]]
        case let .softmaxBackward(axis):
            try arity(2); try float(0, "y"); try float(1, "dy"); try axisIn(axis, rank: types[0].rank)
            guard types[0].shape == types[1].shape else { throw ShapeProblem("y and dy shapes differ") }
            return [types[0]]

        case .rmsNorm:
            try arity(2); try float(0, "x"); try float(1, "g")
            try channelCheck(types[0], params: [types[1]])
            return [types[0]]
        case .rmsNormBackward:
            try arity(3); try float(0, "x"); try float(1, "g"); try float(2, "dy")
            try channelCheck(types[0], params: [types[1]])
            guard types[0].shape == types[2].shape else { throw ShapeProblem("x and dy shapes differ") }
            return [types[0], types[1]]
        case .rmsNormScaleShiftSilu:
            guard types.count == 2 || types.count == 3 else { throw ShapeProblem("expects 2 or 3 inputs, got \(types.count)") }
            try types.indices.forEach { try float($0, ["x", "g", "scaleShift"][$0]) }
            try channelCheck(types[0], params: [types[1]])
            if types.count == 3 { try scaleShiftCheck(types[0], types[2]) }
            return [types[0]]
        case .rmsNormScaleShiftSiluBackward:
            guard types.count == 3 || types.count == 4 else { throw ShapeProblem("expects 3 or 4 inputs, got \(types.count)") }
            try types.indices.forEach { try float($0, "input \($0)") }
            try channelCheck(types[0], params: [types[1]])
            if types.count == 4 { try scaleShiftCheck(types[0], types[2]) }
            guard types[0].shape == types[types.count - 1].shape else { throw ShapeProblem("x and dy shapes differ") }
            return types.count == 4 ? [types[0], types[1], types[2]] : [types[0], types[1]]
        case let .groupNorm(groups, _):
            try arity(3); try float(0, "x")
            try channelCheck(types[0], params: [types[1], types[2]])
            guard groups > 0, types[0].shape[1] % groups == 0 else {
                throw ShapeProblem("groups \(groups) must divide channels \(types[0].shape[1])")
            }
            return [types[0]]
        case let .groupNormBackward(groups, _):
            try arity(3)
            try channelCheck(types[0], params: [types[1]])
            guard groups > 0, types[0].shape[1] % groups == 0 else {
                throw ShapeProblem("groups \(groups) must divide channels \(types[0].shape[1])")
            }
            guard types[0].shape == types[2].shape else { throw ShapeProblem("x and dy shapes differ") }
            return [types[0], types[1], types[1]]

        case let .matmul(mm):
            return [try mm.resultType(types)]
        case let .conv2d(c):
            let expected = 2 + (c.hasBias ? 1 : 0)
            try arity(expected)
            let (x, w) = (types[0].shape, types[1].shape)
            guard x.count == 4, w.count == 4 else { throw ShapeProblem("x and w must be rank 4 ([N, C, H, W], [Cout, Cin, KH, KW])") }
            guard w[1] == x[1] else { throw ShapeProblem("x has \(x[1]) channels, w expects \(w[1])") }
            guard w[2] == c.kernelHeight, w[3] == c.kernelWidth else {
                throw ShapeProblem("w kernel \(w[2])x\(w[3]) differs from the attribute \(c.kernelHeight)x\(c.kernelWidth)")
            }
            if c.hasBias, types[2].count != w[0] {
                throw ShapeProblem("bias has \(types[2].count) elements, w has \(w[0]) output channels")
            }
            let oh = x[2] + 2 * c.padHeight - c.kernelHeight + 1
            let ow = x[3] + 2 * c.padWidth - c.kernelWidth + 1
            guard oh > 0, ow > 0 else { throw ShapeProblem("output size \(oh)x\(ow) is empty") }
            return [TensorType([x[0], w[0], oh, ow])]
        case let .conv2dBackwardData(c):
            try arity(2)
            let (dy, w) = (types[0].shape, types[1].shape)
            guard dy.count == 4, w.count == 4, dy[1] == w[0] else { throw ShapeProblem("dy and w do not match") }
            let h = dy[2] - 2 * c.padHeight + c.kernelHeight - 1
            let wd = dy[3] - 2 * c.padWidth + c.kernelWidth - 1
            guard h > 0, wd > 0 else { throw ShapeProblem("input size \(h)x\(wd) is empty") }
            return [TensorType([dy[0], w[1], h, wd])]
        case let .conv2dBackwardWeight(c):
            try arity(2)
            let (x, dy) = (types[0].shape, types[1].shape)
            guard x.count == 4, dy.count == 4, x[0] == dy[0] else { throw ShapeProblem("x and dy do not match") }
            guard dy[2] == x[2] + 2 * c.padHeight - c.kernelHeight + 1,
                  dy[3] == x[3] + 2 * c.padWidth - c.kernelWidth + 1 else {
                throw ShapeProblem("dy spatial size does not match x and the kernel")
            }
            var results = [TensorType([dy[1], x[1], c.kernelHeight, c.kernelWidth])]
            if c.hasBias { results.append(TensorType([dy[1]])) }
            return results

        case let .pixelUnshuffle(f):
            try arity(1); let s = try image(types[0])
            guard f >= 1, s[2] % f == 0, s[3] % f == 0 else { throw ShapeProblem("H \(s[2]) and W \(s[3]) must be divisible by \(f)") }
            return [TensorType([s[0], s[1] * f * f, s[2] / f, s[3] / f])]
        case let .pixelShuffle(f):
            try arity(1); let s = try image(types[0])
            guard f >= 1, s[1] % (f * f) == 0 else { throw ShapeProblem("C \(s[1]) must be divisible by \(f * f)") }
            return [TensorType([s[0], s[1] / (f * f), s[2] * f, s[3] * f])]
        case let .upsampleNearest(f):
            try arity(1); let s = try image(types[0])
            guard f >= 1 else { throw ShapeProblem("factor \(f) must be positive") }
            return [TensorType([s[0], s[1], s[2] * f, s[3] * f])]
        case let .upsampleNearestBackward(f):
            try arity(1); let s = try image(types[0])
            guard f >= 1, s[2] % f == 0, s[3] % f == 0 else { throw ShapeProblem("H \(s[2]) and W \(s[3]) must be divisible by \(f)") }
            return [TensorType([s[0], s[1], s[2] / f, s[3] / f])]

        case let .timestepEmbedding(dim, _):
            try arity(1); try float(0, "t")
            guard types[0].rank == 1 else { throw ShapeProblem("t must be rank 1 [N]") }
            guard dim >= 4, dim % 2 == 0 else { throw ShapeProblem("dim \(dim) must be even and at least 4") }
            return [TensorType([types[0].shape[0], dim])]
        case .gather:
            try arity(2); try float(0, "table")
            guard types[0].rank == 2 else { throw ShapeProblem("table must be rank 2 [rows, width]") }
            guard types[1].dtype == .int32, types[1].rank == 1 else { throw ShapeProblem("index must be i32 of rank 1") }
            return [TensorType([types[1].shape[0], types[0].shape[1]])]
        }
    }

    private func image(_ t: TensorType) throws -> [Int] {
        guard t.rank == 4, t.dtype == .float32 else { throw ShapeProblem("expects an f32 image [N, C, H, W], got \(t)") }
        return t.shape
    }

    private func channelCheck(_ x: TensorType, params: [TensorType]) throws {
        guard x.rank >= 2 else { throw ShapeProblem("x must be [N, C, ...], got rank \(x.rank)") }
        for p in params where p.count != x.shape[1] {
            throw ShapeProblem("per-channel parameter has \(p.count) elements, x has \(x.shape[1]) channels")
        }
    }

    /// A FiLM operand must be `[N, 2C]` for `x` `[N, C, ...]`.
    private func scaleShiftCheck(_ x: TensorType, _ scaleShift: TensorType) throws {
        guard scaleShift.shape == [x.shape[0], 2 * x.shape[1]] else {
            throw ShapeProblem("scaleShift must be [N, 2C] = \([x.shape[0], 2 * x.shape[1]]), got \(scaleShift.shape)")
        }
    }
}

extension Matmul {
    /// `(batchShape, m, n, k)` of inputs `a`, `b`, or a problem.
    func dimensions(_ a: [Int], _ b: [Int]) throws -> (batch: [Int], m: Int, n: Int, k: Int) {
        guard a.count >= 2, b.count >= 2 else { throw ShapeProblem("a and b must have rank >= 2") }
        let m = transA ? a[a.count - 1] : a[a.count - 2]
        let ka = transA ? a[a.count - 2] : a[a.count - 1]
        let kb = transB ? b[b.count - 1] : b[b.count - 2]
        let n = transB ? b[b.count - 2] : b[b.count - 1]
        guard ka == kb else { throw ShapeProblem("inner dimensions differ: a gives k = \(ka), b gives k = \(kb)") }
        let batchA = Array(a.dropLast(2)), batchB = Array(b.dropLast(2))
        let batch: [Int]
        if batchA == batchB || batchB.reduce(1, *) == 1 && batchB.count <= batchA.count {
            batch = batchA
        } else if batchA.reduce(1, *) == 1 && batchA.count <= batchB.count {
            batch = batchB
        } else {
            throw ShapeProblem("batch axes \(batchA) and \(batchB) differ (one operand may be a shared matrix)")
        }
        return (batch, m, n, ka)
    }

    func resultType(_ types: [TensorType]) throws -> TensorType {
        let expected = 2 + (bias == .none ? 0 : 1) + (accumulate ? 1 : 0)
        guard types.count == expected else { throw ShapeProblem("expects \(expected) inputs, got \(types.count)") }
        guard types.allSatisfy({ $0.dtype == .float32 }) else { throw ShapeProblem("every input must be f32") }
        let (batch, m, n, _) = try dimensions(types[0].shape, types[1].shape)
        switch bias {
        case .none: break
        case .perColumn where types[2].count != n:
            throw ShapeProblem("per-column bias has \(types[2].count) elements, n = \(n)")
        case .perRow where types[2].count != m:
            throw ShapeProblem("per-row bias has \(types[2].count) elements, m = \(m)")
        default: break
        }
        let result = TensorType(batch + [m, n])
        if accumulate, types[types.count - 1].shape != result.shape {
            throw ShapeProblem("accumulator is \(types[types.count - 1].shape), the product is \(result.shape)")
        }
        return result
    }
}

/// NumPy broadcasting of two shapes (right-aligned), or a problem naming both.
func broadcastShape(_ a: [Int], _ b: [Int]) throws -> [Int] {
    let rank = max(a.count, b.count)
    let pa = Array(repeating: 1, count: rank - a.count) + a
    let pb = Array(repeating: 1, count: rank - b.count) + b
    var out = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
        if pa[i] == pb[i] || pb[i] == 1 { out[i] = pa[i] }
        else if pa[i] == 1 { out[i] = pb[i] }
        else { throw ShapeProblem("shapes \(a) and \(b) do not broadcast (axis \(i): \(pa[i]) vs \(pb[i]))") }
    }
    return out
}
