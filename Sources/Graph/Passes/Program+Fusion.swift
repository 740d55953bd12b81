import Devices

/// What the fusion pass changed, for reports and tests.
public struct FusionReport: Sendable, Equatable {
    /// Residual adds folded into a GEMM epilogue (β = 1), including 1×1 convolutions turned into GEMMs.
    public var residualIntoGemm = 0
    /// Bias adds folded into a GEMM epilogue.
    public var biasIntoGemm = 0
    /// Binary ops with a constant scalar turned into one affine kernel, and affine chains merged.
    public var scalarIntoAffine = 0

    public var total: Int { residualIntoGemm + biasIntoGemm + scalarIntoAffine }
}

extension Program {
    /// Fuses where the kernel vocabulary allows it, without changing any result:
    /// - `matmul(a, b) + r` and `conv2d₁ₓ₁(x, w, bias) + r` become one GEMM with `r` as its
    ///   β = 1 accumulator (the planner then writes in place over `r` when `r` dies there);
    /// - `matmul(a, b) + bias[N]` becomes a GEMM with a per-column bias epilogue;
    /// - `x ∘ c` for a constant scalar `c` and chains of affine maps become one affine kernel.
    public func fused() -> (Program, FusionReport) {
        let nodes = graph.nodes
        let uses = useCounts()
        var report = FusionReport()
        func usedOnce(_ v: ValueID) -> Bool { uses[v, default: 0] == 1 }

        /// The GEMM-able producer behind `v`: (producer node, the reshape between, if any).
        func gemmProducer(_ v: ValueID) -> (node: Int, reshape: Int?)? {
            guard v.index == 0, usedOnce(v) else { return nil }
            var n = v.node
            var reshape: Int?
            if case .reshape = nodes[n].op {
                let inner = nodes[n].inputs[0]
                guard inner.index == 0, usedOnce(inner) else { return nil }
                reshape = n
                n = inner.node
            }
            switch nodes[n].op {
            case let .matmul(mm) where !mm.accumulate: return (n, reshape)
            case let .conv2d(c) where c.kernelHeight == 1 && c.kernelWidth == 1 && c.padHeight == 0 && c.padWidth == 0:
                return reshape == nil ? (n, nil) : nil
            default: return nil
            }
        }
        func scalarConstant(_ v: ValueID) -> Float? {
            if case let .constant(.floats(values)) = nodes[v.node].op, values.count == 1 { return values[0] }
            return nil
        }

        // Decide: which add nodes absorb which producers, which binaries become affine.
        enum Plan { case residual(producer: Int, reshape: Int?, other: ValueID), bias(producer: Int, bias: ValueID), affine(scale: Float, shift: Float, x: ValueID) }
        var plans: [Int: Plan] = [:]
        var absorbed = Set<Int>()
        for (i, node) in nodes.enumerated() {
            switch node.op {
            case .binary(.add):
                let out = node.results[0].shape
                let (a, b) = (node.inputs[0], node.inputs[1])
                if graph.type(of: a).shape == out, graph.type(of: b).shape == out {
                    for (p, other) in [(a, b), (b, a)] {
                        if let (prod, reshape) = gemmProducer(p), !absorbed.contains(prod) {
                            plans[i] = .residual(producer: prod, reshape: reshape, other: other)
                            absorbed.insert(prod)
                            if let reshape { absorbed.insert(reshape) }
                            break
                        }
                    }
                } else if graph.type(of: a).shape == out, let gp = gemmProducer(a), gp.reshape == nil,
                          case let .matmul(mm) = nodes[gp.node].op, mm.bias == .none, !absorbed.contains(gp.node),
                          graph.type(of: b).count == out.last, graph.type(of: b).shape.dropLast().allSatisfy({ $0 == 1 }) {
                    plans[i] = .bias(producer: gp.node, bias: b)
                    absorbed.insert(gp.node)
                }
            case let .binary(op) where op != .maximum && op != .minimum:
                let out = node.results[0].shape
                let (a, b) = (node.inputs[0], node.inputs[1])
                // The binary kernel reads strided views directly; an affine kernel would need a copy first.
                let viewProducer: (ValueID) -> Bool = { v in
                    var n = v.node
                    while case .reshape = nodes[n].op { n = nodes[n].inputs[0].node }
                    switch nodes[n].op {
                    case .expand, .slice, .permute: return true
                    default: return false
                    }
                }
                if let c = scalarConstant(b), graph.type(of: a).shape == out, !viewProducer(a) {
                    switch op {
                    case .add: plans[i] = .affine(scale: 1, shift: c, x: a)
                    case .sub: plans[i] = .affine(scale: 1, shift: -c, x: a)
                    case .mul: plans[i] = .affine(scale: c, shift: 0, x: a)
                    case .div: plans[i] = .affine(scale: 1 / c, shift: 0, x: a)
                    default: break
                    }
                } else if let c = scalarConstant(a), graph.type(of: b).shape == out, !viewProducer(b) {
                    switch op {
                    case .add: plans[i] = .affine(scale: 1, shift: c, x: b)
                    case .sub: plans[i] = .affine(scale: -1, shift: c, x: b)
                    case .mul: plans[i] = .affine(scale: c, shift: 0, x: b)
                    default: break
                    }
                }
            default: break
            }
        }

        // Emit.
        var rw = GraphRewriter()
        for (i, node) in nodes.enumerated() {
            if absorbed.contains(i) { continue }
            let out = ValueID(node: i)
            switch plans[i] {
            case nil:
                if case let .unary(op) = node.op, let (scale, shift) = op.affineForm,
                   case let .unary(innerOp) = nodes[node.inputs[0].node].op, let (s0, b0) = innerOp.affineForm,
                   usedOnce(node.inputs[0]), let inner = rw.map[nodes[node.inputs[0].node].inputs[0]] {
                    // Compose scale·(s0·x + b0) + shift; the inner node stays only if someone else uses it
                    // (it is used once, so dead-code elimination removes it).
                    rw.map[out] = rw.emit1(.unary(.affine(scale: scale * s0, shift: scale * b0 + shift)), [inner],
                                           node.results[0], label: node.label)
                    report.scalarIntoAffine += 1
                } else {
                    rw.copy(node, oldIndex: i)
                }
            case let .affine(scale, shift, x):
                rw.map[out] = rw.emit1(.unary(.affine(scale: scale, shift: shift)), [rw.map[x]!], node.results[0], label: node.label)
                report.scalarIntoAffine += 1
            case let .bias(producer, bias):
                guard case var .matmul(mm) = nodes[producer].op else { continue }
                mm.bias = .perColumn
                let p = nodes[producer]
                let b = rw.emit1(.reshape([p.results[0].shape.last!]), [rw.map[bias]!], TensorType([p.results[0].shape.last!]), label: node.label)
                rw.map[out] = rw.emit1(.matmul(mm), p.inputs.map { rw.map[$0]! } + [b], p.results[0], label: p.label + "+bias")
                report.biasIntoGemm += 1
            case let .residual(producer, reshape, other):
                let p = nodes[producer]
                let label = p.label + "+residual"
                switch p.op {
                case var .matmul(mm):
                    mm.accumulate = true
                    let pType = p.results[0]
                    var acc = rw.map[other]!
                    if rw.type(acc).shape != pType.shape { acc = rw.emit1(.reshape(pType.shape), [acc], pType, label: label) }
                    var y = rw.emit1(.matmul(mm), p.inputs.map { rw.map[$0]! } + [acc], pType, label: label)
                    if reshape != nil { y = rw.emit1(.reshape(node.results[0].shape), [y], node.results[0], label: label) }
                    rw.map[out] = y
                case let .conv2d(c):
                    let (xs, ws) = (graph.type(of: p.inputs[0]).shape, graph.type(of: p.inputs[1]).shape)
                    let (n, cin, s, cout) = (xs[0], xs[1], xs[2] * xs[3], ws[0])
                    let w2 = rw.emit1(.reshape([cout, cin]), [rw.map[p.inputs[1]]!], TensorType([cout, cin]), label: label)
                    let x3 = rw.emit1(.reshape([n, cin, s]), [rw.map[p.inputs[0]]!], TensorType([n, cin, s]), label: label)
                    let acc = rw.emit1(.reshape([n, cout, s]), [rw.map[other]!], TensorType([n, cout, s]), label: label)
                    var inputs = [w2, x3]
                    if c.hasBias { inputs.append(rw.map[p.inputs[2]]!) }
                    inputs.append(acc)
                    let mm = Matmul(bias: c.hasBias ? .perRow : .none, accumulate: true)
                    let y = rw.emit1(.matmul(mm), inputs, TensorType([n, cout, s]), label: label)
                    rw.map[out] = rw.emit1(.reshape(node.results[0].shape), [y], node.results[0], label: label)
                default:
                    rw.copy(node, oldIndex: i)
                    continue
                }
                report.residualIntoGemm += 1
            }
        }
        return (rw.finish(self).eliminatingDeadCode(), report)
    }
}

extension UnaryOp {
    /// `(scale, shift)` when the function is affine.
    var affineForm: (Float, Float)? {
        switch self {
        case .identity: return (1, 0)
        case .neg: return (-1, 0)
        case let .affine(scale, shift): return (scale, shift)
        default: return nil
        }
    }
}
