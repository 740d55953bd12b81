import Devices

/// What one graph node computes. Inputs are listed per case as `[a, b, ...]`.
///
/// Forward ops are what a model is written in; the `…Backward` ops and ``pad`` are what
/// ``Autodiff`` emits. Every op lowers to the kernels of ``Devices/Kernel``; ``reshape`` and
/// ``expand`` are views that cost nothing unless a consumer needs a dense tensor.
public enum Op: Hashable, Sendable {
    // MARK: Leaves

    /// A tensor the host uploads before each run (e.g. the image batch). No inputs.
    case input(name: String)
    /// A trainable tensor in the persistent parameter buffer. No inputs.
    case parameter(name: String)
    /// A tensor known when the graph is built, uploaded once. No inputs.
    case constant(ConstantData)
    /// Random numbers from the device Philox state; each node draws its own `stream`. No inputs.
    case random(RandomDistribution, stream: UInt32)

    // MARK: Elementwise

    /// `f(x)`. Inputs `[x]`.
    case unary(UnaryOp)
    /// `dy · f'(x)`. Inputs `[x, dy]`.
    case unaryBackward(UnaryOp)
    /// `a ∘ b` with NumPy broadcasting. Inputs `[a, b]`.
    case binary(BinaryOp)

    // MARK: Data movement

    /// The same elements under a new shape (a free view of a dense tensor). Inputs `[x]`.
    case reshape([Int])
    /// Axis permutation: result axis `i` is input axis `perm[i]`. Inputs `[x]`.
    case permute([Int])
    /// `length` entries of `axis` starting at `start`. Inputs `[x]`.
    case slice(axis: Int, start: Int, length: Int)
    /// Zero padding along `axis` (the adjoint of ``slice``). Inputs `[x]`.
    case pad(axis: Int, before: Int, after: Int)
    /// Concatenation along `axis`, in input order. Inputs `[x0, x1, ...]`.
    case concat(axis: Int)
    /// NumPy broadcast of the input to `shape` (a stride-0 view). Inputs `[x]`.
    case expand([Int])
    /// A dense copy (the materialisation of a view). Inputs `[x]`.
    case copy
    /// The input unchanged, but no gradient flows through it (`torch.no_grad`/`detach`). Inputs `[x]`.
    case stopGradient

    // MARK: Reductions

    /// Reduces the contiguous axes `first ..< first + count`, removing them. Inputs `[x]`.
    case reduce(ReduceOp, first: Int, count: Int)
    /// Max-subtracted softmax along `axis`. Inputs `[x]`.
    case softmax(axis: Int)
    /// `y · (dy − Σ dy·y)` along `axis`. Inputs `[y, dy]`.
    case softmaxBackward(axis: Int)

    // MARK: Normalisation

    /// Channel RMS norm over axis 1 of `[N, C, ...]`, with gain `g` `[C]`. Inputs `[x, g]`.
    case rmsNorm(eps: Float)
    /// Results `(dx, dg)`. Inputs `[x, g, dy]`.
    case rmsNormBackward(eps: Float)
    /// ``rmsNorm``, the reference ResnetBlock's `· (scale + 1) + shift` and SiLU as one kernel.
    /// Inputs `[x, g]`, or `[x, g, scaleShift]` with `scaleShift` `[N, 2C]` (scale, then shift).
    case rmsNormScaleShiftSilu(eps: Float)
    /// Results `(dx, dg)`, or `(dx, dg, dScaleShift)`. Inputs `[x, g, dy]` or `[x, g, scaleShift, dy]`.
    case rmsNormScaleShiftSiluBackward(eps: Float)
    /// Group norm of `[N, C, ...]`. Inputs `[x, gamma, beta]`.
    case groupNorm(groups: Int, eps: Float)
    /// Results `(dx, dgamma, dbeta)`. Inputs `[x, gamma, dy]`.
    case groupNormBackward(groups: Int, eps: Float)

    // MARK: Linear algebra

    /// Batched matrix product `α·op(a)·op(b) (+ bias) (+ accumulator)`.
    /// Inputs `[a, b]`, then `bias` if `bias != .none`, then the accumulator if `accumulate`.
    case matmul(Matmul)
    /// Stride-1, zero-padded 2-D cross-correlation. Inputs `[x [N,Cin,H,W], w [Cout,Cin,KH,KW]]`, then `bias [Cout]`.
    case conv2d(Convolution)
    /// `dx` of ``conv2d``. Inputs `[dy, w]`.
    case conv2dBackwardData(Convolution)
    /// Results `(dw)` or `(dw, dbias)`. Inputs `[x, dy]`.
    case conv2dBackwardWeight(Convolution)

    // MARK: Resampling

    /// Space-to-depth by `factor` (`nn.PixelUnshuffle`). Inputs `[x]`.
    case pixelUnshuffle(factor: Int)
    /// Depth-to-space by `factor` (`nn.PixelShuffle`). Inputs `[x]`.
    case pixelShuffle(factor: Int)
    /// Nearest upsampling by `factor`. Inputs `[x]`.
    case upsampleNearest(factor: Int)
    /// Sum of each `factor×factor` block (adjoint of ``upsampleNearest``). Inputs `[dy]`.
    case upsampleNearestBackward(factor: Int)

    // MARK: Diffusion helpers

    /// Sinusoidal embedding `[sin(t·f) ‖ cos(t·f)]`. Inputs `[t f32[N]]`, result `[N, dim]`.
    case timestepEmbedding(dim: Int, theta: Float)
    /// Row gather `table[index[r], :]`. Inputs `[table [R, W], index i32[rows]]`, result `[rows, W]`.
    case gather
}

/// Attributes of a batched matrix product.
///
/// `a` is `[..., M, K]` (`[..., K, M]` when `transA`), `b` is `[..., K, N]` (`[..., N, K]` when
/// `transB`); the leading batch axes must match, or one operand is a plain matrix shared by the
/// whole batch. The result is `[..., M, N]`.
public struct Matmul: Hashable, Sendable {
    public var transA: Bool
    public var transB: Bool
    public var alpha: Float
    /// A bias vector added to every row (`.perColumn`, `[N]`) or every column (`.perRow`, `[M]`).
    public var bias: Gemm.Bias
    /// Adds a final input of the result's shape (a fused residual; the GEMM runs with β = 1).
    public var accumulate: Bool

    public init(transA: Bool = false, transB: Bool = false, alpha: Float = 1,
                bias: Gemm.Bias = .none, accumulate: Bool = false) {
        self.transA = transA
        self.transB = transB
        self.alpha = alpha
        self.bias = bias
        self.accumulate = accumulate
    }
}

/// Attributes of a stride-1, zero-padded 2-D convolution.
public struct Convolution: Hashable, Sendable {
    public var padHeight: Int
    public var padWidth: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var hasBias: Bool

    public init(kernelHeight: Int, kernelWidth: Int, padHeight: Int, padWidth: Int, hasBias: Bool) {
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.padHeight = padHeight
        self.padWidth = padWidth
        self.hasBias = hasBias
    }
}

/// The values of a ``Op/constant(_:)`` node.
public enum ConstantData: Hashable, Sendable {
    case floats([Float])
    case ints([Int32])

    public var count: Int {
        switch self {
        case let .floats(v): return v.count
        case let .ints(v): return v.count
        }
    }

    public var dtype: DType {
        switch self {
        case .floats: return .float32
        case .ints: return .int32
        }
    }
}

extension Op {
    /// A short name for messages and statistics, e.g. `conv2d`, `binary.add`.
    public var name: String {
        switch self {
        case .input: return "input"
        case .parameter: return "parameter"
        case .constant: return "constant"
        case .random: return "random"
        case let .unary(op): return "unary.\(op.name)"
        case let .unaryBackward(op): return "unary_backward.\(op.name)"
        case let .binary(op): return "binary.\(op.rawValue)"
        case .reshape: return "reshape"
        case .permute: return "permute"
        case .slice: return "slice"
        case .pad: return "pad"
        case .concat: return "concat"
        case .expand: return "expand"
        case .copy: return "copy"
        case .stopGradient: return "stop_gradient"
        case let .reduce(op, _, _): return "reduce.\(op.rawValue)"
        case .softmax: return "softmax"
        case .softmaxBackward: return "softmax_backward"
        case .rmsNorm: return "rms_norm"
        case .rmsNormBackward: return "rms_norm_backward"
        case .rmsNormScaleShiftSilu: return "rms_norm_scale_shift_silu"
        case .rmsNormScaleShiftSiluBackward: return "rms_norm_scale_shift_silu_backward"
        case .groupNorm: return "group_norm"
        case .groupNormBackward: return "group_norm_backward"
        case .matmul: return "matmul"
        case .conv2d: return "conv2d"
        case .conv2dBackwardData: return "conv2d_backward_data"
        case .conv2dBackwardWeight: return "conv2d_backward_weight"
        case .pixelUnshuffle: return "pixel_unshuffle"
        case .pixelShuffle: return "pixel_shuffle"
        case .upsampleNearest: return "upsample_nearest"
        case .upsampleNearestBackward: return "upsample_nearest_backward"
        case .timestepEmbedding: return "timestep_embedding"
        case .gather: return "gather"
        }
    }

    /// Whether the node has no inputs and is provided from outside the schedule.
    public var isLeaf: Bool {
        switch self {
        case .input, .parameter, .constant, .random: return true
        default: return false
        }
    }
}
