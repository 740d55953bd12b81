import Devices

/// The device buffers a lowered program addresses.
struct Bindings {
    var parameters: ParameterStore
    var gradients: Buffer?
    var inputs: [Buffer]
    var constants: Buffer
    var outputs: Buffer
    var arena: Buffer
    var rng: Buffer
}

/// Turns a laid-out, memory-planned program into kernel launches over fixed buffer slices.
struct Lowering {
    let program: Program
    let views: [ValueID: View]
    let plan: MemoryPlan
    let bindings: Bindings
    let device: Device
    private(set) var launches: [Launch] = []

    init(_ laid: LaidOutProgram, plan: MemoryPlan, bindings: Bindings, device: Device) {
        self.program = laid.program
        self.views = laid.views
        self.plan = plan
        self.bindings = bindings
        self.device = device
    }

    /// Lowers every node in order.
    mutating func lower() throws -> [Launch] {
        for (i, node) in program.graph.nodes.enumerated() { try lower(node, index: i) }
        return launches
    }

    // MARK: Addresses

    private func type(_ v: ValueID) -> TensorType { program.graph.type(of: v) }

    /// The first element of a value (its view's offset into its root's storage).
    private func slice(_ v: ValueID) throws -> BufferSlice {
        let view = views[v]!
        guard let place = plan.placement[view.root] else {
            throw GraphError.invalidUse("internal: value \(v) has no storage")
        }
        let base: BufferSlice
        switch place {
        case let .arena(bytes): base = bindings.arena.slice(offset: bytes)
        case let .parameter(e): base = bindings.parameters.slice(elementOffset: e)
        case let .gradient(e):
            guard let g = bindings.gradients else { throw GraphError.invalidUse("internal: gradients without a gradient buffer") }
            base = g.slice(offset: e * 4)
        case let .input(k): base = bindings.inputs[k].slice()
        case let .constant(e): base = bindings.constants.slice(offset: e * 4)
        case let .output(e): base = bindings.outputs.slice(offset: e * 4)
        }
        return base.advanced(by: view.offset * 4)
    }

    private mutating func emit(_ kernel: Kernel, _ operands: [BufferSlice], _ node: Node) throws {
        guard device.supports(kernel) else {
            throw GraphError.unsupportedKernel(device: device.info.name, kernel: kernel.caseDescription, node: node.label)
        }
        try kernel.validate(operands, on: device.info.name)
        launches.append(Launch(kernel: kernel, operands: operands, label: node.label))
    }

    // MARK: Nodes

    private mutating func lower(_ node: Node, index i: Int) throws {
        let out = ValueID(node: i)
        let x = node.inputs
        let shape = node.results[0].shape
        let count = node.results[0].count
        switch node.op {
        case .input, .parameter, .constant, .reshape, .expand, .slice, .permute, .stopGradient:
            return
        case let .random(dist, stream):
            try emit(.random(dist, count: count, stream: stream), [bindings.rng.slice(), slice(out)], node)
        case let .unary(op):
            try emit(.unary(op, count: count), [slice(x[0]), slice(out)], node)
        case let .unaryBackward(op):
            try emit(.unaryBackward(op, count: count), [slice(x[0]), slice(x[1]), slice(out)], node)
        case let .binary(op):
            let a = views[x[0]]!.expanded(from: type(x[0]).shape, to: shape).strides
            let b = views[x[1]]!.expanded(from: type(x[1]).shape, to: shape).strides
            let (s, st) = try collapse(shape, [a, b, denseStrides(shape)], node)
            try emit(.binary(op, Broadcast(shape: s, aStrides: st[0], bStrides: st[1])), [slice(x[0]), slice(x[1]), slice(out)], node)
        case .copy:
            try copy(from: x[0], into: try slice(out), dstStrides: denseStrides(shape), node)
        case let .pad(axis, before, _):
            try emit(.fill(count: count, value: 0), [slice(out)], node)
            let strides = denseStrides(shape)
            try copy(from: x[0], into: try slice(out).advanced(by: before * strides[axis] * 4), dstStrides: strides, node)
        case let .concat(axis):
            let strides = denseStrides(shape)
            var offset = 0
            for input in x {
                try copy(from: input, into: try slice(out).advanced(by: offset * strides[axis] * 4), dstStrides: strides, node)
                offset += type(input).shape[axis]
            }
        case let .reduce(op, first, n):
            let s = type(x[0]).shape
            let r = Reduction(outer: s[..<first].reduce(1, *), extent: s[first..<(first + n)].reduce(1, *),
                              inner: s[(first + n)...].reduce(1, *))
            try emit(.reduce(op, r), [slice(x[0]), slice(out)], node)
        case let .softmax(axis):
            try emit(.softmax(reduction(shape, axis)), [slice(x[0]), slice(out)], node)
        case let .softmaxBackward(axis):
            try emit(.softmaxBackward(reduction(shape, axis)), [slice(x[0]), slice(x[1]), slice(out)], node)
        case let .rmsNorm(eps):
            try emit(.rmsNorm(channelNorm(shape, eps)), [slice(x[0]), slice(x[1]), slice(out)], node)
        case let .rmsNormBackward(eps):
            try emit(.rmsNormBackward(channelNorm(shape, eps)),
                     [slice(x[0]), slice(x[1]), slice(x[2]), slice(out), slice(ValueID(node: i, index: 1))], node)
        case let .rmsNormScaleShiftSilu(eps):
            try emit(.rmsNormScaleShiftSilu(channelNorm(shape, eps), scaleShift: x.count == 3), try x.map(slice) + [slice(out)], node)
        case let .rmsNormScaleShiftSiluBackward(eps):
            let results = try node.results.indices.map { try slice(ValueID(node: i, index: $0)) }
            try emit(.rmsNormScaleShiftSiluBackward(channelNorm(shape, eps), scaleShift: x.count == 4),
                     try x.map(slice) + results, node)
        case let .groupNorm(groups, eps):
            let c = channelNorm(shape, 0)
            let g = GroupNorm(batch: c.batch, channels: c.channels, spatial: c.spatial, groups: groups, eps: eps)
            try emit(.groupNorm(g), [slice(x[0]), slice(x[1]), slice(x[2]), slice(out)], node)
        case let .groupNormBackward(groups, eps):
            let c = channelNorm(shape, 0)
            let g = GroupNorm(batch: c.batch, channels: c.channels, spatial: c.spatial, groups: groups, eps: eps)
            try emit(.groupNormBackward(g), [slice(x[0]), slice(x[1]), slice(x[2]), slice(out),
                                             slice(ValueID(node: i, index: 1)), slice(ValueID(node: i, index: 2))], node)
        case let .matmul(mm):
            try matmul(mm, node, out)
        case let .conv2d(c):
            let conv = convolution(c, input: type(x[0]).shape, outChannels: type(x[1]).shape[0])
            var ops = [try slice(x[0]), try slice(x[1]), try slice(out)]
            if c.hasBias { ops.append(try slice(x[2])) }
            try emit(.conv2d(conv), ops, node)
        case let .conv2dBackwardData(c):
            let conv = convolution(c, input: shape, outChannels: type(x[1]).shape[0])
            try emit(.conv2dBackwardData(conv), [slice(x[0]), slice(x[1]), slice(out)], node)
        case let .conv2dBackwardWeight(c):
            let conv = convolution(c, input: type(x[0]).shape, outChannels: shape[0])
            var ops = [try slice(x[0]), try slice(x[1]), try slice(out)]
            if c.hasBias { ops.append(try slice(ValueID(node: i, index: 1))) }
            try emit(.conv2dBackwardWeight(conv), ops, node)
        case let .pixelUnshuffle(f):
            try emit(.pixelUnshuffle(resample(type(x[0]).shape, f)), [slice(x[0]), slice(out)], node)
        case let .pixelShuffle(f):
            try emit(.pixelShuffle(resample(shape, f)), [slice(x[0]), slice(out)], node)
        case let .upsampleNearest(f):
            try emit(.upsampleNearest(resample(shape, f)), [slice(x[0]), slice(out)], node)
        case let .upsampleNearestBackward(f):
            try emit(.upsampleNearestBackward(resample(type(x[0]).shape, f)), [slice(x[0]), slice(out)], node)
        case let .timestepEmbedding(dim, theta):
            try emit(.timestepEmbedding(count: shape[0], dim: dim, theta: theta), [slice(x[0]), slice(out)], node)
        case .gather:
            let table = type(x[0]).shape
            try emit(.gather(rows: shape[0], width: shape[1], tableRows: table[0]), [slice(x[0]), slice(x[1]), slice(out)], node)
        }
    }

    private mutating func copy(from src: ValueID, into dst: BufferSlice, dstStrides: [Int], _ node: Node) throws {
        let shape = type(src).shape
        let (s, st) = try collapse(shape, [views[src]!.strides, dstStrides.suffix(shape.count).map { $0 }], node)
        try emit(.copy(StridedCopy(shape: s, srcStrides: st[0], dstStrides: st[1])), [slice(src), dst], node)
    }

    private mutating func matmul(_ mm: Matmul, _ node: Node, _ out: ValueID) throws {
        let (a, b) = (node.inputs[0], node.inputs[1])
        let (aShape, bShape) = (type(a).shape, type(b).shape)
        let dims = try mm.dimensions(aShape, bShape)
        let batch = dims.batch.reduce(1, *)
        func layout(_ v: ValueID, _ shape: [Int]) throws -> (ld: Int, stride: Int) {
            guard let l = views[v]!.gemmLayout(shape) else {
                throw GraphError.invalidUse("internal: GEMM operand \(v) of '\(node.label)' has no matrix layout")
            }
            let ownBatch = shape.dropLast(2).reduce(1, *)
            return (l.ld, ownBatch == 1 && batch > 1 ? 0 : l.batchStride)
        }
        let la = try layout(a, aShape), lb = try layout(b, bShape)
        let outSlice = try slice(out)
        if mm.accumulate {
            let acc = node.inputs[node.inputs.count - 1]
            let accSlice = try slice(acc)
            // The planner writes in place over a dying accumulator; otherwise copy it into the result first.
            if accSlice.buffer !== outSlice.buffer || accSlice.offset != outSlice.offset || !views[acc]!.isContiguous(type(acc).shape) {
                try copy(from: acc, into: outSlice, dstStrides: denseStrides(type(out).shape), node)
            }
        }
        let gemm = Gemm(batch: batch, m: dims.m, n: dims.n, k: dims.k, transA: mm.transA, transB: mm.transB,
                        alpha: mm.alpha, beta: mm.accumulate ? 1 : 0, bias: mm.bias,
                        lda: la.ld, ldb: lb.ld, ldc: dims.n,
                        strideA: la.stride, strideB: lb.stride, strideC: dims.m * dims.n)
        var ops = [try slice(a), try slice(b), outSlice]
        if mm.bias != .none { ops.append(try slice(node.inputs[2])) }
        try emit(.gemm(gemm), ops, node)
    }

    // MARK: Shapes

    private func reduction(_ shape: [Int], _ axis: Int) -> Reduction {
        Reduction(outer: shape[..<axis].reduce(1, *), extent: shape[axis], inner: shape[(axis + 1)...].reduce(1, *))
    }

    private func channelNorm(_ shape: [Int], _ eps: Float) -> ChannelNorm {
        ChannelNorm(batch: shape[0], channels: shape[1], spatial: shape[2...].reduce(1, *), eps: eps)
    }

    private func resample(_ large: [Int], _ f: Int) -> Resample {
        Resample(batch: large[0], channels: large[1], height: large[2], width: large[3], factor: f)
    }

    private func convolution(_ c: Convolution, input: [Int], outChannels: Int) -> Conv2d {
        Conv2d(batch: input[0], inChannels: input[1], outChannels: outChannels, height: input[2], width: input[3],
               kernelHeight: c.kernelHeight, kernelWidth: c.kernelWidth, padHeight: c.padHeight,
               padWidth: c.padWidth, hasBias: c.hasBias)
    }

    /// Drops extent-1 axes and merges neighbours that are contiguous in every operand, so a
    /// strided kernel sees the lowest rank (at most 6) that describes the same elements.
    private func collapse(_ shape: [Int], _ strides: [[Int]], _ node: Node) throws -> ([Int], [[Int]]) {
        var s: [Int] = []
        var st: [[Int]] = strides.map { _ in [] }
        for d in shape.indices where shape[d] != 1 {
            if let last = s.last, strides.indices.allSatisfy({ st[$0].last! == strides[$0][d] * shape[d] }) {
                s[s.count - 1] = last * shape[d]
                for k in strides.indices { st[k][st[k].count - 1] = strides[k][d] }
            } else {
                s.append(shape[d])
                for k in strides.indices { st[k].append(strides[k][d]) }
            }
        }
        if s.isEmpty { return ([1], strides.map { _ in [1] }) }
        guard s.count <= 6 else {
            throw GraphError.invalidNode(label: node.label, op: node.op.name, inputs: [], reason: "strided access of rank \(s.count) exceeds the kernels' 6")
        }
        return (s, st)
    }
}
