import Devices

/// Fast 2-D convolution lowered to OpenBLAS GEMMs over column buffers (im2col / col2im).
///
/// The batch is processed in chunks of images: large feature maps go one image at a time (the
/// GEMM is already wide, and a one-image column buffer stays in cache), small ones are batched
/// until the GEMM has ``minimumColumns`` columns (`[Cout, K] × [K, chunk·OH·OW]`), which keeps
/// OpenBLAS efficient on the 8×8 and 4×4 maps of a Unet. Column and staging buffers come from
/// the device's workspace cache, so launches do not allocate.
extension CPUFast {
    /// GEMM width (output positions × images) a chunk aims for. Measured per core on this
    /// machine class (CPU time, N = 16, 3×3): one image per chunk is fastest from 16×16 up
    /// (73 vs 61 GFLOP/s with whole-batch chunks), whole-batch chunks at 4×4 (72 vs 44).
    static let minimumColumns = 256

    /// Images per chunk: enough for ``minimumColumns`` columns, within ``CPUFast/columnBudget``
    /// column-buffer floats, at least one.
    func chunkSize(_ c: Conv2d) -> Int {
        let positions = Swift.max(c.outHeight * c.outWidth, 1)
        let perSample = c.inChannels * c.kernelHeight * c.kernelWidth * positions
        let wide = (Self.minimumColumns + positions - 1) / positions
        let fit = columnBudget / Swift.max(perSample, 1)
        return Swift.max(1, Swift.min(c.batch, wide, fit))
    }

    /// `y = conv(x, w) (+ bias)`: per chunk, `[Cout, K] × col[K, nb·P]`, then bias fused into the
    /// copy back to NCHW (or into the output rows when the chunk is one image).
    func conv2d(_ c: Conv2d, x: Pointer, w: Pointer, y: Pointer, bias: Pointer?, workspace: Workspace) throws {
        let taps = c.inChannels * c.kernelHeight * c.kernelWidth
        let positions = c.outHeight * c.outWidth
        guard c.batch > 0, c.outChannels > 0 else { return }
        if taps == 0 {
            // No input channels: every output is its bias (an empty sum).
            for n in 0..<c.batch {
                for co in 0..<c.outChannels {
                    (y + (n * c.outChannels + co) * positions).update(repeating: bias?[co] ?? 0, count: positions)
                }
            }
            return
        }
        let chunk = chunkSize(c)
        var first = 0
        while first < c.batch {
            let nb = Swift.min(chunk, c.batch - first)
            let columns = nb * positions
            var col: Pointer
            if nb == 1, Self.isPointwise(c) {
                col = x + first * c.inChannels * positions
            } else {
                col = try workspace.floats(0, count: taps * columns)
                im2col(c, x: x, first: first, samples: nb, col: col)
            }
            if nb == 1 {
                let out = y + first * c.outChannels * positions
                try sgemm(m: c.outChannels, n: positions, k: taps, a: w, lda: taps, b: col, ldb: positions,
                          beta: 0, c: out, ldc: positions)
                if let bias { addRowBias(out, rows: c.outChannels, length: positions, bias: bias) }
            } else {
                let staged = try workspace.floats(1, count: c.outChannels * columns)
                try sgemm(m: c.outChannels, n: columns, k: taps, a: w, lda: taps, b: col, ldb: columns,
                          beta: 0, c: staged, ldc: columns)
                interleave(y, first: first, samples: nb, rows: c.outChannels, length: positions,
                           packed: staged, reverse: true, bias: bias)
            }
            first += nb
        }
    }

    /// `dx = convᵀ(dy, w)`: per chunk, `colGrad[K, nb·P] = wᵀ × dy[Cout, nb·P]`, then col2im.
    func conv2dBackwardData(_ c: Conv2d, dy: Pointer, w: Pointer, dx: Pointer, workspace: Workspace) throws {
        let taps = c.inChannels * c.kernelHeight * c.kernelWidth
        let positions = c.outHeight * c.outWidth
        guard taps > 0 else { return }
        if c.outChannels == 0 {
            fill(count: c.inputCount, value: 0, out: dx)
            return
        }
        let chunk = chunkSize(c)
        var first = 0
        while first < c.batch {
            let nb = Swift.min(chunk, c.batch - first)
            let columns = nb * positions
            var grads = dy + first * c.outChannels * positions
            if nb > 1 {
                grads = try workspace.floats(2, count: c.outChannels * columns)
                interleave(dy, first: first, samples: nb, rows: c.outChannels, length: positions,
                           packed: grads, reverse: false)
            }
            if nb == 1, Self.isPointwise(c) {
                try sgemm(transA: true, m: taps, n: positions, k: c.outChannels, a: w, lda: taps,
                          b: grads, ldb: positions, beta: 0, c: dx + first * c.inChannels * positions, ldc: positions)
            } else {
                let col = try workspace.floats(0, count: taps * columns)
                try sgemm(transA: true, m: taps, n: columns, k: c.outChannels, a: w, lda: taps,
                          b: grads, ldb: columns, beta: 0, c: col, ldc: columns)
                col2im(c, col: col, first: first, samples: nb, dx: dx)
            }
            first += nb
        }
    }

    /// `dw = Σ_chunks dy[Cout, nb·P] × col[K, nb·P]ᵀ` (β = 1 after the first chunk), and
    /// `dbias[co] = Σ dy[·, co, ·]`.
    func conv2dBackwardWeight(_ c: Conv2d, x: Pointer, dy: Pointer, dw: Pointer, dbias: Pointer?,
                              workspace: Workspace) throws {
        let taps = c.inChannels * c.kernelHeight * c.kernelWidth
        let positions = c.outHeight * c.outWidth
        if c.batch == 0 {
            // An empty batch contributes nothing: the gradients are zero.
            fill(count: c.weightCount, value: 0, out: dw)
            if let dbias { fill(count: c.outChannels, value: 0, out: dbias) }
            return
        }
        let chunk = chunkSize(c)
        var first = 0
        while first < c.batch {
            let nb = Swift.min(chunk, c.batch - first)
            let columns = nb * positions
            var col: Pointer
            if nb == 1, Self.isPointwise(c) {
                col = x + first * c.inChannels * positions
            } else {
                col = try workspace.floats(0, count: taps * columns)
                im2col(c, x: x, first: first, samples: nb, col: col)
            }
            var grads = dy + first * c.outChannels * positions
            if nb > 1 {
                grads = try workspace.floats(2, count: c.outChannels * columns)
                interleave(dy, first: first, samples: nb, rows: c.outChannels, length: positions,
                           packed: grads, reverse: false)
            }
            if taps > 0, c.outChannels > 0 {
                try sgemm(transB: true, m: c.outChannels, n: taps, k: columns, a: grads, lda: columns,
                          b: col, ldb: columns, beta: first == 0 ? 0 : 1, c: dw, ldc: taps)
            }
            first += nb
        }
        if let dbias {
            Parallel.forEachItem(c.outChannels, itemCost: c.batch * positions) { co in
                var sum = 0.0
                for n in 0..<c.batch {
                    sum += Self.reduceStrided(.sum, dy + (n * c.outChannels + co) * positions, count: positions, stride: 1)
                }
                dbias[co] = Float(sum)
            }
        }
    }

    /// Adds `bias[r]` to each of `rows` rows of `length` values.
    private func addRowBias(_ out: Pointer, rows: Int, length: Int, bias: Pointer) {
        Parallel.forEachItem(rows, itemCost: length) { r in
            let (row, b) = (out + r * length, bias[r])
            for k in 0..<length { row[k] += b }
        }
    }
}
