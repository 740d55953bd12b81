import Devices

/// Which kernels (and which parameters of them) this backend can run.
extension OpenCLDevice {
    /// True when the parameters are valid and every size fits the kernels' 32-bit indexing.
    public func supports(_ kernel: Kernel) -> Bool {
        kernel.parameterProblem == nil && unsupportedReason(kernel) == nil
    }

    /// Why this device cannot run `kernel` as given, or `nil`.
    ///
    /// The kernels index with 32-bit `int` (fast on every GPU), so each operand's extent and each
    /// size parameter must stay below 2³¹; strides must be non-negative, because a slice's byte
    /// offset is the address of the view's first element and the operand checks of
    /// ``Kernel/validate(_:on:)`` cover the elements after it.
    func unsupportedReason(_ kernel: Kernel) -> String? {
        let limit = Int(Int32.max)
        for operand in kernel.operands {
            if operand.count < 0 { return "operand '\(operand.name)' has a negative size (\(operand.count))" }
            if operand.count > limit {
                return "operand '\(operand.name)' spans \(operand.count) elements; this device indexes with 32-bit ints (at most \(limit))"
            }
        }
        for (name, value) in kernel.sizeParameters {
            if value < 0 { return "\(name) is negative (\(value))" }
            if value > limit { return "\(name) \(value) exceeds the 32-bit index range of this device" }
        }
        switch kernel {
        case let .copy(c):
            if c.srcStrides.contains(where: { $0 < 0 }) || c.dstStrides.contains(where: { $0 < 0 }) {
                return "negative strides are not supported (src \(c.srcStrides), dst \(c.dstStrides))"
            }
        case let .binary(_, b):
            if b.aStrides.contains(where: { $0 < 0 }) || b.bStrides.contains(where: { $0 < 0 }) {
                return "negative strides are not supported (a \(b.aStrides), b \(b.bStrides))"
            }
        case let .gather(rows, width, tableRows):
            if tableRows == 0 && rows * width > 0 { return "the table has no rows to gather from" }
        case let .conv2d(c), let .conv2dBackwardData(c), let .conv2dBackwardWeight(c):
            if c.kernelHeight < 1 || c.kernelWidth < 1 { return "kernel size \(c.kernelHeight)x\(c.kernelWidth) is empty" }
        case .fill, .unary, .unaryBackward, .reduce, .softmax, .softmaxBackward, .rmsNorm, .rmsNormBackward,
             .rmsNormScaleShiftSilu, .rmsNormScaleShiftSiluBackward, .groupNorm, .groupNormBackward, .gemm, .pixelUnshuffle, .pixelShuffle, .upsampleNearest, .upsampleNearestBackward,
             .timestepEmbedding, .random, .randomAdvance, .adam, .emaUpdate, .gradClipScale:
            break   // covered by the size checks above
        }
        return nil
    }
}

extension Kernel {
    /// Every integer size parameter of the launch, named, for range checks.
    var sizeParameters: [(String, Int)] {
        switch self {
        case let .fill(count, _), let .unary(_, count), let .unaryBackward(_, count), let .emaUpdate(count),
             let .random(_, count, _):
            return [("count", count)]
        case let .copy(c):
            return c.shape.map { ("extent", $0) } + c.srcStrides.map { ("src stride", abs($0)) }
                + c.dstStrides.map { ("dst stride", abs($0)) } + [("element count", c.count)]
        case let .binary(_, b):
            return b.shape.map { ("extent", $0) } + b.aStrides.map { ("a stride", abs($0)) }
                + b.bStrides.map { ("b stride", abs($0)) } + [("element count", b.count)]
        case let .reduce(_, r), let .softmax(r), let .softmaxBackward(r):
            return [("outer", r.outer), ("extent", r.extent), ("inner", r.inner), ("element count", r.count)]
        case let .rmsNorm(n), let .rmsNormBackward(n), let .rmsNormScaleShiftSilu(n, _), let .rmsNormScaleShiftSiluBackward(n, _):
            return [("batch", n.batch), ("channels", n.channels), ("spatial", n.spatial), ("element count", n.count)]
        case let .groupNorm(n), let .groupNormBackward(n):
            return [("batch", n.batch), ("channels", n.channels), ("spatial", n.spatial), ("groups", n.groups),
                    ("element count", n.count)]
        case let .gemm(g):
            return [("batch", g.batch), ("m", g.m), ("n", g.n), ("k", g.k), ("lda", g.lda), ("ldb", g.ldb),
                    ("ldc", g.ldc), ("strideA", g.batch > 1 ? g.strideA : 0), ("strideB", g.batch > 1 ? g.strideB : 0),
                    ("strideC", g.batch > 1 ? g.strideC : 0)]
        case let .conv2d(c), let .conv2dBackwardData(c), let .conv2dBackwardWeight(c):
            return [("batch", c.batch), ("inChannels", c.inChannels), ("outChannels", c.outChannels),
                    ("height", c.height), ("width", c.width), ("kernelHeight", c.kernelHeight),
                    ("kernelWidth", c.kernelWidth), ("padHeight", c.padHeight), ("padWidth", c.padWidth),
                    ("input count", c.inputCount), ("weight count", c.weightCount), ("output count", c.outputCount)]
        case let .pixelUnshuffle(r), let .pixelShuffle(r), let .upsampleNearest(r), let .upsampleNearestBackward(r):
            return [("batch", r.batch), ("channels", r.channels), ("height", r.height), ("width", r.width),
                    ("factor", r.factor), ("element count", r.count)]
        case let .timestepEmbedding(count, dim, _):
            return [("count", count), ("dim", dim), ("output count", count * dim)]
        case let .gather(rows, width, tableRows):
            return [("rows", rows), ("width", width), ("tableRows", tableRows), ("output count", rows * width)]
        case let .adam(a):
            return [("count", a.count)]
        case .randomAdvance, .gradClipScale:
            return []
        }
    }
}
