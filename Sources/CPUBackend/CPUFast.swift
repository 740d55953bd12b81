import Devices

/// The fast kernels of the `cpu` device: OpenBLAS for GEMM, im2col/GEMM convolution, and Float
/// loops the compiler vectorises, split over the cores when large (``Parallel``).
///
/// Agreement with ``CPUReference`` is checked by the tests and the conformance suite.
final class CPUFast: CPUKernelSet, @unchecked Sendable {
    typealias Pointer = UnsafeMutablePointer<Float>

    let blas: OpenBLAS
    /// Column-buffer floats per convolution chunk (default 32 MiB); a single image may exceed it.
    let columnBudget: Int
    /// Output pixels per image from which a 3×3 convolution goes through Winograd (see
    /// ``CPUFast/defaultWinogradMinimumPixels``).
    let winogradMinimumPixels: Int
    /// Output pixels per image from which Winograd uses 4×4 output tiles rather than 2×2 (see
    /// ``CPUFast/defaultWinograd4x4MinimumPixels``).
    let winograd4x4MinimumPixels: Int
    /// Transformed Winograd filter banks kept while their weights are unchanged (sampling).
    let filterCache: WinogradFilterCache

    init(blas: OpenBLAS, columnBudget: Int = 8 << 20,
         winogradMinimumPixels: Int = CPUFast.defaultWinogradMinimumPixels,
         winograd4x4MinimumPixels: Int = CPUFast.defaultWinograd4x4MinimumPixels,
         filterCacheBytes: Int = CPUFast.defaultFilterCacheBytes) {
        self.blas = blas
        self.columnBudget = columnBudget
        self.winogradMinimumPixels = winogradMinimumPixels
        self.winograd4x4MinimumPixels = winograd4x4MinimumPixels
        self.filterCache = WinogradFilterCache(capacity: filterCacheBytes)
    }

    /// 512 MiB: every transformed 3×3 bank of the 35.7M-parameter Unet (~330 MiB) fits.
    static let defaultFilterCacheBytes = 512 << 20

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
            try rmsNormScaleShiftSiluBackward(n, x: x.float, g: g.float, scaleShift: scaleShift?.float, dy: dy.float,
                                              dx: dx.float, dg: dg.float, dScaleShift: dScaleShift?.float, workspace: workspace)
        case let .groupNorm(n, x, gamma, beta, y): groupNorm(n, x: x.float, gamma: gamma.float, beta: beta.float, y: y.float)
        case let .groupNormBackward(n, x, gamma, dy, dx, dgamma, dbeta):
            try groupNormBackward(n, x: x.float, gamma: gamma.float, dy: dy.float, dx: dx.float,
                                  dgamma: dgamma.float, dbeta: dbeta.float, workspace: workspace)
        case let .gemm(g, x, y, c, bias): try gemm(g, a: x.float, b: y.float, c: c.float, bias: bias?.float)
        case let .conv2d(c, x, w, y, bias):
            try conv2d(c, x: x.float, w: w.float, y: y.float, bias: bias?.float, weights: w.region, workspace: workspace)
        case let .conv2dBackwardData(c, dy, w, dx):
            try conv2dBackwardData(c, dy: dy.float, w: w.float, dx: dx.float, weights: w.region, workspace: workspace)
        case let .conv2dBackwardWeight(c, x, dy, dw, dbias):
            try conv2dBackwardWeight(c, x: x.float, dy: dy.float, dw: dw.float, dbias: dbias?.float, workspace: workspace)
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
