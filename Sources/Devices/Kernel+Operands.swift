/// One operand of a kernel launch: its role, size, element type and the values it may hold.
public struct Operand: Sendable, Equatable {
    /// How a kernel uses an operand.
    public enum Access: String, Sendable { case read, write, readWrite }

    /// Element type of an operand.
    public enum ElementType: String, Sendable {
        case float32, int32, uint32
        public var size: Int { 4 }
    }

    /// The values an input must hold for the kernel to be defined (used to generate test data).
    public enum Domain: Sendable, Equatable {
        /// Any finite value (tests draw from U(-1, 1)).
        case any
        /// Strictly positive (log, sqrt, rsqrt, reciprocal, div's denominator).
        case positive
        /// Integers in `0..<bound` (gather indices, timesteps as floats or Int32).
        case index(bound: Int)
        /// Exactly these values (e.g. Adam's hyper-parameters).
        case values([Float])
        /// Random-number state: arbitrary bits.
        case randomState
    }

    public var name: String
    public var count: Int
    public var type: ElementType
    public var access: Access
    public var domain: Domain
    /// Whether a written operand leaves gaps in its span: a strided view (a GEMM's `C` with
    /// `ldc > n`, a copy into every other row) writes only some of the `count` elements it spans.
    /// Whoever tracks which copy of a buffer is current (``FallbackDevice``) must treat the gaps
    /// as still holding the old values, so the old values have to be current where it runs.
    public var hasGaps: Bool

    public init(_ name: String, _ count: Int, _ access: Access, type: ElementType = .float32, domain: Domain = .any,
                hasGaps: Bool = false) {
        self.name = name
        self.count = count
        self.type = type
        self.access = access
        self.domain = domain
        self.hasGaps = hasGaps
    }

    /// Whether the launch depends on the operand's old contents: it reads them, or it writes
    /// only part of its span.
    public var needsCurrentContents: Bool { access != .write || hasGaps }

    public var byteCount: Int { count * type.size }
}

extension Kernel {
    /// The operands of this launch, in the order ``Queue/launch(_:_:)`` takes them.
    public var operands: [Operand] {
        switch self {
        case let .fill(count, _):
            return [Operand("out", count, .write)]
        case let .copy(c):
            let src = Kernel.span(c.shape, c.srcStrides)
            let dst = Kernel.span(c.shape, c.dstStrides)
            return [Operand("src", src, .read),
                    Operand("dst", dst, c.accumulate ? .readWrite : .write, hasGaps: dst > c.shape.reduce(1, *))]
        case let .unary(op, count):
            return [Operand("x", count, .read, domain: op.inputDomain), Operand("y", count, .write)]
        case let .unaryBackward(op, count):
            return [Operand("x", count, .read, domain: op.inputDomain), Operand("dy", count, .read),
                    Operand("dx", count, .write)]
        case let .binary(op, b):
            return [Operand("a", Kernel.span(b.shape, b.aStrides), .read),
                    Operand("b", Kernel.span(b.shape, b.bStrides), .read, domain: op == .div ? .positive : .any),
                    Operand("out", b.count, .write)]
        case let .reduce(_, r):
            return [Operand("x", r.count, .read), Operand("y", r.outer * r.inner, .write)]
        case let .softmax(r):
            return [Operand("x", r.count, .read), Operand("y", r.count, .write)]
        case let .softmaxBackward(r):
            return [Operand("y", r.count, .read), Operand("dy", r.count, .read), Operand("dx", r.count, .write)]
        case let .rmsNorm(n):
            return [Operand("x", n.count, .read), Operand("g", n.channels, .read), Operand("y", n.count, .write)]
        case let .rmsNormBackward(n):
            return [Operand("x", n.count, .read), Operand("g", n.channels, .read), Operand("dy", n.count, .read),
                    Operand("dx", n.count, .write), Operand("dg", n.channels, .write)]
        case let .rmsNormScaleShiftSilu(n, scaleShift):
            var ops = [Operand("x", n.count, .read), Operand("g", n.channels, .read)]
            if scaleShift { ops.append(Operand("scaleShift", 2 * n.batch * n.channels, .read)) }
            return ops + [Operand("y", n.count, .write)]
        case let .rmsNormScaleShiftSiluBackward(n, scaleShift):
            var ops = [Operand("x", n.count, .read), Operand("g", n.channels, .read)]
            if scaleShift { ops.append(Operand("scaleShift", 2 * n.batch * n.channels, .read)) }
            ops += [Operand("dy", n.count, .read), Operand("dx", n.count, .write), Operand("dg", n.channels, .write)]
            if scaleShift { ops.append(Operand("dScaleShift", 2 * n.batch * n.channels, .write)) }
            return ops
        case let .groupNorm(n):
            return [Operand("x", n.count, .read), Operand("gamma", n.channels, .read),
                    Operand("beta", n.channels, .read), Operand("y", n.count, .write)]
        case let .groupNormBackward(n):
            return [Operand("x", n.count, .read), Operand("gamma", n.channels, .read), Operand("dy", n.count, .read),
                    Operand("dx", n.count, .write), Operand("dgamma", n.channels, .write),
                    Operand("dbeta", n.channels, .write)]
        case let .gemm(g):
            let aRows = g.transA ? g.k : g.m
            let bRows = g.transB ? g.n : g.k
            let aSpan = Kernel.matrixSpan(batch: g.batch, rows: aRows, cols: g.transA ? g.m : g.k, ld: g.lda, stride: g.strideA)
            let bSpan = Kernel.matrixSpan(batch: g.batch, rows: bRows, cols: g.transB ? g.k : g.n, ld: g.ldb, stride: g.strideB)
            let cSpan = Kernel.matrixSpan(batch: g.batch, rows: g.m, cols: g.n, ld: g.ldc, stride: g.strideC)
            var ops = [Operand("a", aSpan, .read), Operand("b", bSpan, .read),
                       Operand("c", cSpan, g.beta == 0 ? .write : .readWrite, hasGaps: cSpan > g.batch * g.m * g.n)]
            switch g.bias {
            case .none: break
            case .perRow: ops.append(Operand("bias", g.m, .read))
            case .perColumn: ops.append(Operand("bias", g.n, .read))
            }
            return ops
        case let .conv2d(c):
            var ops = [Operand("x", c.inputCount, .read), Operand("w", c.weightCount, .read),
                       Operand("y", c.outputCount, .write)]
            if c.hasBias { ops.append(Operand("bias", c.outChannels, .read)) }
            return ops
        case let .conv2dBackwardData(c):
            return [Operand("dy", c.outputCount, .read), Operand("w", c.weightCount, .read),
                    Operand("dx", c.inputCount, .write)]
        case let .conv2dBackwardWeight(c):
            var ops = [Operand("x", c.inputCount, .read), Operand("dy", c.outputCount, .read),
                       Operand("dw", c.weightCount, .write)]
            if c.hasBias { ops.append(Operand("dbias", c.outChannels, .write)) }
            return ops
        case let .pixelUnshuffle(r), let .upsampleNearestBackward(r):
            let small = r.count / (r.factor * r.factor)
            if case .pixelUnshuffle = self {
                return [Operand("x", r.count, .read), Operand("y", r.count, .write)]
            }
            return [Operand("dy", r.count, .read), Operand("dx", small, .write)]
        case let .pixelShuffle(r):
            return [Operand("x", r.count, .read), Operand("y", r.count, .write)]
        case let .upsampleNearest(r):
            let small = r.count / (r.factor * r.factor)
            return [Operand("x", small, .read), Operand("y", r.count, .write)]
        case let .timestepEmbedding(count, dim, _):
            return [Operand("t", count, .read, domain: .index(bound: 1000)), Operand("out", count * dim, .write)]
        case let .gather(rows, width, tableRows):
            return [Operand("table", tableRows * width, .read),
                    Operand("index", rows, .read, type: .int32, domain: .index(bound: tableRows)),
                    Operand("out", rows * width, .write)]
        case let .random(dist, count, _):
            let type: Operand.ElementType
            if case .integer = dist { type = .int32 } else { type = .float32 }
            return [Operand("state", 4, .read, type: .uint32, domain: .randomState),
                    Operand("out", count, .write, type: type)]
        case .randomAdvance:
            return [Operand("state", 4, .readWrite, type: .uint32, domain: .randomState)]
        case let .adam(a):
            return [Operand("param", a.count, .readWrite), Operand("grad", a.count, .read),
                    Operand("m", a.count, .readWrite), Operand("v", a.count, .readWrite, domain: .positive),
                    Operand("hyper", AdamHyper.count, .read, domain: .values([1e-3, 3, 0.5]))]
        case let .emaUpdate(count):
            return [Operand("ema", count, .readWrite), Operand("param", count, .read),
                    Operand("hyper", 1, .read, domain: .values([0.995]))]
        case .gradClipScale:
            return [Operand("sumOfSquares", 1, .read, domain: .positive), Operand("scale", 1, .write)]
        }
    }

    /// Elements spanned by a strided view: 1 + Σ (shape−1)·stride, or 0 when empty.
    static func span(_ shape: [Int], _ strides: [Int]) -> Int {
        if shape.contains(0) { return 0 }
        return 1 + zip(shape, strides).reduce(0) { $0 + ($1.0 - 1) * abs($1.1) }
    }

    static func matrixSpan(batch: Int, rows: Int, cols: Int, ld: Int, stride: Int) -> Int {
        if batch == 0 || rows == 0 || cols == 0 { return 0 }
        return (batch - 1) * stride + (rows - 1) * ld + cols
    }

    /// Checks operand count, bounds and alignment; every backend calls this before enqueuing.
    ///
    /// Throws ``DeviceError/invalidOperands(kernel:reason:)`` naming the operand at fault.
    public func validate(_ slices: [BufferSlice], on device: String) throws {
        let specs = operands
        guard slices.count == specs.count else {
            throw DeviceError.invalidOperands(
                kernel: family,
                reason: "expected \(specs.count) operands (\(specs.map(\.name).joined(separator: ", "))), got \(slices.count)")
        }
        if let problem = parameterProblem {
            throw DeviceError.invalidOperands(kernel: family, reason: problem)
        }
        for (spec, slice) in zip(specs, slices) {
            guard spec.count >= 0 else {
                throw DeviceError.invalidOperands(kernel: family, reason: "operand '\(spec.name)' has a negative size (\(spec.count) elements)")
            }
            guard slice.buffer.deviceName == device else {
                throw DeviceError.invalidOperands(
                    kernel: family, reason: "operand '\(spec.name)' lives on device '\(slice.buffer.deviceName)', not '\(device)'")
            }
            guard slice.offset >= 0, slice.offset % 4 == 0 else {
                throw DeviceError.invalidOperands(
                    kernel: family, reason: "operand '\(spec.name)' has byte offset \(slice.offset); it must be a non-negative multiple of 4")
            }
            guard spec.byteCount <= slice.availableBytes else {
                throw DeviceError.invalidOperands(
                    kernel: family,
                    reason: "operand '\(spec.name)' needs \(spec.byteCount) bytes at offset \(slice.offset), but its buffer has \(slice.buffer.byteCount)")
            }
        }
    }

    /// A description of what is wrong with the parameters themselves, or nil.
    public var parameterProblem: String? {
        func rankProblem(_ shape: [Int], _ strides: [[Int]]) -> String? {
            if shape.isEmpty || shape.count > 6 { return "rank \(shape.count) is outside 1...6" }
            if strides.contains(where: { $0.count != shape.count }) { return "strides do not match rank \(shape.count)" }
            if shape.contains(where: { $0 < 0 }) { return "negative extent in shape \(shape)" }
            return nil
        }
        switch self {
        case let .copy(c): return rankProblem(c.shape, [c.srcStrides, c.dstStrides])
        case let .binary(_, b): return rankProblem(b.shape, [b.aStrides, b.bStrides])
        case let .groupNorm(n), let .groupNormBackward(n):
            return n.groups > 0 && n.channels % n.groups == 0 ? nil : "groups \(n.groups) must divide channels \(n.channels)"
        case let .gemm(g):
            if g.transA ? g.lda < g.m : g.lda < g.k { return "lda \(g.lda) is too small" }
            if g.transB ? g.ldb < g.k : g.ldb < g.n { return "ldb \(g.ldb) is too small" }
            if g.ldc < g.n { return "ldc \(g.ldc) is smaller than n \(g.n)" }
            return nil
        case let .conv2d(c), let .conv2dBackwardData(c), let .conv2dBackwardWeight(c):
            return c.outHeight > 0 && c.outWidth > 0 ? nil : "output size \(c.outHeight)x\(c.outWidth) is empty"
        case let .pixelUnshuffle(r), let .pixelShuffle(r), let .upsampleNearest(r), let .upsampleNearestBackward(r):
            if r.factor < 1 { return "factor \(r.factor) must be positive" }
            return r.height % r.factor == 0 && r.width % r.factor == 0
                ? nil : "height \(r.height) and width \(r.width) must be divisible by \(r.factor)"
        case let .timestepEmbedding(_, dim, _):
            return dim >= 4 && dim % 2 == 0 ? nil : "dim \(dim) must be even and at least 4"
        case let .random(.integer(low, high), _, _):
            return high > low ? nil : "integer range [\(low), \(high)) is empty"
        case .fill, .unary, .unaryBackward, .reduce, .softmax, .softmaxBackward, .rmsNorm, .rmsNormBackward,
             .rmsNormScaleShiftSilu, .rmsNormScaleShiftSiluBackward, .gather, .random(.uniform, _, _), .random(.normal, _, _), .randomAdvance, .adam, .emaUpdate, .gradClipScale:
            return nil
        }
    }
}

extension UnaryOp {
    /// The inputs on which the function (and its derivative) is defined.
    public var inputDomain: Operand.Domain {
        switch self {
        case .log, .sqrt, .rsqrt, .reciprocal: return .positive
        default: return .any
        }
    }
}
