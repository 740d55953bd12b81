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
            groupNormBackward(n, x: a.float(0), gamma: a.float(1), dy: a.float(2), dx: a.float(3),
                              dgamma: a.float(4), dbeta: a.float(5))
        case let .gemm(g):
            gemm(g, a: a.float(0), b: a.float(1), c: a.float(2), bias: g.bias == .none ? nil : a.float(3))
        case let .conv2d(c):
            conv2d(c, x: a.float(0), w: a.float(1), y: a.float(2), bias: c.hasBias ? a.float(3) : nil)
        case let .conv2dBackwardData(c): conv2dBackwardData(c, dy: a.float(0), w: a.float(1), dx: a.float(2))
        case let .conv2dBackwardWeight(c):
            conv2dBackwardWeight(c, x: a.float(0), dy: a.float(1), dw: a.float(2), dbias: c.hasBias ? a.float(3) : nil)
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
