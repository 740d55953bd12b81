import CDeviceAPI

/// The C encoding of kernels (`ddpm_device.h`): what the host hands a plugin and what a plugin
/// written in Swift turns back into a ``Kernel``.
///
/// Both directions are exhaustive: a new ``Kernel`` case fails to compile here until it has a
/// kind number (appended, never reused) and a parameter struct.
extension Kernel {
    /// This launch's parameters as a `DdpmKernel`.
    public var cKernel: DdpmKernel {
        var k = DdpmKernel()
        k.struct_size = MemoryLayout<DdpmKernel>.size
        func kind(_ value: Int) { k.kind = DdpmKernelKind(value) }
        switch self {
        case let .fill(count, value):
            kind(DDPM_KERNEL_FILL)
            k.params.fill = DdpmFillParams(count: Int64(count), value: value)
        case let .copy(c):
            kind(DDPM_KERNEL_COPY)
            k.params.copy = DdpmCopyParams(rank: Int32(c.shape.count), accumulate: c.accumulate ? 1 : 0,
                                           shape: CRank.tuple(c.shape), src_strides: CRank.tuple(c.srcStrides),
                                           dst_strides: CRank.tuple(c.dstStrides))
        case let .unary(op, count):
            kind(DDPM_KERNEL_UNARY)
            k.params.unary = op.cParams(count: count)
        case let .unaryBackward(op, count):
            kind(DDPM_KERNEL_UNARY_BACKWARD)
            k.params.unary = op.cParams(count: count)
        case let .binary(op, b):
            kind(DDPM_KERNEL_BINARY)
            k.params.binary = DdpmBinaryParams(op: op.cCode, rank: Int32(b.shape.count), shape: CRank.tuple(b.shape),
                                               a_strides: CRank.tuple(b.aStrides), b_strides: CRank.tuple(b.bStrides))
        case let .reduce(op, r):
            kind(DDPM_KERNEL_REDUCE)
            k.params.reduce = r.cParams(op: op.cCode)
        case let .softmax(r):
            kind(DDPM_KERNEL_SOFTMAX)
            k.params.reduce = r.cParams(op: 0)
        case let .softmaxBackward(r):
            kind(DDPM_KERNEL_SOFTMAX_BACKWARD)
            k.params.reduce = r.cParams(op: 0)
        case let .rmsNorm(n):
            kind(DDPM_KERNEL_RMS_NORM)
            k.params.rms_norm = n.cParams
        case let .rmsNormBackward(n):
            kind(DDPM_KERNEL_RMS_NORM_BACKWARD)
            k.params.rms_norm = n.cParams
        case let .rmsNormScaleShiftSilu(n, scaleShift):
            kind(DDPM_KERNEL_RMS_NORM_SCALE_SHIFT_SILU)
            k.params.rms_norm_silu = n.cSiluParams(scaleShift: scaleShift)
        case let .rmsNormScaleShiftSiluBackward(n, scaleShift):
            kind(DDPM_KERNEL_RMS_NORM_SCALE_SHIFT_SILU_BACKWARD)
            k.params.rms_norm_silu = n.cSiluParams(scaleShift: scaleShift)
        case let .groupNorm(n):
            kind(DDPM_KERNEL_GROUP_NORM)
            k.params.group_norm = n.cParams
        case let .groupNormBackward(n):
            kind(DDPM_KERNEL_GROUP_NORM_BACKWARD)
            k.params.group_norm = n.cParams
        case let .gemm(g):
            kind(DDPM_KERNEL_GEMM)
            k.params.gemm = g.cParams
        case let .conv2d(c):
            kind(DDPM_KERNEL_CONV2D)
            k.params.conv2d = c.cParams
        case let .conv2dBackwardData(c):
            kind(DDPM_KERNEL_CONV2D_BACKWARD_DATA)
            k.params.conv2d = c.cParams
        case let .conv2dBackwardWeight(c):
            kind(DDPM_KERNEL_CONV2D_BACKWARD_WEIGHT)
            k.params.conv2d = c.cParams
        case let .pixelUnshuffle(r):
            kind(DDPM_KERNEL_PIXEL_UNSHUFFLE)
            k.params.resample = r.cParams
        case let .pixelShuffle(r):
            kind(DDPM_KERNEL_PIXEL_SHUFFLE)
            k.params.resample = r.cParams
        case let .upsampleNearest(r):
            kind(DDPM_KERNEL_UPSAMPLE_NEAREST)
            k.params.resample = r.cParams
        case let .upsampleNearestBackward(r):
            kind(DDPM_KERNEL_UPSAMPLE_NEAREST_BACKWARD)
            k.params.resample = r.cParams
        case let .timestepEmbedding(count, dim, theta):
            kind(DDPM_KERNEL_TIMESTEP_EMBEDDING)
            k.params.timestep_embedding = DdpmTimestepEmbeddingParams(count: Int64(count), dim: Int64(dim), theta: theta)
        case let .gather(rows, width, tableRows):
            kind(DDPM_KERNEL_GATHER)
            k.params.gather = DdpmGatherParams(rows: Int64(rows), width: Int64(width), table_rows: Int64(tableRows))
        case let .random(distribution, count, stream):
            kind(DDPM_KERNEL_RANDOM)
            var p = DdpmRandomParams()
            p.stream = stream
            p.count = Int64(count)
            switch distribution {
            case let .uniform(low, high):
                p.distribution = Int32(DDPM_RANDOM_UNIFORM); p.a = low; p.b = high
            case let .normal(mean, std):
                p.distribution = Int32(DDPM_RANDOM_NORMAL); p.a = mean; p.b = std
            case let .integer(low, high):
                p.distribution = Int32(DDPM_RANDOM_INTEGER); p.int_low = low; p.int_high = high
            }
            k.params.random = p
        case .randomAdvance:
            kind(DDPM_KERNEL_RANDOM_ADVANCE)
        case let .adam(a):
            kind(DDPM_KERNEL_ADAM)
            k.params.adam = DdpmAdamParams(count: Int64(a.count), beta1: a.beta1, beta2: a.beta2, eps: a.eps,
                                           weight_decay: a.weightDecay)
        case let .emaUpdate(count):
            kind(DDPM_KERNEL_EMA_UPDATE)
            k.params.ema = DdpmEmaParams(count: Int64(count))
        case let .gradClipScale(maxNorm):
            kind(DDPM_KERNEL_GRAD_CLIP_SCALE)
            k.params.grad_clip = DdpmGradClipParams(max_norm: maxNorm)
        }
        return k
    }

    /// The kernel a `DdpmKernel` describes.
    ///
    /// - Throws: ``DeviceError/unsupportedKernel(device:kernel:)`` for a kind or op number this
    ///   build does not know (a host of a newer minor version), naming the number;
    ///   ``DeviceError/invalidOperands(kernel:reason:)`` for a rank outside 1...6 or a struct too small.
    public init(c k: DdpmKernel, device: String) throws {
        guard k.struct_size >= MemoryLayout<DdpmKernel>.size else {
            throw DeviceError.invalidOperands(
                kernel: "kernel", reason: "DdpmKernel.struct_size \(k.struct_size) is smaller than \(MemoryLayout<DdpmKernel>.size)")
        }
        func unknown(_ what: String) -> DeviceError { .unsupportedKernel(device: device, kernel: what) }
        let p = k.params
        switch Int(k.kind) {
        case DDPM_KERNEL_FILL: self = .fill(count: Int(p.fill.count), value: p.fill.value)
        case DDPM_KERNEL_COPY:
            let rank = try CRank.checked(p.copy.rank, kernel: "copy")
            self = .copy(StridedCopy(shape: CRank.array(p.copy.shape, rank), srcStrides: CRank.array(p.copy.src_strides, rank),
                                     dstStrides: CRank.array(p.copy.dst_strides, rank), accumulate: p.copy.accumulate != 0))
        case DDPM_KERNEL_UNARY:
            guard let op = UnaryOp(c: p.unary) else { throw unknown("unary op \(p.unary.op)") }
            self = .unary(op, count: Int(p.unary.count))
        case DDPM_KERNEL_UNARY_BACKWARD:
            guard let op = UnaryOp(c: p.unary) else { throw unknown("unary op \(p.unary.op)") }
            self = .unaryBackward(op, count: Int(p.unary.count))
        case DDPM_KERNEL_BINARY:
            guard let op = BinaryOp(cCode: p.binary.op) else { throw unknown("binary op \(p.binary.op)") }
            let rank = try CRank.checked(p.binary.rank, kernel: "binary")
            self = .binary(op, Broadcast(shape: CRank.array(p.binary.shape, rank), aStrides: CRank.array(p.binary.a_strides, rank),
                                         bStrides: CRank.array(p.binary.b_strides, rank)))
        case DDPM_KERNEL_REDUCE:
            guard let op = ReduceOp(cCode: p.reduce.op) else { throw unknown("reduce op \(p.reduce.op)") }
            self = .reduce(op, Reduction(c: p.reduce))
        case DDPM_KERNEL_SOFTMAX: self = .softmax(Reduction(c: p.reduce))
        case DDPM_KERNEL_SOFTMAX_BACKWARD: self = .softmaxBackward(Reduction(c: p.reduce))
        case DDPM_KERNEL_RMS_NORM: self = .rmsNorm(ChannelNorm(c: p.rms_norm))
        case DDPM_KERNEL_RMS_NORM_BACKWARD: self = .rmsNormBackward(ChannelNorm(c: p.rms_norm))
        case DDPM_KERNEL_RMS_NORM_SCALE_SHIFT_SILU:
            self = .rmsNormScaleShiftSilu(ChannelNorm(c: p.rms_norm_silu), scaleShift: p.rms_norm_silu.scale_shift != 0)
        case DDPM_KERNEL_RMS_NORM_SCALE_SHIFT_SILU_BACKWARD:
            self = .rmsNormScaleShiftSiluBackward(ChannelNorm(c: p.rms_norm_silu), scaleShift: p.rms_norm_silu.scale_shift != 0)
        case DDPM_KERNEL_GROUP_NORM: self = .groupNorm(GroupNorm(c: p.group_norm))
        case DDPM_KERNEL_GROUP_NORM_BACKWARD: self = .groupNormBackward(GroupNorm(c: p.group_norm))
        case DDPM_KERNEL_GEMM:
            guard let g = Gemm(c: p.gemm) else { throw unknown("gemm bias \(p.gemm.bias)") }
            self = .gemm(g)
        case DDPM_KERNEL_CONV2D: self = .conv2d(Conv2d(c: p.conv2d))
        case DDPM_KERNEL_CONV2D_BACKWARD_DATA: self = .conv2dBackwardData(Conv2d(c: p.conv2d))
        case DDPM_KERNEL_CONV2D_BACKWARD_WEIGHT: self = .conv2dBackwardWeight(Conv2d(c: p.conv2d))
        case DDPM_KERNEL_PIXEL_UNSHUFFLE: self = .pixelUnshuffle(Resample(c: p.resample))
        case DDPM_KERNEL_PIXEL_SHUFFLE: self = .pixelShuffle(Resample(c: p.resample))
        case DDPM_KERNEL_UPSAMPLE_NEAREST: self = .upsampleNearest(Resample(c: p.resample))
        case DDPM_KERNEL_UPSAMPLE_NEAREST_BACKWARD: self = .upsampleNearestBackward(Resample(c: p.resample))
        case DDPM_KERNEL_TIMESTEP_EMBEDDING:
            let t = p.timestep_embedding
            self = .timestepEmbedding(count: Int(t.count), dim: Int(t.dim), theta: t.theta)
        case DDPM_KERNEL_GATHER:
            self = .gather(rows: Int(p.gather.rows), width: Int(p.gather.width), tableRows: Int(p.gather.table_rows))
        case DDPM_KERNEL_RANDOM:
            let r = p.random
            let distribution: RandomDistribution
            switch Int(r.distribution) {
            case DDPM_RANDOM_UNIFORM: distribution = .uniform(low: r.a, high: r.b)
            case DDPM_RANDOM_NORMAL: distribution = .normal(mean: r.a, std: r.b)
            case DDPM_RANDOM_INTEGER: distribution = .integer(low: r.int_low, high: r.int_high)
            default: throw unknown("random distribution \(r.distribution)")
            }
            self = .random(distribution, count: Int(r.count), stream: r.stream)
        case DDPM_KERNEL_RANDOM_ADVANCE: self = .randomAdvance
        case DDPM_KERNEL_ADAM:
            let a = p.adam
            self = .adam(Adam(count: Int(a.count), beta1: a.beta1, beta2: a.beta2, eps: a.eps, weightDecay: a.weight_decay))
        case DDPM_KERNEL_EMA_UPDATE: self = .emaUpdate(count: Int(p.ema.count))
        case DDPM_KERNEL_GRAD_CLIP_SCALE: self = .gradClipScale(maxNorm: p.grad_clip.max_norm)
        default: throw unknown("kind \(k.kind)")  // an open C enum: numbers from a newer minor
        }
    }
}

/// Fixed-size `int64_t[6]` fields, imported as tuples.
enum CRank {
    typealias Six = (Int64, Int64, Int64, Int64, Int64, Int64)

    static func tuple(_ values: [Int]) -> Six {
        var lanes = [Int64](repeating: 0, count: 6)
        for (i, v) in values.prefix(6).enumerated() { lanes[i] = Int64(v) }
        return (lanes[0], lanes[1], lanes[2], lanes[3], lanes[4], lanes[5])
    }

    static func array(_ six: Six, _ rank: Int) -> [Int] {
        let all = [six.0, six.1, six.2, six.3, six.4, six.5].map { Int($0) }
        return Array(all.prefix(rank))
    }

    static func checked(_ rank: Int32, kernel: String) throws -> Int {
        guard (1...6).contains(rank) else {
            throw DeviceError.invalidOperands(kernel: kernel, reason: "rank \(rank) is outside 1...6")
        }
        return Int(rank)
    }
}

extension UnaryOp {
    func cParams(count: Int) -> DdpmUnaryParams {
        let code: Int
        var p0: Float = 0, p1: Float = 0
        switch self {
        case .identity: code = DDPM_UNARY_IDENTITY
        case .neg: code = DDPM_UNARY_NEG
        case .abs: code = DDPM_UNARY_ABS
        case .relu: code = DDPM_UNARY_RELU
        case .silu: code = DDPM_UNARY_SILU
        case .sigmoid: code = DDPM_UNARY_SIGMOID
        case .tanh: code = DDPM_UNARY_TANH
        case .gelu: code = DDPM_UNARY_GELU
        case .exp: code = DDPM_UNARY_EXP
        case .log: code = DDPM_UNARY_LOG
        case .sqrt: code = DDPM_UNARY_SQRT
        case .rsqrt: code = DDPM_UNARY_RSQRT
        case .sin: code = DDPM_UNARY_SIN
        case .cos: code = DDPM_UNARY_COS
        case .square: code = DDPM_UNARY_SQUARE
        case .reciprocal: code = DDPM_UNARY_RECIPROCAL
        case let .affine(scale, shift): code = DDPM_UNARY_AFFINE; p0 = scale; p1 = shift
        case let .clamp(low, high): code = DDPM_UNARY_CLAMP; p0 = low; p1 = high
        }
        return DdpmUnaryParams(op: Int32(code), p0: p0, p1: p1, count: Int64(count))
    }

    init?(c p: DdpmUnaryParams) {
        switch Int(p.op) {
        case DDPM_UNARY_IDENTITY: self = .identity
        case DDPM_UNARY_NEG: self = .neg
        case DDPM_UNARY_ABS: self = .abs
        case DDPM_UNARY_RELU: self = .relu
        case DDPM_UNARY_SILU: self = .silu
        case DDPM_UNARY_SIGMOID: self = .sigmoid
        case DDPM_UNARY_TANH: self = .tanh
        case DDPM_UNARY_GELU: self = .gelu
        case DDPM_UNARY_EXP: self = .exp
        case DDPM_UNARY_LOG: self = .log
        case DDPM_UNARY_SQRT: self = .sqrt
        case DDPM_UNARY_RSQRT: self = .rsqrt
        case DDPM_UNARY_SIN: self = .sin
        case DDPM_UNARY_COS: self = .cos
        case DDPM_UNARY_SQUARE: self = .square
        case DDPM_UNARY_RECIPROCAL: self = .reciprocal
        case DDPM_UNARY_AFFINE: self = .affine(scale: p.p0, shift: p.p1)
        case DDPM_UNARY_CLAMP: self = .clamp(low: p.p0, high: p.p1)
        default: return nil
        }
    }
}

extension BinaryOp {
    var cCode: Int32 {
        switch self {
        case .add: return Int32(DDPM_BINARY_ADD)
        case .sub: return Int32(DDPM_BINARY_SUB)
        case .mul: return Int32(DDPM_BINARY_MUL)
        case .div: return Int32(DDPM_BINARY_DIV)
        case .maximum: return Int32(DDPM_BINARY_MAXIMUM)
        case .minimum: return Int32(DDPM_BINARY_MINIMUM)
        }
    }

    init?(cCode: Int32) {
        guard let op = BinaryOp.allCases.first(where: { $0.cCode == cCode }) else { return nil }
        self = op
    }
}

extension ReduceOp {
    var cCode: Int32 {
        switch self {
        case .sum: return Int32(DDPM_REDUCE_SUM)
        case .mean: return Int32(DDPM_REDUCE_MEAN)
        case .max: return Int32(DDPM_REDUCE_MAX)
        case .sumOfSquares: return Int32(DDPM_REDUCE_SUM_OF_SQUARES)
        }
    }

    init?(cCode: Int32) {
        guard let op = ReduceOp.allCases.first(where: { $0.cCode == cCode }) else { return nil }
        self = op
    }
}

extension Reduction {
    func cParams(op: Int32) -> DdpmReduceParams {
        DdpmReduceParams(op: op, outer: Int64(outer), extent: Int64(extent), inner: Int64(inner))
    }

    init(c p: DdpmReduceParams) { self.init(outer: Int(p.outer), extent: Int(p.extent), inner: Int(p.inner)) }
}

extension ChannelNorm {
    var cParams: DdpmRmsNormParams {
        DdpmRmsNormParams(batch: Int64(batch), channels: Int64(channels), spatial: Int64(spatial), eps: eps)
    }

    init(c p: DdpmRmsNormParams) {
        self.init(batch: Int(p.batch), channels: Int(p.channels), spatial: Int(p.spatial), eps: p.eps)
    }

    func cSiluParams(scaleShift: Bool) -> DdpmRmsNormSiluParams {
        DdpmRmsNormSiluParams(batch: Int64(batch), channels: Int64(channels), spatial: Int64(spatial), eps: eps,
                              scale_shift: scaleShift ? 1 : 0)
    }

    init(c p: DdpmRmsNormSiluParams) {
        self.init(batch: Int(p.batch), channels: Int(p.channels), spatial: Int(p.spatial), eps: p.eps)
    }
}

extension GroupNorm {
    var cParams: DdpmGroupNormParams {
        DdpmGroupNormParams(batch: Int64(batch), channels: Int64(channels), spatial: Int64(spatial),
                            groups: Int64(groups), eps: eps)
    }

    init(c p: DdpmGroupNormParams) {
        self.init(batch: Int(p.batch), channels: Int(p.channels), spatial: Int(p.spatial), groups: Int(p.groups), eps: p.eps)
    }
}

extension Gemm {
    var cParams: DdpmGemmParams {
        let biasCode: Int
        switch bias {
        case .none: biasCode = DDPM_GEMM_BIAS_NONE
        case .perRow: biasCode = DDPM_GEMM_BIAS_PER_ROW
        case .perColumn: biasCode = DDPM_GEMM_BIAS_PER_COLUMN
        }
        return DdpmGemmParams(batch: Int64(batch), m: Int64(m), n: Int64(n), k: Int64(k),
                              trans_a: transA ? 1 : 0, trans_b: transB ? 1 : 0, alpha: alpha, beta: beta,
                              lda: Int64(lda), ldb: Int64(ldb), ldc: Int64(ldc), stride_a: Int64(strideA),
                              stride_b: Int64(strideB), stride_c: Int64(strideC), bias: Int32(biasCode))
    }

    init?(c p: DdpmGemmParams) {
        let bias: Bias
        switch Int(p.bias) {
        case DDPM_GEMM_BIAS_NONE: bias = .none
        case DDPM_GEMM_BIAS_PER_ROW: bias = .perRow
        case DDPM_GEMM_BIAS_PER_COLUMN: bias = .perColumn
        default: return nil
        }
        self.init(batch: Int(p.batch), m: Int(p.m), n: Int(p.n), k: Int(p.k), transA: p.trans_a != 0,
                  transB: p.trans_b != 0, alpha: p.alpha, beta: p.beta, bias: bias, lda: Int(p.lda), ldb: Int(p.ldb),
                  ldc: Int(p.ldc), strideA: Int(p.stride_a), strideB: Int(p.stride_b), strideC: Int(p.stride_c))
    }
}

extension Conv2d {
    var cParams: DdpmConv2dParams {
        DdpmConv2dParams(batch: Int64(batch), in_channels: Int64(inChannels), out_channels: Int64(outChannels),
                         height: Int64(height), width: Int64(width), kernel_height: Int64(kernelHeight),
                         kernel_width: Int64(kernelWidth), pad_height: Int64(padHeight), pad_width: Int64(padWidth),
                         has_bias: hasBias ? 1 : 0)
    }

    init(c p: DdpmConv2dParams) {
        self.init(batch: Int(p.batch), inChannels: Int(p.in_channels), outChannels: Int(p.out_channels),
                  height: Int(p.height), width: Int(p.width), kernelHeight: Int(p.kernel_height),
                  kernelWidth: Int(p.kernel_width), padHeight: Int(p.pad_height), padWidth: Int(p.pad_width),
                  hasBias: p.has_bias != 0)
    }
}

extension Resample {
    var cParams: DdpmResampleParams {
        DdpmResampleParams(batch: Int64(batch), channels: Int64(channels), height: Int64(height), width: Int64(width),
                           factor: Int64(factor))
    }

    init(c p: DdpmResampleParams) {
        self.init(batch: Int(p.batch), channels: Int(p.channels), height: Int(p.height), width: Int(p.width),
                  factor: Int(p.factor))
    }
}
