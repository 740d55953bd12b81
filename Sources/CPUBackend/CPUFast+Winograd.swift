import Devices
import Foundation

/// 3×3 convolutions (stride 1, padding 1: every ResnetBlock convolution of the Unet) through
/// Winograd's minimal filtering: F(4×4, 3×3) on maps of 8×8 and up (4x fewer multiplies than
/// im2col + GEMM, `Winograd4x4Tiling.swift`), F(2×2, 3×3) on 4×4 maps (2.25x,
/// `WinogradTransforms.swift`), as `(m + 2)²` GEMMs of `[channels × channels] × [channels × tiles]`.
///
/// - forward: `Y = Aᵀ [U ⊙ V] A` with `U = G w Gᵀ`, `V = Bᵀ x B`;
/// - backward data: the same with the filters rotated by 180° and transposed (`dx` is the
///   convolution of `dy` with them);
/// - backward weight: `dw = Gᵀ [Σ_tiles (A dY Aᵀ) ⊙ V] G`, the adjoint of the forward in `U`.
///
/// The batch is cut into chunks of images whose transformed tensors fit the caches; chunks run
/// side by side, one run per core, with single-threaded transforms and OpenBLAS products (a
/// batch of a single chunk instead spreads its transforms and its GEMMs over the cores). The
/// products add the same terms in another order and through the transforms' fractional
/// coefficients: a relative error of a few 1e-7 for F(2×2) and about 1e-6 for F(4×4), like the
/// reordering any blocked GEMM does and far inside the convolutions' conformance bound.
extension CPUFast {
    /// Whether `c` goes through Winograd: a 3×3 filter with padding 1 (same-size output) and
    /// enough channels on both sides for the per-position GEMMs to beat one im2col GEMM (below 16 the
    /// transforms cost more than the multiplies they save).
    static func canUseWinograd(_ c: Conv2d) -> Bool {
        c.kernelHeight == 3 && c.kernelWidth == 3 && c.padHeight == 1 && c.padWidth == 1
            && c.inChannels >= 16 && c.outChannels >= 16 && c.batch > 0 && c.height > 0 && c.width > 0
    }

    /// Whether `c` goes through Winograd on this device: it can, and its maps are large enough.
    func usesWinograd(_ c: Conv2d) -> Bool {
        Self.canUseWinograd(c) && c.height * c.width >= winogradMinimumPixels
    }

    /// 4×4 maps and up. At 4×4 an image has only 4 tiles, so the 16 products are
    /// `[Cout × Cin] × [Cin × 4·N]`: narrow, and the filter transform (`16·Cout·Cin` floats
    /// written per launch) is a quarter of the work; with the filters transformed 8 at a time
    /// it still beats one im2col GEMM (`[Cout × 9·Cin] × [9·Cin × 16·N]`): 7.2 against 9.8 ms
    /// on the 512-channel 4×4 convolutions of the 35.7M Unet (Zen 4). Below 4×4 (a 2×2 map is
    /// one tile) im2col is left to do it.
    static let defaultWinogradMinimumPixels = 16

    /// F(4×4, 3×3) from 8×8 maps up (two tiles per side), F(2×2, 3×3) below. At 4×4 a map is
    /// a single 4×4 tile, the 36 products are only `N` columns wide and the filter transform
    /// writes 36·Cout·Cin floats: measured 9.5 against 7.2 ms for F(2×2) on the 512-channel
    /// case. From 8×8 up, F(4×4) does 1.78x fewer multiplies than F(2×2) and its transforms,
    /// reading whole vectors of tiles, cost about the same per output.
    static let defaultWinograd4x4MinimumPixels = 64

    /// Transformed floats (`positions · channels · tiles`) a chunk aims for: 256 KiB per
    /// tensor, so a chunk's transformed input and products stay in a core's L2 (2 MiB on this
    /// project's Sapphire Rapids machines, 1 MiB on Zen 4, 512 KiB on Zen 3) between the
    /// transforms and the GEMMs. Measured over every 3×3 convolution of both benchmark Unets:
    /// 256 KiB chunks were 5-10% faster than 1 MiB and 15-30% faster than 4 MiB ones at 16×16
    /// and 32×32, where the transforms stream the most.
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

        init<Tiling: WinogradTiling>(_ c: Conv2d, _ g: Tiling) {
            let channels = Swift.max(c.inChannels, c.outChannels)
            let perImage = Tiling.positions * channels * g.tilesPerImage
            let byCache = CPUFast.winogradCacheFloats / Swift.max(perImage, 1)
            let byWidth = (Tiling.minimumChunkTiles(channels: channels) + g.tilesPerImage - 1) / g.tilesPerImage
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

    /// Whether `c` goes through F(4×4, 3×3) rather than F(2×2, 3×3).
    func usesLargeWinogradTiles(_ c: Conv2d) -> Bool {
        c.height * c.width >= winograd4x4MinimumPixels
    }

    /// `y = conv(x, w) + bias` (or, with `transposed`, `dx = convᵀ(dy, w)`: `x` is then `dy` with
    /// `Cout` channels, the result has `Cin`).
    /// `weights` is where `w` lies, when the queue knows it: the transformed filters are then kept
    /// between launches while nothing writes `w`'s buffer (``WinogradFilterCache``).
    func winogradConvolution(_ c: Conv2d, x: Pointer, w: Pointer, y: Pointer, bias: Pointer?, transposed: Bool,
                             weights: BufferRegion? = nil, workspace: Workspace) throws {
        if usesLargeWinogradTiles(c) {
            try winogradConvolution(Winograd4x4Tiling.self, c, x: x, w: w, y: y, bias: bias, transposed: transposed,
                                    weights: weights, workspace: workspace)
        } else {
            try winogradConvolution(WinogradGeometry.self, c, x: x, w: w, y: y, bias: bias, transposed: transposed,
                                    weights: weights, workspace: workspace)
        }
    }

    /// `dw = Σ_images Gᵀ [(A dY Aᵀ) ⊙ (Bᵀ x B)] G` (`dbias` is left to the caller).
    func winogradWeightGradient(_ c: Conv2d, x: Pointer, dy: Pointer, dw: Pointer, workspace: Workspace) throws {
        if usesLargeWinogradTiles(c) {
            try winogradWeightGradient(Winograd4x4Tiling.self, c, x: x, dy: dy, dw: dw, workspace: workspace)
        } else {
            try winogradWeightGradient(WinogradGeometry.self, c, x: x, dy: dy, dw: dw, workspace: workspace)
        }
    }

    private func winogradConvolution<Tiling: WinogradTiling>(
        _: Tiling.Type, _ c: Conv2d, x: Pointer, w: Pointer, y: Pointer, bias: Pointer?, transposed: Bool,
        weights: BufferRegion?, workspace: Workspace
    ) throws {
        let g = Tiling(height: c.height, width: c.width)
        let positions = Tiling.positions
        let area = c.height * c.width
        let (cin, cout) = transposed ? (c.outChannels, c.inChannels) : (c.inChannels, c.outChannels)
        let plan = WinogradPlan(c, g)
        let tiles = plan.chunk * g.tilesPerImage
        // The products run through PanelGemm when U's rows fill its panels, else through OpenBLAS.
        let panels = PanelGemm.isAvailable && PanelGemm.canPack(rows: cout)
        // U[ξ][cout][cin]: kept from an earlier launch, transformed into a bank to keep, or
        // transformed into scratch.
        let key = weights.map {
            WinogradFilterCache.Key(buffer: $0.buffer, offset: $0.offset, rows: cout, columns: cin,
                                    transposed: transposed, positions: positions)
        }
        let count = positions * cout * cin
        let lookup = key.map { filterCache.lookup($0, count: count) } ?? .miss
        let u: Pointer
        var kept: WinogradFilterCache.Bank?
        switch lookup {
        case let .hit(bank):
            (u, kept) = (bank.floats, bank)
        case let .store(bank):
            (u, kept) = (bank.floats, bank)
            transformFilters(Tiling.self, c, w: w, into: u, transposed: transposed, panels: panels)
            filterCache.insert(bank, for: key!)
        case .miss:
            u = try workspace.floats(0, count: count)
            transformFilters(Tiling.self, c, w: w, into: u, transposed: transposed, panels: panels)
        }
        // The bank stays alive (even if its entry is dropped) until the products are done.
        defer { withExtendedLifetime(kept) {} }
        let buffers = try (0..<plan.workers).map { w in
            (v: try workspace.floats(1 + 2 * w, count: positions * cin * tiles + Tiling.slack),
             m: try workspace.floats(2 + 2 * w, count: positions * cout * tiles + Tiling.slack))
        }
        let serial = plan.sideBySide
        try forEachChunk(plan) { worker, index in
            let (first, nb) = plan.images(index, batch: c.batch)
            let (v, m) = buffers[worker]
            let p = nb * g.tilesPerImage
            transformInputs(g, x: x, first: first, images: nb, channels: cin, into: v, serial: serial)
            // M[ξ] = U[ξ] · V[ξ]
            try forEachProduct(positions, serial: serial) { xi in
                if panels {
                    PanelGemm.multiply(m: cout, n: p, k: cin, a: u + xi * cout * cin, b: v + xi * cin * p, ldb: p,
                                       c: m + xi * cout * p, ldc: p)
                } else {
                    try sgemm(m: cout, n: p, k: cin, a: u + xi * cout * cin, lda: cin, b: v + xi * cin * p, ldb: p,
                              beta: 0, c: m + xi * cout * p, ldc: p, split: false)
                }
            }
            forEachPlane(cout, scratch: g.scratchCount(images: nb), serial: serial) { co, scratch in
                g.outputTransform(m: m, planeStride: cout * p, row: co * p, images: nb, bias: bias?[co] ?? 0,
                                  y: y + (first * cout + co) * area, imageStride: cout * area, scratch: scratch)
            }
        }
    }

    /// Side by side, each worker sums its chunks' products into its own `dU`; the partial sums
    /// are added in worker order before the inverse transform.
    private func winogradWeightGradient<Tiling: WinogradTiling>(
        _: Tiling.Type, _ c: Conv2d, x: Pointer, dy: Pointer, dw: Pointer, workspace: Workspace
    ) throws {
        let g = Tiling(height: c.height, width: c.width)
        let positions = Tiling.positions
        let area = c.height * c.width
        let (cin, cout) = (c.inChannels, c.outChannels)
        let plan = WinogradPlan(c, g)
        let tiles = plan.chunk * g.tilesPerImage
        let buffers = try (0..<plan.workers).map { w in
            (du: try workspace.floats(3 * w, count: positions * cout * cin),
             v: try workspace.floats(3 * w + 1, count: positions * cin * tiles + Tiling.slack),
             gy: try workspace.floats(3 * w + 2, count: positions * cout * tiles + Tiling.slack))
        }
        let serial = plan.sideBySide
        var started = [Bool](repeating: false, count: plan.workers)
        try started.withUnsafeMutableBufferPointer { started in
            try forEachChunk(plan) { worker, index in
                let (first, nb) = plan.images(index, batch: c.batch)
                let (du, v, gy) = buffers[worker]
                let p = nb * g.tilesPerImage
                transformInputs(g, x: x, first: first, images: nb, channels: c.inChannels, into: v, serial: serial)
                forEachPlane(cout, scratch: g.scratchCount(images: nb), serial: serial) { co, scratch in
                    g.gradientTransform(dy + (first * cout + co) * area, imageStride: cout * area, images: nb, v: gy,
                                        planeStride: cout * p, row: co * p, scratch: scratch)
                }
                // dU[ξ] (+)= Ŷ[ξ] · V[ξ]ᵀ over this chunk's tiles.
                let beta: Float = started[worker] ? 1 : 0
                try forEachProduct(positions, serial: serial) { xi in
                    try sgemm(transB: true, m: cout, n: cin, k: p, a: gy + xi * cout * p, lda: p, b: v + xi * cin * p,
                              ldb: p, beta: beta, c: du + xi * cout * cin, ldc: cin, split: false)
                }
                started[worker] = true
            }
        }
        let du = buffers[0].du
        if plan.workers > 1 {
            let others = buffers.dropFirst().map(\.du)
            Parallel.forEach(positions * cout * cin) { range in
                for partial in others {
                    for i in range { du[i] += partial[i] }
                }
            }
        }
        Parallel.forEach(cout, grain: 1) { range in
            for co in range {
                Tiling.filterGradients(du + co * cin, count: cin, stride: cout * cin, into: dw + co * cin * 9)
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

    /// `V[ξ][channel][tile]` for images `first ..< first + images` of `x` (`channels` planes each).
    private func transformInputs<Tiling: WinogradTiling>(_ g: Tiling, x: Pointer, first: Int, images: Int, channels: Int,
                                                        into v: Pointer, serial: Bool) {
        let (area, p) = (g.height * g.width, images * g.tilesPerImage)
        forEachPlane(channels, scratch: g.scratchCount(images: images), serial: serial) { ci, scratch in
            g.inputTransform(x + (first * channels + ci) * area, imageStride: channels * area, images: images, v: v,
                             planeStride: channels * p, row: ci * p, scratch: scratch)
        }
    }

    /// Runs `body(ξ)` for the `positions` tile positions: on this thread when `serial`, else side by side.
    private func forEachProduct(_ positions: Int, serial: Bool, _ body: (Int) throws -> Void) throws {
        if serial {
            for xi in 0..<positions { try body(xi) }
        } else {
            try Parallel.forEachTask(positions) { _, xi in try body(xi) }
        }
    }

    /// `U[ξ][o][i] = G w Gᵀ` for every filter; with `transposed`, `o` runs over Cin and `i` over
    /// Cout, and each filter is rotated by 180° (the backward-data filters). With `panels`, each
    /// `U[ξ]` is laid out in ``PanelGemm``'s 8-row panels instead of row-major.
    private func transformFilters<Tiling: WinogradTiling>(_: Tiling.Type, _ c: Conv2d, w: Pointer, into u: Pointer,
                                                         transposed: Bool, panels: Bool) {
        let (rows, cols) = transposed ? (c.inChannels, c.outChannels) : (c.outChannels, c.inChannels)
        // Filter (o, i) is w[o][i] (o·Cin·9 + i·9), or transposed w[i][o] (i·Cin·9 + o·9).
        let (rowStride, columnStride) = transposed ? (9, c.inChannels * 9) : (c.inChannels * 9, 9)
        if panels {
            // Panel by panel, and in each panel column by column, 8 filters (one panel's rows) at
            // a time: each position's 8 new floats land right after the previous column's, so
            // every `U[ξ]` is written front to back. (Down whole columns instead, every 32-byte
            // store fell on another page: TLB-bound, 16 MiB took ~5.7 ms, more than the products
            // of a training step's 512-channel 4×4 convolution.)
            Parallel.forEach(rows / PanelGemm.rows, grain: 1) { range in
                for panel in range {
                    let first = panel * PanelGemm.rows
                    for i in 0..<cols {
                        Tiling.transformFilters(w + first * rowStride + i * columnStride, count: PanelGemm.rows,
                                                filterStride: rowStride, flipped: transposed,
                                                into: u + PanelGemm.panelOffset(firstRow: first, column: i, columns: cols),
                                                stride: rows * cols)
                    }
                }
            }
        } else {
            // Along each row o, 8 columns at a time.
            Parallel.forEach(rows, grain: 1) { range in
                for o in range {
                    Tiling.transformFilters(w + o * rowStride, count: cols, filterStride: columnStride, flipped: transposed,
                                            into: u + o * cols, stride: rows * cols)
                }
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
