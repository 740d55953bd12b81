import Devices

/// `launch`: the hand-off to each kernel family's host code.
extension OpenCLQueue {
    /// Enqueues the family's kernels. The front end has validated the operands and asked
    /// ``OpenCLDevice/supports(_:)`` (sizes fit 32-bit indexing). A launch over an empty range
    /// enqueues nothing.
    public func launch(_ kernel: Kernel, _ operands: [BufferSlice]) throws {
        if isProfiling { beginTimedLaunch() }
        let o = operands
        let family = kernel.family
        switch kernel {
        case let .fill(count, value): try fill(count: count, value: value, out: o[0], family: family)
        case let .copy(c): try stridedCopy(c, src: o[0], dst: o[1], family: family)
        case let .unary(op, count): try unary(op, count: count, x: o[0], y: o[1], family: family)
        case let .unaryBackward(op, count):
            try unaryBackward(op, count: count, x: o[0], dy: o[1], dx: o[2], family: family)
        case let .binary(op, b): try binary(op, b, a: o[0], b: o[1], out: o[2], family: family)
        case let .reduce(op, r): try reduce(op, r, x: o[0], y: o[1], family: family)
        case let .softmax(r): try softmax(r, x: o[0], y: o[1], family: family)
        case let .softmaxBackward(r): try softmaxBackward(r, y: o[0], dy: o[1], dx: o[2], family: family)
        case let .rmsNorm(n): try rmsNorm(n, x: o[0], g: o[1], y: o[2], family: family)
        case let .rmsNormBackward(n):
            try rmsNormBackward(n, x: o[0], g: o[1], dy: o[2], dx: o[3], dg: o[4], family: family)
        case let .groupNorm(n): try groupNorm(n, x: o[0], gamma: o[1], beta: o[2], y: o[3], family: family)
        case let .groupNormBackward(n):
            try groupNormBackward(n, x: o[0], gamma: o[1], dy: o[2], dx: o[3], dgamma: o[4], dbeta: o[5], family: family)
        case let .gemm(g): try gemm(g, a: o[0], b: o[1], c: o[2], bias: o.count > 3 ? o[3] : nil, family: family)
        case let .conv2d(c): try conv2d(c, x: o[0], w: o[1], y: o[2], bias: o.count > 3 ? o[3] : nil, family: family)
        case let .conv2dBackwardData(c): try conv2dBackwardData(c, dy: o[0], w: o[1], dx: o[2], family: family)
        case let .conv2dBackwardWeight(c):
            try conv2dBackwardWeight(c, x: o[0], dy: o[1], dw: o[2], dbias: o.count > 3 ? o[3] : nil, family: family)
        case let .pixelUnshuffle(r): try resample("pixel_unshuffle", r, outputCount: r.count, o[0], o[1], family: family)
        case let .pixelShuffle(r): try resample("pixel_shuffle", r, outputCount: r.count, o[0], o[1], family: family)
        case let .upsampleNearest(r): try resample("upsample_nearest", r, outputCount: r.count, o[0], o[1], family: family)
        case let .upsampleNearestBackward(r):
            try resample("upsample_nearest_backward", r, outputCount: r.count / (r.factor * r.factor), o[0], o[1],
                         family: family)
        case let .timestepEmbedding(count, dim, theta):
            try timestepEmbedding(count: count, dim: dim, theta: theta, t: o[0], out: o[1], family: family)
        case let .gather(rows, width, tableRows):
            try gather(rows: rows, width: width, tableRows: tableRows, table: o[0], index: o[1], out: o[2], family: family)
        case let .random(distribution, count, stream):
            try random(distribution, count: count, stream: stream, state: o[0], out: o[1], family: family)
        case .randomAdvance: try randomAdvance(state: o[0], family: family)
        case let .adam(a): try adam(a, param: o[0], grad: o[1], m: o[2], v: o[3], hyper: o[4], family: family)
        case let .emaUpdate(count): try emaUpdate(count: count, ema: o[0], param: o[1], hyper: o[2], family: family)
        case let .gradClipScale(maxNorm): try gradClipScale(maxNorm: maxNorm, sumOfSquares: o[0], scale: o[1], family: family)
        }
    }
}
