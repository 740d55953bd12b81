/// A program whose every value has a known storage view, ready for memory planning.
struct LaidOutProgram {
    var program: Program
    /// The storage view of every value.
    var views: [ValueID: View]
    /// Copies inserted because a kernel needs a dense operand.
    var materializations: Int
}

extension Program {
    /// Decides which values are free views and inserts a ``Op/copy`` wherever a kernel needs a
    /// dense operand that is not one, or a root (output, gradient) does not own dense storage.
    func laidOut() -> LaidOutProgram {
        var rw = GraphRewriter()
        var views: [ValueID: View] = [:]
        var dense: [ValueID: ValueID] = [:]
        var copies = 0
        let oldNodes = graph.nodes

        func materialize(_ v: ValueID, label: String) -> ValueID {
            if let d = dense[v] { return d }
            let t = rw.type(v)
            let c = rw.emit1(.copy, [v], t, label: label + "/materialize")
            views[c] = .own(c, t.shape)
            dense[v] = c
            copies += 1
            return c
        }

        for (i, old) in oldNodes.enumerated() {
            var inputs = old.inputs.map { rw.map[$0]! }
            let types = inputs.map { rw.type($0) }
            // View ops: no kernel, only a new window onto the input's storage.
            var view: View?
            switch old.op {
            case let .reshape(shape):
                if let v = views[inputs[0]]!.reshaped(from: types[0].shape, to: shape) {
                    view = v
                } else {
                    inputs[0] = materialize(inputs[0], label: old.label)
                    view = View(root: views[inputs[0]]!.root, offset: 0, strides: denseStrides(shape))
                }
            case let .expand(shape):
                view = views[inputs[0]]!.expanded(from: types[0].shape, to: shape)
            case let .slice(axis, start, _):
                var v = views[inputs[0]]!
                v.offset += start * v.strides[axis]
                view = v
            case let .permute(perm):
                var v = views[inputs[0]]!
                v.strides = perm.map { v.strides[$0] }
                view = v
            case .stopGradient:
                view = views[inputs[0]]!
            default:
                for (k, input) in inputs.enumerated() where !old.op.acceptsStrided(input: k, count: inputs.count) {
                    let v = views[input]!, shape = types[k].shape
                    let ok = old.op.needsGemmLayout(input: k) ? v.gemmLayout(shape) != nil : v.isContiguous(shape)
                    if !ok { inputs[k] = materialize(input, label: old.label) }
                }
            }
            var node = old
            node.inputs = inputs
            let index = rw.emit(node)
            for r in old.results.indices {
                let newID = ValueID(node: index, index: r)
                rw.map[ValueID(node: i, index: r)] = newID
                views[newID] = view ?? .own(newID, old.results[r].shape)
            }
        }

        // Roots must own dense storage that nothing else claims (it becomes a persistent slot).
        var program = rw.finish(self)
        var claimed = Set<ValueID>()
        func ownRoot(_ v: ValueID, label: String) -> ValueID {
            let view = views[v]!
            let t = rw.type(v)
            let root = view.root
            let leaf = rw.nodes[root.node].op.isLeaf
            if !leaf, view.offset == 0, view.isContiguous(t.shape), rw.type(root).count == t.count,
               claimed.insert(root).inserted {
                return v
            }
            let c = rw.emit1(.copy, [v], t, label: label + "/materialize")
            views[c] = .own(c, t.shape)
            claimed.insert(c)
            copies += 1
            return c
        }
        program.outputs = program.outputs.map { ($0.name, ownRoot($0.value, label: "output \($0.name)")) }
        program.gradients = program.gradients.map { ($0.parameter, ownRoot($0.value, label: "grad \($0.parameter)")) }
        program.graph.nodes = rw.nodes
        return LaidOutProgram(program: program, views: views, materializations: copies)
    }
}

extension Op {
    /// Whether input `k` may be any strided view (the kernel reads it through strides).
    func acceptsStrided(input k: Int, count: Int) -> Bool {
        switch self {
        case .binary, .copy, .pad, .concat: return true
        case let .matmul(mm): return mm.accumulate && k == count - 1
        default: return false
        }
    }

    /// Whether input `k` is a GEMM matrix operand (any layout with unit column stride).
    func needsGemmLayout(input k: Int) -> Bool {
        if case .matmul = self { return k < 2 }
        return false
    }
}
