import Devices

/// `launch`: the hand-off to each kernel family's host code.
extension OpenCLQueue {
    /// Enqueues the family's kernels. The front end has validated the operands and asked
    /// ``OpenCLDevice/supports(_:)`` (sizes fit 32-bit indexing). A launch over an empty range
    /// enqueues nothing.
    public func launch(_ kernel: Kernel, _ operands: [BufferSlice]) throws {
        if isProfiling { beginTimedLaunch() }
        let family = kernel.family
        switch kernel.call(operands) {
        case let .fill(count, value, out): try fill(count: count, value: value, out: out, family: family)
        case let .copy(c, src, dst): try stridedCopy(c, src: src, dst: dst, family: family)
        case let .unary(op, count, x, y): try unary(op, count: count, x: x, y: y, family: family)
        case let .unaryBackward(op, count, x, dy, dx): try unaryBackward(op, count: count, x: x, dy: dy, dx: dx, family: family)
        case let .binary(op, shape, x, y, out): try binary(op, shape, a: x, b: y, out: out, family: family)
        case let .reduce(op, r, x, y): try reduce(op, r, x: x, y: y, family: family)
        case let .softmax(r, x, y): try softmax(r, x: x, y: y, family: family)
        case let .softmaxBackward(r, y, dy, dx): try softmaxBackward(r, y: y, dy: dy, dx: dx, family: family)
        case let .rmsNorm(n, x, g, y): try rmsNorm(n, x: x, g: g, y: y, family: family)
        case let .rmsNormBackward(n, x, g, dy, dx, dg): try rmsNormBackward(n, x: x, g: g, dy: dy, dx: dx, dg: dg, family: family)
        case let .rmsNormScaleShiftSilu(n, x, g, scaleShift, y):
            try rmsNormScaleShiftSilu(n, x: x, g: g, scaleShift: scaleShift, y: y, family: family)
        case let .rmsNormScaleShiftSiluBackward(n, x, g, scaleShift, dy, dx, dg, dScaleShift):
            try rmsNormScaleShiftSiluBackward(n, x: x, g: g, scaleShift: scaleShift, dy: dy, dx: dx, dg: dg,
                                              dScaleShift: dScaleShift, family: family)
        case let .groupNorm(n, x, gamma, beta, y): try groupNorm(n, x: x, gamma: gamma, beta: beta, y: y, family: family)
        case let .groupNormBackward(n, x, gamma, dy, dx, dgamma, dbeta):
            try groupNormBackward(n, x: x, gamma: gamma, dy: dy, dx: dx, dgamma: dgamma, dbeta: dbeta, family: family)
        case let .gemm(g, x, y, c, bias): try gemm(g, a: x, b: y, c: c, bias: bias, family: family)
        case let .conv2d(c, x, w, y, bias): try conv2d(c, x: x, w: w, y: y, bias: bias, family: family)
        case let .conv2dBackwardData(c, dy, w, dx): try conv2dBackwardData(c, dy: dy, w: w, dx: dx, family: family)
        case let .conv2dBackwardWeight(c, x, dy, dw, dbias):
            try conv2dBackwardWeight(c, x: x, dy: dy, dw: dw, dbias: dbias, family: family)
        case let .pixelUnshuffle(r, x, y): try resample("pixel_unshuffle", r, x, y, family: family)
        case let .pixelShuffle(r, x, y): try resample("pixel_shuffle", r, x, y, family: family)
        case let .upsampleNearest(r, x, y): try resample("upsample_nearest", r, x, y, family: family)
        case let .upsampleNearestBackward(r, dy, dx):
            try resample("upsample_nearest_backward", r, dy, dx, family: family)
        case let .timestepEmbedding(count, dim, theta, t, out):
            try timestepEmbedding(count: count, dim: dim, theta: theta, t: t, out: out, family: family)
        case let .gather(rows, width, tableRows, table, index, out):
            try gather(rows: rows, width: width, tableRows: tableRows, table: table, index: index, out: out, family: family)
        case let .random(distribution, count, stream, state, out):
            try random(distribution, count: count, stream: stream, state: state, out: out, family: family)
        case let .randomAdvance(state): try randomAdvance(state: state, family: family)
        case let .adam(a, param, grad, m, v, hyper): try adam(a, param: param, grad: grad, m: m, v: v, hyper: hyper, family: family)
        case let .emaUpdate(count, ema, param, hyper): try emaUpdate(count: count, ema: ema, param: param, hyper: hyper, family: family)
        case let .gradClipScale(maxNorm, sumOfSquares, scale):
            try gradClipScale(maxNorm: maxNorm, sumOfSquares: sumOfSquares, scale: scale, family: family)
        }
    }
}
