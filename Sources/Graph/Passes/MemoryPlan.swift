/// Where the storage of a root value lives.
enum Placement: Hashable, Sendable {
    /// In the step's arena, at this byte offset.
    case arena(Int)
    /// In the parameter buffer, at this element offset.
    case parameter(Int)
    /// In the gradient buffer, at this element offset (the parameter's).
    case gradient(Int)
    /// In the buffer of the input with this index.
    case input(Int)
    /// In the constant buffer, at this element offset.
    case constant(Int)
    /// In the output buffer, at this element offset.
    case output(Int)
}

/// Figures of a memory plan.
public struct MemoryReport: Sendable, Equatable {
    /// Bytes of the one arena holding every intermediate.
    public var arenaPeakBytes: Int
    /// What the intermediates would take without reuse.
    public var intermediateBytes: Int
    /// Intermediates placed in place over a dying input.
    public var inPlace: Int
    /// Intermediates in the arena.
    public var intermediates: Int
}

/// Liveness-based placement of every root value (ggml-alloc / tinygrad memory.py style):
/// intermediates share one arena by best-fit reuse of freed blocks and in-place reuse of a dying
/// input where the kernel allows it; parameters, gradients, inputs, constants and outputs get
/// persistent slots.
struct MemoryPlan {
    var placement: [ValueID: Placement] = [:]
    var report = MemoryReport(arenaPeakBytes: 0, intermediateBytes: 0, inPlace: 0, intermediates: 0)
    /// Elements of the constant buffer, and the data to upload into it.
    var constantData: [UInt32] = []
    /// Output name → element offset and count in the output buffer.
    var outputSlots: [String: (offset: Int, count: Int)] = [:]
    var outputCount = 0

    /// Arena blocks are aligned to 256 bytes: enough for every device's vector loads.
    static let alignment = 256

    init(_ laid: LaidOutProgram, parameterOffsets: [String: Int]) throws {
        let program = laid.program
        let nodes = program.graph.nodes
        let views = laid.views

        // Persistent slots.
        for p in program.graph.parameters {
            placement[ValueID(node: p.node)] = .parameter(parameterOffsets[p.name]!)
        }
        for (k, input) in program.graph.inputs.enumerated() { placement[ValueID(node: input.node)] = .input(k) }
        for (i, node) in nodes.enumerated() {
            if case let .constant(data) = node.op {
                placement[ValueID(node: i)] = .constant(constantData.count)
                switch data {
                case let .floats(v): constantData += v.map(\.bitPattern)
                case let .ints(v): constantData += v.map { UInt32(bitPattern: $0) }
                }
            }
        }
        for g in program.gradients {
            guard let offset = parameterOffsets[g.parameter] else {
                throw GraphError.unknownName(kind: "parameter", name: g.parameter, available: Array(parameterOffsets.keys).sorted())
            }
            placement[views[g.value]!.root] = .gradient(offset)
        }
        for o in program.outputs {
            let count = program.graph.type(of: o.value).count
            placement[views[o.value]!.root] = .output(outputCount)
            outputSlots[o.name] = (outputCount, count)
            outputCount += count
        }

        // Liveness of arena roots: defined at their node, alive until the last node reading any view of them.
        var lastUse: [ValueID: Int] = [:]
        var isRoot = Set<ValueID>()
        for (i, node) in nodes.enumerated() {
            for r in node.results.indices {
                let v = ValueID(node: i, index: r)
                if views[v]!.root == v, placement[v] == nil { isRoot.insert(v); lastUse[v] = i }
            }
            for input in node.inputs {
                let root = views[input]!.root
                if isRoot.contains(root) { lastUse[root] = i }
            }
        }

        var arena = BestFitArena()
        var block: [ValueID: (offset: Int, size: Int)] = [:]
        for (i, node) in nodes.enumerated() {
            var transferred = Set<ValueID>()
            for (r, type) in node.results.enumerated() {
                let v = ValueID(node: i, index: r)
                guard isRoot.contains(v) else { continue }
                let size = BestFitArena.round(type.byteCount, MemoryPlan.alignment)
                report.intermediateBytes += type.byteCount
                report.intermediates += 1
                if r == 0, let donor = inPlaceDonor(node, index: i, graph: program.graph, views: views, lastUse: lastUse, isRoot: isRoot),
                   let b = block[donor], b.size == size, !transferred.contains(donor) {
                    transferred.insert(donor)
                    block[v] = b
                    block[donor] = nil
                    report.inPlace += 1
                } else {
                    block[v] = (arena.allocate(size), size)
                }
                placement[v] = .arena(block[v]!.offset)
            }
            // Free what dies here (results nobody reads die at once, after their kernel ran).
            var dying = Set<ValueID>()
            for input in node.inputs where isRoot.contains(views[input]!.root) { dying.insert(views[input]!.root) }
            for r in node.results.indices { dying.insert(ValueID(node: i, index: r)) }
            for root in dying where lastUse[root] == i && isRoot.contains(root) {
                if let b = block[root] { arena.free(b.offset, b.size); block[root] = nil }
            }
        }
        report.arenaPeakBytes = arena.peak
    }

    /// The input whose storage the first result may take over: the kernel allows the alias, the
    /// input is exactly its root's dense storage, and this node is its last reader.
    private func inPlaceDonor(_ node: Node, index i: Int, graph: Graph, views: [ValueID: View],
                              lastUse: [ValueID: Int], isRoot: Set<ValueID>) -> ValueID? {
        let candidates: [Int]
        switch node.op {
        case .unary, .softmax: candidates = [0]
        case .unaryBackward, .softmaxBackward: candidates = [1]
        case .binary: candidates = [0, 1]
        case let .matmul(mm) where mm.accumulate: candidates = [node.inputs.count - 1]
        default: return nil
        }
        let out = node.results[0]
        for k in candidates {
            let input = node.inputs[k]
            let view = views[input]!
            guard isRoot.contains(view.root), lastUse[view.root] == i, view.offset == 0 else { continue }
            let shape = graph.type(of: input).shape
            guard shape == out.shape, view.isContiguous(shape) else { continue }
            // Another operand reading the same storage through a different window would see
            // half-written data; a GEMM may not alias its accumulator with a or b at all.
            let others = node.inputs.enumerated().filter { $0.offset != k && views[$0.element]!.root == view.root }
            if case .matmul = node.op, !others.isEmpty { continue }
            if others.contains(where: { views[$0.element]! != view }) { continue }
            return view.root
        }
        return nil
    }
}

/// A best-fit offset allocator over one growing arena, merging neighbouring free blocks.
struct BestFitArena {
    /// Free blocks, sorted by offset.
    private var free: [(offset: Int, size: Int)] = []
    private(set) var top = 0
    private(set) var peak = 0

    /// `bytes` rounded up to a multiple of `alignment` (at least one); callers allocate rounded sizes.
    static func round(_ bytes: Int, _ alignment: Int) -> Int { max(alignment, (bytes + alignment - 1) / alignment * alignment) }

    mutating func allocate(_ size: Int) -> Int {
        var best: Int?
        for (k, b) in free.enumerated() where b.size >= size {
            if best == nil || b.size < free[best!].size { best = k }
        }
        if let k = best {
            let b = free[k]
            if b.size == size { free.remove(at: k) } else { free[k] = (b.offset + size, b.size - size) }
            return b.offset
        }
        // Grow at the top (a free block touching the top has already been given back to it).
        let offset = top
        top += size
        peak = max(peak, top)
        return offset
    }

    mutating func free(_ offset: Int, _ size: Int) {
        var k = free.firstIndex { $0.offset > offset } ?? free.count
        free.insert((offset, size), at: k)
        if k + 1 < free.count, free[k].offset + free[k].size == free[k + 1].offset {
            free[k].size += free[k + 1].size
            free.remove(at: k + 1)
        }
        if k > 0, free[k - 1].offset + free[k - 1].size == free[k].offset {
            free[k - 1].size += free[k].size
            free.remove(at: k)
            k -= 1
        }
        if free[k].offset + free[k].size == top {
            top = free[k].offset
            free.remove(at: k)
        }
    }
}
