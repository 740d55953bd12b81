import Devices

/// The fast kernels of the `cpu` device: OpenBLAS for GEMM, im2col/GEMM convolution, and Float
/// loops the compiler vectorises, split over the cores when large (``Parallel``).
///
/// Agreement with ``CPUReference`` is checked by the tests and the conformance suite.
final class CPUFast: CPUKernelSet, @unchecked Sendable {
    typealias Pointer = UnsafeMutablePointer<Float>

    let blas: OpenBLAS
    let deviceName: String
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

    init(blas: OpenBLAS, deviceName: String, columnBudget: Int = 8 << 20,
         winogradMinimumPixels: Int = CPUFast.defaultWinogradMinimumPixels,
         winograd4x4MinimumPixels: Int = CPUFast.defaultWinograd4x4MinimumPixels,
         filterCacheBytes: Int = CPUFast.defaultFilterCacheBytes) {
        self.blas = blas
        self.deviceName = deviceName
        self.columnBudget = columnBudget
        self.winogradMinimumPixels = winogradMinimumPixels
        self.winograd4x4MinimumPixels = winograd4x4MinimumPixels
        self.filterCache = WinogradFilterCache(capacity: filterCacheBytes)
    }

    /// 512 MiB: every transformed 3×3 bank of the 35.7M-parameter Unet (~330 MiB) fits.
    static let defaultFilterCacheBytes = 512 << 20

    func run(_ kernel: Kernel, _ a: KernelArgs, workspace: Workspace) throws {
        switch kernel {
        case let .fill(count, value): fill(count: count, value: value, out: a.float(0))
        case let .copy(c): copy(c, src: a.float(0), dst: a.float(1))
        case let .unary(op, count): unary(op, count: count, x: a.float(0), y: a.float(1))
        case let .unaryBackward(op, count):
            unaryBackward(op, count: count, x: a.float(0), dy: a.float(1), dx: a.float(2))
        case let .binary(op, b): binary(op, b, a: a.float(0), b: a.float(1), out: a.float(2))
        case let .reduce(op, r): reduce(op, r, x: a.float(0), y: a.float(1))
        case let .softmax(r): softmax(r, x: a.float(0), y: a.float(1))
        case let .softmaxBackward(r): softmaxBackward(r, y: a.float(0), dy: a.float(1), dx: a.float(2))
        case let .rmsNorm(n): rmsNorm(n, x: a.float(0), g: a.float(1), y: a.float(2))
        case let .rmsNormBackward(n):
            rmsNormBackward(n, x: a.float(0), g: a.float(1), dy: a.float(2), dx: a.float(3), dg: a.float(4))
        case let .groupNorm(n):
            groupNorm(n, x: a.float(0), gamma: a.float(1), beta: a.float(2), y: a.float(3))
        case let .groupNormBackward(n):
            try groupNormBackward(n, x: a.float(0), gamma: a.float(1), dy: a.float(2), dx: a.float(3),
                                  dgamma: a.float(4), dbeta: a.float(5), workspace: workspace)
        case let .gemm(g):
            try gemm(g, a: a.float(0), b: a.float(1), c: a.float(2), bias: g.bias == .none ? nil : a.float(3))
        case let .conv2d(c):
            try conv2d(c, x: a.float(0), w: a.float(1), y: a.float(2), bias: c.hasBias ? a.float(3) : nil,
                       weights: a.region(1), workspace: workspace)
        case let .conv2dBackwardData(c):
            try conv2dBackwardData(c, dy: a.float(0), w: a.float(1), dx: a.float(2), weights: a.region(1),
                                   workspace: workspace)
        case let .conv2dBackwardWeight(c):
            try conv2dBackwardWeight(c, x: a.float(0), dy: a.float(1), dw: a.float(2),
                                     dbias: c.hasBias ? a.float(3) : nil, workspace: workspace)
        case let .pixelUnshuffle(r): pixelUnshuffle(r, x: a.float(0), y: a.float(1))
        case let .pixelShuffle(r): pixelShuffle(r, x: a.float(0), y: a.float(1))
        case let .upsampleNearest(r): upsampleNearest(r, x: a.float(0), y: a.float(1))
        case let .upsampleNearestBackward(r): upsampleNearestBackward(r, dy: a.float(0), dx: a.float(1))
        case let .timestepEmbedding(count, dim, theta):
            timestepEmbedding(count: count, dim: dim, theta: theta, t: a.float(0), out: a.float(1))
        case let .gather(rows, width, tableRows):
            gather(rows: rows, width: width, tableRows: tableRows, table: a.float(0), index: a.int32(1), out: a.float(2))
        case let .random(dist, count, stream):
            random(dist, count: count, stream: stream, state: a.uint32(0), out: a.uint32(1))
        case .randomAdvance: a.uint32(0)[2] &+= 1
        case let .adam(p):
            adam(p, param: a.float(0), grad: a.float(1), m: a.float(2), v: a.float(3), hyper: a.float(4))
        case let .emaUpdate(count): emaUpdate(count: count, ema: a.float(0), param: a.float(1), hyper: a.float(2))
        case let .gradClipScale(maxNorm): gradClipScale(maxNorm: maxNorm, sumOfSquares: a.float(0), scale: a.float(1))
        }
    }
}
