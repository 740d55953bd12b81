import Devices

/// Reverse-mode automatic differentiation over the IR: backward nodes are appended to the same graph.
extension GraphBuilder {
    /// Gradients of `loss` with respect to each of `wrt`, appending the backward nodes.
    ///
    /// `loss` is seeded with ones (for a scalar loss, `d loss / d loss = 1`). A value used several
    /// times gets the sum of its contributions. A tensor that `loss` does not depend on gets a
    /// zero gradient. Throws ``GraphError/notDifferentiable(label:op:reason:)`` when a path from
    /// `loss` to `wrt` runs through an op without a derivative (`maximum`, `reduce.max`, the
    /// gather table, backward ops).
    public func gradients(of loss: Tensor, withRespectTo wrt: [Tensor]) throws -> [Tensor] {
        for t in wrt + [loss] where t.owner != ObjectIdentifier(self) || t.id.node >= nodes.count {
            throw GraphError.foreignTensor(label: "gradients", op: "gradients")
        }
        guard loss.dtype == .float32 else {
            throw GraphError.invalidUse("the loss must be f32, is \(loss.type)")
        }
        let forwardEnd = nodes.count
        let needs = requiresGrad(from: Set(wrt.map(\.id)), upTo: loss.id.node)
        var grads: [ValueID: Tensor] = [:]
        let seed = try expand(scalar(1), to: loss.shape)
        grads[loss.id] = seed

        // Gradients of slices are kept apart until every reader of the sliced value has been
        // visited, then joined by one concatenation instead of a zero-filled pad and an add per slice.
        var pieces: [ValueID: [SliceGradient]] = [:]

        func accumulate(_ value: ValueID, _ g: Tensor) throws {
            if let existing = grads[value] {
                grads[value] = try add(existing, g)
            } else {
                grads[value] = g
            }
        }
        func resolve(_ value: ValueID) throws -> Tensor? {
            if let ps = pieces.removeValue(forKey: value) {
                for g in try joinSlices(ps, of: tensor(value)) { try accumulate(value, g) }
            }
            return grads[value]
        }

        try scope("grad") {
            for n in stride(from: loss.id.node, through: 0, by: -1) where n < forwardEnd {
                let node = nodes[n]
                let dys = try node.results.indices.map { try resolve(ValueID(node: n, index: $0)) }
                guard dys.contains(where: { $0 != nil }), node.inputs.contains(where: { needs.contains($0) }) else { continue }
                if case let .slice(axis, start, _) = node.op, let dy = dys[0] {
                    pieces[node.inputs[0], default: []].append(SliceGradient(axis: axis, start: start, gradient: dy))
                    continue
                }
                let inputGrads = try vjp(node, index: n, dys: dys, needs: needs)
                for (i, g) in inputGrads.enumerated() {
                    guard let g, needs.contains(node.inputs[i]) else { continue }
                    try accumulate(node.inputs[i], g)
                }
            }
        }
        return try wrt.map { t in
            if let g = try scope("grad", { try resolve(t.id) }) { return g }
            return try expand(scalar(0), to: t.shape)
        }
    }

    /// The gradient of one slice of a value: which window it covers.
    private struct SliceGradient {
        var axis: Int
        var start: Int
        var gradient: Tensor
    }

    /// Joins slice gradients into full-size contributions: per axis, disjoint slices become one
    /// concatenation (gaps filled from a stride-0 zero view); overlapping ones are padded singly.
    private func joinSlices(_ pieces: [SliceGradient], of x: Tensor) throws -> [Tensor] {
        var out: [Tensor] = []
        for axis in Set(pieces.map(\.axis)).sorted() {
            let sorted = pieces.filter { $0.axis == axis }.sorted { $0.start < $1.start }
            var parts: [Tensor] = []
            var cursor = 0
            var disjoint = true
            for p in sorted {
                if p.start < cursor { disjoint = false; break }
                if p.start > cursor { parts.append(try zeros(like: x, axis: axis, length: p.start - cursor)) }
                parts.append(p.gradient)
                cursor = p.start + p.gradient.shape[axis]
            }
            if disjoint {
                if cursor < x.shape[axis] { parts.append(try zeros(like: x, axis: axis, length: x.shape[axis] - cursor)) }
                out.append(try concat(parts, axis: axis))
            } else {
                for p in sorted {
                    out.append(try pad(p.gradient, axis: axis, before: p.start,
                                       after: x.shape[axis] - p.start - p.gradient.shape[axis]))
                }
            }
        }
        return out
    }

    /// A zero view shaped like `x` except `length` entries along `axis`.
    private func zeros(like x: Tensor, axis: Int, length: Int) throws -> Tensor {
        var shape = x.shape
        shape[axis] = length
        return try expand(scalar(0), to: shape)
    }

    /// Values that depend on a member of `roots` through f32 data, among nodes `0...last`.
    private func requiresGrad(from roots: Set<ValueID>, upTo last: Int) -> Set<ValueID> {
        var needs = roots
        for n in 0...last {
            let node = nodes[n]
            guard !node.op.isLeaf, node.op != .stopGradient, node.inputs.contains(where: { needs.contains($0) }) else { continue }
            for (i, r) in node.results.enumerated() where r.dtype == .float32 {
                needs.insert(ValueID(node: n, index: i))
            }
        }
        return needs
    }

    /// The gradient contribution to each input of `node` (nil where none flows).
    private func vjp(_ node: Node, index n: Int, dys: [Tensor?], needs: Set<ValueID>) throws -> [Tensor?] {
        let x = node.inputs.map { tensor($0) }
        let y = node.results.indices.map { tensor(ValueID(node: n, index: $0)) }
        func need(_ i: Int) -> Bool { i < node.inputs.count && needs.contains(node.inputs[i]) }
        func fail(_ reason: String) -> GraphError {
            GraphError.notDifferentiable(label: node.label, op: node.op.name, reason: reason)
        }
        guard let dy = dys[0] else { throw fail("the first result has no gradient") }

        switch node.op {
        case .input, .parameter, .constant, .random, .stopGradient:
            return []

        case let .unary(op):
            switch op {
            case .identity: return [dy]
            case .neg: return [try neg(dy)]
            case let .affine(scale, _): return [try affine(dy, scale: scale)]
            default: return [try apply1(.unaryBackward(op), [x[0], dy])]
            }

        case let .binary(op):
            let (a, b) = (x[0], x[1])
            switch op {
            case .add:
                return [need(0) ? try sumTo(dy, a.shape) : nil, need(1) ? try sumTo(dy, b.shape) : nil]
            case .sub:
                return [need(0) ? try sumTo(dy, a.shape) : nil, need(1) ? try neg(sumTo(dy, b.shape)) : nil]
            case .mul:
                return [need(0) ? try sumTo(mul(dy, b), a.shape) : nil, need(1) ? try sumTo(mul(dy, a), b.shape) : nil]
            case .div:
                let t = try div(dy, b)
                return [need(0) ? try sumTo(t, a.shape) : nil, need(1) ? try neg(sumTo(mul(t, y[0]), b.shape)) : nil]
            case .maximum, .minimum:
                throw fail("\(op.rawValue) has no derivative in the kernel vocabulary; use clamp or relu")
            }

        case .reshape:
            return [try reshape(dy, x[0].shape)]
        case let .permute(perm):
            var inverse = perm
            for (i, p) in perm.enumerated() { inverse[p] = i }
            return [try permute(dy, inverse)]
        case let .slice(axis, start, length):
            return [try pad(dy, axis: axis, before: start, after: x[0].shape[axis] - start - length)]
        case let .pad(axis, before, _):
            return [try slice(dy, axis: axis, start: before, length: x[0].shape[axis])]
        case let .concat(axis):
            var offset = 0
            return try x.enumerated().map { i, xi in
                defer { offset += xi.shape[axis] }
                return need(i) ? try slice(dy, axis: axis, start: offset, length: xi.shape[axis]) : nil
            }
        case .expand:
            return [try sumTo(dy, x[0].shape)]
        case .copy:
            return [dy]

        case let .reduce(op, first, count):
            var keep = x[0].shape
            for a in first..<(first + count) { keep[a] = 1 }
            let spread = try expand(reshape(dy, keep), to: x[0].shape)
            switch op {
            case .sum: return [spread]
            case .mean:
                let extent = x[0].shape[first..<(first + count)].reduce(1, *)
                return [try mul(spread, scalar(1 / Float(extent)))]
            case .sumOfSquares: return [try affine(mul(x[0], spread), scale: 2)]
            case .max: throw fail("max has no derivative in the kernel vocabulary")
            }
        case let .softmax(axis):
            return [try apply1(.softmaxBackward(axis: axis), [y[0], dy])]

        case let .rmsNorm(eps):
            let r = try apply(.rmsNormBackward(eps: eps), [x[0], x[1], dy])
            return [r[0], need(1) ? try reshape(r[1], x[1].shape) : nil]
        case let .rmsNormScaleShiftSilu(eps):
            let r = try apply(.rmsNormScaleShiftSiluBackward(eps: eps), x + [dy])
            return [r[0], need(1) ? try reshape(r[1], x[1].shape) : nil] + (x.count == 3 ? [need(2) ? r[2] : nil] : [])
        case let .groupNorm(groups, eps):
            let r = try apply(.groupNormBackward(groups: groups, eps: eps), [x[0], x[1], dy])
            return [r[0], need(1) ? try reshape(r[1], x[1].shape) : nil, need(2) ? try reshape(r[2], x[2].shape) : nil]

        case let .matmul(mm):
            return try matmulVJP(mm, x, dy, need: need)
        case let .conv2d(c):
            var grads: [Tensor?] = [nil, nil, nil]
            if need(0) { grads[0] = try apply1(.conv2dBackwardData(c), [dy, x[1]]) }
            let wantBias = c.hasBias && need(2)
            if need(1) || wantBias {
                var wc = c
                wc.hasBias = wantBias
                let r = try apply(.conv2dBackwardWeight(wc), [x[0], dy])
                if need(1) { grads[1] = r[0] }
                if wantBias { grads[2] = try reshape(r[1], x[2].shape) }
            }
            return Array(grads.prefix(x.count))

        case let .pixelUnshuffle(f): return [try pixelShuffle(dy, f)]
        case let .pixelShuffle(f): return [try pixelUnshuffle(dy, f)]
        case let .upsampleNearest(f): return [try apply1(.upsampleNearestBackward(factor: f), [dy])]

        case .timestepEmbedding:
            throw fail("timesteps are not differentiable")
        case .gather:
            throw fail("the gathered table is not differentiable (use a constant table)")
        case .unaryBackward, .softmaxBackward, .rmsNormBackward, .rmsNormScaleShiftSiluBackward, .groupNormBackward,
             .conv2dBackwardData, .conv2dBackwardWeight, .upsampleNearestBackward:
            throw fail("second derivatives are not supported")
        }
    }

    /// Gradients of `C = α·op(A)·op(B) (+ bias) (+ acc)` (see ``Matmul``).
    private func matmulVJP(_ mm: Matmul, _ x: [Tensor], _ dc: Tensor, need: (Int) -> Bool) throws -> [Tensor?] {
        let (a, b) = (x[0], x[1])
        var grads: [Tensor?] = Array(repeating: nil, count: x.count)
        if need(0) {
            let g: Tensor
            switch (mm.transA, mm.transB) {
            case (false, false): g = try matmul(dc, b, transB: true, alpha: mm.alpha)
            case (false, true): g = try matmul(dc, b, alpha: mm.alpha)
            case (true, false): g = try matmul(b, dc, transB: true, alpha: mm.alpha)
            case (true, true): g = try matmul(b, dc, transA: true, transB: true, alpha: mm.alpha)
            }
            grads[0] = try sumTo(g, a.shape)
        }
        if need(1) {
            let g: Tensor
            switch (mm.transA, mm.transB) {
            case (false, false): g = try matmul(a, dc, transA: true, alpha: mm.alpha)
            case (true, false): g = try matmul(a, dc, alpha: mm.alpha)
            case (false, true): g = try matmul(dc, a, transA: true, alpha: mm.alpha)
            case (true, true): g = try matmul(dc, a, transA: true, transB: true, alpha: mm.alpha)
            }
            grads[1] = try sumTo(g, b.shape)
        }
        var next = 2
        if mm.bias != .none {
            if need(2) {
                let r = dc.rank
                let axes = mm.bias == .perColumn ? Array(0..<(r - 1)) : Array(0..<(r - 2)) + [r - 1]
                grads[2] = try reshape(sum(dc, axes: axes), x[2].shape)
            }
            next = 3
        }
        if mm.accumulate, need(next) { grads[next] = dc }
        return grads
    }

    /// Sums a broadcast gradient back to `shape` (the adjoint of NumPy broadcasting).
    func sumTo(_ g: Tensor, _ shape: [Int]) throws -> Tensor {
        if g.shape == shape { return g }
        let lead = g.rank - shape.count
        guard lead >= 0 else { throw problem("sum_to", [g], "cannot sum \(g.shape) to the larger shape \(shape)") }
        var axes = Array(0..<lead)
        for (i, e) in shape.enumerated() where e == 1 && g.shape[lead + i] != 1 { axes.append(lead + i) }
        if axes.isEmpty { return try reshape(g, shape) }
        return try reshape(sum(g, axes: axes), shape)
    }

}
