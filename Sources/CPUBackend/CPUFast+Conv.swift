import Devices

/// Fast 2-D convolution lowered to OpenBLAS GEMMs over column buffers (im2col / col2im).
///
/// The batch is processed in chunks of images: large feature maps go one image at a time (the
/// GEMM is already wide, and a one-image column buffer stays in cache), small ones are batched
/// until the GEMM has ``minimumColumns`` columns (`[Cout, K] × [K, chunk·OH·OW]`), which keeps
/// OpenBLAS efficient on the 8×8 and 4×4 maps of a Unet. Chunks run side by side, one run of
/// chunks per core, each with single-threaded GEMMs and its own column buffers (see
/// `CPUFast+Sgemm.swift` for why); a convolution of a single chunk runs it on the calling thread
/// with the GEMM split over the cores. Column and staging buffers come from the device's
/// workspace cache, so launches do not allocate.
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

    /// How a convolution's chunks are laid out and which scratch each worker uses.
    private struct ConvPlan {
        /// Images per chunk and the number of chunks.
        let chunk: Int
        let chunks: Int
        /// Whether chunks run one run per core (else one after another on the calling thread,
        /// with the GEMM and the copies split over the cores).
        let sideBySide: Bool
        /// Per worker: column buffer, staged GEMM output, packed gradients (as needed).
        let col: [Pointer]
        let staged: [Pointer]
        let grads: [Pointer]

        /// Images `first ..< first + count` of chunk `index`.
        func images(_ index: Int, batch: Int) -> (first: Int, count: Int) {
            let first = index * chunk
            return (first, Swift.min(chunk, batch - first))
        }
    }

    /// Plans `c`'s chunks and takes each worker's scratch from `workspace` up front (on the
    /// calling thread: a workspace is not shared between threads while it grows).
    private func plan(_ c: Conv2d, workspace: Workspace, col: Bool, staged: Bool, grads: Bool) throws -> ConvPlan {
        let taps = c.inChannels * c.kernelHeight * c.kernelWidth
        let positions = c.outHeight * c.outWidth
        let chunk = chunkSize(c)
        let chunks = (c.batch + chunk - 1) / chunk
        let sideBySide = chunks >= 2 && Parallel.workers > 1
        let workers = sideBySide ? Swift.min(Parallel.workers, chunks) : 1
        let columns = chunk * positions
        var colBuffers: [Pointer] = [], stagedBuffers: [Pointer] = [], gradBuffers: [Pointer] = []
        for w in 0..<workers {
            if col { colBuffers.append(try workspace.floats(3 * w, count: taps * columns)) }
            if staged { stagedBuffers.append(try workspace.floats(3 * w + 1, count: c.outChannels * columns)) }
            if grads { gradBuffers.append(try workspace.floats(3 * w + 2, count: c.outChannels * columns)) }
        }
        return ConvPlan(chunk: chunk, chunks: chunks, sideBySide: sideBySide, col: colBuffers, staged: stagedBuffers,
                        grads: gradBuffers)
    }

    /// Runs `body(worker, chunk)` for every chunk: side by side, or in order on this thread.
    private func forEachChunk(_ p: ConvPlan, _ body: (_ worker: Int, _ chunk: Int) throws -> Void) throws {
        if p.sideBySide {
            try Parallel.forEachTask(p.chunks, body)
        } else {
            for index in 0..<p.chunks { try body(0, index) }
        }
    }

    /// `y = conv(x, w) (+ bias)`: per chunk, `[Cout, K] × col[K, nb·P]`, then bias fused into the
    /// copy back to NCHW (or into the output rows when the chunk is one image).
    func conv2d(_ c: Conv2d, x: Pointer, w: Pointer, y: Pointer, bias: Pointer?, weights: BufferRegion? = nil,
                workspace: Workspace) throws {
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
        if usesWinograd(c) {
            return try winogradConvolution(c, x: x, w: w, y: y, bias: bias, transposed: false, weights: weights,
                                           workspace: workspace)
        }
        let p = try plan(c, workspace: workspace, col: !(chunkSize(c) == 1 && Self.isPointwise(c)),
                         staged: chunkSize(c) > 1, grads: false)
        let serial = p.sideBySide
        try forEachChunk(p) { worker, index in
            let (first, nb) = p.images(index, batch: c.batch)
            let columns = nb * positions
            var col: Pointer
            if nb == 1, Self.isPointwise(c) {
                col = x + first * c.inChannels * positions
            } else {
                col = p.col[worker]
                im2col(c, x: x, first: first, samples: nb, col: col, serial: serial)
            }
            if nb == 1 {
                let out = y + first * c.outChannels * positions
                try sgemm(m: c.outChannels, n: positions, k: taps, a: w, lda: taps, b: col, ldb: positions,
                          beta: 0, c: out, ldc: positions, split: !serial)
                if let bias { addRowBias(out, rows: c.outChannels, length: positions, bias: bias, serial: serial) }
            } else {
                let staged = p.staged[worker]
                try sgemm(m: c.outChannels, n: columns, k: taps, a: w, lda: taps, b: col, ldb: columns,
                          beta: 0, c: staged, ldc: columns, split: !serial)
                interleave(y, first: first, samples: nb, rows: c.outChannels, length: positions,
                           packed: staged, reverse: true, bias: bias, serial: serial)
            }
        }
    }

    /// `dx = convᵀ(dy, w)`: per chunk, `colGrad[K, nb·P] = wᵀ × dy[Cout, nb·P]`, then col2im.
    func conv2dBackwardData(_ c: Conv2d, dy: Pointer, w: Pointer, dx: Pointer, weights: BufferRegion? = nil,
                            workspace: Workspace) throws {
        let taps = c.inChannels * c.kernelHeight * c.kernelWidth
        let positions = c.outHeight * c.outWidth
        guard taps > 0 else { return }
        if c.outChannels == 0 {
            fill(count: c.inputCount, value: 0, out: dx)
            return
        }
        if usesWinograd(c) {
            return try winogradConvolution(c, x: dy, w: w, y: dx, bias: nil, transposed: true, weights: weights,
                                           workspace: workspace)
        }
        let p = try plan(c, workspace: workspace, col: !(chunkSize(c) == 1 && Self.isPointwise(c)),
                         staged: false, grads: chunkSize(c) > 1)
        let serial = p.sideBySide
        try forEachChunk(p) { worker, index in
            let (first, nb) = p.images(index, batch: c.batch)
            let columns = nb * positions
            var grads = dy + first * c.outChannels * positions
            if nb > 1 {
                grads = p.grads[worker]
                interleave(dy, first: first, samples: nb, rows: c.outChannels, length: positions,
                           packed: grads, reverse: false, serial: serial)
            }
            if nb == 1, Self.isPointwise(c) {
                try sgemm(transA: true, m: taps, n: positions, k: c.outChannels, a: w, lda: taps,
                          b: grads, ldb: positions, beta: 0, c: dx + first * c.inChannels * positions, ldc: positions,
                          split: !serial)
            } else {
                let col = p.col[worker]
                try sgemm(transA: true, m: taps, n: columns, k: c.outChannels, a: w, lda: taps,
                          b: grads, ldb: columns, beta: 0, c: col, ldc: columns, split: !serial)
                col2im(c, col: col, first: first, samples: nb, dx: dx, serial: serial)
            }
        }
    }

    /// `dw = Σ_chunks dy[Cout, nb·P] × col[K, nb·P]ᵀ` (or Winograd's) and `dbias[co] = Σ dy[·, co, ·]`.
    func conv2dBackwardWeight(_ c: Conv2d, x: Pointer, dy: Pointer, dw: Pointer, dbias: Pointer?,
                              workspace: Workspace) throws {
        let positions = c.outHeight * c.outWidth
        if c.batch == 0 {
            // An empty batch contributes nothing: the gradients are zero.
            fill(count: c.weightCount, value: 0, out: dw)
            if let dbias { fill(count: c.outChannels, value: 0, out: dbias) }
            return
        }
        if usesWinograd(c) {
            try winogradWeightGradient(c, x: x, dy: dy, dw: dw, workspace: workspace)
        } else {
            try im2colWeightGradient(c, x: x, dy: dy, dw: dw, workspace: workspace)
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

    /// The im2col path of ``conv2dBackwardWeight(_:x:dy:dw:dbias:workspace:)``: `dw` only.
    ///
    /// Side by side, worker 0 accumulates into `dw` and every other worker into its own partial
    /// sum, added to `dw` at the end (in worker order, so the result does not depend on timing).
    private func im2colWeightGradient(_ c: Conv2d, x: Pointer, dy: Pointer, dw: Pointer, workspace: Workspace) throws {
        let taps = c.inChannels * c.kernelHeight * c.kernelWidth
        let positions = c.outHeight * c.outWidth
        let p = try plan(c, workspace: workspace, col: !(chunkSize(c) == 1 && Self.isPointwise(c)),
                         staged: false, grads: chunkSize(c) > 1)
        let serial = p.sideBySide
        let workers = serial ? Swift.min(Parallel.workers, p.chunks) : 1
        // Worker w's accumulator: dw itself for worker 0, a workspace slot for the others.
        var partials = [dw]
        for w in 1..<Swift.max(workers, 1) { partials.append(try workspace.floats(3 * workers + w, count: c.weightCount)) }
        var started = [Bool](repeating: false, count: Swift.max(workers, 1))
        try started.withUnsafeMutableBufferPointer { started in
            try forEachChunk(p) { worker, index in
                let (first, nb) = p.images(index, batch: c.batch)
                let columns = nb * positions
                var col: Pointer
                if nb == 1, Self.isPointwise(c) {
                    col = x + first * c.inChannels * positions
                } else {
                    col = p.col[worker]
                    im2col(c, x: x, first: first, samples: nb, col: col, serial: serial)
                }
                var grads = dy + first * c.outChannels * positions
                if nb > 1 {
                    grads = p.grads[worker]
                    interleave(dy, first: first, samples: nb, rows: c.outChannels, length: positions,
                               packed: grads, reverse: false, serial: serial)
                }
                if taps > 0, c.outChannels > 0 {
                    try sgemm(transB: true, m: c.outChannels, n: taps, k: columns, a: grads, lda: columns,
                              b: col, ldb: columns, beta: started[worker] ? 1 : 0, c: partials[worker], ldc: taps,
                              split: !serial)
                }
                started[worker] = true
            }
        }
        if partials.count > 1 {
            let others = Array(partials.dropFirst())
            Parallel.forEach(c.weightCount) { range in
                for partial in others {
                    for i in range { dw[i] += partial[i] }
                }
            }
        }
    }

    /// Adds `bias[r]` to each of `rows` rows of `length` values.
    private func addRowBias(_ out: Pointer, rows: Int, length: Int, bias: Pointer, serial: Bool) {
        Parallel.forEachItem(rows, itemCost: length, serial: serial) { r in
            let (row, b) = (out + r * length, bias[r])
            for k in 0..<length { row[k] += b }
        }
    }
}
