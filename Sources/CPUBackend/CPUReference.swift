import Devices

/// The oracle: every kernel as plain, single-threaded loops that accumulate in Double.
///
/// Nothing here is tuned; each loop transcribes the doc comment of its ``Kernel`` case so that it
/// can be checked by eye. Elementwise functions are evaluated in Double and rounded once, sums
/// (GEMM, convolution, reductions, norms, softmax) accumulate in Double, and convolutions are
/// direct loops, so the reference shares no code path with ``CPUFast``.
struct CPUReference: CPUKernelSet {
    typealias Pointer = UnsafeMutablePointer<Float>

    func run(_ kernel: Kernel, _ a: KernelArgs, workspace: Workspace) throws {
        switch kernel.call(a.operands) {
        case let .fill(count, value, out): fill(count: count, value: value, out: out.float)
        case let .copy(c, src, dst): copy(c, src: src.float, dst: dst.float)
        case let .unary(op, count, x, y): unary(op, count: count, x: x.float, y: y.float)
        case let .unaryBackward(op, count, x, dy, dx): unaryBackward(op, count: count, x: x.float, dy: dy.float, dx: dx.float)
        case let .binary(op, shape, x, y, out): binary(op, shape, a: x.float, b: y.float, out: out.float)
        case let .reduce(op, r, x, y): reduce(op, r, x: x.float, y: y.float)
        case let .softmax(r, x, y): softmax(r, x: x.float, y: y.float)
        case let .softmaxBackward(r, y, dy, dx): softmaxBackward(r, y: y.float, dy: dy.float, dx: dx.float)
        case let .rmsNorm(n, x, g, y): rmsNorm(n, x: x.float, g: g.float, y: y.float)
        case let .rmsNormBackward(n, x, g, dy, dx, dg):
            rmsNormBackward(n, x: x.float, g: g.float, dy: dy.float, dx: dx.float, dg: dg.float)
        case let .rmsNormScaleShiftSilu(n, x, g, scaleShift, y):
            rmsNormScaleShiftSilu(n, x: x.float, g: g.float, scaleShift: scaleShift?.float, y: y.float)
        case let .rmsNormScaleShiftSiluBackward(n, x, g, scaleShift, dy, dx, dg, dScaleShift):
            rmsNormScaleShiftSiluBackward(n, x: x.float, g: g.float, scaleShift: scaleShift?.float, dy: dy.float,
                                          dx: dx.float, dg: dg.float, dScaleShift: dScaleShift?.float)
        case let .groupNorm(n, x, gamma, beta, y): groupNorm(n, x: x.float, gamma: gamma.float, beta: beta.float, y: y.float)
        case let .groupNormBackward(n, x, gamma, dy, dx, dgamma, dbeta):
            groupNormBackward(n, x: x.float, gamma: gamma.float, dy: dy.float, dx: dx.float,
                              dgamma: dgamma.float, dbeta: dbeta.float)
        case let .gemm(g, x, y, c, bias): gemm(g, a: x.float, b: y.float, c: c.float, bias: bias?.float)
        case let .conv2d(c, x, w, y, bias):
            conv2d(c, x: x.float, w: w.float, y: y.float, bias: bias?.float)
        case let .conv2dBackwardData(c, dy, w, dx):
            conv2dBackwardData(c, dy: dy.float, w: w.float, dx: dx.float)
        case let .conv2dBackwardWeight(c, x, dy, dw, dbias):
            conv2dBackwardWeight(c, x: x.float, dy: dy.float, dw: dw.float, dbias: dbias?.float)
        case let .pixelUnshuffle(r, x, y): pixelUnshuffle(r, x: x.float, y: y.float)
        case let .pixelShuffle(r, x, y): pixelShuffle(r, x: x.float, y: y.float)
        case let .upsampleNearest(r, x, y): upsampleNearest(r, x: x.float, y: y.float)
        case let .upsampleNearestBackward(r, dy, dx): upsampleNearestBackward(r, dy: dy.float, dx: dx.float)
        case let .timestepEmbedding(count, dim, theta, t, out):
            timestepEmbedding(count: count, dim: dim, theta: theta, t: t.float, out: out.float)
        case let .gather(rows, width, tableRows, table, index, out):
            gather(rows: rows, width: width, tableRows: tableRows, table: table.float, index: index.int32, out: out.float)
        case let .random(dist, count, stream, state, out): random(dist, count: count, stream: stream, state: state.uint32, out: out.uint32)
        case let .randomAdvance(state): state.uint32[2] &+= 1
        case let .adam(p, param, grad, m, v, hyper):
            adam(p, param: param.float, grad: grad.float, m: m.float, v: v.float, hyper: hyper.float)
        case let .emaUpdate(count, ema, param, hyper): emaUpdate(count: count, ema: ema.float, param: param.float, hyper: hyper.float)
        case let .gradClipScale(maxNorm, sumOfSquares, scale):
            gradClipScale(maxNorm: maxNorm, sumOfSquares: sumOfSquares.float, scale: scale.float)
        }
    }
}

/// Visits every multi-index of `shape` in row-major order with the element offsets it maps to
/// under each stride vector. Shared by the reference's strided copy and broadcasting binary ops.
///
/// A negative stride walks backwards; the view's lowest address is the slice start, matching the
/// `Σ (extent−1)·|stride|` span that ``Kernel/validate(_:on:)`` checks.
func referenceForEachIndex(_ shape: [Int], _ strides: [[Int]], _ body: ([Int]) -> Void) {
    let count = shape.reduce(1, *)
    guard count > 0 else { return }
    let rank = shape.count
    var index = [Int](repeating: 0, count: rank)
    var offsets = strides.map { s in zip(shape, s).reduce(0) { $0 + ($1.1 < 0 ? ($1.0 - 1) * -$1.1 : 0) } }
    for _ in 0..<count {
        body(offsets)
        var d = rank - 1
        while d >= 0 {
            index[d] += 1
            for k in offsets.indices { offsets[k] += strides[k][d] }
            if index[d] < shape[d] { break }
            for k in offsets.indices { offsets[k] -= strides[k][d] * shape[d] }
            index[d] = 0
            d -= 1
        }
    }
}
