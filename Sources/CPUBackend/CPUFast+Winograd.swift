import Devices
import Foundation

/// 3×3 convolutions (stride 1, padding 1: every ResnetBlock convolution of the Unet) through
/// Winograd's F(2×2, 3×3): 2.25x fewer multiplies than im2col + GEMM, in 16 GEMMs of
/// `[channels × channels] × [channels × tiles]` (see `WinogradTransforms.swift`).
///
/// - forward: `Y = Aᵀ [U ⊙ V] A` with `U = G w Gᵀ`, `V = Bᵀ x B`;
/// - backward data: the same with the filters rotated by 180° and transposed (`dx` is the
///   convolution of `dy` with them);
/// - backward weight: `dw = Gᵀ [Σ_tiles (A dY Aᵀ) ⊙ V] G`, the adjoint of the forward in `U`.
///
/// The batch is cut into chunks of images whose transformed tensors fit the caches; chunks run
/// side by side, one run per core, with single-threaded transforms and OpenBLAS products (a
/// batch of a single chunk instead spreads its transforms and its 16 GEMMs over the cores). The products add the same terms in another
/// order and through the transforms' ±½ combinations, a relative error of a few 1e-7, like the
/// reordering any blocked GEMM does.
extension CPUFast {
    /// Whether `c` goes through Winograd: a 3×3 filter with padding 1 (same-size output) and
    /// enough channels on both sides for the 16 GEMMs to beat one im2col GEMM (below 16 the
    /// transforms cost more than the multiplies they save).
    static func canUseWinograd(_ c: Conv2d) -> Bool {
        c.kernelHeight == 3 && c.kernelWidth == 3 && c.padHeight == 1 && c.padWidth == 1
            && c.inChannels >= 16 && c.outChannels >= 16 && c.batch > 0 && c.height > 0 && c.width > 0
    }

    /// Whether `c` goes through Winograd on this device: it can, and its maps are large enough.
    func usesWinograd(_ c: Conv2d) -> Bool {
        Self.canUseWinograd(c) && c.height * c.width >= winogradMinimumPixels
    }

    /// 8×8 maps and up. A 4×4 map has only 4 tiles per image, so the 16 products are
    /// `[Cout × Cin] × [Cin × 4·N]`: narrow, and the filter transform (`16·Cout·Cin` floats
    /// written per launch) costs as much as they do. One im2col GEMM
    /// (`[Cout × 9·Cin] × [9·Cin × 16·N]`) is then 2-2.5x faster (measured on the 512-channel
    /// 4×4 convolutions of the 35.7M Unet: 7.5 against 20 ms); at 8×8 the two paths measured
    /// within noise of each other.
    static let defaultWinogradMinimumPixels = 64

    /// Transformed floats (`16 · channels · tiles`) a chunk aims for: 256 KiB per tensor, so a
    /// chunk's transformed input and products stay in a core's L2 (2 MiB on this project's
    /// Sapphire Rapids machines, 512 KiB on Zen 3) between the transforms and the GEMMs.
    /// Measured over every 3×3 convolution of both benchmark Unets: 256 KiB chunks were 5-10%
    /// faster than 1 MiB and 15-30% faster than 4 MiB ones at 16×16 and 32×32, where the
    /// transforms stream the most.
    static let winogradCacheFloats = 1 << 16
    /// Fewest tiles per chunk: narrower GEMMs lose more to OpenBLAS's per-call packing.
    static let winogradMinimumTiles = 256

    /// How a Winograd convolution splits the batch into chunks and where each worker's buffers are.
    private struct WinogradPlan {
        let chunk: Int
        let chunks: Int
        /// Chunks run one run per core with single-threaded transforms and GEMMs; otherwise
        /// the single chunk runs its transforms and GEMMs over the cores.
        let sideBySide: Bool
        let workers: Int

        init(_ c: Conv2d, _ g: WinogradGeometry) {
            let perImage = 16 * Swift.max(c.inChannels, c.outChannels) * g.tilesPerImage
            let byCache = CPUFast.winogradCacheFloats / Swift.max(perImage, 1)
            let byWidth = (CPUFast.winogradMinimumTiles + g.tilesPerImage - 1) / g.tilesPerImage
            let most = Swift.max(1, Swift.min(c.batch, Swift.max(byCache, byWidth)))
            chunks = (c.batch + most - 1) / most
            chunk = (c.batch + chunks - 1) / chunks
            sideBySide = chunks >= 2 && Parallel.workers > 1
            workers = sideBySide ? Swift.min(Parallel.workers, chunks) : 1
        }

        func images(_ index: Int, batch: Int) -> (first: Int, count: Int) {
            (index * chunk, Swift.min(chunk, batch - index * chunk))
        }
    }

    /// `y = conv(x, w) + bias` (or, with `transposed`, `dx = convᵀ(dy, w)`: `x` is then `dy` with
    /// `Cout` channels, the result has `Cin`).
    func winogradConvolution(_ c: Conv2d, x: Pointer, w: Pointer, y: Pointer, bias: Pointer?, transposed: Bool,
                             workspace: Workspace) throws {
        let g = WinogradGeometry(height: c.height, width: c.width)
        let (cin, cout) = transposed ? (c.outChannels, c.inChannels) : (c.inChannels, c.outChannels)
        let plan = WinogradPlan(c, g)
        let tiles = plan.chunk * g.tilesPerImage
        let u = try workspace.floats(0, count: 16 * cout * cin)
        let buffers = try (0..<plan.workers).map { w in
            (v: try workspace.floats(1 + 2 * w, count: 16 * cin * tiles + WinogradGeometry.slack), m: try workspace.floats(2 + 2 * w, count: 16 * cout * tiles + WinogradGeometry.slack))
        }
        transformFilters(c, w: w, into: u, transposed: transposed)
        let serial = plan.sideBySide
        try forEachChunk(plan) { worker, index in
            let (first, nb) = plan.images(index, batch: c.batch)
            let (v, m) = buffers[worker]
            let p = nb * g.tilesPerImage
            // V[ξ][ci][tile]
            forEachPlane(nb * cin, scratch: g.paddedScratch, serial: serial) { item, scratch in
                let (s, ci) = item.quotientAndRemainder(dividingBy: cin)
                g.splitPadded(x + ((first + s) * cin + ci) * c.height * c.width, into: scratch)
                g.inputTransform(split: scratch, v: v, planeStride: cin * p, row: ci * p, firstTile: s * g.tilesPerImage)
            }
            // M[ξ] = U[ξ] · V[ξ]
            try forEachProduct(serial: serial) { xi in
                try sgemm(m: cout, n: p, k: cin, a: u + xi * cout * cin, lda: cin, b: v + xi * cin * p, ldb: p,
                          beta: 0, c: m + xi * cout * p, ldc: p, split: false)
            }
            forEachPlane(nb * cout, scratch: g.rowScratch, serial: serial) { item, scratch in
                let (s, co) = item.quotientAndRemainder(dividingBy: cout)
                g.outputTransform(m: m, planeStride: cout * p, row: co * p, firstTile: s * g.tilesPerImage,
                                  bias: bias?[co] ?? 0, plane: y + ((first + s) * cout + co) * c.height * c.width,
                                  scratch: scratch)
            }
        }
    }

    /// `dw = Σ_images Gᵀ [(A dY Aᵀ) ⊙ (Bᵀ x B)] G` (`dbias` is left to the caller). Side by side,
    /// each worker sums its chunks' products into its own `dU`; the partial sums are added in
    /// worker order before the inverse transform.
    func winogradWeightGradient(_ c: Conv2d, x: Pointer, dy: Pointer, dw: Pointer, workspace: Workspace) throws {
        let g = WinogradGeometry(height: c.height, width: c.width)
        let (cin, cout) = (c.inChannels, c.outChannels)
        let plan = WinogradPlan(c, g)
        let tiles = plan.chunk * g.tilesPerImage
        let buffers = try (0..<plan.workers).map { w in
            (du: try workspace.floats(3 * w, count: 16 * cout * cin), v: try workspace.floats(3 * w + 1, count: 16 * cin * tiles + WinogradGeometry.slack),
             gy: try workspace.floats(3 * w + 2, count: 16 * cout * tiles + WinogradGeometry.slack))
        }
        let serial = plan.sideBySide
        var started = [Bool](repeating: false, count: plan.workers)
        try started.withUnsafeMutableBufferPointer { started in
            try forEachChunk(plan) { worker, index in
                let (first, nb) = plan.images(index, batch: c.batch)
                let (du, v, gy) = buffers[worker]
                let p = nb * g.tilesPerImage
                forEachPlane(nb * cin, scratch: g.paddedScratch, serial: serial) { item, scratch in
                    let (s, ci) = item.quotientAndRemainder(dividingBy: cin)
                    g.splitPadded(x + ((first + s) * cin + ci) * c.height * c.width, into: scratch)
                    g.inputTransform(split: scratch, v: v, planeStride: cin * p, row: ci * p, firstTile: s * g.tilesPerImage)
                }
                forEachPlane(nb * cout, scratch: g.rowScratch, serial: serial) { item, scratch in
                    let (s, co) = item.quotientAndRemainder(dividingBy: cout)
                    g.gradientTransform(plane: dy + ((first + s) * cout + co) * c.height * c.width, v: gy,
                                        planeStride: cout * p, row: co * p, firstTile: s * g.tilesPerImage, scratch: scratch)
                }
                // dU[ξ] (+)= Ŷ[ξ] · V[ξ]ᵀ over this chunk's tiles.
                let beta: Float = started[worker] ? 1 : 0
                try forEachProduct(serial: serial) { xi in
                    try sgemm(transB: true, m: cout, n: cin, k: p, a: gy + xi * cout * p, lda: p, b: v + xi * cin * p,
                              ldb: p, beta: beta, c: du + xi * cout * cin, ldc: cin, split: false)
                }
                started[worker] = true
            }
        }
        let du = buffers[0].du
        if plan.workers > 1 {
            let others = buffers.dropFirst().map(\.du)
            Parallel.forEach(16 * cout * cin) { range in
                for partial in others {
                    for i in range { du[i] += partial[i] }
                }
            }
        }
        let stride = cout * cin
        forEachPlane(cout, scratch: WinogradFilter.scratchCount, serial: false) { co, scratch in
            for ci in 0..<cin {
                WinogradFilter.gradient(du + co * cin + ci, stride: stride, into: dw + (co * cin + ci) * 9, scratch: scratch)
            }
        }
    }

    /// Runs `body(worker, chunk)` for every chunk: side by side, or in order on this thread.
    private func forEachChunk(_ plan: WinogradPlan, _ body: (_ worker: Int, _ chunk: Int) throws -> Void) throws {
        if plan.sideBySide {
            try Parallel.forEachTask(plan.chunks, body)
        } else {
            for index in 0..<plan.chunks { try body(0, index) }
        }
    }

    /// Runs `body(ξ)` for the 16 tile positions: on this thread when `serial`, else side by side.
    private func forEachProduct(serial: Bool, _ body: (Int) throws -> Void) throws {
        if serial {
            for xi in 0..<16 { try body(xi) }
        } else {
            try Parallel.forEachTask(16) { _, xi in try body(xi) }
        }
    }

    /// `U[ξ][o][i] = G w Gᵀ` for every filter; with `transposed`, `o` runs over Cin and `i` over
    /// Cout, and each filter is rotated by 180° (the backward-data filters).
    private func transformFilters(_ c: Conv2d, w: Pointer, into u: Pointer, transposed: Bool) {
        let (rows, cols) = transposed ? (c.inChannels, c.outChannels) : (c.outChannels, c.inChannels)
        let stride = rows * cols
        forEachPlane(rows, scratch: WinogradFilter.scratchCount, serial: false) { o, scratch in
            for i in 0..<cols {
                let filter = transposed ? w + (i * c.inChannels + o) * 9 : w + (o * c.inChannels + i) * 9
                WinogradFilter.transform(filter, flipped: transposed, into: u + o * cols + i, stride: stride, scratch: scratch)
            }
        }
    }

    /// Runs `body(item, scratch)` for `count` items, over the cores unless `serial`, each run of
    /// items with its own `scratch` floats.
    private func forEachPlane(_ count: Int, scratch: Int, serial: Bool, _ body: (Int, Pointer) -> Void) {
        if serial {
            let buffer = Pointer.allocate(capacity: Swift.max(scratch, 1))
            defer { buffer.deallocate() }
            for item in 0..<count { body(item, buffer) }
            return
        }
        Parallel.forEach(count, grain: 1) { range in
            let buffer = Pointer.allocate(capacity: Swift.max(scratch, 1))
            defer { buffer.deallocate() }
            for item in range { body(item, buffer) }
        }
    }
}
