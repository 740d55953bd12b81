/// Names of kernels for tables, filters and failure lines.
extension Kernel {
    /// The kernel family, e.g. `gemm`, `conv2d.backward_data`, `unary.silu`, `binary.add`.
    public var family: String {
        switch self {
        case .fill: return "fill"
        case .copy: return "copy"
        case let .unary(op, _): return "unary.\(op.name)"
        case let .unaryBackward(op, _): return "unary_backward.\(op.name)"
        case let .binary(op, _): return "binary.\(op.rawValue)"
        case let .reduce(op, _): return "reduce.\(op.rawValue)"
        case .softmax: return "softmax"
        case .softmaxBackward: return "softmax.backward"
        case .rmsNorm: return "rms_norm"
        case .rmsNormBackward: return "rms_norm.backward"
        case .rmsNormScaleShiftSilu: return "rms_norm_scale_shift_silu"
        case .rmsNormScaleShiftSiluBackward: return "rms_norm_scale_shift_silu.backward"
        case .groupNorm: return "group_norm"
        case .groupNormBackward: return "group_norm.backward"
        case .gemm: return "gemm"
        case .conv2d: return "conv2d"
        case .conv2dBackwardData: return "conv2d.backward_data"
        case .conv2dBackwardWeight: return "conv2d.backward_weight"
        case .pixelUnshuffle: return "pixel_unshuffle"
        case .pixelShuffle: return "pixel_shuffle"
        case .upsampleNearest: return "upsample_nearest"
        case .upsampleNearestBackward: return "upsample_nearest.backward"
        case .timestepEmbedding: return "timestep_embedding"
        case .gather: return "gather"
        case let .random(dist, _, _): return "random.\(dist.name)"
        case .randomAdvance: return "random.advance"
        case .adam: return "adam"
        case .emaUpdate: return "ema_update"
        case .gradClipScale: return "grad_clip_scale"
        }
    }

    /// The family plus its parameters: the exact case string printed for a failure.
    public var caseDescription: String {
        switch self {
        case let .fill(count, value): return "fill(count=\(count), value=\(value))"
        case let .copy(c):
            return "copy(shape=\(c.shape), src=\(c.srcStrides), dst=\(c.dstStrides)\(c.accumulate ? ", accumulate" : ""))"
        case let .unary(op, count): return "\(family)(count=\(count)\(op.parameterText))"
        case let .unaryBackward(op, count): return "\(family)(count=\(count)\(op.parameterText))"
        case let .binary(_, b): return "\(family)(shape=\(b.shape), a=\(b.aStrides), b=\(b.bStrides))"
        case let .reduce(_, r), let .softmax(r), let .softmaxBackward(r):
            return "\(family)(outer=\(r.outer), extent=\(r.extent), inner=\(r.inner))"
        case let .rmsNorm(n), let .rmsNormBackward(n):
            return "\(family)(N=\(n.batch), C=\(n.channels), S=\(n.spatial))"
        case let .rmsNormScaleShiftSilu(n, scaleShift), let .rmsNormScaleShiftSiluBackward(n, scaleShift):
            return "\(family)(N=\(n.batch), C=\(n.channels), S=\(n.spatial)\(scaleShift ? ", scale_shift" : ""))"
        case let .groupNorm(n), let .groupNormBackward(n):
            return "\(family)(N=\(n.batch), C=\(n.channels), S=\(n.spatial), groups=\(n.groups))"
        case let .gemm(g):
            return "gemm(batch=\(g.batch), m=\(g.m), n=\(g.n), k=\(g.k), trans=\(g.transA ? "T" : "N")\(g.transB ? "T" : "N"), alpha=\(g.alpha), beta=\(g.beta), ld=\(g.lda)/\(g.ldb)/\(g.ldc), bias=\(g.bias.rawValue))"
        case let .conv2d(c), let .conv2dBackwardData(c), let .conv2dBackwardWeight(c):
            return "\(family)(N=\(c.batch), Cin=\(c.inChannels), Cout=\(c.outChannels), HxW=\(c.height)x\(c.width), k=\(c.kernelHeight)x\(c.kernelWidth), pad=\(c.padHeight)x\(c.padWidth)\(c.hasBias ? ", bias" : ""))"
        case let .pixelUnshuffle(r), let .pixelShuffle(r), let .upsampleNearest(r), let .upsampleNearestBackward(r):
            return "\(family)(N=\(r.batch), C=\(r.channels), HxW=\(r.height)x\(r.width), f=\(r.factor))"
        case let .timestepEmbedding(count, dim, theta): return "timestep_embedding(count=\(count), dim=\(dim), theta=\(theta))"
        case let .gather(rows, width, tableRows): return "gather(rows=\(rows), width=\(width), table=\(tableRows))"
        case let .random(_, count, stream): return "\(family)(count=\(count), stream=\(stream))"
        case .randomAdvance: return "random.advance"
        case let .adam(a): return "adam(count=\(a.count), wd=\(a.weightDecay))"
        case let .emaUpdate(count): return "ema_update(count=\(count))"
        case let .gradClipScale(maxNorm): return "grad_clip_scale(max=\(maxNorm))"
        }
    }

    /// Floating-point operations of one launch (2 per multiply-add), for perf mode.
    public var flops: Double {
        switch self {
        case let .gemm(g): return g.flops
        case let .conv2d(c), let .conv2dBackwardData(c), let .conv2dBackwardWeight(c): return c.flops
        // Memory-bound kernels: perf mode reports their GB/s (``minimumBytes``) instead.
        case .fill, .copy, .unary, .unaryBackward, .binary, .reduce, .softmax, .softmaxBackward, .rmsNorm,
             .rmsNormBackward, .rmsNormScaleShiftSilu, .rmsNormScaleShiftSiluBackward, .groupNorm, .groupNormBackward, .pixelUnshuffle, .pixelShuffle, .upsampleNearest,
             .upsampleNearestBackward, .timestepEmbedding, .gather, .random, .randomAdvance, .adam, .emaUpdate,
             .gradClipScale:
            return 0
        }
    }

    /// Bytes a launch must at least read and write, for perf mode's GB/s.
    public var minimumBytes: Double {
        Double(operands.reduce(0) { $0 + $1.byteCount * ($1.access == .readWrite ? 2 : 1) })
    }
}

extension UnaryOp {
    public var name: String {
        switch self {
        case .identity: return "identity"
        case .neg: return "neg"
        case .abs: return "abs"
        case .relu: return "relu"
        case .silu: return "silu"
        case .sigmoid: return "sigmoid"
        case .tanh: return "tanh"
        case .gelu: return "gelu"
        case .exp: return "exp"
        case .log: return "log"
        case .sqrt: return "sqrt"
        case .rsqrt: return "rsqrt"
        case .sin: return "sin"
        case .cos: return "cos"
        case .square: return "square"
        case .reciprocal: return "reciprocal"
        case .affine: return "affine"
        case .clamp: return "clamp"
        }
    }

    var parameterText: String {
        switch self {
        case let .affine(scale, shift): return ", scale=\(scale), shift=\(shift)"
        case let .clamp(low, high): return ", low=\(low), high=\(high)"
        default: return ""
        }
    }

    /// Every unary op, with representative parameters.
    public static let allCases: [UnaryOp] = [
        .identity, .neg, .abs, .relu, .silu, .sigmoid, .tanh, .gelu, .exp, .log, .sqrt, .rsqrt,
        .sin, .cos, .square, .reciprocal, .affine(scale: 0.5, shift: -0.25), .clamp(low: -0.5, high: 0.5),
    ]
}

extension RandomDistribution {
    public var name: String {
        switch self {
        case .uniform: return "uniform"
        case .normal: return "normal"
        case .integer: return "integer"
        }
    }
}
