import Devices

/// Fast strided batched GEMM: one OpenBLAS `cblas_sgemm` per batch entry plus a bias pass.
extension CPUFast {
    /// `C_b = α · op(A_b) · op(B_b) + β · C_b (+ bias)`, row-major.
    ///
    /// OpenBLAS treats `β == 0` as "overwrite". Products run on the cores as
    /// `CPUFast+Sgemm.swift` describes.
    func gemm(_ g: Gemm, a: Pointer, b: Pointer, c: Pointer, bias: Pointer?) throws {
        guard g.batch > 0, g.m > 0, g.n > 0 else { return }
        let largest = [g.m, g.n, g.k, g.lda, g.ldb, g.ldc].max() ?? 0
        guard largest <= Int(Int32.max) else {
            throw DeviceError.invalidOperands(kernel: "gemm", reason: "dimension \(largest) exceeds OpenBLAS's 32-bit limit")
        }
        if g.k == 0 {
            // An empty sum: C = β·C. (cblas rejects lda < 1, which k == 0 allows.)
            for batch in 0..<g.batch { scaleMatrix(c + batch * g.strideC, rows: g.m, cols: g.n, ld: g.ldc, beta: g.beta) }
        } else {
            let product = { (batch: Int, split: Bool) in
                try self.sgemm(transA: g.transA, transB: g.transB, m: g.m, n: g.n, k: g.k, alpha: g.alpha,
                               a: a + batch * g.strideA, lda: g.lda, b: b + batch * g.strideB, ldb: g.ldb,
                               beta: g.beta, c: c + batch * g.strideC, ldc: g.ldc, split: split)
            }
            // Batch entries run side by side (one single-threaded product each, see
            // CPUFast+Sgemm.swift) when there are enough of them and their outputs do not
            // overlap; otherwise one after another, each split over the cores.
            let sideBySide = g.batch >= Parallel.workers && g.strideC >= (g.m - 1) * g.ldc + g.n
            if sideBySide, g.strideA == 0, g.batch > 1,
               usesPanelGemm(transB: g.transB, m: g.m, n: g.n, k: g.k, beta: g.beta) {
                // One A for every entry (a 1×1 convolution's weights applied image by image):
                // packed once rather than once per entry. At 4×4 a [512 × 768] A is 1.5 MiB to
                // pack for a product of only 16 columns, as much memory traffic as the product.
                let packed = Pointer.allocate(capacity: PanelGemm.packedCount(m: g.m, k: g.k))
                defer { packed.deallocate() }
                PanelGemm.pack(a, lda: g.lda, transposed: g.transA, m: g.m, k: g.k, alpha: g.alpha, into: packed)
                try Parallel.forEachTask(g.batch) { _, batch in
                    PanelGemm.multiply(m: g.m, n: g.n, k: g.k, a: packed, b: b + batch * g.strideB, ldb: g.ldb,
                                       c: c + batch * g.strideC, ldc: g.ldc, accumulate: g.beta == 1)
                }
            } else if sideBySide {
                try Parallel.forEachTask(g.batch) { _, batch in try product(batch, false) }
            } else {
                for batch in 0..<g.batch { try product(batch, true) }
            }
        }
        if let bias { addBias(g, c: c, bias: bias) }
    }

    /// `C = β·C` for one `[rows, cols]` matrix with leading dimension `ld` (`β == 0` overwrites).
    private func scaleMatrix(_ c: Pointer, rows: Int, cols: Int, ld: Int, beta: Float) {
        for i in 0..<rows {
            let row = c + i * ld
            if beta == 0 {
                row.update(repeating: 0, count: cols)
            } else {
                for j in 0..<cols { row[j] *= beta }
            }
        }
    }

    /// Adds `bias[m]` to row `m` (per-row) or `bias[n]` to column `n` (per-column) of every batch.
    private func addBias(_ g: Gemm, c: Pointer, bias: Pointer) {
        let rows = g.batch * g.m
        Parallel.forEach(rows, grain: max(1, Parallel.elementGrain / g.n)) { range in
            for r in range {
                let (batch, i) = r.quotientAndRemainder(dividingBy: g.m)
                let row = c + batch * g.strideC + i * g.ldc
                if g.bias == .perRow {
                    let value = bias[i]
                    for j in 0..<g.n { row[j] += value }
                } else {
                    for j in 0..<g.n { row[j] += bias[j] }
                }
            }
        }
    }
}
