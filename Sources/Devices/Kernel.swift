/// The fixed kernel vocabulary every device implements.
///
/// Each case is a complete description of one launch except for its memory: the operands are
/// passed separately as ``BufferSlice``s in the order ``Kernel/operands`` gives. Element types are
/// `Float` unless an operand says otherwise (`Int32` indices, `UInt32` random-number state).
/// Tensors are dense and row-major (NCHW for images) unless strides are given.
///
/// Semantics are defined by the CPU reference path (`cpu-reference`), the oracle of the
/// conformance suite; `docs/kernel-abi.md` restates them with the OpenCL argument layout.
public enum Kernel: Hashable, Sendable {
    // MARK: Memory

    /// `out[i] = value` for `i < count`. Operands: `out`.
    case fill(count: Int, value: Float)

    /// Strided copy of up to 6 dimensions: `dst[Σ i·dstStrides] (+)= src[Σ i·srcStrides]`.
    /// Covers contiguous copy, slice, concat (copy into a slice), permute, broadcast (stride 0
    /// in `src`) and their adjoints (`accumulate: true`). Operands: `src`, `dst`.
    case copy(StridedCopy)

    // MARK: Elementwise

    /// `y[i] = f(x[i])`. Operands: `x`, `y` (may alias `x`).
    case unary(UnaryOp, count: Int)

    /// `dx[i] = dy[i] · f'(x[i])`. Operands: `x`, `dy`, `dx` (may alias `dy`).
    case unaryBackward(UnaryOp, count: Int)

    /// `out[i] = a[i] ∘ b[i]` over `broadcast.shape`, reading `a` and `b` with their own strides
    /// (0 where broadcast). `out` is dense. Operands: `a`, `b`, `out` (may alias a dense `a` or `b`).
    case binary(BinaryOp, Broadcast)

    // MARK: Reductions

    /// Views `x` as `[outer, extent, inner]` and reduces the middle axis: `y[o, i] = ⊕_r x[o, r, i]`.
    /// Operands: `x`, `y` (`outer·inner` elements). An empty extent gives 0 (sum, mean, sumOfSquares)
    /// or -inf (max).
    case reduce(ReduceOp, Reduction)

    /// Softmax over the middle axis of `[outer, extent, inner]`, max-subtracted.
    /// Operands: `x`, `y` (may alias `x`).
    case softmax(Reduction)

    /// `dx = y · (dy − Σ_extent dy·y)`. Operands: `y`, `dy`, `dx` (may alias `dy`).
    case softmaxBackward(Reduction)

    // MARK: Normalisation

    /// Channel RMS norm of the reference Unet: `y = x / max(‖x‖₂ over C, eps) · g · √C`
    /// for `x` of shape `[N, C, S]`. Operands: `x`, `g` `[C]`, `y`.
    case rmsNorm(ChannelNorm)

    /// Gradients of ``rmsNorm``. Operands: `x`, `g`, `dy`, `dx` `[N, C, S]`, `dg` `[C]` (overwritten).
    case rmsNormBackward(ChannelNorm)

    /// ``rmsNorm``, the reference ResnetBlock's scale-shift and SiLU in one pass, for `x` `[N, C, S]`:
    /// `u = x / max(‖x‖₂ over C, eps) · g · √C`, `v = u · (scale[n, c] + 1) + shift[n, c]` (`v = u`
    /// without `scaleShift`), `y = v · σ(v)`. Operands: `x`, `g` `[C]`, then `scaleShift` `[N, 2C]`
    /// when `scaleShift` (scale in columns `0..<C`, shift in `C..<2C`: `chunk(2, dim=1)`), then `y`.
    case rmsNormScaleShiftSilu(ChannelNorm, scaleShift: Bool)

    /// Gradients of ``rmsNormScaleShiftSilu``, recomputing the forward from `x`. Operands: `x`, `g`,
    /// [`scaleShift`], `dy`, `dx` `[N, C, S]`, `dg` `[C]`, then `dScaleShift` `[N, 2C]` when
    /// `scaleShift` (`dg` and `dScaleShift` overwritten).
    case rmsNormScaleShiftSiluBackward(ChannelNorm, scaleShift: Bool)

    /// Group norm: per (sample, group) mean and variance (biased), `y = (x − μ)/√(σ² + eps) · γ + β`.
    /// Operands: `x` `[N, C, S]`, `gamma` `[C]`, `beta` `[C]`, `y`.
    case groupNorm(GroupNorm)

    /// Gradients of ``groupNorm``. Operands: `x`, `gamma`, `dy`, `dx`, `dgamma` `[C]`, `dbeta` `[C]`.
    case groupNormBackward(GroupNorm)

    // MARK: Linear algebra

    /// Strided batched GEMM: `C_b = α · op(A_b) · op(B_b) + β · C_b (+ bias)`, row-major.
    /// Operands: `a`, `b`, `c`, then `bias` when `gemm.bias != .none`.
    case gemm(Gemm)

    /// 2-D convolution (cross-correlation, stride 1, zero padding), optional bias.
    /// Operands: `x` `[N, Cin, H, W]`, `w` `[Cout, Cin, KH, KW]`, `y` `[N, Cout, OH, OW]`,
    /// then `bias` `[Cout]` when `conv.hasBias`.
    case conv2d(Conv2d)

    /// Gradient of ``conv2d`` with respect to its input. Operands: `dy`, `w`, `dx` (overwritten).
    case conv2dBackwardData(Conv2d)

    /// Gradient of ``conv2d`` with respect to weight and bias. Operands: `x`, `dy`, `dw`
    /// (overwritten), then `dbias` `[Cout]` when `conv.hasBias`.
    case conv2dBackwardWeight(Conv2d)

    // MARK: Resampling

    /// Space-to-depth, as `nn.PixelUnshuffle(f)`: `[N, C, H, W] → [N, C·f², H/f, W/f]`, channel
    /// `c·f² + f·dy + dx`. Operands: `x`, `y`.
    case pixelUnshuffle(Resample)

    /// Depth-to-space, the exact inverse of ``pixelUnshuffle`` (and its adjoint); `resample`
    /// describes the large tensor `[N, C, H, W]`. Operands: `x` `[N, C·f², H/f, W/f]`, `y` `[N, C, H, W]`.
    case pixelShuffle(Resample)

    /// Nearest upsampling by `f`: `[N, C, H, W] → [N, C, H·f, W·f]`. Operands: `x`, `y`.
    case upsampleNearest(Resample)

    /// Adjoint of ``upsampleNearest``: sums each `f×f` block. Operands: `dy` `[N, C, H·f, W·f]`, `dx` `[N, C, H, W]`.
    case upsampleNearestBackward(Resample)

    // MARK: Diffusion helpers

    /// Sinusoidal embedding of the reference Unet: `half = dim/2`, `fᵢ = exp(−i·ln θ/(half−1))`,
    /// `out[n] = [sin(t[n]·f) ‖ cos(t[n]·f)]`. Operands: `t` `[count]` (Float), `out` `[count, dim]`.
    case timestepEmbedding(count: Int, dim: Int, theta: Float)

    /// Row gather: `out[r, :] = table[clamp(index[r], 0, tableRows−1), :]`, e.g. per-timestep
    /// schedule coefficients. Operands: `table` `[tableRows, width]`, `index` `[rows]` (Int32), `out` `[rows, width]`.
    case gather(rows: Int, width: Int, tableRows: Int)

    /// Counter-based random numbers (Philox 4x32-10), bit-identical on every device.
    /// Operands: `state` (4 × UInt32: key lo, key hi, step, unused), `out` (`count` Float, or Int32
    /// for ``RandomDistribution/integer(low:high:)``). See ``Philox`` for the exact stream.
    case random(RandomDistribution, count: Int, stream: UInt32)

    /// Advances the random state by one step: `state[2] += 1`. Operands: `state`.
    case randomAdvance

    // MARK: Optimisation

    /// One Adam/AdamW update, PyTorch semantics, reading per-step values from device memory.
    /// Operands: `param`, `grad`, `m`, `v` (all `count`, `param`/`m`/`v` updated in place) and
    /// `hyper` (``AdamHyper`` layout: lr, step, gradScale).
    case adam(Adam)

    /// EMA update: `ema = ema + (1 − decay)·(param − ema)`, `decay = hyper[0]`.
    /// Operands: `ema` (updated), `param`, `hyper` (1 Float).
    case emaUpdate(count: Int)

    /// Global-norm clip factor, as `torch.nn.utils.clip_grad_norm_`:
    /// `scale = min(1, maxNorm / (√sumOfSquares + 1e-6))`. Operands: `sumOfSquares` (1), `scale` (1).
    case gradClipScale(maxNorm: Float)
}

// MARK: - Parameters

/// A unary elementwise function.
public enum UnaryOp: Hashable, Sendable {
    case identity, neg, abs, relu, silu, sigmoid, tanh
    /// Exact GELU: `x · Φ(x)` with the error function, as `nn.GELU()`.
    case gelu
    case exp, log, sqrt, rsqrt, sin, cos, square, reciprocal
    /// `scale · x + shift`.
    case affine(scale: Float, shift: Float)
    /// `min(max(x, low), high)`; its derivative is 1 strictly inside `(low, high)`, else 0.
    case clamp(low: Float, high: Float)
}

/// A binary elementwise function.
public enum BinaryOp: String, Hashable, Sendable, CaseIterable {
    case add, sub, mul, div, maximum, minimum
}

/// A reduction over one axis.
public enum ReduceOp: String, Hashable, Sendable, CaseIterable {
    case sum, mean, max, sumOfSquares
}

/// The iteration space of a broadcasting binary op (rank 1...6, element strides; 0 broadcasts).
public struct Broadcast: Hashable, Sendable {
    public var shape: [Int]
    public var aStrides: [Int]
    public var bStrides: [Int]

    public init(shape: [Int], aStrides: [Int], bStrides: [Int]) {
        self.shape = shape
        self.aStrides = aStrides
        self.bStrides = bStrides
    }

    /// Same-shape dense operands.
    public static func dense(_ count: Int) -> Broadcast {
        Broadcast(shape: [count], aStrides: [1], bStrides: [1])
    }

    /// NumPy broadcasting of dense `a` and `b` shapes (right-aligned).
    public static func numpy(_ a: [Int], _ b: [Int]) -> Broadcast {
        let rank = max(a.count, b.count)
        let pa = Array(repeating: 1, count: rank - a.count) + a
        let pb = Array(repeating: 1, count: rank - b.count) + b
        var shape = [Int](repeating: 1, count: rank)
        for i in 0..<rank { shape[i] = pa[i] == 1 ? pb[i] : pa[i] }
        func strides(_ s: [Int]) -> [Int] {
            var out = [Int](repeating: 0, count: rank)
            var acc = 1
            for i in stride(from: rank - 1, through: 0, by: -1) {
                out[i] = s[i] == 1 ? 0 : acc
                acc *= s[i]
            }
            return out
        }
        return Broadcast(shape: shape, aStrides: strides(pa), bStrides: strides(pb))
    }

    public var count: Int { shape.reduce(1, *) }
}

/// A strided copy (rank 1...6, element strides).
public struct StridedCopy: Hashable, Sendable {
    public var shape: [Int]
    public var srcStrides: [Int]
    public var dstStrides: [Int]
    /// Add into `dst` instead of overwriting it.
    public var accumulate: Bool

    public init(shape: [Int], srcStrides: [Int], dstStrides: [Int], accumulate: Bool = false) {
        self.shape = shape
        self.srcStrides = srcStrides
        self.dstStrides = dstStrides
        self.accumulate = accumulate
    }

    /// A dense copy of `count` elements.
    public static func contiguous(_ count: Int, accumulate: Bool = false) -> StridedCopy {
        StridedCopy(shape: [count], srcStrides: [1], dstStrides: [1], accumulate: accumulate)
    }

    public var count: Int { shape.reduce(1, *) }
}

/// A `[outer, extent, inner]` view whose middle axis is reduced or normalised.
public struct Reduction: Hashable, Sendable {
    public var outer: Int
    public var extent: Int
    public var inner: Int

    public init(outer: Int, extent: Int, inner: Int) {
        self.outer = outer
        self.extent = extent
        self.inner = inner
    }

    public var count: Int { outer * extent * inner }
}

/// Shape of a channel-normalised tensor `[N, C, S]` (S = H·W).
public struct ChannelNorm: Hashable, Sendable {
    public var batch: Int
    public var channels: Int
    public var spatial: Int
    /// Lower bound of the L2 norm; `F.normalize` uses 1e-12.
    public var eps: Float

    public init(batch: Int, channels: Int, spatial: Int, eps: Float = 1e-12) {
        self.batch = batch
        self.channels = channels
        self.spatial = spatial
        self.eps = eps
    }

    public var count: Int { batch * channels * spatial }
}

/// Shape of a group-normalised tensor `[N, C, S]` with `groups` dividing `C`.
public struct GroupNorm: Hashable, Sendable {
    public var batch: Int
    public var channels: Int
    public var spatial: Int
    public var groups: Int
    /// Added to the variance; `nn.GroupNorm` uses 1e-5.
    public var eps: Float

    public init(batch: Int, channels: Int, spatial: Int, groups: Int, eps: Float = 1e-5) {
        self.batch = batch
        self.channels = channels
        self.spatial = spatial
        self.groups = groups
        self.eps = eps
    }

    public var count: Int { batch * channels * spatial }
}

/// A strided batched GEMM, row-major: `C[m, n] = α Σ_k op(A)[m, k] op(B)[k, n] + β C[m, n] (+ bias)`.
///
/// `op(A)` is `A` (`[m, k]`, leading dimension `lda ≥ k`) or, transposed, `Aᵀ` of a stored
/// `[k, m]` (`lda ≥ m`); likewise `B`. Batch `b` reads `A` at `b·strideA` elements (0 shares one
/// matrix across the batch). When `beta == 0`, `C` is write-only (NaNs in it do not propagate).
public struct Gemm: Hashable, Sendable {
    /// Where a bias vector is added after `α·AB + β·C`.
    public enum Bias: String, Hashable, Sendable {
        case none
        /// `bias[m]` added to row `m`.
        case perRow
        /// `bias[n]` added to column `n`.
        case perColumn
    }

    public var batch: Int
    public var m: Int
    public var n: Int
    public var k: Int
    public var transA: Bool
    public var transB: Bool
    public var alpha: Float
    public var beta: Float
    public var lda: Int
    public var ldb: Int
    public var ldc: Int
    public var strideA: Int
    public var strideB: Int
    public var strideC: Int
    public var bias: Bias

    /// A batch of dense matrices with natural leading dimensions and strides.
    public init(
        batch: Int = 1, m: Int, n: Int, k: Int, transA: Bool = false, transB: Bool = false,
        alpha: Float = 1, beta: Float = 0, bias: Bias = .none,
        lda: Int? = nil, ldb: Int? = nil, ldc: Int? = nil,
        strideA: Int? = nil, strideB: Int? = nil, strideC: Int? = nil
    ) {
        self.batch = batch
        self.m = m
        self.n = n
        self.k = k
        self.transA = transA
        self.transB = transB
        self.alpha = alpha
        self.beta = beta
        self.bias = bias
        let lda = lda ?? (transA ? m : k)
        let ldb = ldb ?? (transB ? k : n)
        let ldc = ldc ?? n
        self.lda = lda
        self.ldb = ldb
        self.ldc = ldc
        self.strideA = strideA ?? (transA ? k * lda : m * lda)
        self.strideB = strideB ?? (transB ? n * ldb : k * ldb)
        self.strideC = strideC ?? (m * ldc)
    }

    /// Multiply-adds times two.
    public var flops: Double { 2 * Double(batch) * Double(m) * Double(n) * Double(k) }
}

/// A stride-1, zero-padded 2-D convolution `[N, Cin, H, W] * [Cout, Cin, KH, KW]`.
public struct Conv2d: Hashable, Sendable {
    public var batch: Int
    public var inChannels: Int
    public var outChannels: Int
    public var height: Int
    public var width: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var padHeight: Int
    public var padWidth: Int
    public var hasBias: Bool

    /// A square `kernel×kernel` convolution with "same" padding (`kernel/2`) by default.
    public init(batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int,
                kernel: Int, padding: Int? = nil, hasBias: Bool = true) {
        self.init(batch: batch, inChannels: inChannels, outChannels: outChannels, height: height,
                  width: width, kernelHeight: kernel, kernelWidth: kernel,
                  padHeight: padding ?? kernel / 2, padWidth: padding ?? kernel / 2, hasBias: hasBias)
    }

    public init(batch: Int, inChannels: Int, outChannels: Int, height: Int, width: Int,
                kernelHeight: Int, kernelWidth: Int, padHeight: Int, padWidth: Int, hasBias: Bool) {
        self.batch = batch
        self.inChannels = inChannels
        self.outChannels = outChannels
        self.height = height
        self.width = width
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.padHeight = padHeight
        self.padWidth = padWidth
        self.hasBias = hasBias
    }

    public var outHeight: Int { height + 2 * padHeight - kernelHeight + 1 }
    public var outWidth: Int { width + 2 * padWidth - kernelWidth + 1 }
    public var inputCount: Int { batch * inChannels * height * width }
    public var weightCount: Int { outChannels * inChannels * kernelHeight * kernelWidth }
    public var outputCount: Int { batch * outChannels * outHeight * outWidth }
    /// Forward multiply-adds times two (each backward kernel costs the same).
    public var flops: Double {
        2 * Double(batch) * Double(outChannels) * Double(outHeight * outWidth)
            * Double(inChannels * kernelHeight * kernelWidth)
    }
}

/// Shape `[N, C, H, W]` of the large (high-resolution) side of a 2-D resampling, and its factor.
public struct Resample: Hashable, Sendable {
    public var batch: Int
    public var channels: Int
    public var height: Int
    public var width: Int
    public var factor: Int

    public init(batch: Int, channels: Int, height: Int, width: Int, factor: Int = 2) {
        self.batch = batch
        self.channels = channels
        self.height = height
        self.width = width
        self.factor = factor
    }

    public var count: Int { batch * channels * height * width }
}

/// The distribution a ``Kernel/random(_:count:stream:)`` launch draws from.
public enum RandomDistribution: Hashable, Sendable {
    /// Uniform on `[low, high)`.
    case uniform(low: Float, high: Float)
    /// Normal with the given mean and standard deviation (Box–Muller).
    case normal(mean: Float, std: Float)
    /// Uniform integers on `[low, high)`, written as Int32.
    case integer(low: Int32, high: Int32)
}

/// Adam/AdamW constants; per-step values (lr, step, grad scale) live in device memory.
public struct Adam: Hashable, Sendable {
    public var count: Int
    public var beta1: Float
    public var beta2: Float
    public var eps: Float
    /// Decoupled weight decay (AdamW) when non-zero: `p ← p·(1 − lr·wd)` before the update.
    public var weightDecay: Float

    public init(count: Int, beta1: Float = 0.9, beta2: Float = 0.99, eps: Float = 1e-8, weightDecay: Float = 0) {
        self.count = count
        self.beta1 = beta1
        self.beta2 = beta2
        self.eps = eps
        self.weightDecay = weightDecay
    }
}

/// Layout of the `hyper` operand of ``Kernel/adam(_:)``: three Floats.
///
/// `lr` is the learning rate of this step, `step` the 1-based step count (bias corrections
/// `1 − β^step`), `gradScale` multiplies every gradient first (the clip factor, or 1).
public enum AdamHyper {
    public static let lr = 0
    public static let step = 1
    public static let gradScale = 2
    public static let count = 3
}
