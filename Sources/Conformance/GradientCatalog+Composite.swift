import Devices

/// Gradients the graph builds from forward kernels rather than dedicated backward kernels.
extension GradientCatalog {
    // MARK: GEMM

    /// `dA = α·dC·op(B)ᵀ` and `dB = α·op(A)ᵀ·dC` as GEMMs with transposes (stored layouts kept),
    /// `dC₀ = β·dC`, and the bias gradient as sums of `dC`. A shared operand (batch stride 0)
    /// accumulates its gradient over the batch with β = 1 launches.
    static func gemmGradient(_ g: Gemm) -> GradientCase {
        var steps: [Step] = []
        var temporaries: [Int] = []

        // dA, stored like A.
        let dA = g.transA
            ? Gemm(batch: g.batch, m: g.k, n: g.m, k: g.n, transA: g.transB, transB: true, alpha: g.alpha,
                   lda: g.ldb, ldb: g.ldc, ldc: g.lda, strideA: g.strideB, strideB: g.strideC, strideC: g.strideA)
            : Gemm(batch: g.batch, m: g.m, n: g.k, k: g.n, transA: false, transB: !g.transB, alpha: g.alpha,
                   lda: g.ldc, ldb: g.ldb, ldc: g.lda, strideA: g.strideC, strideB: g.strideB, strideC: g.strideA)
        let dAInputs: (Ref, Ref) = g.transA ? (.value(1), .upstream(2)) : (.upstream(2), .value(1))
        steps += batched(dA, inputs: dAInputs, output: .gradient(0), shared: g.strideA == 0 && g.batch > 1)

        // dB, stored like B.
        let dB = g.transB
            ? Gemm(batch: g.batch, m: g.n, n: g.k, k: g.m, transA: true, transB: g.transA, alpha: g.alpha,
                   lda: g.ldc, ldb: g.lda, ldc: g.ldb, strideA: g.strideC, strideB: g.strideA, strideC: g.strideB)
            : Gemm(batch: g.batch, m: g.k, n: g.n, k: g.m, transA: !g.transA, transB: false, alpha: g.alpha,
                   lda: g.lda, ldb: g.ldc, ldc: g.ldb, strideA: g.strideA, strideB: g.strideC, strideC: g.strideB)
        let dBInputs: (Ref, Ref) = g.transB ? (.upstream(2), .value(0)) : (.value(0), .upstream(2))
        steps += batched(dB, inputs: dBInputs, output: .gradient(1), shared: g.strideB == 0 && g.batch > 1)

        var wrt = [0, 1]
        let cCount = Kernel.gemm(g).operands[2].count
        if g.beta != 0 {
            wrt.append(2)
            steps.append(Step(.unary(.affine(scale: g.beta, shift: 0), count: cCount), [.upstream(2), .gradient(2)]))
        }
        switch g.bias {
        case .none: break
        case .perRow:
            // Σ over n per row, then over the batch (C is dense in these cases).
            temporaries.append(g.batch * g.m)
            steps.append(Step(.reduce(.sum, Reduction(outer: g.batch * g.m, extent: g.n, inner: 1)), [.upstream(2), .temporary(0)]))
            steps.append(Step(.reduce(.sum, Reduction(outer: 1, extent: g.batch, inner: g.m)), [.temporary(0), .gradient(3)]))
            wrt.append(3)
        case .perColumn:
            steps.append(Step(.reduce(.sum, Reduction(outer: 1, extent: g.batch * g.m, inner: g.n)), [.upstream(2), .gradient(3)]))
            wrt.append(3)
        }
        return .make(.gemm(g), wrt: wrt, steps: steps, temporaries: temporaries, linear: true, label: "gemm")
    }

    /// One batched GEMM, or per-batch β = 1 launches into a shared output.
    private static func batched(_ g: Gemm, inputs: (Ref, Ref), output: Ref, shared: Bool) -> [Step] {
        guard shared else { return [Step(.gemm(g), [inputs.0, inputs.1, output])] }
        return (0..<g.batch).map { b in
            let one = Gemm(m: g.m, n: g.n, k: g.k, transA: g.transA, transB: g.transB, alpha: g.alpha, beta: 1,
                           lda: g.lda, ldb: g.ldb, ldc: g.ldc)
            return Step(.gemm(one), [.offset(inputs.0, elements: b * g.strideA), .offset(inputs.1, elements: b * g.strideB), output])
        }
    }

    static func gemmCases() -> [GradientCase] {
        var shapes: [Gemm] = []
        for transA in [false, true] {
            for transB in [false, true] {
                shapes.append(Gemm(m: 3, n: 4, k: 5, transA: transA, transB: transB))
            }
        }
        shapes += [
            Gemm(batch: 2, m: 4, n: 3, k: 5, alpha: 0.5),
            Gemm(batch: 3, m: 3, n: 4, k: 2, transA: true, strideA: 0),
            Gemm(batch: 3, m: 3, n: 4, k: 2, transB: true, strideB: 0),
            Gemm(m: 4, n: 5, k: 3, beta: 0.5),
            Gemm(m: 5, n: 4, k: 3, bias: .perRow),
            Gemm(batch: 2, m: 3, n: 6, k: 4, transB: true, alpha: -1, bias: .perColumn),
            Gemm(m: 4, n: 3, k: 5, lda: 7, ldb: 6, ldc: 5),
            Gemm(batch: 2, m: 3, n: 2, k: 4, transA: true, transB: true, alpha: 2, beta: 1),
            Gemm(m: 1, n: 1, k: 1),
            Gemm(m: 7, n: 1, k: 9),
            Gemm(m: 1, n: 8, k: 3, transA: true),
            Gemm(batch: 2, m: 2, n: 3, k: 4, transA: true, transB: true, strideA: 30, strideB: 20, strideC: 10),
        ]
        return shapes.map(gemmGradient)
    }

    // MARK: Copies

    /// A copy's adjoint is the accumulating copy with the strides swapped. For a broadcast that
    /// accumulating copy has destination stride 0 (a sum over the broadcast axes); the same
    /// adjoint is also checked as the `reduce.sum` a graph may lower it to.
    static func copyCases() -> [GradientCase] {
        var cases: [GradientCase] = []
        let copies = [
            StridedCopy.contiguous(7),
            StridedCopy(shape: [3, 5], srcStrides: [1, 3], dstStrides: [5, 1]),
            StridedCopy(shape: [2, 3, 4], srcStrides: [12, 1, 3], dstStrides: [12, 4, 1]),
            StridedCopy(shape: [3, 4], srcStrides: [7, 1], dstStrides: [4, 1]),
            StridedCopy(shape: [2, 3], srcStrides: [3, 1], dstStrides: [5, 1]),
            StridedCopy(shape: [2, 2, 3, 2], srcStrides: [1, 2, 8, 4], dstStrides: [12, 6, 2, 1]),
        ]
        for c in copies {
            let adjoint = StridedCopy(shape: c.shape, srcStrides: c.dstStrides, dstStrides: c.srcStrides, accumulate: true)
            cases.append(.make(.copy(c), wrt: [0], steps: [Step(.copy(adjoint), [.upstream(1), .gradient(0)])], linear: true))
        }
        let rowBroadcast = StridedCopy(shape: [4, 5], srcStrides: [0, 1], dstStrides: [5, 1])
        let columnBroadcast = StridedCopy(shape: [3, 4, 2], srcStrides: [1, 0, 0], dstStrides: [8, 2, 1])
        for c in [rowBroadcast, columnBroadcast, StridedCopy(shape: [2, 3, 2], srcStrides: [0, 2, 1], dstStrides: [1, 4, 2])] {
            let adjoint = StridedCopy(shape: c.shape, srcStrides: c.dstStrides, dstStrides: c.srcStrides, accumulate: true)
            cases.append(.make(.copy(c), wrt: [0], steps: [Step(.copy(adjoint), [.upstream(1), .gradient(0)])], linear: true,
                               label: "copy (accumulate, destination stride 0)"))
        }
        cases.append(.make(.copy(rowBroadcast), wrt: [0], steps: [
            Step(.reduce(.sum, Reduction(outer: 1, extent: 4, inner: 5)), [.upstream(1), .gradient(0)]),
        ], linear: true, label: "reduce.sum"))
        cases.append(.make(.copy(columnBroadcast), wrt: [0], steps: [
            Step(.reduce(.sum, Reduction(outer: 3, extent: 8, inner: 1)), [.upstream(1), .gradient(0)]),
        ], linear: true, label: "reduce.sum"))
        return cases
    }
}
