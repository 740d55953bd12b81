import Devices
import Foundation

/// OpenBLAS calls, single-threaded inside, spread over the cores by the device itself.
///
/// OpenBLAS's own threading is switched off when the library loads (``OpenBLAS``): measured on
/// the 2-core machine of this project, one convolution GEMM of a 32×32 image
/// (`[32, 288] × [288, 1024]`) runs at 56 GFLOP/s split over both cores by OpenBLAS and at 76
/// GFLOP/s on one core, so two images side by side reach ~2.5x the threaded rate. Its idle
/// threads also spin for a while after each call, stealing a core from the elementwise loops
/// that follow. The device therefore runs independent products side by side (images of a
/// convolution, entries of a batched GEMM) and splits one large product into column (or row)
/// blocks, one per core.
extension CPUFast {
    /// Multiply-adds below which one product stays on the calling thread.
    static let splitWork = 1 << 21

    /// Row-major `C = α·op(A)·op(B) + β·C` through OpenBLAS, checking its 32-bit limits.
    ///
    /// With `split`, a product of at least ``splitWork`` multiply-adds is cut into one block of
    /// columns (or, when `C` is narrow, rows) per core; blocks are multiples of 16 so every core
    /// runs whole micro-tiles. Pass `split: false` from code already running on every core.
    func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int, alpha: Float = 1,
               a: Pointer, lda: Int, b: Pointer, ldb: Int, beta: Float, c: Pointer, ldc: Int,
               split: Bool = true) throws {
        let largest = Swift.max(m, n, k, lda, ldb, ldc)
        guard largest <= Int(Int32.max) else {
            throw DeviceError.invalidOperands(kernel: "gemm", reason: "GEMM dimension \(largest) exceeds OpenBLAS's 32-bit limit")
        }
        guard m > 0, n > 0 else { return }
        if usesPanelGemm(transB: transB, m: m, n: n, k: k, beta: beta) {
            return panelProduct(transA: transA, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                                accumulate: beta == 1, c: c, ldc: ldc, split: split)
        }
        let call = { (m: Int, n: Int, a: Pointer, b: Pointer, c: Pointer) in
            self.blas.sgemm(OpenBLAS.rowMajor, transA ? OpenBLAS.trans : OpenBLAS.noTrans,
                            transB ? OpenBLAS.trans : OpenBLAS.noTrans, Int32(m), Int32(n), Int32(k), alpha,
                            a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
        }
        let workers = Parallel.workers
        guard split, workers > 1, m * n * Swift.max(k, 1) >= Self.splitWork else {
            call(m, n, a, b, c)
            return
        }
        if n >= 16 * workers, n >= m || m < 16 * workers {
            // Column blocks: B's columns (rows of Bᵀ) and C's columns.
            let blocks = Self.blocks(n, workers)
            WorkerPool.shared.run(blocks.count) { w in
                let (j0, j1) = blocks[w]
                call(m, j1 - j0, a, transB ? b + j0 * ldb : b + j0, c + j0)
            }
        } else if m >= 16 * workers {
            // Row blocks: A's rows (columns of Aᵀ) and C's rows.
            let blocks = Self.blocks(m, workers)
            WorkerPool.shared.run(blocks.count) { w in
                let (i0, i1) = blocks[w]
                call(i1 - i0, n, transA ? a + i0 : a + i0 * lda, b, c + i0 * ldc)
            }
        } else {
            call(m, n, a, b, c)
        }
    }

    /// Whether a product goes through ``PanelGemm`` rather than OpenBLAS: on AVX2 and AVX-512 builds, for
    /// `B` as stored (no transpose), `β` 0 or 1, and at least one panel of rows and one vector of
    /// columns (below that OpenBLAS's narrow kernels do better).
    func usesPanelGemm(transB: Bool, m: Int, n: Int, k: Int, beta: Float) -> Bool {
        PanelGemm.isAvailable && !transB && (beta == 0 || beta == 1) && m >= PanelGemm.rows
            && n >= PanelGemm.columnStep && k > 0
    }

    /// `C = α·op(A)·B (+ C)` through ``PanelGemm``: `op(A)` packed once (with `α` folded in), then
    /// with `split` one block of columns (or of panels, when `C` is narrow) per core.
    private func panelProduct(transA: Bool, m: Int, n: Int, k: Int, alpha: Float, a: Pointer, lda: Int, b: Pointer,
                              ldb: Int, accumulate: Bool, c: Pointer, ldc: Int, split: Bool) {
        let packed = Pointer.allocate(capacity: PanelGemm.packedCount(m: m, k: k))
        defer { packed.deallocate() }
        PanelGemm.pack(a, lda: lda, transposed: transA, m: m, k: k, alpha: alpha, into: packed)
        let workers = Parallel.workers
        guard split, workers > 1, m * n * k >= Self.splitWork else {
            PanelGemm.multiply(m: m, n: n, k: k, a: packed, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: accumulate)
            return
        }
        let panels = (m + PanelGemm.rows - 1) / PanelGemm.rows
        if n >= 32 * workers || panels < 2 * workers {
            let blocks = Self.blocks(n, workers)
            WorkerPool.shared.run(blocks.count) { w in
                let (j0, j1) = blocks[w]
                PanelGemm.multiply(m: m, n: j1 - j0, k: k, a: packed, b: b + j0, ldb: ldb, c: c + j0, ldc: ldc,
                                   accumulate: accumulate)
            }
        } else {
            WorkerPool.shared.run(workers) { w in
                let (p0, p1) = (panels * w / workers, panels * (w + 1) / workers)
                let first = p0 * PanelGemm.rows
                let rows = Swift.min(m, p1 * PanelGemm.rows) - first
                guard rows > 0 else { return }
                PanelGemm.multiply(m: rows, n: n, k: k, a: packed + first * k, b: b, ldb: ldb, c: c + first * ldc,
                                   ldc: ldc, accumulate: accumulate)
            }
        }
    }

    /// `count` split into `parts` contiguous ranges whose boundaries are multiples of 16.
    static func blocks(_ count: Int, _ parts: Int) -> [(Int, Int)] {
        let tiles = (count + 15) / 16
        return (0..<parts).compactMap { p in
            let start = Swift.min(count, tiles * p / parts * 16)
            let end = Swift.min(count, tiles * (p + 1) / parts * 16)
            return end > start ? (start, end) : nil
        }
    }
}
