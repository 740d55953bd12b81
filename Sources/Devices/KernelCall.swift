/// A launch with its operands bound to their names: what a backend's dispatch switches over.
///
/// ``Kernel/call(_:)`` is the one place that maps the operand order of ``Kernel/operands`` to
/// names, so no backend re-encodes positions by hand: a backend binds whatever it addresses
/// operands with (pointers, `cl_mem` slices, C operands) and switches exhaustively over the
/// result. A new kernel adds a case here and fails to compile in every dispatch until handled.
///
/// ```swift
/// switch kernel.call(pointers) {
/// case let .fill(count, value, out): fill(count: count, value: value, out: out)
/// ...
/// }
/// ```
public enum KernelCall<Operand> {
    case fill(count: Int, value: Float, out: Operand)
    case copy(StridedCopy, src: Operand, dst: Operand)
    case unary(UnaryOp, count: Int, x: Operand, y: Operand)
    case unaryBackward(UnaryOp, count: Int, x: Operand, dy: Operand, dx: Operand)
    case binary(BinaryOp, Broadcast, a: Operand, b: Operand, out: Operand)
    case reduce(ReduceOp, Reduction, x: Operand, y: Operand)
    case softmax(Reduction, x: Operand, y: Operand)
    case softmaxBackward(Reduction, y: Operand, dy: Operand, dx: Operand)
    case rmsNorm(ChannelNorm, x: Operand, g: Operand, y: Operand)
    case rmsNormBackward(ChannelNorm, x: Operand, g: Operand, dy: Operand, dx: Operand, dg: Operand)
    case rmsNormScaleShiftSilu(ChannelNorm, x: Operand, g: Operand, scaleShift: Operand?, y: Operand)
    case rmsNormScaleShiftSiluBackward(ChannelNorm, x: Operand, g: Operand, scaleShift: Operand?, dy: Operand,
                                       dx: Operand, dg: Operand, dScaleShift: Operand?)
    case groupNorm(GroupNorm, x: Operand, gamma: Operand, beta: Operand, y: Operand)
    case groupNormBackward(GroupNorm, x: Operand, gamma: Operand, dy: Operand, dx: Operand, dgamma: Operand, dbeta: Operand)
    case gemm(Gemm, a: Operand, b: Operand, c: Operand, bias: Operand?)
    case conv2d(Conv2d, x: Operand, w: Operand, y: Operand, bias: Operand?)
    case conv2dBackwardData(Conv2d, dy: Operand, w: Operand, dx: Operand)
    case conv2dBackwardWeight(Conv2d, x: Operand, dy: Operand, dw: Operand, dbias: Operand?)
    case pixelUnshuffle(Resample, x: Operand, y: Operand)
    case pixelShuffle(Resample, x: Operand, y: Operand)
    case upsampleNearest(Resample, x: Operand, y: Operand)
    case upsampleNearestBackward(Resample, dy: Operand, dx: Operand)
    case timestepEmbedding(count: Int, dim: Int, theta: Float, t: Operand, out: Operand)
    case gather(rows: Int, width: Int, tableRows: Int, table: Operand, index: Operand, out: Operand)
    case random(RandomDistribution, count: Int, stream: UInt32, state: Operand, out: Operand)
    case randomAdvance(state: Operand)
    case adam(Adam, param: Operand, grad: Operand, m: Operand, v: Operand, hyper: Operand)
    case emaUpdate(count: Int, ema: Operand, param: Operand, hyper: Operand)
    case gradClipScale(maxNorm: Float, sumOfSquares: Operand, scale: Operand)
}

extension Kernel {
    /// This launch with `operands` (in ``operands`` order, as validated) bound to their names.
    public func call<Operand>(_ o: [Operand]) -> KernelCall<Operand> {
        precondition(o.count == operands.count, "\(family): \(o.count) operands bound, \(operands.count) expected")
        switch self {
        case let .fill(count, value): return .fill(count: count, value: value, out: o[0])
        case let .copy(c): return .copy(c, src: o[0], dst: o[1])
        case let .unary(op, count): return .unary(op, count: count, x: o[0], y: o[1])
        case let .unaryBackward(op, count): return .unaryBackward(op, count: count, x: o[0], dy: o[1], dx: o[2])
        case let .binary(op, b): return .binary(op, b, a: o[0], b: o[1], out: o[2])
        case let .reduce(op, r): return .reduce(op, r, x: o[0], y: o[1])
        case let .softmax(r): return .softmax(r, x: o[0], y: o[1])
        case let .softmaxBackward(r): return .softmaxBackward(r, y: o[0], dy: o[1], dx: o[2])
        case let .rmsNorm(n): return .rmsNorm(n, x: o[0], g: o[1], y: o[2])
        case let .rmsNormBackward(n): return .rmsNormBackward(n, x: o[0], g: o[1], dy: o[2], dx: o[3], dg: o[4])
        case let .rmsNormScaleShiftSilu(n, scaleShift):
            return scaleShift ? .rmsNormScaleShiftSilu(n, x: o[0], g: o[1], scaleShift: o[2], y: o[3])
                : .rmsNormScaleShiftSilu(n, x: o[0], g: o[1], scaleShift: nil, y: o[2])
        case let .rmsNormScaleShiftSiluBackward(n, scaleShift):
            return scaleShift
                ? .rmsNormScaleShiftSiluBackward(n, x: o[0], g: o[1], scaleShift: o[2], dy: o[3], dx: o[4], dg: o[5], dScaleShift: o[6])
                : .rmsNormScaleShiftSiluBackward(n, x: o[0], g: o[1], scaleShift: nil, dy: o[2], dx: o[3], dg: o[4], dScaleShift: nil)
        case let .groupNorm(n): return .groupNorm(n, x: o[0], gamma: o[1], beta: o[2], y: o[3])
        case let .groupNormBackward(n):
            return .groupNormBackward(n, x: o[0], gamma: o[1], dy: o[2], dx: o[3], dgamma: o[4], dbeta: o[5])
        case let .gemm(g): return .gemm(g, a: o[0], b: o[1], c: o[2], bias: g.bias == .none ? nil : o[3])
        case let .conv2d(c): return .conv2d(c, x: o[0], w: o[1], y: o[2], bias: c.hasBias ? o[3] : nil)
        case let .conv2dBackwardData(c): return .conv2dBackwardData(c, dy: o[0], w: o[1], dx: o[2])
        case let .conv2dBackwardWeight(c):
            return .conv2dBackwardWeight(c, x: o[0], dy: o[1], dw: o[2], dbias: c.hasBias ? o[3] : nil)
        case let .pixelUnshuffle(r): return .pixelUnshuffle(r, x: o[0], y: o[1])
        case let .pixelShuffle(r): return .pixelShuffle(r, x: o[0], y: o[1])
        case let .upsampleNearest(r): return .upsampleNearest(r, x: o[0], y: o[1])
        case let .upsampleNearestBackward(r): return .upsampleNearestBackward(r, dy: o[0], dx: o[1])
        case let .timestepEmbedding(count, dim, theta):
            return .timestepEmbedding(count: count, dim: dim, theta: theta, t: o[0], out: o[1])
        case let .gather(rows, width, tableRows):
            return .gather(rows: rows, width: width, tableRows: tableRows, table: o[0], index: o[1], out: o[2])
        case let .random(distribution, count, stream):
            return .random(distribution, count: count, stream: stream, state: o[0], out: o[1])
        case .randomAdvance: return .randomAdvance(state: o[0])
        case let .adam(a): return .adam(a, param: o[0], grad: o[1], m: o[2], v: o[3], hyper: o[4])
        case let .emaUpdate(count): return .emaUpdate(count: count, ema: o[0], param: o[1], hyper: o[2])
        case let .gradClipScale(maxNorm): return .gradClipScale(maxNorm: maxNorm, sumOfSquares: o[0], scale: o[1])
        }
    }
}
