import Devices

/// Host side of `conv.cl`: 2-D convolution forward, backward-data and backward-weight.
///
/// Entry points used by the rest of the backend: `convFile`, `convBuildOptions(_:)`,
/// `conv2d(_:x:w:y:bias:family:)`, `conv2dBackwardData(_:dy:w:dx:family:)` and
/// `conv2dBackwardWeight(_:x:dy:dw:dbias:family:)`.
///
/// Forward and backward-data are one operation, a valid correlation of a zero-padded input with
/// strided weights (backward-data pads dY by K − 1 − p and reads the weights transposed and
/// flipped). Three implementations, chosen per shape by ``OpenCLTuning/Conv``:
/// - Winograd F(2×2, 3×3) (`conv_wino_*`) for 3×3 kernels with enough output positions (CPU
///   drivers): tile transforms around 16 products run in `conv_direct`'s register block; 2.25x
///   fewer multiplies than a direct 3×3 correlation.
/// - direct (`conv_direct`): an implicit GEMM over a padded copy of the input with the weights
///   packed tap-major; the weight gradient is `conv_wgrad`'s dot products over ordered splits.
///   Best where images are large and weights small. Unpadded convolutions read in place.
/// - columns: im2col into scratch, then `gemm.cl`, whose cache-blocked tiles keep large weight
///   tensors resident. Best for small images with many channels.
/// All scratch memory comes from the queue's scratch buffer, one allocation per launch.
extension OpenCLQueue {
    static let convFile = "conv.cl"

    /// Extra build options of `conv.cl`: the device's tile sizes. Convolutions are compared at
    /// NMSE 5e-4, so multiply-add contraction is allowed.
    static func convBuildOptions(_ capabilities: OpenCLCapabilities) -> [String] {
        ["-cl-mad-enable"] + OpenCLTuning.forDevice(capabilities).convBuildOptions
    }

    func conv2d(_ c: Conv2d, x: BufferSlice, w: BufferSlice, y: BufferSlice, bias: BufferSlice?, family: String) throws {
        let pass = Correlation(
            batch: c.batch, channels: c.inChannels, outputs: c.outChannels, height: c.height, width: c.width,
            top: c.padHeight, left: c.padWidth, kernelHeight: c.kernelHeight, kernelWidth: c.kernelWidth,
            outHeight: c.outHeight, outWidth: c.outWidth,
            weightRowStride: c.inChannels * c.kernelHeight * c.kernelWidth,
            weightChannelStride: c.kernelHeight * c.kernelWidth, flipped: false)
        try correlate(pass, input: x, weights: w, output: y, bias: bias, family: family)
    }

    func conv2dBackwardData(_ c: Conv2d, dy: BufferSlice, w: BufferSlice, dx: BufferSlice, family: String) throws {
        // dx[n, ci, ih, iw] = Σ W[co, ci, kh, kw] · dy[n, co, ih − kh + ph, iw − kw + pw]: a valid
        // correlation of dy padded by K − 1 − p (cropped where p > K − 1) with the weights
        // transposed (input channel ↔ output channel) and flipped.
        let pass = Correlation(
            batch: c.batch, channels: c.outChannels, outputs: c.inChannels, height: c.outHeight, width: c.outWidth,
            top: c.kernelHeight - 1 - c.padHeight, left: c.kernelWidth - 1 - c.padWidth,
            kernelHeight: c.kernelHeight, kernelWidth: c.kernelWidth, outHeight: c.height, outWidth: c.width,
            weightRowStride: c.kernelHeight * c.kernelWidth,
            weightChannelStride: c.inChannels * c.kernelHeight * c.kernelWidth, flipped: true)
        try correlate(pass, input: dy, weights: w, output: dx, bias: nil, family: family)
    }

    func conv2dBackwardWeight(_ c: Conv2d, x: BufferSlice, dy: BufferSlice, dw: BufferSlice, dbias: BufferSlice?,
                              family: String) throws {
        if c.batch == 0 {
            // An empty sum: both gradients are zero.
            try fill(count: c.weightCount, value: 0, out: dw, family: family)
            if let dbias { try fill(count: c.outChannels, value: 0, out: dbias, family: family) }
            return
        }
        let tiles = OpenCLTuning.forDevice(openCLDevice.capabilities).conv
        let columns = c.batch * c.outHeight * c.outWidth
        let depth = c.inChannels * c.kernelHeight * c.kernelWidth
        let tileCount = c.batch * ((c.outHeight + 1) / 2) * ((c.outWidth + 1) / 2)
        let positions = c.outHeight * c.outWidth
        let wideSmallMap = positions >= tiles.fusedWinogradPositions
            && min(c.inChannels, c.outChannels) >= tiles.winogradGradientChannels
        if c.kernelHeight == 3, c.kernelWidth == 3, positions >= tiles.winogradGradientPositions || wideSmallMap,
           16 * (c.outChannels * c.inChannels + (c.inChannels + c.outChannels) * tileCount) <= tiles.winogradFloats {
            try weightGradientByWinograd(c, x: x, dy: dy, dw: dw, family: family)
        } else if c.outHeight * c.outWidth <= tiles.columnPositions, (depth + c.outChannels) * columns <= tiles.columnFloats {
            try weightGradientByColumns(c, x: x, dy: dy, dw: dw, family: family)
        } else {
            try weightGradientDirect(c, tiles, x: x, dy: dy, dw: dw, family: family)
        }
        if let dbias {
            try dispatch(Self.convFile, "conv_bias_grad", family: family, global: [c.outChannels]) { args in
                try args.tensor(dy)
                try args.tensor(dbias)
                try args.int(c.batch)
                try args.int(c.outChannels)
                try args.int(c.outHeight * c.outWidth)
            }
        }
    }
}

/// A valid correlation of a zero-padded input with weights read through strides:
/// `out[n, m, oh, ow] = Σ_{c, kh, kw} Wt(m, c, kh, kw) · in[n, c, oh + kh − top, ow + kw − left]`,
/// `Wt(m, c, t) = W[m·weightRowStride + c·weightChannelStride + t]` (tap `KK − 1 − t` when `flipped`).
private struct Correlation {
    var batch: Int
    /// Input channels summed over (C).
    var channels: Int
    /// Output channels (M).
    var outputs: Int
    var height: Int
    var width: Int
    /// Padding before the first row and column (negative crops).
    var top: Int
    var left: Int
    var kernelHeight: Int
    var kernelWidth: Int
    var outHeight: Int
    var outWidth: Int
    var weightRowStride: Int
    var weightChannelStride: Int
    var flipped: Bool

    var paddedHeight: Int { outHeight + kernelHeight - 1 }
    var paddedWidth: Int { outWidth + kernelWidth - 1 }
    var taps: Int { kernelHeight * kernelWidth }
    /// Rows of the im2col matrix (C·KH·KW) and its columns (N·OH·OW).
    var depth: Int { channels * taps }
    var columns: Int { batch * outHeight * outWidth }
    /// 2×2 output tiles of F(2×2, 3×3) Winograd: per image (TH·TW) and in all (T).
    var tileRows: Int { (outHeight + 1) / 2 }
    var tileColumns: Int { (outWidth + 1) / 2 }
    var tiles: Int { batch * tileRows * tileColumns }
    /// Scratch floats of the Winograd path: U [16, M, C], V [16, C, T] and the products [16, M, T].
    var winogradFloats: Int { 16 * ((outputs + 15) * channels + (channels + outputs) * (tiles + 63)) }
    /// Whether the padded input differs from the input itself.
    var needsPadding: Bool { top != 0 || left != 0 || paddedHeight != height || paddedWidth != width }
}

/// Sub-allocations of one scratch buffer, in floats, each rounded up to 16 floats (64 bytes).
private struct ScratchLayout {
    private(set) var floats = 0

    mutating func take(_ count: Int) -> Int {
        let offset = floats
        floats += (count + 15) / 16 * 16
        return offset
    }
}

extension OpenCLQueue {
    private func correlate(_ p: Correlation, input: BufferSlice, weights: BufferSlice, output: BufferSlice,
                           bias: BufferSlice?, family: String) throws {
        if p.batch == 0 || p.outputs == 0 { return }
        let tiles = OpenCLTuning.forDevice(openCLDevice.capabilities).conv
        let fused = Self.fusesWinograd(tiles)
        if p.kernelHeight == 3, p.kernelWidth == 3,
           p.outHeight * p.outWidth >= (fused ? tiles.fusedWinogradPositions : tiles.winogradPositions),
           p.winogradFloats <= tiles.winogradFloats {
            try correlateByWinograd(p, input: input, weights: weights, output: output, bias: bias, family: family)
        } else if p.outHeight * p.outWidth <= tiles.columnPositions,
           (p.depth + p.outputs) * p.columns + p.outputs * p.depth <= tiles.columnFloats {
            try correlateByColumns(p, input: input, weights: weights, output: output, bias: bias, family: family)
        } else {
            try correlateDirect(p, tiles, input: input, weights: weights, output: output, bias: bias, family: family)
        }
    }

    /// `conv_pack_weights`: `Wt(m, c, t)` tap-major as `[C·KK, rowsPadded]`, zero past `outputs`.
    private func packWeights(_ p: Correlation, _ weights: BufferSlice, into packed: DeviceTensor, rowsPadded: Int,
                             family: String) throws {
        try dispatch(Self.convFile, "conv_pack_weights", family: family, global: [p.depth]) { args in
            try args.tensor(weights)
            try args.bind(packed)
            for value in [p.outputs, rowsPadded, p.channels, p.taps, p.weightRowStride, p.weightChannelStride,
                          p.flipped ? p.taps - 1 : 0, p.flipped ? -1 : 1] {
                try args.int(value)
            }
        }
    }

    // MARK: Direct

    private func correlateDirect(_ p: Correlation, _ tiles: OpenCLTuning.Conv, input: BufferSlice, weights: BufferSlice,
                                 output: BufferSlice, bias: BufferSlice?, family: String) throws {
        let rowsPadded = (p.outputs + tiles.rows - 1) / tiles.rows * tiles.rows
        let planeCount = p.batch * p.channels * p.paddedHeight * p.paddedWidth
        // Slack after the padded input lets every run of the last plane use vector loads.
        let slack = tiles.columns + p.kernelWidth

        var layout = ScratchLayout()
        let packed = layout.take(rowsPadded * p.depth)
        let padded = p.needsPadding ? layout.take(planeCount + slack) : 0
        let scratch = try scratchMemory(bytes: max(1, layout.floats) * 4)

        let packedWeights = DeviceTensor.scratch(scratch, elementOffset: packed)
        try packWeights(p, weights, into: packedWeights, rowsPadded: rowsPadded, family: family)
        var source = DeviceTensor.slice(input)
        var readable = planeCount
        if p.needsPadding {
            source = .scratch(scratch, elementOffset: padded)
            readable += slack
            try pad(.slice(input), into: source, planes: p.batch * p.channels, height: p.height, width: p.width,
                    paddedHeight: p.paddedHeight, paddedWidth: p.paddedWidth, top: p.top, left: p.left,
                    slack: slack, family: family)
        }
        let rowTiles = (p.outputs + tiles.rows - 1) / tiles.rows
        let runTiles = (p.outHeight * p.paddedWidth + tiles.columns - 1) / tiles.columns
        let group = try convGroup("conv_direct", tiles: rowTiles, limit: tiles.group)
        try dispatch(Self.convFile, "conv_direct", family: family, global: [rowTiles, runTiles, p.batch],
                     local: [group, 1, 1]) { args in
            try args.bind(source)
            try args.bind(packedWeights)
            try args.tensor(output)
            if let bias { try args.tensor(bias) } else { try args.memory(nil, elementOffset: 0) }
            for value in [p.channels, p.outputs, rowsPadded, p.paddedHeight, p.paddedWidth, p.kernelHeight,
                          p.kernelWidth, p.outHeight, p.outWidth] {
                try args.int(value)
            }
            try args.int(bias != nil)
            try args.int(readable)
        }
    }

    private func weightGradientDirect(_ c: Conv2d, _ tiles: OpenCLTuning.Conv, x: BufferSlice, dy: BufferSlice,
                                      dw: BufferSlice, family: String) throws {
        let taps = c.inChannels * c.kernelHeight * c.kernelWidth
        // Both operands on the padded-width grid q = oh·Wp + ow, Wp = OW + KW − 1.
        let paddedHeight = c.outHeight + c.kernelHeight - 1, paddedWidth = c.outWidth + c.kernelWidth - 1
        // The taps of dropped lanes read KW − 1 floats past the input, so only a 1-wide kernel
        // without padding reads the caller's x in place.
        let padInput = c.padHeight != 0 || c.padWidth != 0 || c.kernelWidth != 1
        let widenGradient = paddedWidth != c.outWidth
        let rowsPerSplit = max(1, tiles.splitPositions / paddedWidth)
        let splits = (c.batch * c.outHeight + rowsPerSplit - 1) / rowsPerSplit

        var layout = ScratchLayout()
        let paddedInput = padInput ? layout.take(c.batch * c.inChannels * paddedHeight * paddedWidth + c.kernelWidth) : 0
        let widened = widenGradient ? layout.take(c.batch * c.outChannels * c.outHeight * paddedWidth) : 0
        let partials = splits > 1 ? layout.take(splits * c.outChannels * taps) : 0
        let scratch = layout.floats > 0 ? try scratchMemory(bytes: layout.floats * 4) : nil

        var input = DeviceTensor.slice(x)
        var gradient = DeviceTensor.slice(dy)
        var partial = DeviceTensor.slice(dw)
        if let scratch {
            if padInput {
                input = .scratch(scratch, elementOffset: paddedInput)
                try pad(.slice(x), into: input, planes: c.batch * c.inChannels, height: c.height, width: c.width,
                        paddedHeight: paddedHeight, paddedWidth: paddedWidth, top: c.padHeight, left: c.padWidth,
                        slack: c.kernelWidth, family: family)
            }
            if widenGradient {
                gradient = .scratch(scratch, elementOffset: widened)
                try pad(.slice(dy), into: gradient, planes: c.batch * c.outChannels, height: c.outHeight,
                        width: c.outWidth, paddedHeight: c.outHeight, paddedWidth: paddedWidth, top: 0, left: 0,
                        slack: 0, family: family)
            }
            if splits > 1 { partial = .scratch(scratch, elementOffset: partials) }
        }
        let tapTiles = (taps + tiles.gradientTaps - 1) / tiles.gradientTaps
        let channelTiles = (c.outChannels + tiles.gradientChannels - 1) / tiles.gradientChannels
        let group = try convGroup("conv_wgrad", tiles: tapTiles, limit: tiles.group)
        try dispatch(Self.convFile, "conv_wgrad", family: family, global: [tapTiles, channelTiles, splits],
                     local: [group, 1, 1]) { args in
            try args.bind(input)
            try args.bind(gradient)
            try args.bind(partial)
            for value in [c.batch, c.inChannels, c.outChannels, paddedHeight, paddedWidth, c.kernelHeight,
                          c.kernelWidth, c.outHeight, rowsPerSplit] {
                try args.int(value)
            }
        }
        if splits > 1 {
            let count = c.outChannels * taps
            try dispatch(Self.convFile, "conv_wgrad_reduce", family: family, global: [count]) { args in
                try args.bind(partial)
                try args.tensor(dw)
                try args.int(splits)
                try args.int(count)
            }
        }
    }

    // MARK: Winograd

    /// F(2×2, 3×3): `conv_wino_filter` transforms the weights into U, then either
    /// `conv_wino_fused` transforms, multiplies and folds each block of `tiles.columns` tiles with
    /// its V in a scratch region of its work-item (where ``fusesWinograd(_:)``), or three kernels
    /// do the same through memory: `conv_wino_input` writes every tile's V, `conv_wino_gemm` computes
    /// the 16 products `M[ξ] = U[ξ]·V[ξ]` (`[M × C]·[C × T]`, V in panels of `tiles.columns`
    /// tiles), and `conv_wino_output` folds each tile's 4×4 products into its 2×2 outputs (plus
    /// bias). Both give the same bits.
    private func correlateByWinograd(_ p: Correlation, input: BufferSlice, weights: BufferSlice, output: BufferSlice,
                                     bias: BufferSlice?, family: String) throws {
        let c = p.channels, m = p.outputs
        let tiles = OpenCLTuning.forDevice(openCLDevice.capabilities).conv
        let rowsPadded = (m + tiles.rows - 1) / tiles.rows * tiles.rows
        let fused = Self.fusesWinograd(tiles)
        // Tiles rounded up to whole panels of the product kernel (lanes past p.tiles unused).
        let t = (p.tiles + tiles.columns - 1) / tiles.columns * tiles.columns
        // The fused kernel's work-items: a few per compute unit along the blocks, each running
        // every `workers`-th block with its own V; the channel panels split only when there are
        // too few blocks to give every compute unit two (each split transforms its blocks again).
        let units = max(1, openCLDevice.capabilities.computeUnits)
        let blocks = t / tiles.columns, panels = rowsPadded / tiles.rows
        let workers = min(blocks, 8 * units)
        let splits = min(panels, max(1, (2 * units + blocks - 1) / blocks))
        let panelsPerItem = (panels + splits - 1) / splits
        let items = [workers, (panels + panelsPerItem - 1) / panelsPerItem]
        var layout = ScratchLayout()
        let filters = layout.take(16 * rowsPadded * c)
        let transformed = layout.take(fused ? items[0] * items[1] * 16 * c * tiles.columns : 16 * c * t)
        let products = fused ? 0 : layout.take(16 * m * t)
        let scratch = try scratchMemory(bytes: max(1, layout.floats) * 4)
        let u = DeviceTensor.scratch(scratch, elementOffset: filters)
        let v = DeviceTensor.scratch(scratch, elementOffset: transformed)
        let product = DeviceTensor.scratch(scratch, elementOffset: products)

        try dispatch(Self.convFile, "conv_wino_filter", family: family, global: [c, panels]) { args in
            try args.tensor(weights)
            try args.bind(u)
            for value in [m, rowsPadded, c, p.weightRowStride, p.weightChannelStride, p.flipped ? p.taps - 1 : 0,
                          p.flipped ? -1 : 1] {
                try args.int(value)
            }
        }
        if fused {
            try dispatch(Self.convFile, "conv_wino_fused", family: family, global: items, local: [1, 1]) { args in
                try args.tensor(input)
                try args.bind(u)
                try args.tensor(output)
                if let bias { try args.tensor(bias) } else { try args.memory(nil, elementOffset: 0) }
                for value in [c, p.height, p.width, p.top, p.left, m, rowsPadded, p.outHeight, p.outWidth,
                              p.tileRows, p.tileColumns, p.tiles, panelsPerItem] {
                    try args.int(value)
                }
                try args.int(bias != nil)
                try args.int(blocks)
                try args.bind(v)
            }
            return
        }
        try winogradInput(input, into: v, channels: c, height: p.height, width: p.width, top: p.top, left: p.left,
                          tileRows: p.tileRows, tileColumns: p.tileColumns, batch: p.batch, tilesPadded: t,
                          panel: tiles.columns, family: family)
        let rowTiles = (m + tiles.rows - 1) / tiles.rows
        let tileRuns = (t + tiles.columns - 1) / tiles.columns
        let group = try convGroup("conv_wino_gemm", tiles: rowTiles, limit: tiles.group)
        try dispatch(Self.convFile, "conv_wino_gemm", family: family, global: [rowTiles, tileRuns, 16],
                     local: [group, 1, 1]) { args in
            try args.bind(u)
            try args.bind(v)
            try args.bind(product)
            for value in [c, m, rowsPadded, t] {
                try args.int(value)
            }
        }
        try dispatch(Self.convFile, "conv_wino_output", family: family, global: [p.tileRows, m, p.batch]) { args in
            try args.bind(product)
            try args.tensor(output)
            if let bias { try args.tensor(bias) } else { try args.memory(nil, elementOffset: 0) }
            for value in [m, p.outHeight, p.outWidth, p.tileRows, p.tileColumns, t] {
                try args.int(value)
            }
            try args.int(bias != nil)
        }
    }

    /// `conv_wino_input`: V of every tile, `[16, C, tilesPadded]` in panels of `panel` tiles.
    /// With several panels the range runs channels first (neighbouring work-items write
    /// neighbouring runs of a panel), with one (`panel == tilesPadded`) tile rows first; the
    /// kernel reads the order from the same comparison.
    private func winogradInput(_ input: BufferSlice, into v: DeviceTensor, channels: Int, height: Int, width: Int,
                               top: Int, left: Int, tileRows: Int, tileColumns: Int, batch: Int, tilesPadded: Int,
                               panel: Int, family: String) throws {
        let range = panel < tilesPadded ? [channels, tileRows, batch] : [tileRows, channels, batch]
        try dispatch(Self.convFile, "conv_wino_input", family: family, global: range) { args in
            try args.tensor(input)
            try args.bind(v)
            for value in [channels, height, width, top, left, tileRows, tileColumns, tilesPadded, panel] {
                try args.int(value)
            }
        }
    }

    /// Whether forward and backward-data Winograd run as `conv_wino_fused`: the tuning enables
    /// it and its tile blocks are whole float8 groups.
    static func fusesWinograd(_ tiles: OpenCLTuning.Conv) -> Bool {
        tiles.fusedWinograd && tiles.columns % 8 == 0
    }

    /// F(2×2, 3×3) weight gradient: `conv_wino_input` writes V, `conv_wino_output_grad` the
    /// transformed output gradient dM ([16, M, T]), the 16 products `dU[ξ] = dM[ξ]·V[ξ]ᵀ` are
    /// summed over the tiles, and `conv_wino_filter_grad` folds dU into dW. With many tiles the
    /// products are `conv_wino_dot`'s dot products along T (V as [16, C, T]); with at most
    /// `gemm.directDepth` tiles (small maps, such as the dim 64 Unet's 512-channel 4×4 ones) they
    /// are one batched GEMM over ξ with V tile-major ([16, T, C], panels of one tile), whose rows
    /// `gemm_direct` reads in place: dot products 64 long are mostly lane sums.
    private func weightGradientByWinograd(_ c: Conv2d, x: BufferSlice, dy: BufferSlice, dw: BufferSlice,
                                          family: String) throws {
        let tileRows = (c.outHeight + 1) / 2, tileColumns = (c.outWidth + 1) / 2
        let t = c.batch * tileRows * tileColumns
        let m = c.outChannels, ci = c.inChannels
        let tuning = OpenCLTuning.forDevice(openCLDevice.capabilities)
        let tiles = tuning.conv
        var layout = ScratchLayout()
        let transformed = layout.take(16 * t * ci)
        let gradients = layout.take(16 * m * t)
        let filters = layout.take(16 * m * ci)
        let scratch = try scratchMemory(bytes: max(1, layout.floats) * 4)
        let v = DeviceTensor.scratch(scratch, elementOffset: transformed)
        let dM = DeviceTensor.scratch(scratch, elementOffset: gradients)
        let dU = DeviceTensor.scratch(scratch, elementOffset: filters)

        // With V tile-major the products are one batched GEMM ([M × T]·[T × C] per ξ); taken where
        // its B rows are read in place (few tiles), else conv_wino_dot's dot products along T.
        let products = GemmLayout(batch: 16, m: m, n: ci, k: t, aRowStride: t, aDepthStride: 1, bDepthStride: ci,
                                  bColumnStride: 1, ldc: ci, strideA: m * t, strideB: ci * t, strideC: m * ci)
        let byGemm = GemmKernel(products, tuning.gemm) == .direct
        try winogradInput(x, into: v, channels: ci, height: c.height, width: c.width, top: c.padHeight,
                          left: c.padWidth, tileRows: tileRows, tileColumns: tileColumns, batch: c.batch,
                          tilesPadded: t, panel: byGemm ? 1 : t, family: family)
        try dispatch(Self.convFile, "conv_wino_output_grad", family: family, global: [tileRows, m, c.batch]) { args in
            try args.tensor(dy)
            try args.bind(dM)
            for value in [m, c.outHeight, c.outWidth, tileRows, tileColumns, t] {
                try args.int(value)
            }
        }
        if byGemm {
            try gemm(products, a: dM, b: v, c: dU, bias: nil, family: family)
        } else {
            let tapTiles = (ci + tiles.gradientTaps - 1) / tiles.gradientTaps
            let channelTiles = (m + tiles.gradientChannels - 1) / tiles.gradientChannels
            let group = try convGroup("conv_wino_dot", tiles: tapTiles, limit: tiles.group)
            try dispatch(Self.convFile, "conv_wino_dot", family: family, global: [tapTiles, channelTiles, 16],
                         local: [group, 1, 1]) { args in
                try args.bind(dM)
                try args.bind(v)
                try args.bind(dU)
                try args.int(m)
                try args.int(ci)
                try args.int(t)
            }
        }
        try dispatch(Self.convFile, "conv_wino_filter_grad", family: family, global: [ci, m]) { args in
            try args.bind(dU)
            try args.tensor(dw)
            try args.int(m)
            try args.int(ci)
        }
    }

    // MARK: Columns

    private func correlateByColumns(_ p: Correlation, input: BufferSlice, weights: BufferSlice, output: BufferSlice,
                                    bias: BufferSlice?, family: String) throws {
        var layout = ScratchLayout()
        let columnMatrix = layout.take(p.depth * p.columns)
        let packed = p.flipped ? layout.take(p.outputs * p.depth) : 0
        // With one image the GEMM writes the output in place; otherwise [M, N·P] is swapped to [N, M, P].
        let product = p.batch > 1 ? layout.take(p.outputs * p.columns) : 0
        let scratch = try scratchMemory(bytes: max(1, layout.floats) * 4)

        let col = DeviceTensor.scratch(scratch, elementOffset: columnMatrix)
        try im2col(.slice(input), into: col, batch: p.batch, channels: p.channels, height: p.height, width: p.width,
                   kernelHeight: p.kernelHeight, kernelWidth: p.kernelWidth, outHeight: p.outHeight,
                   outWidth: p.outWidth, top: p.top, left: p.left, family: family)
        // op(A)[m, k] over k = (c, t): row-major [M, C·KK], the weights as stored (forward) or
        // transposed and flipped into scratch (backward-data).
        var a = DeviceTensor.slice(weights)
        if p.flipped {
            a = .scratch(scratch, elementOffset: packed)
            let flipped = a
            try dispatch(Self.convFile, "conv_flip_weights", family: family, global: [p.outputs, p.channels]) { args in
                try args.tensor(weights)
                try args.bind(flipped)
                try args.int(p.outputs)
                try args.int(p.channels)
                try args.int(p.taps)
            }
        }
        let target = p.batch > 1 ? DeviceTensor.scratch(scratch, elementOffset: product) : .slice(output)
        let layoutC = GemmLayout(m: p.outputs, n: p.columns, k: p.depth, aRowStride: p.depth, aDepthStride: 1,
                                 bDepthStride: p.columns, bColumnStride: 1, ldc: p.columns,
                                 bias: bias == nil ? .none : .perRow)
        try gemm(layoutC, a: a, b: col, c: target, bias: bias.map { .slice($0) }, family: family)
        if p.batch > 1 {
            try swapOuter(target, into: .slice(output), outer: p.outputs, inner: p.batch,
                          run: p.outHeight * p.outWidth, family: family)
        }
    }

    /// dW[co, r] = Σ_j dY[co, j] · col[r, j] over j = (n, oh, ow): one GEMM with K = N·OH·OW.
    private func weightGradientByColumns(_ c: Conv2d, x: BufferSlice, dy: BufferSlice, dw: BufferSlice,
                                         family: String) throws {
        let positions = c.outHeight * c.outWidth
        let columns = c.batch * positions
        let depth = c.inChannels * c.kernelHeight * c.kernelWidth
        var layout = ScratchLayout()
        let columnMatrix = layout.take(depth * columns)
        let swapped = c.batch > 1 ? layout.take(c.outChannels * columns) : 0
        let scratch = try scratchMemory(bytes: max(1, layout.floats) * 4)

        let col = DeviceTensor.scratch(scratch, elementOffset: columnMatrix)
        try im2col(.slice(x), into: col, batch: c.batch, channels: c.inChannels, height: c.height, width: c.width,
                   kernelHeight: c.kernelHeight, kernelWidth: c.kernelWidth, outHeight: c.outHeight,
                   outWidth: c.outWidth, top: c.padHeight, left: c.padWidth, family: family)
        var gradient = DeviceTensor.slice(dy)
        if c.batch > 1 {
            gradient = .scratch(scratch, elementOffset: swapped)
            try swapOuter(.slice(dy), into: gradient, outer: c.batch, inner: c.outChannels, run: positions,
                          family: family)
        }
        let layoutW = GemmLayout(m: c.outChannels, n: depth, k: columns, aRowStride: columns, aDepthStride: 1,
                                 bDepthStride: 1, bColumnStride: columns, ldc: depth)
        try gemm(layoutW, a: gradient, b: col, c: .slice(dw), bias: nil, family: family)
    }

    // MARK: Layout kernels

    /// `conv_pad`: `out[p, i, j] = in[p, i − top, j − left]` inside the input, else 0, then `slack` zeros.
    private func pad(_ input: DeviceTensor, into output: DeviceTensor, planes: Int, height: Int, width: Int,
                     paddedHeight: Int, paddedWidth: Int, top: Int, left: Int, slack: Int, family: String) throws {
        try dispatch(Self.convFile, "conv_pad", family: family, global: [paddedHeight, planes]) { args in
            try args.bind(input)
            try args.bind(output)
            for value in [planes, height, width, paddedHeight, paddedWidth, top, left, slack] {
                try args.int(value)
            }
        }
    }

    /// `conv_im2col`: the `[C·KH·KW, N·OH·OW]` column matrix of a zero-padded (or cropped) input.
    private func im2col(_ input: DeviceTensor, into col: DeviceTensor, batch: Int, channels: Int, height: Int,
                        width: Int, kernelHeight: Int, kernelWidth: Int, outHeight: Int, outWidth: Int, top: Int,
                        left: Int, family: String) throws {
        let depth = channels * kernelHeight * kernelWidth
        try dispatch(Self.convFile, "conv_im2col", family: family, global: [batch, depth]) { args in
            try args.bind(input)
            try args.bind(col)
            for value in [batch, channels, height, width, kernelHeight, kernelWidth, outHeight, outWidth, top, left] {
                try args.int(value)
            }
        }
    }

    /// `conv_swap_outer`: `out[b, a, :] = in[a, b, :]` for `in` of shape `[outer, inner, run]`.
    private func swapOuter(_ input: DeviceTensor, into output: DeviceTensor, outer: Int, inner: Int, run: Int,
                           family: String) throws {
        try dispatch(Self.convFile, "conv_swap_outer", family: family, global: [inner, outer]) { args in
            try args.bind(input)
            try args.bind(output)
            try args.int(outer)
            try args.int(inner)
            try args.int(run)
        }
    }

    /// A power-of-two work-group along the first axis of a convolution kernel.
    private func convGroup(_ function: String, tiles: Int, limit: Int) throws -> Int {
        let kernelLimit = try kernelWorkGroupLimit(Self.convFile, function)
        var group = OpenCLTuning.groupExtent(tiles: tiles, limit: limit)
        while group > kernelLimit { group /= 2 }
        return group
    }
}
