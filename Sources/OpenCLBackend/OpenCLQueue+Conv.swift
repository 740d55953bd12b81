import Devices

/// Host side of `conv.cl`: direct 2-D convolution forward, backward-data and backward-weight.
///
/// Entry points used by the rest of the backend (keep them when replacing the kernels):
/// `convFile`, `convBuildOptions(_:)`, `conv2d(_:x:w:y:bias:family:)`,
/// `conv2dBackwardData(_:dy:w:dx:family:)` and `conv2dBackwardWeight(_:x:dy:dw:dbias:family:)`.
extension OpenCLQueue {
    static let convFile = "conv.cl"
    /// Output channels per work item in `conv.cl` (`CONV_BLOCK`).
    static let convBlock = 4

    /// Extra build options of `conv.cl`: convolutions are compared at NMSE 5e-4, so contraction is allowed.
    static func convBuildOptions(_ capabilities: OpenCLCapabilities) -> [String] { ["-cl-mad-enable"] }

    func conv2d(_ c: Conv2d, x: BufferSlice, w: BufferSlice, y: BufferSlice, bias: BufferSlice?, family: String) throws {
        let blocks = (c.outChannels + Self.convBlock - 1) / Self.convBlock
        try dispatch(Self.convFile, "conv2d_forward", family: family,
                     global: [c.outHeight * c.outWidth, blocks, c.batch]) { args in
            try args.tensor(x)
            try args.tensor(w)
            try args.tensor(y)
            if let bias { try args.tensor(bias) } else { try args.memory(nil, elementOffset: 0) }
            try bindGeometry(&args, c)
            try args.int(bias != nil)
        }
    }

    func conv2dBackwardData(_ c: Conv2d, dy: BufferSlice, w: BufferSlice, dx: BufferSlice, family: String) throws {
        let blocks = (c.inChannels + Self.convBlock - 1) / Self.convBlock
        try dispatch(Self.convFile, "conv2d_backward_data", family: family,
                     global: [c.height * c.width, blocks, c.batch]) { args in
            try args.tensor(dy)
            try args.tensor(w)
            try args.tensor(dx)
            try bindGeometry(&args, c)
        }
    }

    func conv2dBackwardWeight(_ c: Conv2d, x: BufferSlice, dy: BufferSlice, dw: BufferSlice, dbias: BufferSlice?,
                              family: String) throws {
        let local = try localSize(Self.convFile, "conv2d_backward_weight")
        try dispatch(Self.convFile, "conv2d_backward_weight", family: family, global: [c.weightCount * local],
                     local: [local]) { args in
            try args.tensor(x)
            try args.tensor(dy)
            try args.tensor(dw)
            try bindGeometry(&args, c)
            try args.localFloats(local)
        }
        guard let dbias else { return }
        let biasLocal = try localSize(Self.convFile, "conv2d_backward_bias")
        try dispatch(Self.convFile, "conv2d_backward_bias", family: family, global: [c.outChannels * biasLocal],
                     local: [biasLocal]) { args in
            try args.tensor(dy)
            try args.tensor(dbias)
            try args.int(c.batch)
            try args.int(c.outChannels)
            try args.int(c.outHeight)
            try args.int(c.outWidth)
            try args.localFloats(biasLocal)
        }
    }

    private func bindGeometry(_ args: inout KernelArguments, _ c: Conv2d) throws {
        for value in [c.batch, c.inChannels, c.outChannels, c.height, c.width, c.kernelHeight, c.kernelWidth,
                      c.padHeight, c.padWidth, c.outHeight, c.outWidth] {
            try args.int(value)
        }
    }
}
