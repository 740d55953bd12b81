import Devices

/// Gradients of broadcasting binary ops and of reductions, built from binary, reduce, copy and
/// unary kernels the way the graph's autodiff lowers them.
extension GradientCatalog {
    /// Steps that sum a dense `[shape]` gradient in `source` down to an operand read with
    /// `strides` (0 on broadcast axes), writing `target`. Scratch buffers are appended to `temporaries`.
    static func sumToOperand(_ source: Ref, _ target: Ref, shape: [Int], strides: [Int], temporaries: inout [Int]) -> [Step] {
        let axes = shape.indices.filter { strides[$0] == 0 && shape[$0] > 1 }
        guard !axes.isEmpty else {
            return [Step(.copy(.contiguous(shape.reduce(1, *))), [source, target])]
        }
        var steps: [Step] = []
        var current = shape
        var from = source
        for (n, axis) in axes.enumerated() {
            let outer = current[..<axis].reduce(1, *)
            let inner = current[(axis + 1)...].reduce(1, *)
            let reduction = Reduction(outer: outer, extent: current[axis], inner: inner)
            current[axis] = 1
            let to: Ref
            if n == axes.count - 1 {
                to = target
            } else {
                temporaries.append(outer * inner)
                to = .temporary(temporaries.count - 1)
            }
            steps.append(Step(.reduce(.sum, reduction), [from, to]))
            from = to
        }
        return steps
    }

    static func binaryCases() -> [GradientCase] {
        let patterns: [([Int], [Int])] = [([17], [17]), ([2, 3, 4], [3, 1]), ([5, 6], [6]), ([6], [4, 6])]
        var cases: [GradientCase] = []
        for op in [BinaryOp.add, .sub, .mul, .div] {
            for (aShape, bShape) in patterns {
                let b = Broadcast.numpy(aShape, bShape)
                let dense = Broadcast(shape: b.shape, aStrides: denseStrides(b.shape), bStrides: b.bStrides)
                let denseA = Broadcast(shape: b.shape, aStrides: denseStrides(b.shape), bStrides: b.aStrides)
                let n = b.count
                let bCount = Kernel.binary(op, b).operands[1].count
                var temporaries: [Int] = []
                var steps: [Step] = []
                switch op {
                case .add, .sub:
                    steps += sumToOperand(.upstream(2), .gradient(0), shape: b.shape, strides: b.aStrides, temporaries: &temporaries)
                    steps += sumToOperand(.upstream(2), .gradient(1), shape: b.shape, strides: b.bStrides, temporaries: &temporaries)
                    if op == .sub { steps.append(Step(.unary(.neg, count: bCount), [.gradient(1), .gradient(1)])) }
                case .mul:
                    temporaries += [n, n]
                    steps.append(Step(.binary(.mul, dense), [.upstream(2), .value(1), .temporary(0)]))
                    steps += sumToOperand(.temporary(0), .gradient(0), shape: b.shape, strides: b.aStrides, temporaries: &temporaries)
                    steps.append(Step(.binary(.mul, denseA), [.upstream(2), .value(0), .temporary(1)]))
                    steps += sumToOperand(.temporary(1), .gradient(1), shape: b.shape, strides: b.bStrides, temporaries: &temporaries)
                default:
                    // d/da (a/b) = 1/b;  d/db (a/b) = −a/b².
                    temporaries += [n, n, n, n]
                    steps.append(Step(.binary(.div, dense), [.upstream(2), .value(1), .temporary(0)]))
                    steps += sumToOperand(.temporary(0), .gradient(0), shape: b.shape, strides: b.aStrides, temporaries: &temporaries)
                    steps.append(Step(.binary(.mul, denseA), [.upstream(2), .value(0), .temporary(1)]))
                    steps.append(Step(.binary(.div, dense), [.temporary(1), .value(1), .temporary(2)]))
                    steps.append(Step(.binary(.div, dense), [.temporary(2), .value(1), .temporary(3)]))
                    steps += sumToOperand(.temporary(3), .gradient(1), shape: b.shape, strides: b.bStrides, temporaries: &temporaries)
                    steps.append(Step(.unary(.neg, count: bCount), [.gradient(1), .gradient(1)]))
                }
                cases.append(.make(.binary(op, b), wrt: [0, 1], steps: steps, temporaries: temporaries,
                                   linear: op != .div, label: "binary + reduce"))
            }
        }
        return cases
    }

    static func reductionCases() -> [GradientCase] {
        let shapes = [
            Reduction(outer: 1, extent: 5, inner: 1), Reduction(outer: 3, extent: 4, inner: 2),
            Reduction(outer: 2, extent: 1, inner: 3), Reduction(outer: 1, extent: 1, inner: 1),
        ]
        var cases: [GradientCase] = []
        for r in shapes {
            let shape = [r.outer, r.extent, r.inner]
            let broadcastDy = StridedCopy(shape: shape, srcStrides: [r.inner, 0, 1], dstStrides: denseStrides(shape))
            cases.append(.make(.reduce(.sum, r), wrt: [0], steps: [
                Step(.copy(broadcastDy), [.upstream(1), .gradient(0)]),
            ], linear: true, label: "copy (broadcast)"))
            cases.append(.make(.reduce(.mean, r), wrt: [0], steps: [
                Step(.copy(broadcastDy), [.upstream(1), .gradient(0)]),
                Step(.unary(.affine(scale: 1 / Float(r.extent), shift: 0), count: r.count), [.gradient(0), .gradient(0)]),
            ], linear: true, label: "copy (broadcast) + unary.affine"))
            let product = Broadcast(shape: shape, aStrides: denseStrides(shape), bStrides: [r.inner, 0, 1])
            // Σx² is quadratic, for which the 2-point central difference is exact too.
            cases.append(.make(.reduce(.sumOfSquares, r), wrt: [0], steps: [
                Step(.binary(.mul, product), [.value(0), .upstream(1), .gradient(0)]),
                Step(.unary(.affine(scale: 2, shift: 0), count: r.count), [.gradient(0), .gradient(0)]),
            ], linear: true, label: "binary.mul + unary.affine"))
        }
        return cases
    }

    /// Row-major strides of a dense tensor.
    static func denseStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var acc = 1
        for i in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[i] = acc
            acc *= shape[i]
        }
        return strides
    }
}
