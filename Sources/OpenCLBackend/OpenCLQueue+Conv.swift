import Devices

/// Host side of `conv.cl`: 2-D convolution forward, backward-data and backward-weight.
///
/// Entry points used by the rest of the backend: `convFile`, `convBuildOptions(_:)`,
/// `conv2d(_:x:w:y:bias:family:)`, `conv2dBackwardData(_:dy:w:dx:family:)` and
/// `conv2dBackwardWeight(_:x:dy:dw:dbias:family:)`.
///
/// Forward and backward-data are the same implicit GEMM (`conv_direct`) over a zero-padded copy
/// of their input in queue scratch memory, with the weights packed tap-major (backward-data packs
/// them transposed and flipped). Backward-weight runs dot products over the output positions in
/// ordered splits. A convolution without padding reads the caller's tensors directly.
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
        // correlation of dy padded by (K − 1 − p) (cropped where p > K − 1) with the weights
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
        let tiles = OpenCLTuning.forDevice(openCLDevice.capabilities).conv
        let kk = c.kernelHeight * c.kernelWidth
        let taps = c.inChannels * kk
        let positions = c.batch * c.outHeight
        if positions == 0 {
            // An empty sum: both gradients are zero.
            try fill(count: c.weightCount, value: 0, out: dw, family: family)
            if let dbias { try fill(count: c.outChannels, value: 0, out: dbias, family: family) }
            return
        }
        // Both operands on the padded-width grid q = oh·Wp + ow, Wp = OW + KW − 1.
        let paddedHeight = c.outHeight + c.kernelHeight - 1, paddedWidth = c.outWidth + c.kernelWidth - 1
        // The taps of dropped lanes read KW − 1 floats past the input, so only a 1-wide kernel
        // without padding can read the caller's x in place.
        let padInput = c.padHeight != 0 || c.padWidth != 0 || c.kernelWidth != 1
        let widenGradient = paddedWidth != c.outWidth
        let rowsPerSplit = max(1, tiles.splitPositions / paddedWidth)
        let splits = (positions + rowsPerSplit - 1) / rowsPerSplit

        var layout = ScratchLayout()
        let paddedInput = padInput ? layout.take(c.batch * c.inChannels * paddedHeight * paddedWidth + c.kernelWidth) : 0
        let widened = widenGradient ? layout.take(c.batch * c.outChannels * c.outHeight * paddedWidth) : 0
        let partials = splits > 1 ? layout.take(splits * c.outChannels * taps) : 0
        let scratch = layout.floats > 0 ? try scratchMemory(bytes: layout.floats * 4) : nil

        var input = DeviceTensor.slice(x)
        if padInput, let scratch {
            input = .scratch(scratch, elementOffset: paddedInput)
            try pad(.slice(x), into: input, planes: c.batch * c.inChannels, height: c.height, width: c.width,
                    paddedHeight: paddedHeight, paddedWidth: paddedWidth, top: c.padHeight, left: c.padWidth,
                    slack: c.kernelWidth, family: family)
        }
        var gradient = DeviceTensor.slice(dy)
        if widenGradient, let scratch {
            gradient = .scratch(scratch, elementOffset: widened)
            try pad(.slice(dy), into: gradient, planes: c.batch * c.outChannels, height: c.outHeight,
                    width: c.outWidth, paddedHeight: c.outHeight, paddedWidth: paddedWidth, top: 0, left: 0,
                    slack: 0, family: family)
        }
        var partial = DeviceTensor.slice(dw)
        if splits > 1, let scratch { partial = .scratch(scratch, elementOffset: partials) }
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

// MARK: - The shared implicit GEMM

/// A valid correlation of a zero-padded input with weights read through strides:
/// `out[n, m, oh, ow] = Σ_{c, kh, kw} Wt(m, c, kh, kw) · in[n, c, oh + kh − top, ow + kw − left]`,
/// with `Wt(m, c, t) = W[m·weightRowStride + c·weightChannelStride + t]` (taps flipped when `flipped`).
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
    /// Whether the padded input differs from the input itself.
    var needsPadding: Bool { top != 0 || left != 0 || paddedHeight != height || paddedWidth != width }
}

/// Sub-allocations of one scratch buffer, in floats, each rounded to 16 floats (64 bytes).
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
        let paddedOutputs = (p.outputs + tiles.rows - 1) / tiles.rows * tiles.rows
        let packedCount = paddedOutputs * p.channels * p.taps
        let planeCount = p.batch * p.channels * p.paddedHeight * p.paddedWidth
        // Slack after the padded input lets every run of the last plane use vector loads.
        let slack = tiles.columns + p.kernelWidth

        var layout = ScratchLayout()
        let packed = layout.take(packedCount)
        let padded = p.needsPadding ? layout.take(planeCount + slack) : 0
        let scratch = try scratchMemory(bytes: max(1, layout.floats) * 4)

        let packedWeights = DeviceTensor.scratch(scratch, elementOffset: packed)
        try dispatch(Self.convFile, "conv_pack_weights", family: family, global: [paddedOutputs, p.channels * p.taps]) { args in
            try args.tensor(weights)
            try args.bind(packedWeights)
            for value in [p.outputs, paddedOutputs, p.channels, p.taps, p.weightRowStride, p.weightChannelStride,
                          p.flipped ? p.taps - 1 : 0, p.flipped ? -1 : 1] {
                try args.int(value)
            }
        }
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
        let columnTiles = (p.outHeight * p.paddedWidth + tiles.columns - 1) / tiles.columns
        let group = try convGroup("conv_direct", tiles: rowTiles, limit: tiles.group)
        try dispatch(Self.convFile, "conv_direct", family: family, global: [rowTiles, columnTiles, p.batch],
                     local: [group, 1, 1]) { args in
            try args.bind(source)
            try args.bind(packedWeights)
            try args.tensor(output)
            if let bias { try args.tensor(bias) } else { try args.memory(nil, elementOffset: 0) }
            for value in [p.channels, p.outputs, paddedOutputs, p.paddedHeight, p.paddedWidth, p.kernelHeight,
                          p.kernelWidth, p.outHeight, p.outWidth] {
                try args.int(value)
            }
            try args.int(bias != nil)
            try args.int(readable)
        }
    }

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

    /// A power-of-two work-group along the first axis of a convolution kernel.
    private func convGroup(_ function: String, tiles: Int, limit: Int) throws -> Int {
        let kernelLimit = try kernelWorkGroupLimit(Self.convFile, function)
        var group = OpenCLTuning.groupExtent(tiles: tiles, limit: limit)
        while group > kernelLimit { group /= 2 }
        return group
    }
}
